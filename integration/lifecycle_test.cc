// Lifecycle verbs end to end: exec, console socket, hooks, kill, delete,
// pause/resume, update, list, ps.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_split.h"
#include "integration/harness.h"

namespace peapod::integration {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

int64_t Int(const json::Value& v, const char* key) {
  const json::Value* m = v.Find(key);
  if (m == nullptr) return -999999;
  return m->type() == json::Type::kInt ? m->raw_int() : static_cast<int64_t>(m->raw_uint());
}

std::string Str(const json::Value& v, const char* key) {
  const json::Value* m = v.Find(key);
  return m && m->is_string() ? m->as_string() : "";
}

std::vector<int64_t> Ints(const json::Value& v, const char* key) {
  std::vector<int64_t> out;
  if (const json::Value* m = v.Find(key); m && m->is_array()) {
    for (const json::Value& e : m->as_array()) out.push_back(static_cast<int64_t>(e.raw_uint()));
  }
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class LifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!std::filesystem::exists(BuildDir() + "/oci/probe/peapod-probe")) {
      GTEST_SKIP() << "peapod-probe not built";
    }
  }

  // Starts `peapod-probe sleep 300` detached as `id`; returns its host pid.
  int StartSleeper(Bundle& b, const std::string& id) {
    b.spec.process->args = {"peapod-probe", "sleep", "300"};
    b.Save();
    ProcResult r = rt_({"run", "-d", "-b", b.path(), id});
    EXPECT_EQ(r.status, 0) << r.err;
    absl::StatusOr<json::Value> state = rt_.State(id);
    EXPECT_TRUE(state.ok()) << state.status();
    if (!state.ok()) return 0;
    EXPECT_EQ(Str(*state, "status"), "running");
    return static_cast<int>(Int(*state, "pid"));
  }

  Runtime rt_;
};

TEST_F(LifecycleTest, ExecSeesTheContainerAndOnlyStdio) {
  Bundle b;
  int pid = StartSleeper(b, "ex");
  ASSERT_GT(pid, 0);
  ProcResult r = rt_({"exec", "--env", "EXTRA=1", "--cwd", "/tmp", "ex", "peapod-probe"});
  ASSERT_EQ(r.status, 0) << r.err;
  absl::StatusOr<json::Value> f = ProbeJson(r.out);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_NE(Int(*f, "pid"), 1);
  EXPECT_EQ(Str(*f, "hostname"), "peapod");
  EXPECT_EQ(Str(*f, "cwd"), "/tmp");
  EXPECT_THAT(Ints(*f, "fds"), ElementsAre(0, 1, 2));
  std::string init_pidns =
      std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/ns/pid");
  EXPECT_EQ(Str(*f->Find("namespaces"), "pid"), init_pidns);
  bool has_env = false;
  for (const json::Value& e : f->Find("env")->as_array()) has_env |= e.as_string() == "EXTRA=1";
  EXPECT_TRUE(has_env);

  r = rt_({"exec", "--user", "1000:1000", "ex", "peapod-probe"});
  ASSERT_EQ(r.status, 0) << r.err;
  f = ProbeJson(r.out);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(Int(*f, "uid"), 1000);
  EXPECT_EQ(Int(*f, "gid"), 1000);

  EXPECT_EQ(rt_({"exec", "ex", "peapod-probe", "exit", "3"}).status, 3);

  ProcResult ps = rt_({"ps", "--format", "json", "ex"});
  ASSERT_EQ(ps.status, 0) << ps.err;
  absl::StatusOr<json::Value> pids = json::Parse(ps.out);
  ASSERT_TRUE(pids.ok()) << ps.out;
  bool found = false;
  for (const json::Value& p : pids->as_array()) found |= static_cast<int>(p.raw_uint()) == pid;
  EXPECT_TRUE(found) << ps.out;
}

TEST_F(LifecycleTest, ExecDetachedWritesPidFile) {
  Bundle b;
  ASSERT_GT(StartSleeper(b, "exd"), 0);
  TempDir tmp;
  std::string pid_file = tmp.path() + "/exec.pid";
  ProcResult r = rt_({"exec", "-d", "--pid-file", pid_file, "exd", "peapod-probe", "sleep", "300"});
  ASSERT_EQ(r.status, 0) << r.err;
  int pid = std::atoi(ReadFile(pid_file).c_str());
  ASSERT_GT(pid, 0);
  EXPECT_EQ(kill(pid, 0), 0);
}

// Receives the pty master that the runtime sends to --console-socket.
class ConsoleSocket {
 public:
  explicit ConsoleSocket(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd_, 1) != 0) {
      ADD_FAILURE() << "console socket: " << strerror(errno);
    }
  }
  ~ConsoleSocket() {
    if (master_ >= 0) close(master_);
    close(fd_);
  }
  // Accepts one connection and takes the fd it carries.
  int ReceiveMaster() {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 10000) != 1) return -1;
    int conn = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) return -1;
    char data[256];
    iovec iov{data, sizeof data};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msghdr msg{
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    if (recvmsg(conn, &msg, 0) > 0) {
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      if (c && c->cmsg_type == SCM_RIGHTS) memcpy(&master_, CMSG_DATA(c), sizeof(int));
    }
    close(conn);
    return master_;
  }
  // Reads from the master until `until` appears or the time is up.
  std::string ReadUntil(const std::string& until, int timeout_ms) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (out.find(until) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{master_, POLLIN, 0};
      if (poll(&p, 1, 100) != 1) continue;
      char buf[4096];
      ssize_t n = read(master_, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, n);
    }
    return out;
  }

 private:
  std::string path_;
  int fd_ = -1;
  int master_ = -1;
};

TEST_F(LifecycleTest, TerminalThroughConsoleSocket) {
  Bundle b;
  b.spec.process->terminal = true;
  b.spec.process->args = {"peapod-probe"};
  b.Save();
  TempDir tmp;
  ConsoleSocket console(tmp.path() + "/console.sock");
  ProcResult r =
      rt_({"create", "-b", b.path(), "--console-socket", tmp.path() + "/console.sock", "tty"});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_GE(console.ReceiveMaster(), 0);
  ASSERT_EQ(rt_({"start", "tty"}).status, 0);
  std::string out = console.ReadUntil("\"env\"", 10000);
  absl::StatusOr<json::Value> f = ProbeJson(out);
  ASSERT_TRUE(f.ok()) << out;
  EXPECT_TRUE(f->Find("stdin_tty")->as_bool());
  EXPECT_TRUE(f->Find("stdout_tty")->as_bool());
  EXPECT_EQ(WaitForStatus(rt_, "tty", "stopped"), "stopped");
  EXPECT_EQ(rt_({"delete", "tty"}).status, 0);
}

TEST_F(LifecycleTest, HooksRunInOrder) {
  Bundle b({"peapod-probe", "exit", "0"});
  TempDir shared;
  std::string host_log = shared.path() + "/log";
  b.spec.mounts.push_back({.destination = "/hooks",
                           .type = "bind",
                           .source = shared.path(),
                           .options = {"rbind", "rw"}});
  auto host_hook = [&](const std::string& name) {
    return oci::Hook{.path = "/bin/sh", .args = {"sh", "-c", "echo " + name + " >> " + host_log}};
  };
  auto container_hook = [](const std::string& name) {
    return oci::Hook{.path = "/bin/sh", .args = {"sh", "-c", "echo " + name + " >> /hooks/log"}};
  };
  b.spec.hooks.create_runtime = {host_hook("createRuntime")};
  // createContainer runs in the container's mount namespace before pivot_root:
  // host paths still resolve; startContainer runs after it, inside the rootfs.
  b.spec.hooks.create_container = {host_hook("createContainer")};
  b.spec.hooks.start_container = {container_hook("startContainer")};
  b.spec.hooks.poststart = {host_hook("poststart")};
  b.spec.hooks.poststop = {host_hook("poststop"), host_hook("poststop2")};
  b.Save();
  ProcResult r = rt_({"run", "-b", b.path(), "hooks"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<std::string> lines = absl::StrSplit(ReadFile(host_log), '\n', absl::SkipEmpty());
  auto pos = [&](const std::string& name) {
    return std::find(lines.begin(), lines.end(), name) - lines.begin();
  };
  ASSERT_EQ(lines.size(), 6u) << ReadFile(host_log);
  EXPECT_LT(pos("createRuntime"), pos("createContainer"));
  EXPECT_LT(pos("createContainer"), pos("startContainer"));
  EXPECT_LT(pos("startContainer"), pos("poststop"));
  EXPECT_LT(pos("poststart"), pos("poststop"));
  EXPECT_EQ(pos("poststop") + 1, pos("poststop2"));
}

// True once pid has exited (waits up to 2 s; a zombie waiting for its
// reaper, which is not the runtime, counts as exited).
bool ProcessGone(int pid) {
  for (int i = 0; i < 100; ++i) {
    std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
    size_t paren = stat.rfind(')');
    if (stat.empty() || (paren != std::string::npos && stat.substr(paren + 2, 1) == "Z")) {
      return true;
    }
    usleep(20000);
  }
  return false;
}

// The memory cgroup of a process, from /proc/<pid>/cgroup.
std::string MemoryCgroup(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> parts = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (parts.size() == 3 && parts[1] == "memory") return "/sys/fs/cgroup/memory" + parts[2];
  }
  return "";
}

TEST_F(LifecycleTest, KillAndDeleteLeaveNothingBehind) {
  Bundle b;
  int pid = StartSleeper(b, "gone");
  ASSERT_GT(pid, 0);
  std::string cgroup = MemoryCgroup(pid);
  ASSERT_NE(cgroup, "");
  EXPECT_TRUE(std::filesystem::exists(cgroup));
  ProcResult bad = rt_({"kill", "gone", "SIGNOPE"});
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.err, "");
  EXPECT_EQ(WaitForStatus(rt_, "gone", "running", 500), "running");
  ASSERT_EQ(rt_({"kill", "gone", "KILL"}).status, 0);
  EXPECT_EQ(WaitForStatus(rt_, "gone", "stopped"), "stopped");
  ProcResult del = rt_({"delete", "gone"});
  ASSERT_EQ(del.status, 0) << del.err;
  EXPECT_NE(rt_({"state", "gone"}).status, 0);
  EXPECT_THAT(rt_.RootEntries(), IsEmpty());
  EXPECT_FALSE(std::filesystem::exists(cgroup)) << cgroup;
  EXPECT_THAT(MountsUnder(b.path()), IsEmpty());
  EXPECT_TRUE(ProcessGone(pid));
}

TEST_F(LifecycleTest, KillBySignalNameAndNumber) {
  Bundle b;
  ASSERT_GT(StartSleeper(b, "sig"), 0);
  ASSERT_EQ(rt_({"kill", "sig", "SIGUSR1"}).status, 0);
  EXPECT_EQ(WaitForStatus(rt_, "sig", "stopped"), "stopped");
  ASSERT_EQ(rt_({"delete", "sig"}).status, 0);
  ASSERT_GT(StartSleeper(b, "sig"), 0);
  ASSERT_EQ(rt_({"kill", "sig", "15"}).status, 0);
  EXPECT_EQ(WaitForStatus(rt_, "sig", "stopped"), "stopped");
  ASSERT_EQ(rt_({"delete", "--force", "sig"}).status, 0);
}

TEST_F(LifecycleTest, DeleteForceKillsARunningContainer) {
  Bundle b;
  int pid = StartSleeper(b, "force");
  ASSERT_GT(pid, 0);
  EXPECT_NE(rt_({"delete", "force"}).status, 0);  // running: needs --force
  ASSERT_EQ(rt_({"delete", "--force", "force"}).status, 0);
  EXPECT_THAT(rt_.RootEntries(), IsEmpty());
  EXPECT_TRUE(ProcessGone(pid));
}

TEST_F(LifecycleTest, PauseAndResume) {
  Bundle b;
  ASSERT_GT(StartSleeper(b, "pz"), 0);
  ASSERT_EQ(rt_({"pause", "pz"}).status, 0);
  EXPECT_EQ(WaitForStatus(rt_, "pz", "paused"), "paused");
  ASSERT_EQ(rt_({"resume", "pz"}).status, 0);
  EXPECT_EQ(WaitForStatus(rt_, "pz", "running"), "running");
}

TEST_F(LifecycleTest, UpdatePidsLimit) {
  Bundle b;
  ASSERT_GT(StartSleeper(b, "up"), 0);
  ProcResult u = rt_({"update", "--pids-limit", "5", "up"});
  ASSERT_EQ(u.status, 0) << u.err;
  ProcResult r = rt_({"exec", "up", "peapod-probe", "forks", "20"});
  absl::StatusOr<json::Value> f = ProbeJson(r.out);
  ASSERT_TRUE(f.ok()) << r.out << r.err;
  EXPECT_LT(Int(*f, "forked"), 5);
  u = rt_({"update", "-r", "-", "up"}, R"({"pids": {"limit": 50}})");
  ASSERT_EQ(u.status, 0) << u.err;
  f = ProbeJson(rt_({"exec", "up", "peapod-probe", "forks", "20"}).out);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(Int(*f, "forked"), 20);
}

TEST_F(LifecycleTest, ListShowsContainers) {
  Bundle b;
  ASSERT_GT(StartSleeper(b, "listed"), 0);
  ProcResult q = rt_({"list", "-q"});
  EXPECT_EQ(q.out, "listed\n");
  ProcResult j = rt_({"list", "--format", "json"});
  absl::StatusOr<json::Value> v = json::Parse(j.out);
  ASSERT_TRUE(v.ok()) << j.out;
  ASSERT_EQ(v->as_array().size(), 1u);
  EXPECT_EQ(Str(v->as_array()[0], "status"), "running");
  EXPECT_EQ(Str(v->as_array()[0], "bundle"), b.path());
  ProcResult t = rt_({"list"});
  EXPECT_THAT(t.out, HasSubstr("ID          PID         STATUS"));
  EXPECT_THAT(t.out, HasSubstr("listed"));
}

TEST_F(LifecycleTest, CreateThenStart) {
  Bundle b({"peapod-probe", "exit", "0"});
  b.Save();
  TempDir tmp;
  ProcResult c = rt_({"create", "--bundle", b.path(), "--pid-file", tmp.path() + "/pid", "cs"});
  ASSERT_EQ(c.status, 0) << c.err;
  absl::StatusOr<json::Value> state = rt_.State("cs");
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(Str(*state, "status"), "created");
  EXPECT_EQ(std::atoi(ReadFile(tmp.path() + "/pid").c_str()), Int(*state, "pid"));
  EXPECT_EQ(Str(*state, "bundle"), b.path());
  ProcResult dup = rt_({"create", "--bundle", b.path(), "cs"});
  EXPECT_NE(dup.status, 0);
  EXPECT_NE(dup.err, "");
  ASSERT_EQ(rt_({"start", "cs"}).status, 0);
  EXPECT_EQ(WaitForStatus(rt_, "cs", "stopped"), "stopped");
  ASSERT_EQ(rt_({"delete", "cs"}).status, 0);
  EXPECT_THAT(rt_.RootEntries(), IsEmpty());
}

// The runtime's binary can't be overwritten from inside the container
// through /proc/<pid>/exe: not through the created init (still the runtime,
// blocked before exec), nor any other process the container can see.
TEST_F(LifecycleTest, RuntimeBinaryNotWritableThroughProcExe) {
  Bundle b({"peapod-probe", "sleep", "300"});
  b.Save();
  ProcResult c = rt_({"create", "-b", b.path(), "exe"});
  ASSERT_EQ(c.status, 0) << c.err;
  std::string runtime = RuntimePath();
  if (runtime.find('/') == std::string::npos) {
    runtime = RunProcess({"sh", "-c", "command -v " + runtime}).out;
    while (!runtime.empty() && runtime.back() == '\n') runtime.pop_back();
  }
  std::string before = ReadFile(runtime);
  ASSERT_FALSE(before.empty()) << runtime;
  ProcResult r = rt_({"exec", "exe", "sh", "-c",
                      "for p in /proc/[0-9]*; do"
                      "  (echo x > $p/exe) 2>/dev/null && echo overwrote $p;"
                      "  (echo x >> $p/exe) 2>/dev/null && echo appended $p;"
                      "done; true"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, Not(HasSubstr("overwrote")));
  EXPECT_THAT(r.out, Not(HasSubstr("appended")));
  EXPECT_EQ(ReadFile(runtime), before);
  absl::StatusOr<json::Value> state = rt_.State("exe");
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(Str(*state, "status"), "created");
  ASSERT_EQ(rt_({"delete", "--force", "exe"}).status, 0);
}

}  // namespace
}  // namespace peapod::integration
