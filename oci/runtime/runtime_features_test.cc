// Terminal, user namespace and cgroup-backed verbs against real containers.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "oci/linux/console.h"
#include "oci/linux/errno_status.h"
#include "oci/runtime/runtime.h"
#include "oci/runtime/test_bundle.h"

namespace peapod::runtime {
namespace {

using ::testing::HasSubstr;
using testing::Pipe;
using testing::TestBundle;

class FeaturesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pea-root-XXXXXX";
    opts_.root = ::mkdtemp(tmpl);
    id_ = absl::StrCat("f", ::getpid(), "-", counter_++);
    c_.id = id_;
    c_.bundle = bundle_.dir();
  }
  void TearDown() override {
    Delete(opts_, id_, true).IgnoreError();
    EXPECT_FALSE(std::filesystem::exists(opts_.root + "/" + id_));
    EXPECT_FALSE(std::filesystem::exists("/sys/fs/cgroup/freezer/pea/" + id_));
    EXPECT_THAT(testing::MountsUnder(bundle_.dir()), ::testing::IsEmpty());
    std::filesystem::remove_all(opts_.root);
  }
  static inline int counter_ = 0;
  Options opts_;
  std::string id_;
  TestBundle bundle_;
  CreateOptions c_;
};

TEST_F(FeaturesTest, TerminalMasterGoesToConsoleSocket) {
  std::string sock_path = opts_.root + "/console.sock";
  linux::UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, sock_path.c_str());
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener.get(), 1), 0);
  bundle_.spec().process->terminal = true;
  bundle_.spec().process->args = {"sh", "-c", "test -t 0 && test -t 1 && echo is-a-tty"};
  bundle_.Write();
  c_.console_socket = sock_path;
  ASSERT_TRUE(Create(opts_, c_).ok());
  linux::UniqueFd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  absl::StatusOr<linux::UniqueFd> master = linux::ReceiveFd(conn.get());
  ASSERT_TRUE(master.ok()) << master.status();
  ASSERT_TRUE(Start(opts_, id_).ok());
  std::string out;
  char buf[256];
  ssize_t n;
  while (out.find("is-a-tty") == std::string::npos &&
         (n = ::read(master->get(), buf, sizeof buf)) > 0) {
    out.append(buf, n);
  }
  EXPECT_THAT(out, HasSubstr("is-a-tty"));
}

TEST_F(FeaturesTest, TerminalWithoutConsoleSocketRefused) {
  bundle_.spec().process->terminal = true;
  bundle_.Write();
  absl::Status st = Create(opts_, c_);
  EXPECT_THAT(std::string(st.message()), HasSubstr("console-socket"));
}

TEST_F(FeaturesTest, UserNamespaceMapsRoot) {
  oci::Linux& l = *bundle_.spec().linux;
  l.namespaces.push_back({"user", ""});
  l.uid_mappings = {{0, 100000, 65536}};
  l.gid_mappings = {{0, 100000, 65536}};
  bundle_.spec().process->args = {"sh", "-c", "id -u; cat /proc/self/uid_map; ls /dev/null"};
  bundle_.Write();
  Pipe out;
  c_.stdout_fd = out.w;
  c_.stderr_fd = out.w;
  absl::StatusOr<int> code = runtime::Run(opts_, c_, false);
  out.CloseWrite();
  std::string text = out.ReadAll();
  ASSERT_TRUE(code.ok()) << code.status() << text;
  EXPECT_EQ(*code, 0) << text;
  EXPECT_THAT(text, ::testing::MatchesRegex("0\n +0 +100000 +65536\n/dev/null\n"));
}

TEST_F(FeaturesTest, ExecJoinsUserNamespace) {
  oci::Linux& l = *bundle_.spec().linux;
  l.namespaces.push_back({"user", ""});
  l.uid_mappings = {{0, 200000, 65536}};
  l.gid_mappings = {{0, 200000, 65536}};
  bundle_.spec().process->args = {"sleep", "100"};
  bundle_.Write();
  ASSERT_TRUE(Create(opts_, c_).ok());
  ASSERT_TRUE(Start(opts_, id_).ok());
  ExecOptions e;
  e.process = *bundle_.spec().process;
  e.process.args = {"sh", "-c", "id -u; cat /proc/self/uid_map; ls /proc/self/fd"};
  Pipe out;
  e.stdout_fd = out.w;
  e.stderr_fd = out.w;
  absl::StatusOr<int> code = Exec(opts_, id_, e);
  out.CloseWrite();
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_THAT(out.ReadAll(), ::testing::MatchesRegex("0\n +0 +200000 +65536\n0\n1\n2\n3\n"));
}

TEST_F(FeaturesTest, PauseResumePidsStats) {
  bundle_.spec().process->args = {"sh", "-c", "sleep 100 & sleep 100"};
  bundle_.Write();
  ASSERT_TRUE(Create(opts_, c_).ok());
  ASSERT_TRUE(Start(opts_, id_).ok());
  absl::StatusOr<std::vector<pid_t>> pids;
  for (int i = 0; i < 100; ++i) {
    pids = Pids(opts_, id_);
    if (pids.ok() && pids->size() >= 2) break;
    ::usleep(10000);
  }
  ASSERT_TRUE(pids.ok()) << pids.status();
  EXPECT_GE(pids->size(), 2u);
  ASSERT_TRUE(Pause(opts_, id_).ok());
  EXPECT_EQ(State(opts_, id_)->status, "paused");
  EXPECT_FALSE(Pause(opts_, id_).ok());
  ASSERT_TRUE(Resume(opts_, id_).ok());
  EXPECT_EQ(State(opts_, id_)->status, "running");
  absl::StatusOr<Stats> stats = GetStats(opts_, id_);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_GT(stats->memory.usage, 0u);
  EXPECT_GE(stats->pids.current, 2u);
  EXPECT_FALSE(*OomKilled(opts_, id_));
  ASSERT_TRUE(Kill(opts_, id_, SIGKILL, true).ok());
  ASSERT_TRUE(Delete(opts_, id_, true).ok());
}

TEST_F(FeaturesTest, PreservedFdsAndListenEnv) {
  Pipe extra;
  Pipe out;
  // fd 3 in the container is `extra`'s write end.
  bundle_.spec().process->args = {"sh", "-c",
                                  "echo via3 >&3; echo $LISTEN_FDS; ls /proc/self/fd | wc -l"};
  bundle_.Write();
  int saved3 = ::dup(3);
  ASSERT_GE(::dup2(extra.w, 3), 0);
  c_.preserve_fds = 1;
  c_.stdout_fd = out.w;
  absl::StatusOr<int> code = runtime::Run(opts_, c_, false);
  ::dup2(saved3, 3);
  ::close(saved3);
  out.CloseWrite();
  extra.CloseWrite();
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(out.ReadAll(), "1\n5\n");  // 0 1 2 3 + ls's own fd
  EXPECT_EQ(extra.ReadAll(), "via3\n");
}

TEST_F(FeaturesTest, SecondContainerJoinsNamespacesByPath) {
  // The "pod": a sleeper owning pid, net, ipc and uts namespaces.
  bundle_.spec().process->args = {"sleep", "100"};
  bundle_.spec().hostname = "podhost";
  bundle_.Write();
  ASSERT_TRUE(Create(opts_, c_).ok());
  ASSERT_TRUE(Start(opts_, id_).ok());
  pid_t pod = State(opts_, id_)->pid;
  // The "pea": joins them by /proc/<pid>/ns/* paths.
  TestBundle second;
  oci::Spec& s = second.spec();
  s.hostname.clear();
  s.linux->namespaces = {{"mount", ""}};
  for (auto [type, name] :
       {std::pair{"pid", "pid"}, {"network", "net"}, {"ipc", "ipc"}, {"uts", "uts"}}) {
    s.linux->namespaces.push_back({type, absl::StrCat("/proc/", pod, "/ns/", name)});
  }
  s.process->args = {"sh", "-c", "hostname; cat /proc/1/cmdline; echo; echo $$"};
  second.Write();
  Pipe out;
  CreateOptions c2;
  c2.id = id_ + "-b";
  c2.bundle = second.dir();
  c2.stdout_fd = out.w;
  absl::StatusOr<int> code = runtime::Run(opts_, c2, false);
  out.CloseWrite();
  ASSERT_TRUE(code.ok()) << code.status();
  std::string text = out.ReadAll();
  EXPECT_THAT(text, ::testing::StartsWith(std::string("podhost\nsleep\0"
                                                      "100\0\n",
                                                      19)));
  EXPECT_THAT(text, ::testing::Not(::testing::EndsWith("\n1\n")));  // not PID 1 there
  EXPECT_FALSE(std::filesystem::exists(opts_.root + "/" + c2.id));
}

TEST_F(FeaturesTest, SeccompFilterApplies) {
  oci::Seccomp sc;
  sc.default_action = "SCMP_ACT_ALLOW";
  oci::SeccompSyscall rule;
  rule.names = {"mkdir", "mkdirat"};
  rule.action = "SCMP_ACT_ERRNO";
  rule.errno_ret = 1;  // EPERM
  sc.syscalls.push_back(rule);
  bundle_.spec().linux->seccomp = sc;
  bundle_.spec().root.readonly = false;
  bundle_.spec().process->args = {"sh", "-c", "mkdir /tmp/x || echo denied"};
  bundle_.Write();
  Pipe out;
  c_.stdout_fd = out.w;
  c_.stderr_fd = out.w;
  absl::StatusOr<int> code = runtime::Run(opts_, c_, false);
  out.CloseWrite();
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_THAT(out.ReadAll(), HasSubstr("Operation not permitted\ndenied"));
  EXPECT_FALSE(std::filesystem::exists(bundle_.rootfs() + "/tmp/x"));
}

TEST_F(FeaturesTest, UnknownCapabilityAndBadNamespacePathRefused) {
  bundle_.spec().process->capabilities->bounding.push_back("CAP_FLY");
  bundle_.Write();
  EXPECT_THAT(std::string(Create(opts_, c_).message()), HasSubstr("CAP_FLY"));
  bundle_.spec().process->capabilities->bounding.pop_back();
  bundle_.spec().linux->namespaces.push_back({"cgroup", "/proc/self/ns/net"});
  bundle_.Write();
  EXPECT_THAT(std::string(Create(opts_, c_).message()), HasSubstr("not cgroup"));
  EXPECT_FALSE(std::filesystem::exists(opts_.root + "/" + id_));
}

}  // namespace
}  // namespace peapod::runtime
