// Exec, hooks and the launcher's self-protection, against real containers.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "oci/linux/errno_status.h"
#include "oci/runtime/runtime.h"
#include "oci/runtime/test_bundle.h"

namespace peapod::runtime {
namespace {

using ::testing::HasSubstr;
using testing::Pipe;
using testing::TestBundle;

class ExecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pea-root-XXXXXX";
    opts_.root = ::mkdtemp(tmpl);
    id_ = absl::StrCat("e", ::getpid(), "-", counter_++);
  }
  void TearDown() override {
    Delete(opts_, id_, true).IgnoreError();
    EXPECT_FALSE(std::filesystem::exists(opts_.root + "/" + id_));
    EXPECT_FALSE(std::filesystem::exists("/sys/fs/cgroup/memory/pea/" + id_));
    EXPECT_THAT(testing::MountsUnder(bundle_.dir()), ::testing::IsEmpty());
    std::filesystem::remove_all(opts_.root);
  }
  absl::Status CreateSleeper(bool start) {
    bundle_.spec().process->args = {"sleep", "100"};
    bundle_.Write();
    CreateOptions c;
    c.id = id_;
    c.bundle = bundle_.dir();
    PEAPOD_RETURN_IF_ERROR(Create(opts_, c));
    return start ? Start(opts_, id_) : absl::OkStatus();
  }
  // Execs `args` with stdout+stderr captured; returns {status, output}.
  std::pair<absl::StatusOr<int>, std::string> ExecCapture(std::vector<std::string> args,
                                                          std::string cwd = "/") {
    ExecOptions e;
    e.process = *bundle_.spec().process;
    e.process.args = std::move(args);
    e.process.cwd = std::move(cwd);
    Pipe out;
    e.stdout_fd = out.w;
    e.stderr_fd = out.w;
    absl::StatusOr<int> code = Exec(opts_, id_, e);
    out.CloseWrite();
    return {code, out.ReadAll()};
  }

  static inline int counter_ = 0;
  Options opts_;
  std::string id_;
  TestBundle bundle_;
};

TEST_F(ExecTest, JoinsTheContainerAndReportsExitCode) {
  ASSERT_TRUE(CreateSleeper(true).ok());
  auto [code, out] = ExecCapture({"sh", "-c", "cat /proc/1/cmdline; echo; hostname; exit 7"});
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 7);
  EXPECT_EQ(out, std::string("sleep\0"
                             "100\0\npea\n",
                             15));
}

TEST_F(ExecTest, OnlyStdioFdsAfterExec) {
  ASSERT_TRUE(CreateSleeper(true).ok());
  auto [code, out] = ExecCapture({"ls", "/proc/self/fd"});
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(out, "0\n1\n2\n3\n");  // 3: ls's own directory fd
}

TEST_F(ExecTest, CwdThroughProcSelfFdCannotReachTheHost) {
  ASSERT_TRUE(CreateSleeper(true).ok());
  for (int fd = 3; fd < 12; ++fd) {
    auto [code, out] =
        ExecCapture({"sh", "-c", "pwd; ls .. | head -3"}, absl::StrCat("/proc/self/fd/", fd));
    // Either refused, or a directory of the container itself.
    if (code.ok()) {
      EXPECT_THAT(out, ::testing::Not(HasSubstr("pea-")));
      EXPECT_THAT(out, ::testing::Not(HasSubstr("unreachable")));
    }
  }
}

TEST_F(ExecTest, LauncherBinaryNotReachableThroughProcExe) {
  // While created, the init is still this (launcher) binary, blocked.
  ASSERT_TRUE(CreateSleeper(false).ok());
  std::string self = std::filesystem::read_symlink("/proc/self/exe");
  auto before = std::filesystem::last_write_time(self);
  auto [code, out] = ExecCapture(
      {"sh", "-c",
       "readlink /proc/1/exe && echo readlink-ok; cat /proc/1/exe > /dev/null && echo read-ok; "
       "echo x >> /proc/1/exe && echo write-ok; true"});
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_THAT(out, ::testing::Not(HasSubstr("-ok")));
  EXPECT_EQ(std::filesystem::last_write_time(self), before);
}

TEST_F(ExecTest, DetachWritesPidFile) {
  ASSERT_TRUE(CreateSleeper(true).ok());
  ExecOptions e;
  e.process = *bundle_.spec().process;
  e.process.args = {"sleep", "50"};
  e.detach = true;
  e.pid_file = opts_.root + "/exec.pid";
  absl::StatusOr<int> code = Exec(opts_, id_, e);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0);
  std::ifstream in(e.pid_file);
  pid_t pid = 0;
  in >> pid;
  ASSERT_GT(pid, 0);
  absl::StatusOr<std::vector<pid_t>> pids = Pids(opts_, id_);
  ASSERT_TRUE(pids.ok());
  EXPECT_THAT(*pids, ::testing::Contains(pid));  // in the container's cgroup
  // We are its parent (as a shim would be): reap it once killed, so the
  // cgroup can go.
  ASSERT_TRUE(Kill(opts_, id_, SIGKILL, true).ok());
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status));
  ASSERT_TRUE(Delete(opts_, id_, true).ok());
}

TEST_F(ExecTest, ExecIntoStoppedContainerRefused) {
  ASSERT_TRUE(CreateSleeper(true).ok());
  ASSERT_TRUE(Kill(opts_, id_, SIGKILL, false).ok());
  absl::StatusOr<ContainerState> st = State(opts_, id_);
  for (int i = 0; i < 100 && st.ok() && st->status != "stopped"; ++i) {
    ::usleep(10000);
    st = State(opts_, id_);
  }
  auto [code, out] = ExecCapture({"true"});
  EXPECT_TRUE(absl::IsFailedPrecondition(code.status())) << code.status();
}

TEST_F(ExecTest, HooksGetStateAndFailingHookLeavesNothing) {
  std::string log = bundle_.dir() + "/hook.log";
  oci::Hook save;
  save.path = "/bin/sh";
  save.args = {"sh", "-c", "cat >> " + log + "; echo >> " + log};
  bundle_.spec().hooks.create_runtime.push_back(save);
  bundle_.spec().hooks.poststop.push_back(save);
  ASSERT_TRUE(CreateSleeper(true).ok());
  ASSERT_TRUE(Delete(opts_, id_, true).ok());
  std::stringstream text;
  text << std::ifstream(log).rdbuf();
  EXPECT_THAT(text.str(), HasSubstr("\"id\":\"" + id_ + "\""));
  EXPECT_THAT(text.str(), HasSubstr("\"status\":\"creating\""));
  EXPECT_THAT(text.str(), HasSubstr("\"status\":\"stopped\""));

  oci::Hook fail;
  fail.path = "/bin/sh";
  fail.args = {"sh", "-c", "echo boom >&2; exit 3"};
  bundle_.spec().hooks.create_runtime = {fail};
  absl::Status st = CreateSleeper(false);
  EXPECT_THAT(std::string(st.message()), HasSubstr("exited with status 3: boom"));
  EXPECT_FALSE(std::filesystem::exists(opts_.root + "/" + id_));
  EXPECT_FALSE(std::filesystem::exists("/sys/fs/cgroup/pids/pea/" + id_));
}

TEST_F(ExecTest, FailedPoststartAndPoststopHooksAreLoggedWarnings) {
  oci::Hook fail;
  fail.path = "/bin/sh";
  fail.args = {"sh", "-c", "echo nope >&2; exit 4"};
  bundle_.spec().hooks.poststart = {fail};
  bundle_.spec().hooks.poststop = {fail};
  opts_.log = bundle_.dir() + "/pea.log";
  opts_.log_json = true;
  // Neither failure fails its call (runtime-spec: log a warning).
  ASSERT_TRUE(CreateSleeper(true).ok());
  ASSERT_TRUE(Delete(opts_, id_, true).ok());
  std::ifstream in(opts_.log);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], HasSubstr("\"level\":\"warning\""));
  EXPECT_THAT(lines[0], HasSubstr("poststart hook"));
  EXPECT_THAT(lines[0], HasSubstr("exited with status 4: nope"));
  EXPECT_THAT(lines[1], HasSubstr("poststop hook"));
}

TEST_F(ExecTest, HookTimeoutKillsIt) {
  oci::Hook slow;
  slow.path = "/bin/sleep";
  slow.args = {"sleep", "30"};
  slow.timeout = 1;
  bundle_.spec().hooks.prestart.push_back(slow);
  absl::Status st = CreateSleeper(false);
  EXPECT_TRUE(absl::IsDeadlineExceeded(st)) << st;
  EXPECT_FALSE(std::filesystem::exists(opts_.root + "/" + id_));
}

}  // namespace
}  // namespace peapod::runtime
