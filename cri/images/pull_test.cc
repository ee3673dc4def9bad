// Pulls from a real docker-registry on 127.0.0.1, started by the test.
#include "cri/images/puller.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cri/images/reference.h"
#include "cri/images/test_registry.h"
#include "cri/images/test_token_server.h"
#include "gtest/gtest.h"

namespace peapod::images {
namespace {

using testing::Compression;
using testing::TarBuilder;
using testing::TestImage;
using testing::TestRegistry;
using testing::TestTokenServer;
namespace fs = std::filesystem;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A busybox image of three layers: base, whiteouts + opaque dir, a file.
TestImage BusyboxImage(Compression c, const std::string& user = "") {
  std::string busybox = ReadAll("/bin/busybox");
  TarBuilder base, mid, top;
  base.Dir("bin").File("bin/busybox", busybox, 0755).Symlink("bin/sh", "busybox");
  base.Dir("etc").File("etc/passwd", "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/:/bin/sh\n");
  base.File("etc/motd", "old").Dir("opt").File("opt/lower", "l");
  mid.Dir("etc").File("etc/.wh.motd", "").Dir("opt").File("opt/.wh..wh..opq", "");
  mid.File("opt/upper", "u");
  top.Dir("app").File("app/hello", "hello", 0644, 1000, 1000);
  std::vector<std::string> layers, diff_ids;
  for (TarBuilder* t : {&base, &mid, &top}) {
    layers.push_back(t->Build(c));
    diff_ids.push_back(DigestOf(t->Build()));
  }
  std::string type = c == Compression::kZstd   ? "application/vnd.oci.image.layer.v1.tar+zstd"
                     : c == Compression::kGzip ? "application/vnd.oci.image.layer.v1.tar+gzip"
                                               : "application/vnd.oci.image.layer.v1.tar";
  return testing::BuildImage(layers, diff_ids, user, type);
}

class PullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::MakeTempDir("peapod-pull-test");
    auto s = ImageStore::Open(root_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
  }
  void TearDown() override {
    (void)store_->Unmount("c1");
    store_.reset();
    fs::remove_all(root_);
  }
  std::string root_;
  std::unique_ptr<ImageStore> store_;
};

TEST_F(PullTest, PullsGzipAndZstdImagesAndMountsThem) {
  TestRegistry reg;
  TestImage gz = BusyboxImage(Compression::kGzip, "app");
  TestImage zst = BusyboxImage(Compression::kZstd, "1000:1000");
  TestImage plain = BusyboxImage(Compression::kNone);
  ASSERT_EQ(reg.Push("test/busybox", "gz", gz), 201);
  ASSERT_EQ(reg.Push("test/busybox", "zstd", zst), 201);
  ASSERT_EQ(reg.Push("test/busybox", "plain", plain), 201);
  Puller puller(*store_, {});
  std::string name = reg.host() + "/test/busybox";

  auto im = puller.Pull(name + ":gz");
  ASSERT_TRUE(im.ok()) << im.status();
  EXPECT_EQ(im->id, gz.config_digest);
  EXPECT_EQ(im->repo_tags, std::vector<std::string>{name + ":gz"});
  EXPECT_EQ(im->repo_digests, std::vector<std::string>{name + "@" + gz.digest});
  EXPECT_EQ(im->user, "app");
  EXPECT_EQ(ParseImageUser(im->user).username, "app");
  EXPECT_EQ(im->chain_ids.size(), 3u);

  auto z = puller.Pull(name + ":zstd");
  ASSERT_TRUE(z.ok()) << z.status();
  EXPECT_EQ(ParseImageUser(z->user).uid, 1000);
  // Same uncompressed layers: the zstd image shares the gzip image's layers.
  EXPECT_EQ(z->chain_ids, im->chain_ids);
  auto p = puller.Pull(name + ":plain");
  ASSERT_TRUE(p.ok()) << p.status();

  auto rootfs = store_->Mount("c1", name + ":gz");
  ASSERT_TRUE(rootfs.ok()) << rootfs.status();
  EXPECT_EQ(ReadAll(*rootfs + "/bin/busybox"), ReadAll("/bin/busybox"));
  EXPECT_EQ(ReadAll(*rootfs + "/app/hello"), "hello");
  EXPECT_FALSE(fs::exists(*rootfs + "/etc/motd"));
  EXPECT_FALSE(fs::exists(*rootfs + "/opt/lower"));
  EXPECT_EQ(ReadAll(*rootfs + "/opt/upper"), "u");
  struct stat st;
  ASSERT_EQ(stat((*rootfs + "/app/hello").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u);
  ASSERT_TRUE(store_->Unmount("c1").ok());

  // By digest, and again by tag (nothing new to fetch).
  auto by_digest = puller.Pull(name + "@" + zst.digest);
  ASSERT_TRUE(by_digest.ok()) << by_digest.status();
  EXPECT_EQ(by_digest->id, zst.config_digest);
  EXPECT_EQ(store_->List().size(), 3u);
  EXPECT_EQ(puller.Pull(name + ":missing").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(PullTest, IndexSelectsLinuxAmd64) {
  TestRegistry reg;
  TestImage amd = BusyboxImage(Compression::kGzip, "amd");
  TarBuilder other;
  other.File("arm", "arm");
  TestImage arm =
      testing::BuildImage({other.Build(Compression::kGzip)}, {DigestOf(other.Build())}, "arm",
                          "application/vnd.oci.image.layer.v1.tar+gzip", "arm64");
  TestImage index = testing::BuildIndex({{"arm64", arm}, {"amd64", amd}});
  ASSERT_EQ(reg.Push("multi", "", arm), 201);
  ASSERT_EQ(reg.Push("multi", "", amd), 201);
  ASSERT_EQ(reg.Push("multi", "v1", index), 201);
  Puller puller(*store_, {});
  auto im = puller.Pull(reg.host() + "/multi:v1");
  ASSERT_TRUE(im.ok()) << im.status();
  EXPECT_EQ(im->id, amd.config_digest);
  EXPECT_EQ(im->index_digest, index.digest);
  EXPECT_EQ(im->repo_digests[0], reg.host() + "/multi@" + index.digest);
  EXPECT_TRUE(store_->Resolve(reg.host() + "/multi@" + index.digest).ok());
}

TEST_F(PullTest, BasicAuth) {
  TestRegistry reg("alice", "s3cret");
  TarBuilder t;
  t.File("f", "secret image");
  TestImage im = testing::BuildImage({t.Build(Compression::kGzip)}, {DigestOf(t.Build())});
  ASSERT_EQ(reg.Push("private", "v1", im), 201);
  Puller puller(*store_, {});
  std::string ref = reg.host() + "/private:v1";
  EXPECT_EQ(puller.Pull(ref).status().code(), absl::StatusCode::kPermissionDenied);
  PullOptions wrong;
  wrong.auth.username = "alice";
  wrong.auth.password = "nope";
  EXPECT_EQ(puller.Pull(ref, wrong).status().code(), absl::StatusCode::kPermissionDenied);
  PullOptions opts;
  opts.auth.auth = "YWxpY2U6czNjcmV0";  // base64("alice:s3cret")
  auto got = puller.Pull(ref, opts);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->id, im.config_digest);
}

// The registry asks for a bearer token (WWW-Authenticate: Bearer realm=..,
// service=.., scope=..); the pull fetches one anonymously from the token
// server and uses it for the manifest, config and every layer.
class TokenAuthTest : public PullTest {
 protected:
  void SetUp() override {
    PullTest::SetUp();
    dir_ = testing::MakeTempDir("peapod-token-test");
    tokens_ = std::make_unique<TestTokenServer>(TestTokenServer::Options{
        .dir = dir_, .pullable = {"public/busybox"}, .forbidden = {"forbidden/app"}});
    // Pushes go to an instance without auth that shares the storage.
    open_ = std::make_unique<TestRegistry>();
    testing::RegistryOptions opts;
    opts.storage_dir = open_->storage_dir();
    opts.token = testing::TokenAuthConfig{.realm = tokens_->realm(),
                                          .service = tokens_->service(),
                                          .issuer = tokens_->issuer(),
                                          .rootcertbundle = tokens_->cert_path()};
    secured_ = std::make_unique<TestRegistry>(opts);
  }
  void TearDown() override {
    secured_.reset();
    open_.reset();
    tokens_.reset();
    fs::remove_all(dir_);
    PullTest::TearDown();
  }
  std::string dir_;
  std::unique_ptr<TestTokenServer> tokens_;
  std::unique_ptr<TestRegistry> open_, secured_;
};

TEST_F(TokenAuthTest, PullsAnonymouslyWithABearerToken) {
  TestImage im = BusyboxImage(Compression::kGzip);
  ASSERT_EQ(open_->Push("public/busybox", "v1", im), 201);
  Puller puller(*store_, {});
  std::string ref = secured_->host() + "/public/busybox:v1";
  auto got = puller.Pull(ref);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->id, im.config_digest);
  EXPECT_EQ(got->chain_ids.size(), 3u);
  // One token, asked for the challenge's service and scope, served the
  // manifest, the config and all three layers.
  std::vector<std::string> asked = tokens_->requests();
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_NE(asked[0].find("service=peapod-test-registry"), std::string::npos) << asked[0];
  EXPECT_NE(asked[0].find("scope=repository%3Apublic%2Fbusybox%3Apull"), std::string::npos)
      << asked[0];
  auto rootfs = store_->Mount("c1", ref);
  ASSERT_TRUE(rootfs.ok()) << rootfs.status();
  EXPECT_EQ(ReadAll(*rootfs + "/app/hello"), "hello");
}

TEST_F(TokenAuthTest, DeniedScopeFailsNamingTheRegistry) {
  TarBuilder t;
  t.File("f", "not for you");
  TestImage im = testing::BuildImage({t.Build(Compression::kGzip)}, {DigestOf(t.Build())});
  ASSERT_EQ(open_->Push("private/app", "v1", im), 201);
  ASSERT_EQ(open_->Push("forbidden/app", "v1", im), 201);
  Puller puller(*store_, {});
  // The token server hands out a token without access to private/app: the
  // registry refuses it.
  auto denied = puller.Pull(secured_->host() + "/private/app:v1");
  ASSERT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied) << denied.status();
  EXPECT_NE(denied.status().message().find(secured_->host()), std::string::npos) << denied.status();
  EXPECT_NE(denied.status().message().find("denied access to private/app with a token from " +
                                           tokens_->realm()),
            std::string::npos)
      << denied.status();
  // The token server itself refuses forbidden/app.
  auto forbidden = puller.Pull(secured_->host() + "/forbidden/app:v1");
  ASSERT_EQ(forbidden.status().code(), absl::StatusCode::kPermissionDenied) << forbidden.status();
  EXPECT_NE(forbidden.status().message().find(secured_->host()), std::string::npos)
      << forbidden.status();
  EXPECT_NE(forbidden.status().message().find("token server " + tokens_->realm() +
                                              " refused repository:forbidden/app:pull"),
            std::string::npos)
      << forbidden.status();
  EXPECT_NE(forbidden.status().message().find("HTTP 403"), std::string::npos) << forbidden.status();
  EXPECT_TRUE(store_->List().empty());
  EXPECT_TRUE(fs::is_empty(root_ + "/layers"));
}

TEST_F(PullTest, MirrorServesDockerHubNames) {
  TestRegistry mirror;
  TarBuilder t;
  t.File("m", "from mirror");
  TestImage im = testing::BuildImage({t.Build(Compression::kGzip)}, {DigestOf(t.Build())});
  ASSERT_EQ(mirror.Push("library/peapod-mirror-test", "latest", im), 201);
  auto config =
      ParseRegistryConfig("[\"docker.io\"]\nmirrors = [\"http://" + mirror.host() + "\"]\n");
  ASSERT_TRUE(config.ok()) << config.status();
  Puller puller(*store_, *config);
  auto got = puller.Pull("peapod-mirror-test");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->repo_tags[0], "docker.io/library/peapod-mirror-test:latest");
  EXPECT_EQ(store_->Resolve("peapod-mirror-test")->id, im.config_digest);
}

TEST_F(PullTest, HostileLayerStoresNothing) {
  TestRegistry reg;
  TarBuilder t;
  t.Symlink("evil", "../../../../../tmp").File("ok", "x").File("../../escape-peapod", "pwned");
  TestImage im = testing::BuildImage({t.Build(Compression::kGzip)}, {DigestOf(t.Build())});
  ASSERT_EQ(reg.Push("hostile", "v1", im), 201);
  Puller puller(*store_, {});
  auto got = puller.Pull(reg.host() + "/hostile:v1");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << got.status();
  EXPECT_TRUE(store_->List().empty());
  EXPECT_TRUE(fs::is_empty(root_ + "/layers"));
  EXPECT_TRUE(fs::is_empty(store_->tmp_dir()));
  EXPECT_FALSE(fs::exists(root_ + "/../escape-peapod"));
}

TEST_F(PullTest, WrongDiffIdIsDataLoss) {
  TestRegistry reg;
  TarBuilder t;
  t.File("f", "x");
  TestImage im = testing::BuildImage({t.Build(Compression::kGzip)}, {DigestOf("lie")});
  ASSERT_EQ(reg.Push("liar", "v1", im), 201);
  Puller puller(*store_, {});
  EXPECT_EQ(puller.Pull(reg.host() + "/liar:v1").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(fs::is_empty(root_ + "/layers"));
}

TEST_F(PullTest, ConcurrentPullsOfOneImageBothSucceed) {
  TestRegistry reg;
  TestImage im = BusyboxImage(Compression::kGzip);
  ASSERT_EQ(reg.Push("same", "v1", im), 201);
  auto work = [&](absl::Status* out) {
    auto store = ImageStore::Open(root_);  // as if another process
    if (!store.ok()) return void(*out = store.status());
    Puller puller(**store, {});
    *out = puller.Pull(reg.host() + "/same:v1").status();
  };
  absl::Status a, b;
  std::thread t1(work, &a), t2(work, &b);
  t1.join();
  t2.join();
  EXPECT_TRUE(a.ok()) << a;
  EXPECT_TRUE(b.ok()) << b;
  EXPECT_EQ(store_->List().size(), 1u);
  size_t layers = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(root_ + "/layers")) ++layers;
  EXPECT_EQ(layers, 3u);
}

}  // namespace
}  // namespace peapod::images
