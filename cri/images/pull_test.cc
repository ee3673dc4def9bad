// Pulls from a real docker-registry on 127.0.0.1, started by the test.
#include "cri/images/puller.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "cri/images/reference.h"
#include "cri/images/test_registry.h"
#include "cri/images/test_token_server.h"
#include "gtest/gtest.h"
#include "oci/spec/json.h"

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
  // What a failed pull may leave: nothing at all (no record, layer, blob
  // or temp file).
  void ExpectNothingKept() {
    EXPECT_TRUE(store_->List().empty());
    EXPECT_TRUE(fs::is_empty(root_ + "/layers"));
    EXPECT_TRUE(store_->blobs().List().empty());
    EXPECT_TRUE(fs::is_empty(store_->tmp_dir()));
  }
  // Pulling `ref` (no registry config) fails with `code`, its message holds
  // `text`, and nothing is kept.
  void ExpectRefused(const std::string& ref, absl::StatusCode code, const std::string& text) {
    auto got = Puller(*store_, {}).Pull(ref);
    EXPECT_EQ(got.status().code(), code) << got.status();
    EXPECT_NE(got.status().message().find(text), std::string::npos) << got.status();
    ExpectNothingKept();
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

// Docker's media types: a manifest list whose entries are schema2
// manifests; only the linux/amd64 entry is fetched (not windows/amd64).
TEST_F(PullTest, DockerManifestListAndSchema2) {
  TestRegistry reg;
  auto image = [](const std::string& file, const std::string& arch) {
    TarBuilder t;
    t.Dir("etc").File("etc/" + file, arch);
    return testing::BuildDockerImage({t.Build(Compression::kGzip)}, {DigestOf(t.Build())}, file,
                                     arch);
  };
  TestImage windows = image("windows", "amd64"), arm = image("arm", "arm64");
  TestImage amd = image("amd", "amd64");
  TestImage list =
      testing::BuildIndex({{"windows/amd64", windows}, {"arm64", arm}, {"amd64", amd}}, true);
  for (const TestImage* im : {&windows, &arm, &amd}) ASSERT_EQ(reg.Push("docker", "", *im), 201);
  ASSERT_EQ(reg.Push("docker", "list", list), 201);
  ASSERT_EQ(reg.Push("docker", "schema2", amd), 201);
  Puller puller(*store_, {});

  auto im = puller.Pull(reg.host() + "/docker:list");
  ASSERT_TRUE(im.ok()) << im.status();
  EXPECT_EQ(im->id, amd.config_digest);
  EXPECT_EQ(im->manifest_digest, amd.digest);
  EXPECT_EQ(im->index_digest, list.digest);
  EXPECT_EQ(im->repo_digests, std::vector<std::string>{reg.host() + "/docker@" + list.digest});
  EXPECT_FALSE(store_->blobs().Has(windows.config_digest));
  EXPECT_FALSE(store_->blobs().Has(arm.config_digest));
  auto rootfs = store_->Mount("c1", reg.host() + "/docker:list");
  ASSERT_TRUE(rootfs.ok()) << rootfs.status();
  EXPECT_EQ(ReadAll(*rootfs + "/etc/amd"), "amd64");
  ASSERT_TRUE(store_->Unmount("c1").ok());

  // The schema2 manifest alone, by tag: the same image gains the tag.
  auto direct = puller.Pull(reg.host() + "/docker:schema2");
  ASSERT_TRUE(direct.ok()) << direct.status();
  EXPECT_EQ(direct->id, amd.config_digest);
  EXPECT_EQ(store_->Resolve(reg.host() + "/docker:schema2")->id, amd.config_digest);
  EXPECT_EQ(store_->Resolve(reg.host() + "/docker:list")->id, amd.config_digest);
}

// A config larger than the 4 MiB documents may have is refused while it
// streams in; nothing is kept.
TEST_F(PullTest, ConfigReadIsSizeBounded) {
  TestRegistry reg;
  TarBuilder t;
  t.File("f", "x");
  std::string tar = t.Build(Compression::kGzip);
  std::string config = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"pad\":\"" +
                       std::string(kMaxDocumentBytes, 'p') +
                       "\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" + DigestOf(t.Build()) +
                       "\"]}}";
  TestImage im;
  im.blobs = {{DigestOf(config), config}, {DigestOf(tar), tar}};
  im.config_digest = DigestOf(config);
  im.media_type = std::string(kOciManifest);
  im.manifest = "{\"schemaVersion\":2,\"mediaType\":\"" + im.media_type +
                "\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
                "\"digest\":\"" +
                DigestOf(config) + "\",\"size\":" + std::to_string(config.size()) +
                "},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
                "\"digest\":\"" +
                DigestOf(tar) + "\",\"size\":" + std::to_string(tar.size()) + "}]}";
  im.digest = DigestOf(im.manifest);
  ASSERT_EQ(reg.Push("bigconfig", "v1", im), 201);
  Puller puller(*store_, {});
  auto got = puller.Pull(reg.host() + "/bigconfig:v1");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kOutOfRange) << got.status();
  ExpectNothingKept();
}

// A small HTTP/1.1 server on 127.0.0.1 for what a docker-registry will not
// do (serve a manifest over 4 MiB, hold responses back): `handler` answers
// each GET path with a reply (200) or nullopt (404), each request on its own
// thread.
class TestHttpServer {
 public:
  // A 200 body; with `hold_at` set, the server sends that many body bytes,
  // runs `between`, then sends the rest.
  struct Reply {
    Reply(std::string b) : body(std::move(b)) {}  // implicit: handlers return bodies
    std::string body;
    size_t hold_at = std::string::npos;
    std::function<void()> between;
  };
  using Handler = std::function<std::optional<Reply>(const std::string& path)>;
  explicit TestHttpServer(Handler handler) : handler_(std::move(handler)) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd_, 16) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("listen");
    }
    host_ = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
    acceptor_ = std::thread([this] {
      for (int c; (c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC)) >= 0;) {
        std::lock_guard<std::mutex> l(mu_);
        workers_.emplace_back([this, c] { Serve(c); });
      }
    });
  }
  ~TestHttpServer() {
    shutdown(fd_, SHUT_RDWR);
    acceptor_.join();
    for (std::thread& t : workers_) t.join();
    close(fd_);
  }
  std::string host() const { return host_; }

 private:
  void Serve(int c) {
    std::string request;
    char buf[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = read(c, buf, sizeof buf);
      if (n <= 0) break;
      request.append(buf, n);
    }
    size_t sp = request.find(' ');
    std::string path = request.substr(sp + 1, request.find(' ', sp + 1) - sp - 1);
    std::optional<Reply> reply = handler_(path);
    std::string type = path.find("/manifests/") != std::string::npos ? std::string(kOciManifest)
                                                                     : "application/octet-stream";
    std::string_view body = reply ? std::string_view(reply->body) : "";
    size_t hold_at = reply ? std::min(reply->hold_at, body.size()) : 0;
    bool sent = SendAll(c, (reply ? "HTTP/1.1 200 OK" : "HTTP/1.1 404 Not Found") +
                               std::string("\r\nContent-Type: ") + type + "\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n");
    sent = sent && SendAll(c, body.substr(0, hold_at));
    if (sent && reply && reply->between) reply->between();
    if (sent) SendAll(c, body.substr(hold_at));
    close(c);
  }
  static bool SendAll(int c, std::string_view rest) {
    while (!rest.empty()) {
      ssize_t n = send(c, rest.data(), rest.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      rest.remove_prefix(n);
    }
    return true;
  }

  Handler handler_;
  std::string host_;
  int fd_ = -1;
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> workers_;
};

// A manifest larger than 4 MiB is refused the same way, while it streams in.
TEST_F(PullTest, ManifestReadIsSizeBounded) {
  TarBuilder t;
  t.File("f", "x");
  TestImage im = testing::BuildImage({t.Build(Compression::kGzip)}, {DigestOf(t.Build())});
  std::string big = im.manifest;
  ASSERT_EQ(big.back(), '}');
  big.pop_back();
  big += ",\"annotations\":{\"pad\":\"" + std::string(kMaxDocumentBytes, 'p') + "\"}}";
  TestHttpServer server([&](const std::string&) { return big; });
  ExpectRefused(server.host() + "/bigmanifest:v1", absl::StatusCode::kOutOfRange,
                "manifest too large");
  // The same server with a manifest under the bound gets past the manifest
  // (and fails later, at the config, which it does not serve).
  TestHttpServer small([&](const std::string&) { return im.manifest; });
  auto config = Puller(*store_, {}).Pull(small.host() + "/bigmanifest:v1");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kDataLoss) << config.status();
  EXPECT_NE(config.status().message().find(im.config_digest), std::string::npos) << config.status();
}

// The layers of an image are fetched at the same time: the server holds
// each layer back until all three have been asked for (or 3 s pass).
TEST_F(PullTest, LayersDownloadInParallel) {
  std::vector<std::string> layers, diff_ids;
  for (const char* name : {"a", "b", "c"}) {
    TarBuilder t;
    t.File(name, std::string(100000, name[0]));
    layers.push_back(t.Build(Compression::kGzip));
    diff_ids.push_back(DigestOf(t.Build()));
  }
  TestImage im = testing::BuildImage(layers, diff_ids);
  std::mutex mu;
  std::condition_variable cv;
  int asked = 0, asked_when_first_served = 0;
  TestHttpServer server([&](const std::string& path) -> std::optional<std::string> {
    if (path == "/v2/parallel/manifests/v1") return im.manifest;
    std::string digest = path.substr(path.rfind('/') + 1);
    if (!im.blobs.count(digest)) return std::nullopt;
    if (digest != im.config_digest) {
      std::unique_lock<std::mutex> l(mu);
      ++asked;
      cv.notify_all();
      cv.wait_for(l, std::chrono::seconds(3), [&] { return asked == 3; });
      if (asked_when_first_served == 0) asked_when_first_served = asked;
    }
    return im.blobs.at(digest);
  });
  Puller puller(*store_, {});
  auto got = puller.Pull(server.host() + "/parallel:v1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(asked_when_first_served, 3);
  EXPECT_EQ(got->chain_ids.size(), 3u);
}

// A layer is decompressed and unpacked while it downloads, not after: the
// server sends the first half of a gzip layer (three small files, then the
// start of 2 MiB of noise) and holds the rest back until the three files
// are in the pull's staging directory (or 10 s pass, failing the test). A
// puller that buffered the blob first would see none of them. The pull then
// completes, and the blob is still verified against its digest: a tampered
// tail fails the pull even though the head was already unpacked. (The
// unpacker reads the tar in 256 KiB chunks, so entries show up that far
// behind the download: hence half of a 2 MiB layer.)
TEST_F(PullTest, LayerIsUnpackedWhileItDownloads) {
  std::string noise;
  uint64_t x = 0x9E3779B97F4A7C15ULL;
  for (int i = 0; i < (2 << 20) / 8; ++i) {  // xorshift: incompressible
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    noise.append(reinterpret_cast<const char*>(&x), 8);
  }
  const std::map<std::string, std::string> early = {
      {"early/a", "alpha"}, {"early/b", std::string(1000, 'b')}, {"early/c", "gamma"}};
  TarBuilder t;
  t.Dir("early");
  for (const auto& [path, data] : early) t.File(path, data);
  t.File("noise", noise).File("late", "after the hold");
  std::string layer = t.Build(Compression::kGzip);
  TestImage im = testing::BuildImage({layer}, {DigestOf(t.Build())});
  const std::string layer_digest = DigestOf(layer);
  // What the pull's staging directory (tmp/layer-*/diff) holds, per file.
  auto staged = [&](const std::string& path) -> std::optional<std::string> {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(store_->tmp_dir(), ec)) {
      std::string file = e.path().string() + "/diff/" + path;
      if (e.path().filename().string().starts_with("layer-") && fs::exists(file, ec)) {
        return ReadAll(file);
      }
    }
    return std::nullopt;
  };
  std::mutex mu;
  std::string served = layer;  // guarded by mu, as are the rest
  bool hold = true;
  // Filled in while the layer is held back.
  bool early_seen = false, late_seen = false, layer_committed = false, blob_committed = false;
  std::chrono::milliseconds waited{};
  TestHttpServer server([&](const std::string& path) -> std::optional<TestHttpServer::Reply> {
    if (path == "/v2/streaming/manifests/v1") return im.manifest;
    std::string digest = path.substr(path.rfind('/') + 1);
    if (digest == im.config_digest) return im.blobs.at(digest);
    if (digest != layer_digest) return std::nullopt;
    std::lock_guard<std::mutex> l(mu);
    TestHttpServer::Reply reply(served);
    if (!hold) return reply;
    reply.hold_at = layer.size() / 2;
    reply.between = [&] {
      auto start = std::chrono::steady_clock::now();
      bool seen = false;
      while (!seen && std::chrono::steady_clock::now() < start + std::chrono::seconds(10)) {
        seen = true;
        for (const auto& [file, data] : early) seen = seen && staged(file) == data;
        if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      std::lock_guard<std::mutex> l(mu);
      early_seen = seen;
      waited = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
      late_seen = staged("late").has_value();
      layer_committed = !fs::is_empty(root_ + "/layers");
      blob_committed = store_->blobs().Has(layer_digest);
    };
    return reply;
  });
  Puller puller(*store_, {});
  std::string ref = server.host() + "/streaming:v1";

  // 1. Held halfway: the early files are unpacked, nothing is committed.
  auto got = puller.Pull(ref);
  ASSERT_TRUE(got.ok()) << got.status();
  {
    std::lock_guard<std::mutex> l(mu);
    EXPECT_TRUE(early_seen) << "no early file unpacked after " << waited.count()
                            << " ms with half the layer sent";
    EXPECT_FALSE(late_seen);
    EXPECT_FALSE(layer_committed);
    EXPECT_FALSE(blob_committed);
    std::cout << "the layer's second half was held back " << waited.count() << " ms\n";
  }

  // 2. The pull completed: the blob as served, the whole layer unpacked.
  ASSERT_EQ(got->layer_digests, std::vector<std::string>{layer_digest});
  ASSERT_TRUE(store_->blobs().Has(layer_digest));
  EXPECT_EQ(DigestOf(ReadAll(store_->blobs().Path(layer_digest))), layer_digest);
  std::string diff = store_->LayerDir(got->chain_ids[0]) + "/";
  for (const auto& [file, data] : early) EXPECT_EQ(ReadAll(diff + file), data);
  EXPECT_EQ(ReadAll(diff + "late"), "after the hold");
  EXPECT_TRUE(ReadAll(diff + "noise") == noise);
  EXPECT_TRUE(fs::is_empty(store_->tmp_dir()));

  // 3. The same pull with the gzip trailer's length changed: the tar
  // unpacks to the right diff ID, yet the blob's digest does not match.
  ASSERT_TRUE(store_->Remove(ref).ok());
  ExpectNothingKept();
  {
    std::lock_guard<std::mutex> l(mu);
    served.back() ^= 1;
    hold = false;
  }
  auto tampered = puller.Pull(ref);
  EXPECT_EQ(tampered.status().code(), absl::StatusCode::kDataLoss) << tampered.status();
  EXPECT_NE(tampered.status().message().find("blob digest mismatch"), std::string::npos)
      << tampered.status();
  ExpectNothingKept();
}

// The registry serves a layer whose bytes do not match the manifest: other
// bytes of the same size, more bytes, fewer bytes. Each pull fails and
// keeps nothing.
TEST_F(PullTest, LayerDigestOrSizeMismatchKeepsNothing) {
  TestRegistry reg;
  struct Case {
    std::string name;
    std::function<std::string(const std::string&)> tamper;
    absl::StatusCode code;
    std::string message;
  };
  std::vector<Case> cases = {
      {"same-size",
       [](const std::string& tar) {
         std::string other = tar;
         size_t at = other.find("AAAA");
         other.replace(at, 4, "BBBB");  // still a valid tar, other content
         return other;
       },
       absl::StatusCode::kDataLoss, "digest mismatch"},
      {"longer", [](const std::string& tar) { return tar + std::string(512, '\0'); },
       absl::StatusCode::kOutOfRange, "larger than its declared"},
      {"shorter", [](const std::string& tar) { return tar.substr(0, tar.size() - 1024); },
       absl::StatusCode::kDataLoss, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TarBuilder t;  // uncompressed, so a changed byte still makes a valid layer
    t.File("f", "AAAA" + c.name).File("g", std::string(4096, 'g'));
    std::string tar = t.Build();
    TestImage im =
        testing::BuildImage({tar}, {DigestOf(tar)}, "", "application/vnd.oci.image.layer.v1.tar");
    ASSERT_EQ(reg.Push("tampered", c.name, im), 201);
    std::ofstream(reg.BlobDataPath(DigestOf(tar)), std::ios::binary | std::ios::trunc)
        << c.tamper(tar);
    Puller puller(*store_, {});
    auto got = puller.Pull(reg.host() + "/tampered:" + c.name);
    EXPECT_EQ(got.status().code(), c.code) << got.status();
    EXPECT_NE(got.status().message().find(c.message), std::string::npos) << got.status();
    ExpectNothingKept();
  }
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

// CRI AuthConfig.registry_token is a bearer token to use as is: the pull
// asks the token server for nothing.
TEST_F(TokenAuthTest, RegistryTokenFromAuthConfigIsUsedAsIs) {
  TestImage im = BusyboxImage(Compression::kGzip);
  ASSERT_EQ(open_->Push("public/busybox", "v1", im), 201);
  std::string body;
  CURL* c = curl_easy_init();
  std::string url = tokens_->realm() + "?service=" + tokens_->service() +
                    "&scope=repository%3Apublic%2Fbusybox%3Apull";
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(
      c, CURLOPT_WRITEFUNCTION, +[](char* d, size_t s, size_t n, void* out) {
        static_cast<std::string*>(out)->append(d, s * n);
        return s * n;
      });
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  ASSERT_EQ(curl_easy_perform(c), CURLE_OK);
  curl_easy_cleanup(c);
  auto parsed = json::Parse(body);
  ASSERT_TRUE(parsed.ok()) << body;
  const json::Value* token = parsed->Find("token");
  ASSERT_TRUE(token != nullptr && token->is_string()) << body;
  ASSERT_EQ(tokens_->requests().size(), 1u);  // the test's own

  PullOptions opts;
  opts.auth.registry_token = token->as_string();
  auto got = Puller(*store_, {}).Pull(secured_->host() + "/public/busybox:v1", opts);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->id, im.config_digest);
  EXPECT_EQ(tokens_->requests().size(), 1u);
  // A token that is not the registry's is refused.
  opts.auth.registry_token = "not-a-token";
  auto refused = Puller(*store_, {}).Pull(secured_->host() + "/public/busybox:v1", opts);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied) << refused.status();
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
  ExpectNothingKept();
  EXPECT_FALSE(fs::exists(root_ + "/../escape-peapod"));
}

// The hostile entry comes first and megabytes follow: unpacking stops at
// once, the download is cut short, and the error says why (not "broken
// pipe").
TEST_F(PullTest, HostileEntryBeforeALargeBodyIsInvalidArgument) {
  TestRegistry reg;
  std::string noise;
  uint64_t x = 88172645463325252ULL;
  for (int i = 0; i < (16 << 20) / 8; ++i) {  // xorshift: incompressible
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    noise.append(reinterpret_cast<const char*>(&x), 8);
  }
  TarBuilder t;
  t.File("../escape-peapod", "pwned").File("noise", noise);
  TestImage im = testing::BuildImage({t.Build(Compression::kGzip)}, {DigestOf(t.Build())});
  ASSERT_EQ(reg.Push("hostile", "big", im), 201);
  ExpectRefused(reg.host() + "/hostile:big", absl::StatusCode::kInvalidArgument,
                "escapes the layer");
}

// Mirrors of a host other than Docker Hub, tried in order: one that is
// down and one without the image are skipped; the image name is kept.
TEST_F(PullTest, MirrorsAreTriedInOrderWithTheNameKept) {
  TestRegistry empty, mirror;
  TarBuilder t;
  t.File("pause", "from the mirror");
  TestImage im = testing::BuildImage({t.Build(Compression::kGzip)}, {DigestOf(t.Build())});
  ASSERT_EQ(mirror.Push("pause", "3.9", im), 201);
  ASSERT_EQ(mirror.Push("library/pause", "3.9", im), 201);
  std::string down;  // a port nothing listens on
  {
    TestRegistry gone;
    down = gone.host();
  }
  auto config =
      ParseRegistryConfig("[\"registry.k8s.io\"]\nmirrors = [\"http://" + down + "\", \"http://" +
                          empty.host() + "\", \"http://" + mirror.host() + "\"]\n");
  ASSERT_TRUE(config.ok()) << config.status();
  Puller puller(*store_, *config);
  auto got = puller.Pull("registry.k8s.io/pause:3.9");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->id, im.config_digest);
  EXPECT_EQ(got->repo_tags, std::vector<std::string>{"registry.k8s.io/pause:3.9"});
  EXPECT_EQ(got->repo_digests, std::vector<std::string>{"registry.k8s.io/pause@" + im.digest});
}

// Runs `peapod-image pull` in a private mount namespace whose system CA
// bundle also trusts `ca_pem`; returns its exit code, its stderr in `err`.
int PullTrustingCa(const std::string& root, const std::string& ref, const std::string& ca_pem,
                   const std::string& scratch, std::string* err) {
  constexpr const char* kBundle = "/etc/ssl/certs/ca-certificates.crt";
  std::string bundle = scratch + "/bundle.crt", err_path = scratch + "/pull.err";
  std::ofstream(bundle) << ReadAll(kBundle) << "\n" << ca_pem;
  const char* build = std::getenv("PEAPOD_BUILD_DIR");
  std::string bin = std::string(build ? build : ".") + "/cri/images/peapod-image";
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) ||
        mount(bundle.c_str(), kBundle, nullptr, MS_BIND, nullptr) != 0) {
      perror("private CA bundle");
      _exit(126);
    }
    execl(bin.c_str(), "peapod-image", "--root", root.c_str(), "pull", ref.c_str(), nullptr);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  *err = ReadAll(err_path);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// 127.0.0.2 is neither localhost nor 127.0.0.1: a registry there gets
// HTTPS, verified against the system CAs, unless peapod.toml marks it
// insecure.
TEST_F(PullTest, HttpsWithSystemCasAndPlainHttpOnlyWhenConfigured) {
  if (!fs::exists("/etc/ssl/certs/ca-certificates.crt")) GTEST_SKIP() << "no system CA bundle";
  std::string certs = testing::MakeTempDir("peapod-tls-test");
  absl::Cleanup remove_certs = [&] { fs::remove_all(certs); };
  testing::TlsFiles tls = testing::MakeTlsFiles(certs, "127.0.0.2");
  TarBuilder t;
  t.File("f", "over TLS");
  TestImage im = testing::BuildImage({t.Build(Compression::kGzip)}, {DigestOf(t.Build())});

  // 1. Plain HTTP: refused unless the host is configured insecure.
  {
    TestRegistry plain(testing::RegistryOptions{.ip = "127.0.0.2"});
    ASSERT_EQ(plain.Push("plain", "v1", im), 201);
    std::string ref = plain.host() + "/plain:v1";
    Puller strict(*store_, {});
    auto got = strict.Pull(ref);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable) << got.status();
    EXPECT_NE(got.status().message().find("https://" + plain.host()), std::string::npos)
        << got.status();
    ExpectNothingKept();
    auto other = ParseRegistryConfig("[\"127.0.0.2:1\"]\ninsecure = true\n");
    ASSERT_TRUE(other.ok());
    EXPECT_FALSE(Puller(*store_, *other).Pull(ref).ok()) << "another host's insecure flag";
    auto config = ParseRegistryConfig("[\"" + plain.host() + "\"]\ninsecure = true\n");
    ASSERT_TRUE(config.ok()) << config.status();
    auto ok = Puller(*store_, *config).Pull(ref);
    ASSERT_TRUE(ok.ok()) << ok.status();
    ASSERT_TRUE(store_->Remove(ref).ok());
  }

  // 2. HTTPS with a certificate from a CA the system does not trust: refused.
  testing::RegistryOptions opts{.ip = "127.0.0.2"};
  opts.tls_cert = tls.server_cert;
  opts.tls_key = tls.server_key;
  TestRegistry secure(opts);
  ASSERT_EQ(secure.Push("secure", "v1", im), 201);
  std::string ref = secure.host() + "/secure:v1";
  auto untrusted = Puller(*store_, {}).Pull(ref);
  EXPECT_EQ(untrusted.status().code(), absl::StatusCode::kUnavailable) << untrusted.status();
  EXPECT_NE(untrusted.status().message().find("certificate"), std::string::npos)
      << untrusted.status();
  ExpectNothingKept();

  // 3. The same CA added to the system bundle: the pull succeeds over HTTPS.
  std::string err;
  EXPECT_EQ(PullTrustingCa(root_, ref, ReadAll(tls.ca_cert), certs, &err), 0) << err;
  auto reopened = ImageStore::Open(root_);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  auto got = (*reopened)->Resolve(ref);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->id, im.config_digest);
}

TEST_F(PullTest, WrongDiffIdIsDataLoss) {
  TestRegistry reg;
  TarBuilder t;
  t.File("f", "x");
  TestImage im = testing::BuildImage({t.Build(Compression::kGzip)}, {DigestOf("lie")});
  ASSERT_EQ(reg.Push("liar", "v1", im), 201);
  ExpectRefused(reg.host() + "/liar:v1", absl::StatusCode::kDataLoss, "diff ID mismatch");
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

// Two pulls of one image at once, from two store handles (as two
// processes): each layer is downloaded and unpacked once; both succeed.
TEST_F(PullTest, ConcurrentPullsFetchEachLayerOnce) {
  TestImage im = BusyboxImage(Compression::kGzip);
  std::mutex mu;
  std::map<std::string, int> fetched;
  TestHttpServer server([&](const std::string& path) -> std::optional<std::string> {
    if (path == "/v2/same/manifests/v1") return im.manifest;
    std::string digest = path.substr(path.rfind('/') + 1);
    if (!im.blobs.count(digest)) return std::nullopt;
    {
      std::lock_guard<std::mutex> l(mu);
      ++fetched[digest];
    }
    // Slow enough that the second pull starts while the first is at it.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return im.blobs.at(digest);
  });
  auto work = [&](absl::Status* out) {
    auto store = ImageStore::Open(root_);
    if (!store.ok()) return void(*out = store.status());
    *out = Puller(**store, {}).Pull(server.host() + "/same:v1").status();
  };
  absl::Status a, b;
  std::thread t1(work, &a), t2(work, &b);
  t1.join();
  t2.join();
  EXPECT_TRUE(a.ok()) << a;
  EXPECT_TRUE(b.ok()) << b;
  for (const auto& [digest, data] : im.blobs) {
    if (digest == im.config_digest) continue;  // each pull reads the config itself
    EXPECT_EQ(fetched[digest], 1) << digest;
  }
  EXPECT_EQ(store_->List().size(), 1u);
}

}  // namespace
}  // namespace peapod::images
