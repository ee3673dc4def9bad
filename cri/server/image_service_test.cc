// The CRI ImageService of the real peapodd, driven through the gRPC stub,
// pulling busybox images built here from a private docker-registry on
// 127.0.0.1 started by the test.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "cri/images/digest.h"
#include "cri/images/image_store.h"
#include "cri/images/test_registry.h"
#include "cri/images/test_tar.h"
#include "cri/server/test_support.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "proto/cri_api.h"

extern char** environ;

namespace peapod::cri {
namespace {

namespace v1 = ::runtime::v1;
namespace fs = std::filesystem;
using images::testing::Compression;
using images::testing::TarBuilder;
using images::testing::TestImage;
using images::testing::TestRegistry;
using std::chrono::milliseconds;
using std::chrono::seconds;

// A busybox image: /bin/busybox plus /bin/sh, and a file naming the variant
// (so two variants have different layers and ids).
TestImage BusyboxImage(const std::string& variant, const std::string& user) {
  TarBuilder base, top;
  base.Dir("bin").File("bin/busybox", ReadFile("/bin/busybox"), 0755).Symlink("bin/sh", "busybox");
  top.Dir("etc").File("etc/variant", variant);
  return images::testing::BuildImage(
      {base.Build(Compression::kGzip), top.Build(Compression::kGzip)},
      {images::DigestOf(base.Build()), images::DigestOf(top.Build())}, user);
}

// Config + compressed layers: what ImageStatus reports as size.
uint64_t ImageSize(const TestImage& im) {
  uint64_t n = 0;
  for (const auto& [digest, data] : im.blobs) n += data.size();
  return n;
}

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> out;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    out.push_back(e.path().filename());
  }
  return out;
}

class ImageServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/peapod-image-service-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    socket_ = dir_ + "/run/peapod.sock";
    root_ = dir_ + "/lib";
  }

  void TearDown() override {
    StopDaemon();
    fs::remove_all(dir_);
  }

  // Writes the config (the registries' hosts marked insecure, then
  // `extra_toml`) and starts peapodd, waiting until ImageFsInfo answers.
  void StartDaemon(const std::vector<std::string>& insecure_hosts,
                   const std::string& extra_toml = "") {
    std::string config = dir_ + "/peapod.toml";
    std::ofstream out(config);
    out << "socket = \"" << socket_ << "\"\nroot = \"" << root_ << "\"\nstate_dir = \"" << dir_
        << "/state\"\nlog_level = \"debug\"\nshim_spares = 0\n";  // images only: no shims
    for (const std::string& host : insecure_hosts) {
      out << "[registry.\"" << host << "\"]\ninsecure = true\n";
    }
    out << extra_toml;
    out.close();
    std::string bin = BuildDir() + "/cri/server/peapodd";
    std::string log = dir_ + "/peapodd.log";
    std::vector<std::string> argv = {bin, "--config", config};
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    int rc = posix_spawn(&pid_, bin.c_str(), &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ASSERT_EQ(rc, 0) << bin;
    for (int i = 0; i < 500; ++i) {
      ASSERT_EQ(waitpid(pid_, nullptr, WNOHANG), 0) << "peapodd died:\n" << ReadFile(log);
      // A new channel per try: one that failed to connect waits out gRPC's
      // reconnect backoff (seconds) before it tries again.
      stub_ = v1::ImageService::NewStub(
          grpc::CreateChannel("unix://" + socket_, grpc::InsecureChannelCredentials()));
      v1::ImageFsInfoResponse r;
      if (FsInfo(r).ok()) return;
      std::this_thread::sleep_for(milliseconds(20));
    }
    FAIL() << "peapodd did not answer:\n" << ReadFile(log);
  }

  // SIGTERM, and waits for a clean exit.
  void StopDaemon() {
    if (pid_ <= 0) return;
    stub_.reset();  // Closes our connection first.
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    pid_ = -1;
  }

  std::unique_ptr<grpc::ClientContext> Context() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + seconds(60));
    return ctx;
  }

  grpc::Status Pull(const std::string& ref, v1::PullImageResponse& resp,
                    const v1::AuthConfig& auth = {}) {
    v1::PullImageRequest req;
    req.mutable_image()->set_image(ref);
    *req.mutable_auth() = auth;
    return stub_->PullImage(Context().get(), req, &resp);
  }

  grpc::Status List(const std::string& filter, v1::ListImagesResponse& resp) {
    v1::ListImagesRequest req;
    if (!filter.empty()) req.mutable_filter()->mutable_image()->set_image(filter);
    return stub_->ListImages(Context().get(), req, &resp);
  }

  grpc::Status Status(const std::string& ref, v1::ImageStatusResponse& resp, bool verbose = false) {
    v1::ImageStatusRequest req;
    req.mutable_image()->set_image(ref);
    req.set_verbose(verbose);
    return stub_->ImageStatus(Context().get(), req, &resp);
  }

  grpc::Status Remove(const std::string& ref) {
    v1::RemoveImageRequest req;
    req.mutable_image()->set_image(ref);
    v1::RemoveImageResponse resp;
    return stub_->RemoveImage(Context().get(), req, &resp);
  }

  grpc::Status FsInfo(v1::ImageFsInfoResponse& resp) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + seconds(2));
    return stub_->ImageFsInfo(ctx.get(), v1::ImageFsInfoRequest(), &resp);
  }

  // Stops peapodd and checks that its root holds only the empty store
  // layout: no blob, layer, record or container rootfs, and under tmp/ only
  // empty session directories and their lock files.
  void ExpectEmptyStoreAfterStop() {
    StopDaemon();
    for (const char* sub : {"/blobs/sha256", "/layers", "/images", "/containers"}) {
      EXPECT_TRUE(Entries(root_ + sub).empty()) << sub;
    }
    for (const fs::directory_entry& e : fs::directory_iterator(root_ + "/tmp")) {
      if (e.is_directory()) {
        EXPECT_TRUE(fs::is_empty(e.path())) << e.path();
      } else {
        EXPECT_EQ(e.path().extension(), ".lock") << e.path();
      }
    }
  }

  struct Output {
    int exit_code = -1;
    std::string out, err;
  };
  // Runs peactl against our socket.
  Output Peactl(const std::string& args) {
    std::string out = dir_ + "/peactl.out", err = dir_ + "/peactl.err";
    std::string cmd = BuildDir() + "/cri/peactl/peactl -r unix://" + socket_ + " " + args + " >" +
                      out + " 2>" + err;
    int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadFile(out), ReadFile(err)};
  }

  std::string dir_, socket_, root_;
  pid_t pid_ = -1;
  std::unique_ptr<v1::ImageService::Stub> stub_;
};

TEST_F(ImageServiceTest, PullListStatusFsInfoRemove) {
  TestRegistry reg;
  TestImage numeric = BusyboxImage("numeric", "1000:1000");
  TestImage named = BusyboxImage("named", "app");
  ASSERT_EQ(reg.Push("test/busybox", "v1", numeric), 201);
  ASSERT_EQ(reg.Push("test/app", "latest", named), 201);
  ASSERT_NO_FATAL_FAILURE(StartDaemon({reg.host()}));
  std::string busybox = reg.host() + "/test/busybox";
  std::string app = reg.host() + "/test/app";

  v1::ImageFsInfoResponse empty_fs;
  ASSERT_TRUE(FsInfo(empty_fs).ok());

  // 1. Pull: image_ref is the image id (the config digest).
  v1::PullImageResponse pulled;
  grpc::Status s = Pull(busybox + ":v1", pulled);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(pulled.image_ref(), numeric.config_digest);
  s = Pull(app, pulled);  // ":latest" implied
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(pulled.image_ref(), named.config_digest);

  // 2. ListImages without and with a filter (tag, digest, id prefix, unknown).
  v1::ListImagesResponse list;
  ASSERT_TRUE(List("", list).ok());
  ASSERT_EQ(list.images_size(), 2);
  for (const std::string& filter :
       {busybox + ":v1", busybox + "@" + numeric.digest, numeric.config_digest.substr(7, 12)}) {
    list.Clear();
    s = List(filter, list);
    ASSERT_TRUE(s.ok()) << filter << ": " << s.error_message();
    ASSERT_EQ(list.images_size(), 1) << filter;
    EXPECT_EQ(list.images(0).id(), numeric.config_digest) << filter;
  }
  list.Clear();
  ASSERT_TRUE(List(busybox + ":nope", list).ok());
  EXPECT_EQ(list.images_size(), 0);

  // 3. ImageStatus: names, size, uid or username; verbose carries the config.
  v1::ImageStatusResponse st;
  s = Status(busybox + ":v1", st, /*verbose=*/true);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(st.has_image());
  EXPECT_EQ(st.image().id(), numeric.config_digest);
  ASSERT_EQ(st.image().repo_tags_size(), 1);
  EXPECT_EQ(st.image().repo_tags(0), busybox + ":v1");
  ASSERT_EQ(st.image().repo_digests_size(), 1);
  EXPECT_EQ(st.image().repo_digests(0), busybox + "@" + numeric.digest);
  EXPECT_EQ(st.image().size(), ImageSize(numeric));
  EXPECT_GT(st.image().size(), ReadFile("/bin/busybox").size() / 4);
  ASSERT_TRUE(st.image().has_uid());
  EXPECT_EQ(st.image().uid().value(), 1000);
  EXPECT_EQ(st.image().username(), "");
  EXPECT_FALSE(st.image().pinned());
  ASSERT_TRUE(st.info().contains("info"));
  const std::string& info = st.info().at("info");
  EXPECT_NE(info.find("\"imageSpec\""), std::string::npos) << info;
  EXPECT_NE(info.find("\"User\":\"1000:1000\""), std::string::npos) << info;
  EXPECT_NE(info.find(numeric.digest), std::string::npos) << info;

  st.Clear();
  ASSERT_TRUE(Status(named.config_digest, st).ok());
  EXPECT_FALSE(st.image().has_uid());
  EXPECT_EQ(st.image().username(), "app");
  EXPECT_TRUE(st.info().empty());  // not verbose

  // An unknown image is an empty answer, not NotFound.
  st.Clear();
  s = Status(busybox + ":missing", st);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(st.has_image());

  // 4. ImageFsInfo: the store's root, usage that grew with the pulls.
  v1::ImageFsInfoResponse fsinfo;
  ASSERT_TRUE(FsInfo(fsinfo).ok());
  ASSERT_EQ(fsinfo.image_filesystems_size(), 1);
  const v1::FilesystemUsage& u = fsinfo.image_filesystems(0);
  EXPECT_EQ(u.fs_id().mountpoint(), root_);
  // The busybox layer is shared: its blob and unpacked copy are stored once.
  EXPECT_GT(u.used_bytes().value(), ReadFile("/bin/busybox").size());
  EXPECT_GT(u.used_bytes().value(), empty_fs.image_filesystems(0).used_bytes().value());
  EXPECT_GT(u.inodes_used().value(), empty_fs.image_filesystems(0).inodes_used().value());
  int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  EXPECT_LE(u.timestamp(), now);
  EXPECT_GT(u.timestamp(), now - int64_t{60} * 1000 * 1000 * 1000);

  // 5. RemoveImage by tag, then by id; again is still success.
  s = Remove(busybox + ":v1");
  ASSERT_TRUE(s.ok()) << s.error_message();
  list.Clear();
  ASSERT_TRUE(List("", list).ok());
  ASSERT_EQ(list.images_size(), 1);
  EXPECT_EQ(list.images(0).id(), named.config_digest);
  st.Clear();
  ASSERT_TRUE(Status(numeric.config_digest, st).ok());
  EXPECT_FALSE(st.has_image());
  s = Remove(named.config_digest);
  ASSERT_TRUE(s.ok()) << s.error_message();
  s = Remove(named.config_digest);
  EXPECT_TRUE(s.ok()) << s.error_message();
  s = Remove(busybox + ":v1");
  EXPECT_TRUE(s.ok()) << s.error_message();
  list.Clear();
  ASSERT_TRUE(List("", list).ok());
  EXPECT_EQ(list.images_size(), 0);

  ExpectEmptyStoreAfterStop();
}

// Short names as crictl users type them ("busybox" is
// docker.io/library/busybox:latest), served by a docker.io mirror from
// peapod.toml with the name kept. Every handler finds an image by short
// name, full name, digest reference or id; RemoveImage by digest removes it.
TEST_F(ImageServiceTest, ShortNamesThroughADockerHubMirrorAndRemoveByDigest) {
  TestRegistry mirror;
  TestImage official = BusyboxImage("official", "");
  TestImage team = BusyboxImage("team", "");
  ASSERT_EQ(mirror.Push("library/peapod-short", "latest", official), 201);
  ASSERT_EQ(mirror.Push("team/tool", "v2", team), 201);
  ASSERT_NO_FATAL_FAILURE(
      StartDaemon({}, "[registry.\"docker.io\"]\nmirrors = [\"http://" + mirror.host() + "\"]\n"));

  v1::PullImageResponse pulled;
  grpc::Status s = Pull("peapod-short", pulled);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(pulled.image_ref(), official.config_digest);
  s = Pull("team/tool:v2", pulled);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(pulled.image_ref(), team.config_digest);

  std::string full = "docker.io/library/peapod-short";
  for (const std::string& ref : {std::string("peapod-short"), std::string("peapod-short:latest"),
                                 std::string("library/peapod-short"), full, full + ":latest",
                                 "peapod-short@" + official.digest, full + "@" + official.digest,
                                 official.config_digest, official.config_digest.substr(7, 16)}) {
    v1::ImageStatusResponse st;
    s = Status(ref, st);
    ASSERT_TRUE(s.ok()) << ref << ": " << s.error_message();
    ASSERT_TRUE(st.has_image()) << ref;
    EXPECT_EQ(st.image().id(), official.config_digest) << ref;
    v1::ListImagesResponse list;
    ASSERT_TRUE(List(ref, list).ok()) << ref;
    ASSERT_EQ(list.images_size(), 1) << ref;
    EXPECT_EQ(list.images(0).id(), official.config_digest) << ref;
  }
  v1::ImageStatusResponse st;
  ASSERT_TRUE(Status("peapod-short", st).ok());
  ASSERT_EQ(st.image().repo_tags_size(), 1);
  EXPECT_EQ(st.image().repo_tags(0), full + ":latest");
  ASSERT_EQ(st.image().repo_digests_size(), 1);
  EXPECT_EQ(st.image().repo_digests(0), full + "@" + official.digest);
  st.Clear();
  ASSERT_TRUE(Status("team/tool:v2", st).ok());
  ASSERT_EQ(st.image().repo_tags_size(), 1);
  EXPECT_EQ(st.image().repo_tags(0), "docker.io/team/tool:v2");
  // Another tag of the same repository is another image (here: none).
  st.Clear();
  ASSERT_TRUE(Status("team/tool", st).ok());
  EXPECT_FALSE(st.has_image());

  // RemoveImage by digest reference, short and full.
  s = Remove("peapod-short@" + official.digest);
  ASSERT_TRUE(s.ok()) << s.error_message();
  st.Clear();
  ASSERT_TRUE(Status(official.config_digest, st).ok());
  EXPECT_FALSE(st.has_image());
  v1::ListImagesResponse list;
  ASSERT_TRUE(List("", list).ok());
  ASSERT_EQ(list.images_size(), 1);
  EXPECT_EQ(list.images(0).id(), team.config_digest);
  s = Remove("docker.io/team/tool@" + team.digest);
  ASSERT_TRUE(s.ok()) << s.error_message();
  list.Clear();
  ASSERT_TRUE(List("", list).ok());
  EXPECT_EQ(list.images_size(), 0);
  ExpectEmptyStoreAfterStop();
}

TEST_F(ImageServiceTest, BadReferencesAreInvalidArgument) {
  TestRegistry reg;
  ASSERT_NO_FATAL_FAILURE(StartDaemon({reg.host()}));
  for (const std::string& bad : {std::string(), std::string("Upper/Case"), std::string("a b:c"),
                                 std::string("sha256:xyz"), reg.host() + "/x@sha256:123"}) {
    v1::PullImageResponse pulled;
    EXPECT_EQ(Pull(bad, pulled).error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    v1::ImageStatusResponse st;
    EXPECT_EQ(Status(bad, st).error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_EQ(Remove(bad).error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    if (!bad.empty()) {  // An empty filter lists everything.
      v1::ListImagesResponse list;
      EXPECT_EQ(List(bad, list).error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    }
  }
  // A well-formed name the registry does not have.
  v1::PullImageResponse pulled;
  EXPECT_EQ(Pull(reg.host() + "/test/none:v1", pulled).error_code(), grpc::StatusCode::NOT_FOUND);
  ExpectEmptyStoreAfterStop();
}

TEST_F(ImageServiceTest, PullWithBasicAuth) {
  TestRegistry reg("alice", "s3cret");
  TestImage im = BusyboxImage("private", "");
  ASSERT_EQ(reg.Push("private/busybox", "v1", im), 201);
  ASSERT_NO_FATAL_FAILURE(StartDaemon({reg.host()}));
  std::string ref = reg.host() + "/private/busybox:v1";

  v1::PullImageResponse pulled;
  EXPECT_EQ(Pull(ref, pulled).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  v1::AuthConfig wrong;
  wrong.set_username("alice");
  wrong.set_password("nope");
  EXPECT_EQ(Pull(ref, pulled, wrong).error_code(), grpc::StatusCode::PERMISSION_DENIED);

  v1::AuthConfig user_password;
  user_password.set_username("alice");
  user_password.set_password("s3cret");
  grpc::Status s = Pull(ref, pulled, user_password);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(pulled.image_ref(), im.config_digest);
  v1::ImageStatusResponse st;
  ASSERT_TRUE(Status(ref, st).ok());
  EXPECT_FALSE(st.image().has_uid());  // No USER: neither uid nor name.
  EXPECT_EQ(st.image().username(), "");
  ASSERT_TRUE(Remove(ref).ok());

  v1::AuthConfig encoded;  // "auth" is base64("user:password")
  encoded.set_auth(absl::Base64Escape("alice:s3cret"));
  s = Pull(ref, pulled, encoded);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(pulled.image_ref(), im.config_digest);
  ASSERT_TRUE(Remove(pulled.image_ref()).ok());
  ExpectEmptyStoreAfterStop();
}

TEST_F(ImageServiceTest, ImageInUseByAContainerIsNotRemoved) {
  TestRegistry reg;
  TestImage im = BusyboxImage("used", "0");
  ASSERT_EQ(reg.Push("test/used", "v1", im), 201);
  ASSERT_NO_FATAL_FAILURE(StartDaemon({reg.host()}));
  std::string ref = reg.host() + "/test/used:v1";
  v1::PullImageResponse pulled;
  grpc::Status s = Pull(ref, pulled);
  ASSERT_TRUE(s.ok()) << s.error_message();

  {
    // A container's rootfs, made the way CreateContainer will make it.
    auto store = images::ImageStore::Open(root_);
    ASSERT_TRUE(store.ok()) << store.status();
    auto rootfs = (*store)->Mount("c1", pulled.image_ref());
    ASSERT_TRUE(rootfs.ok()) << rootfs.status();
    EXPECT_EQ(ReadFile(*rootfs + "/etc/variant"), "used");
    EXPECT_EQ(Remove(ref).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    v1::ListImagesResponse list;
    ASSERT_TRUE(List("", list).ok());
    EXPECT_EQ(list.images_size(), 1);
    ASSERT_TRUE((*store)->Unmount("c1").ok());
  }
  s = Remove(ref);
  EXPECT_TRUE(s.ok()) << s.error_message();
  ExpectEmptyStoreAfterStop();
}

TEST_F(ImageServiceTest, PeactlPullImagesInspectiRmi) {
  if (!fs::exists(BuildDir() + "/cri/peactl/peactl")) GTEST_SKIP() << "peactl is not built";
  TestRegistry reg("alice", "s3cret");
  TestImage im = BusyboxImage("peactl", "app");
  ASSERT_EQ(reg.Push("test/busybox", "v1", im), 201);
  ASSERT_NO_FATAL_FAILURE(StartDaemon({reg.host()}));
  std::string ref = reg.host() + "/test/busybox:v1";

  Output o = Peactl("pull " + ref);
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("PermissionDenied"), std::string::npos) << o.err;
  o = Peactl("pull --creds alice:s3cret " + ref);
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("Image is up to date for " + im.config_digest), std::string::npos) << o.out;

  o = Peactl("images");
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find(reg.host() + "/test/busybox"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("v1"), std::string::npos) << o.out;
  o = Peactl("images -q " + ref);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, im.config_digest + "\n");

  o = Peactl("inspecti " + ref);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("imageSpec"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("\"app\""), std::string::npos) << o.out;

  o = Peactl("rmi " + ref);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("Deleted: " + ref), std::string::npos) << o.out;
  o = Peactl("inspecti " + ref);
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("no such image"), std::string::npos) << o.err;
  ExpectEmptyStoreAfterStop();
}

}  // namespace
}  // namespace peapod::cri
