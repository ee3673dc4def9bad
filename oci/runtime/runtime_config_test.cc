// Config knobs applied in real containers: sysctls, time offsets, no-pivot,
// and the named errors of limits this host cannot grant.
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "oci/runtime/runtime.h"
#include "oci/runtime/test_bundle.h"

namespace peapod::runtime {
namespace {

using ::testing::HasSubstr;
using testing::Pipe;
using testing::TestBundle;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pea-root-XXXXXX";
    opts_.root = ::mkdtemp(tmpl);
    id_ = absl::StrCat("c", ::getpid(), "-", counter_++);
  }
  void TearDown() override {
    Delete(opts_, id_, true).IgnoreError();
    EXPECT_FALSE(std::filesystem::exists(opts_.root + "/" + id_));
    EXPECT_FALSE(std::filesystem::exists("/sys/fs/cgroup/memory/pea/" + id_));
    EXPECT_THAT(testing::MountsUnder(bundle_.dir()), ::testing::IsEmpty());
    std::filesystem::remove_all(opts_.root);
  }
  // Runs the bundle's process; returns {status, output}.
  std::pair<absl::StatusOr<int>, std::string> RunCapture(bool no_pivot = false) {
    bundle_.Write();
    Pipe out;
    CreateOptions c;
    c.id = id_;
    c.bundle = bundle_.dir();
    c.stdout_fd = out.w;
    c.stderr_fd = out.w;
    c.no_pivot = no_pivot;
    absl::StatusOr<int> code = runtime::Run(opts_, c, false);
    out.CloseWrite();
    return {code, out.ReadAll()};
  }
  static inline int counter_ = 0;
  Options opts_;
  std::string id_;
  TestBundle bundle_;
};

TEST_F(ConfigTest, SysctlWrittenInsideTheContainer) {
  bundle_.spec().linux->sysctl["net.ipv4.ip_forward"] = "1";
  bundle_.spec().process->args = {"cat", "/proc/sys/net/ipv4/ip_forward"};
  auto [code, out] = RunCapture();
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(out, "1\n");
  bundle_.spec().linux->sysctl = {{"../../etc/x", "1"}};
  auto [bad, _] = RunCapture();
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("not a valid key"));
}

TEST_F(ConfigTest, TimeNamespaceOffsets) {
  bundle_.spec().linux->namespaces.push_back({"time", ""});
  bundle_.spec().linux->time_offsets["boottime"] = {1000000, 0};
  bundle_.spec().process->args = {"cat", "/proc/uptime"};
  auto [code, out] = RunCapture();
  ASSERT_TRUE(code.ok()) << code.status();
  double up = 0;
  ASSERT_TRUE(absl::SimpleAtod(out.substr(0, out.find(' ')), &up)) << out;
  EXPECT_GT(up, 1000000);
}

TEST_F(ConfigTest, NoPivotUsesMoveAndChroot) {
  bundle_.spec().process->args = {"sh", "-c", "echo $$; ls /bin/busybox"};
  auto [code, out] = RunCapture(true);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(out, "1\n/bin/busybox\n");
}

TEST_F(ConfigTest, RaisingHardRlimitIsANamedError) {
  struct rlimit rl;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &rl), 0);
  bundle_.spec().process->rlimits = {{"RLIMIT_NOFILE", rl.rlim_max + 1, 1024}};
  bundle_.spec().process->args = {"true"};
  auto [code, out] = RunCapture();
  EXPECT_THAT(std::string(code.status().message()), HasSubstr("RLIMIT_NOFILE"));
  EXPECT_THAT(std::string(code.status().message()), HasSubstr("CAP_SYS_RESOURCE"));
}

TEST_F(ConfigTest, NegativeOomScoreAdjIsANamedError) {
  bundle_.spec().process->oom_score_adj = -500;
  bundle_.spec().process->args = {"true"};
  auto [code, out] = RunCapture();
  if (code.ok()) GTEST_SKIP() << "this host grants CAP_SYS_RESOURCE";
  EXPECT_THAT(std::string(code.status().message()), HasSubstr("oomScoreAdj -500"));
}

TEST_F(ConfigTest, UserAndGroupsApplied) {
  bundle_.spec().process->user.uid = 1000;
  bundle_.spec().process->user.gid = 1000;
  bundle_.spec().process->user.additional_gids = {44, 55};
  bundle_.spec().process->args = {"sh", "-c", "id -u; id -g; id -G"};
  auto [code, out] = RunCapture();
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(out, "1000\n1000\n1000 44 55\n");
}

}  // namespace
}  // namespace peapod::runtime
