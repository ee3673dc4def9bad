// Crash safety of pulls: `peapod-image pull` is SIGKILLed at named steps
// (PEAPOD_FAILPOINT, see cri/util/failpoint.h) and from outside at
// arbitrary moments. Whatever the moment, the store shows no image, no
// partial layer and no corrupt blob; the next open removes the dead pull's
// temp files; then a normal pull succeeds.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "cri/images/image_store.h"
#include "cri/images/puller.h"
#include "cri/images/test_registry.h"
#include "gtest/gtest.h"

namespace peapod::images {
namespace {

using testing::Compression;
using testing::TarBuilder;
using testing::TestImage;
using testing::TestRegistry;
namespace fs = std::filesystem;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string PeapodImage() {
  const char* build = std::getenv("PEAPOD_BUILD_DIR");
  return std::string(build ? build : ".") + "/cri/images/peapod-image";
}

std::set<std::string> Names(const std::string& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename());
  return out;
}

// Three layers; the middle one is a few MB so the stream is still going
// when the first entries land.
TestImage ThreeLayerImage(std::vector<std::string>* diff_ids) {
  TarBuilder base, big, top;
  base.Dir("bin").File("bin/busybox", ReadAll("/bin/busybox"), 0755);
  std::string noise;
  uint64_t x = 88172645463325252ULL;
  for (int i = 0; i < (6 << 20) / 8; ++i) {  // xorshift: incompressible, deterministic
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    noise.append(reinterpret_cast<const char*>(&x), 8);
  }
  big.Dir("data").File("data/a", "first").File("data/noise", noise).File("data/z", "last");
  top.Dir("app").File("app/hello", "hello");
  std::vector<std::string> layers;
  for (TarBuilder* t : {&base, &big, &top}) {
    layers.push_back(t->Build(Compression::kGzip));
    diff_ids->push_back(DigestOf(t->Build()));
  }
  return testing::BuildImage(layers, *diff_ids);
}

class CrashTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    registry_ = new TestRegistry();  // once per suite (each derived suite too)
    diff_ids_.clear();
    image_ = new TestImage(ThreeLayerImage(&diff_ids_));
    ASSERT_EQ(registry_->Push("crash/app", "v1", *image_), 201);
  }
  static void TearDownTestSuite() {
    delete registry_;
    delete image_;
  }
  void SetUp() override { root_ = testing::MakeTempDir("peapod-crash-test"); }
  void TearDown() override { fs::remove_all(root_); }

  std::string Ref() const { return registry_->host() + "/crash/app:v1"; }

  // Starts `peapod-image pull` with PEAPOD_FAILPOINT=failpoint (if any).
  pid_t StartPull(const std::string& failpoint) { return StartPull(failpoint, Ref()); }
  pid_t StartPull(const std::string& failpoint, const std::string& ref) {
    pid_t pid = fork();
    if (pid == 0) {
      if (!failpoint.empty()) setenv("PEAPOD_FAILPOINT", failpoint.c_str(), 1);
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      std::string bin = PeapodImage();
      execl(bin.c_str(), "peapod-image", "--root", root_.c_str(), "pull", ref.c_str(), nullptr);
      _exit(127);
    }
    return pid;
  }

  // What a dead pull may leave visible: complete layers and blobs only.
  void ExpectNothingHalfVisible() {
    EXPECT_TRUE(fs::is_empty(root_ + "/images")) << "an image record appeared";
    std::set<std::string> chains;
    std::string chain;
    for (const std::string& d : diff_ids_) chains.insert(DigestHex(chain = ChainId(chain, d)));
    for (const std::string& name : Names(root_ + "/layers")) {
      EXPECT_TRUE(chains.count(name)) << "unknown layer dir " << name;
      EXPECT_TRUE(fs::exists(root_ + "/layers/" + name + "/layer.json")) << name;
      EXPECT_TRUE(fs::is_directory(root_ + "/layers/" + name + "/diff")) << name;
    }
    // The big layer, if present, is whole.
    for (const std::string& name : Names(root_ + "/layers")) {
      std::string diff = root_ + "/layers/" + name + "/diff";
      if (fs::exists(diff + "/data")) {
        EXPECT_EQ(ReadAll(diff + "/data/z"), "last");
        EXPECT_EQ(fs::file_size(diff + "/data/noise"), size_t{6 << 20});
      }
    }
    if (fs::exists(root_ + "/blobs/sha256")) {
      for (const std::string& hex : Names(root_ + "/blobs/sha256")) {
        EXPECT_EQ(DigestOf(ReadAll(root_ + "/blobs/sha256/" + hex)), "sha256:" + hex)
            << "a partial blob is visible";
      }
    }
  }

  // Opens the store (removing dead sessions), checks only this session's
  // temp dir is left, then pulls normally.
  void ExpectRecoveryAndPull() {
    auto store = ImageStore::Open(root_);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_TRUE((*store)->List().empty());
    std::string own = fs::path((*store)->tmp_dir()).filename();
    EXPECT_EQ(Names(root_ + "/tmp"), (std::set<std::string>{own, own + ".lock"}));
    EXPECT_TRUE(fs::is_empty((*store)->tmp_dir()));
    Puller puller(**store, {});
    auto im = puller.Pull(Ref());
    ASSERT_TRUE(im.ok()) << im.status();
    EXPECT_EQ(im->id, image_->config_digest);
    EXPECT_EQ((*store)->List().size(), 1u);
    EXPECT_EQ(Names(root_ + "/layers").size(), 3u);
    auto rootfs = (*store)->Mount("c1", Ref());
    ASSERT_TRUE(rootfs.ok()) << rootfs.status();
    EXPECT_EQ(ReadAll(*rootfs + "/app/hello"), "hello");
    EXPECT_EQ(ReadAll(*rootfs + "/data/z"), "last");
    EXPECT_TRUE((*store)->Unmount("c1").ok());
  }

  static TestRegistry* registry_;
  static TestImage* image_;
  static std::vector<std::string> diff_ids_;
  std::string root_;
};

TestRegistry* CrashTest::registry_ = nullptr;
TestImage* CrashTest::image_ = nullptr;
std::vector<std::string> CrashTest::diff_ids_;

class FailpointCrashTest : public CrashTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(FailpointCrashTest, KilledPullLeavesNothingHalfVisible) {
  pid_t pid = StartPull(GetParam());
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  // The pull must have died at the failpoint, not finished or failed.
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << GetParam() << " not reached; status " << status;
  ExpectNothingHalfVisible();
  // The dead session's temp dir is still there until the next open.
  EXPECT_GE(Names(root_ + "/tmp").size(), 2u);
  ExpectRecoveryAndPull();
}

INSTANTIATE_TEST_SUITE_P(Steps, FailpointCrashTest,
                         ::testing::Values("pull:manifest-stored", "pull:layer-blob-committed",
                                           "unpack:mid-layer", "store:layer-staged",
                                           "store:layer-committed", "pull:layers-committed"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

// A pull that moves a tag to a new image, killed after writing the new
// record but before taking the tag off the old one: both records carry the
// tag, and the next Open leaves it on the new image only.
TEST_F(CrashTest, KilledWhileMovingATagKeepsItOnTheNewImage) {
  TarBuilder a, b;
  a.File("v", "1");
  b.File("v", "2");
  TestImage old_image = testing::BuildImage({a.Build(Compression::kGzip)}, {DigestOf(a.Build())});
  TestImage new_image = testing::BuildImage({b.Build(Compression::kGzip)}, {DigestOf(b.Build())});
  std::string ref = registry_->host() + "/crash/retag:latest";
  ASSERT_EQ(registry_->Push("crash/retag", "latest", old_image), 201);
  {
    auto store = ImageStore::Open(root_);
    ASSERT_TRUE(store.ok()) << store.status();
    Puller puller(**store, {});
    ASSERT_TRUE(puller.Pull(ref).ok());
  }
  ASSERT_EQ(registry_->Push("crash/retag", "latest", new_image), 201);
  pid_t pid = StartPull("store:record-written", ref);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  for (const TestImage* im : {&old_image, &new_image}) {
    std::string record = ReadAll(root_ + "/images/" + DigestHex(im->config_digest) + ".json");
    EXPECT_NE(record.find(ref), std::string::npos) << "the crash hit outside the window";
  }
  auto store = ImageStore::Open(root_);
  ASSERT_TRUE(store.ok()) << store.status();
  auto got = (*store)->Resolve(ref);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->id, new_image.config_digest);
  auto old = (*store)->Resolve(old_image.config_digest);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_TRUE(old->repo_tags.empty());
  EXPECT_EQ((*store)->List().size(), 2u);
}

// SIGKILL from outside at moments spread over the pull: whatever it hit,
// the same holds.
TEST_F(CrashTest, KilledFromOutsideAtAnyMoment) {
  for (int delay_ms : {5, 30, 80, 200, 500}) {
    SCOPED_TRACE("kill after " + std::to_string(delay_ms) + " ms");
    fs::remove_all(root_);
    fs::create_directories(root_);
    pid_t pid = StartPull("");
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    if (WIFEXITED(status)) {  // finished before the kill: a complete image
      EXPECT_EQ(WEXITSTATUS(status), 0);
      continue;
    }
    if (fs::exists(root_ + "/images")) ExpectNothingHalfVisible();
    ExpectRecoveryAndPull();
  }
}

}  // namespace
}  // namespace peapod::images
