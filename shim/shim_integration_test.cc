// containerd-shim-peapod-v2 driven by Debian's containerd and ctr: a private
// containerd (own root, state, sockets; CRI plugin off) finds the shim on
// its PATH as runtime io.containerd.peapod.v2 and runs a busybox image the
// test builds from the host's static busybox. Every case runs twice: with
// the launcher library in-process (InProcess/, the default) and with runc
// exec'd per step (Exec/, PEAPOD_SHIM_RUNTIME=runc).
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace peapod::shim {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr char kImage[] = "docker.io/peapod/busybox:latest";
// One namespace per test process: what a killed run left (shims, cgroups)
// never meets the next run.
const std::string kNs = "peapod-shim-test-" + std::to_string(getpid());
constexpr char kRuntime[] = "--runtime io.containerd.peapod.v2";

struct Result {
  int code = -1;
  std::string out;
};

// Runs a shell command, returns its exit code and combined output.
Result Sh(const std::string& cmd) {
  Result r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof(buf), p)) > 0;) r.out.append(buf, n);
  int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

class ShimIntegrationTest : public ::testing::TestWithParam<const char*> {
 protected:
  static void SetUpTestSuite() {
    // The instantiation's name is the mode: static setup has no GetParam().
    std::string suite = ::testing::UnitTest::GetInstance()->current_test_suite()->name();
    runtime_ = suite.rfind("Exec/", 0) == 0 ? "runc" : "";
    ready_ = false;
    if (geteuid() != 0 || Sh("command -v containerd ctr runc").code != 0) return;
    const char* build = getenv("PEAPOD_BUILD_DIR");
    const char* src = getenv("PEAPOD_SOURCE_DIR");
    if (build == nullptr || src == nullptr) return;
    char tmpl[] = "/tmp/peapod-shim-it-XXXXXX";
    dir_ = mkdtemp(tmpl);
    fs::create_directories(dir_ + "/bin");
    fs::create_symlink(std::string(build) + "/shim/containerd-shim-peapod-v2",
                       dir_ + "/bin/containerd-shim-peapod-v2");
    std::ofstream(dir_ + "/config.toml")
        << "version = 2\nroot = \"" << dir_ << "/root\"\nstate = \"" << dir_ << "/state\"\n"
        << "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"
        << "[grpc]\n  address = \"" << dir_ << "/c.sock\"\n"
        << "[ttrpc]\n  address = \"" << dir_ << "/c.sock.ttrpc\"\n";
    StartContainerd();
    Result img = Sh(std::string(src) + "/shim/testdata/make_busybox_image.sh " + dir_ + "/bb.tar");
    ASSERT_EQ(img.code, 0) << img.out;
    Result imp = Ctr("images import " + dir_ + "/bb.tar");
    ASSERT_EQ(imp.code, 0) << imp.out;
    ready_ = true;
  }

  static void TearDownTestSuite() {
    if (dir_.empty()) return;
    StopContainerd();
    Sh("umount -R " + dir_ + "/root/io.containerd.snapshotter.v1.overlayfs 2>/dev/null; true");
    Sh("grep -o ' " + dir_ + "[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l");
    fs::remove_all(dir_);
    dir_.clear();
    // The namespace's (empty) cgroup dirs ctr's containers lived under.
    for (const auto& e : fs::directory_iterator("/sys/fs/cgroup")) {
      std::error_code ec;
      fs::remove(e.path() / kNs, ec);
    }
  }

  void SetUp() override {
    if (!ready_) GTEST_SKIP() << "needs root, containerd, ctr and runc";
  }

  static void StartContainerd() {
    pid_ = fork();
    if (pid_ == 0) {
      std::string path = dir_ + "/bin:" + getenv("PATH");
      setenv("PATH", path.c_str(), 1);
      setenv("PEAPOD_SHIM_SOCKET_DIR", (dir_ + "/s").c_str(), 1);
      setenv("PEAPOD_SHIM_RUNTIME_ROOT", (dir_ + "/runc").c_str(), 1);
      if (runtime_.empty()) {
        unsetenv("PEAPOD_SHIM_RUNTIME");
      } else {
        setenv("PEAPOD_SHIM_RUNTIME", runtime_.c_str(), 1);
      }
      freopen((dir_ + "/containerd.log").c_str(), "a", stderr);
      freopen("/dev/null", "w", stdout);
      execlp("containerd", "containerd", "--config", (dir_ + "/config.toml").c_str(), nullptr);
      _exit(127);
    }
    for (int i = 0; i < 100; ++i) {
      if (Ctr("version").code == 0) return;
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "containerd did not come up";
  }

  static void StopContainerd() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  static Result Ctr(const std::string& args) {
    // 60 s each: a shim that loses a reply fails the test (124), never hangs it.
    return Sh("timeout -k 5 60 ctr --address " + dir_ + "/c.sock -n " + kNs + " " + args);
  }

  // Pids of our shims (their command line names our containerd).
  static std::vector<pid_t> ShimPids() {
    std::vector<pid_t> pids;
    for (const auto& e : fs::directory_iterator("/proc")) {
      pid_t pid = atoi(e.path().filename().c_str());
      if (pid <= 0) continue;
      std::ifstream f(e.path() / "cmdline");
      std::string cmd((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      if (cmd.find("containerd-shim-peapod-v2") != std::string::npos &&
          cmd.find(dir_ + "/c.sock") != std::string::npos) {
        pids.push_back(pid);
      }
    }
    return pids;
  }

  // Waits until `ctr task ls` shows id with status.
  static bool AwaitStatus(const std::string& id, const std::string& status) {
    for (int i = 0; i < 100; ++i) {
      Result r = Ctr("task ls");
      std::istringstream in(r.out);
      for (std::string line; std::getline(in, line);) {
        if (line.rfind(id + " ", 0) == 0 && line.find(status) != std::string::npos) return true;
      }
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  // Kills, deletes the task and the container, and checks nothing is left.
  static void Remove(const std::string& id) {
    Ctr("task kill -s KILL " + id);
    EXPECT_TRUE(AwaitStatus(id, "STOPPED"));
    Result rm = Ctr("task rm " + id);
    EXPECT_EQ(rm.code, 0) << rm.out;
    rm = Ctr("container rm " + id);
    EXPECT_EQ(rm.code, 0) << rm.out;
  }

  static void ExpectNothingLeft() {
    for (int i = 0; i < 50 && !ShimPids().empty(); ++i) std::this_thread::sleep_for(100ms);
    EXPECT_TRUE(ShimPids().empty()) << "shim processes left";
    EXPECT_TRUE(!fs::exists(dir_ + "/s") || fs::is_empty(dir_ + "/s")) << "sockets left";
    std::string ns_root = dir_ + "/runc/" + kNs;
    EXPECT_TRUE(!fs::exists(ns_root) || fs::is_empty(ns_root)) << "runtime state left";
    Result m = Sh(std::string("grep -c ") + dir_ + "/state /proc/mounts");
    EXPECT_EQ(m.out, "0\n") << "mounts left";
    // ctr puts containers in cgroup /<namespace>/<id>: no child may remain.
    for (const char* ctl : {"memory", "pids", "freezer"}) {
      std::string ns_cg = std::string("/sys/fs/cgroup/") + ctl + "/" + kNs;
      if (!fs::exists(ns_cg)) continue;
      for (const auto& e : fs::directory_iterator(ns_cg)) {
        EXPECT_FALSE(e.is_directory()) << "cgroup left: " << e.path();
      }
    }
  }

  static inline std::string dir_;
  static inline std::string runtime_;  // "" = in-process launcher
  static inline pid_t pid_ = -1;
  static inline bool ready_ = false;
};

TEST_P(ShimIntegrationTest, RunPrintsOutputAndExitCode) {
  Result r = Ctr(std::string("run --rm ") + kRuntime + " " + kImage +
                 " run1 sh -c 'echo hello-out; echo hello-err >&2; exit 7'");
  EXPECT_EQ(r.code, 7) << r.out;
  EXPECT_NE(r.out.find("hello-out"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hello-err"), std::string::npos) << r.out;
  ExpectNothingLeft();
}

TEST_P(ShimIntegrationTest, DetachedRunExecKillDelete) {
  Result r = Ctr(std::string("run -d ") + kRuntime + " " + kImage + " det1 sleep 1000");
  ASSERT_EQ(r.code, 0) << r.out;
  ASSERT_TRUE(AwaitStatus("det1", "RUNNING"));
  r = Ctr("task exec --exec-id e1 det1 sh -c 'echo from-exec; exit 4'");
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("from-exec"), std::string::npos) << r.out;
  r = Ctr("task ps det1");
  EXPECT_EQ(r.code, 0) << r.out;
  r = Ctr("task metrics det1");  // Stats: cgroups v1 Metrics from the runtime
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("memory.usage_in_bytes"), std::string::npos) << r.out;
  r = Ctr("task pause det1");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(AwaitStatus("det1", "PAUSED"));
  r = Ctr("task resume det1");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(AwaitStatus("det1", "RUNNING"));
  Remove("det1");
  ExpectNothingLeft();
}

TEST_P(ShimIntegrationTest, Terminal) {
  // ctr -t needs a terminal of its own: script(1) gives it one.
  Result r =
      Sh("script -qec \"ctr --address " + dir_ + "/c.sock -n " + kNs + " run --rm -t " + kRuntime +
         " " + kImage + " tty1 sh -c 'tty; echo tty-done'\" /dev/null </dev/null");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("/dev/pts/"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tty-done"), std::string::npos) << r.out;
  ExpectNothingLeft();
}

TEST_P(ShimIntegrationTest, ContainerdRestartKeepsContainers) {
  Result r = Ctr(std::string("run -d ") + kRuntime + " " + kImage + " rs1 sleep 1000");
  ASSERT_EQ(r.code, 0) << r.out;
  ASSERT_TRUE(AwaitStatus("rs1", "RUNNING"));
  std::vector<pid_t> before = ShimPids();
  StopContainerd();
  StartContainerd();
  EXPECT_EQ(ShimPids(), before);
  EXPECT_TRUE(AwaitStatus("rs1", "RUNNING"));
  r = Ctr("task exec --exec-id e1 rs1 echo after-restart");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("after-restart"), std::string::npos) << r.out;
  Remove("rs1");
  ExpectNothingLeft();
}

TEST_P(ShimIntegrationTest, SandboxGroupSharesOneShim) {
  const std::string label = " --label io.kubernetes.cri.sandbox-id=pod-a ";
  ASSERT_EQ(Ctr(std::string("run -d ") + kRuntime + label + kImage + " grp1 sleep 1000").code, 0);
  ASSERT_EQ(Ctr(std::string("run -d ") + kRuntime + label + kImage + " grp2 sleep 1000").code, 0);
  EXPECT_TRUE(AwaitStatus("grp1", "RUNNING"));
  EXPECT_TRUE(AwaitStatus("grp2", "RUNNING"));
  EXPECT_EQ(ShimPids().size(), 1u);
  Remove("grp1");
  EXPECT_EQ(ShimPids().size(), 1u);  // grp2 still lives in it
  EXPECT_TRUE(AwaitStatus("grp2", "RUNNING"));
  Remove("grp2");
  ExpectNothingLeft();
}

TEST_P(ShimIntegrationTest, SharedPidNamespaceInitExitKillsTheRest) {
  // A second container joins the first one's PID namespace (a pod sharing
  // one): its init's exit ends nothing by itself, so the shim must kill the
  // container's other processes.
  Result r = Ctr(std::string("run -d ") + kRuntime + " " + kImage + " pidhost1 sleep 1000");
  ASSERT_EQ(r.code, 0) << r.out;
  ASSERT_TRUE(AwaitStatus("pidhost1", "RUNNING"));
  r = Sh("timeout -k 5 60 ctr --address " + dir_ + "/c.sock -n " + kNs +
         " task ls | awk '$1==\"pidhost1\"{print $2}'");
  int host_pid = atoi(r.out.c_str());
  ASSERT_GT(host_pid, 0) << r.out;
  r = Ctr(std::string("run -d ") + kRuntime + " --with-ns pid:/proc/" + std::to_string(host_pid) +
          "/ns/pid " + kImage + " pidns1 sh -c 'sleep 7777 & sleep 1; exit 0'");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(AwaitStatus("pidns1", "STOPPED"));
  bool left = true;
  for (int i = 0; i < 50 && left; ++i) {
    left = Sh("pgrep -x -f 'sleep 7777'").code == 0;
    if (left) std::this_thread::sleep_for(100ms);
  }
  EXPECT_FALSE(left) << "a process of the container outlived its init";
  EXPECT_EQ(Ctr("task rm pidns1").code, 0);
  EXPECT_EQ(Ctr("container rm pidns1").code, 0);
  Remove("pidhost1");
  ExpectNothingLeft();
}

TEST_P(ShimIntegrationTest, SigtermIgnoredThenSigkill) {
  Result r = Ctr(std::string("run -d ") + kRuntime + " " + kImage +
                 " term1 sh -c 'trap \"\" TERM; while true; do sleep 1; done'");
  ASSERT_EQ(r.code, 0) << r.out;
  ASSERT_TRUE(AwaitStatus("term1", "RUNNING"));
  EXPECT_EQ(Ctr("task kill term1").code, 0);
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(AwaitStatus("term1", "RUNNING"));
  EXPECT_EQ(Ctr("task kill -s KILL term1").code, 0);
  EXPECT_TRUE(AwaitStatus("term1", "STOPPED"));
  r = Ctr("task rm term1");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("137"), std::string::npos) << r.out;  // ctr warns: exit code 137
  EXPECT_EQ(Ctr("container rm term1").code, 0);
  ExpectNothingLeft();
}

TEST_P(ShimIntegrationTest, OomKillIsPublishedAsTaskOOM) {
  // ctr events prints every event containerd receives, the shim's included.
  std::string events = dir_ + "/events-" + GetParam() + ".txt";
  pid_t watcher = fork();
  if (watcher == 0) {
    freopen(events.c_str(), "w", stdout);
    execlp("ctr", "ctr", "--address", (dir_ + "/c.sock").c_str(), "-n", kNs.c_str(), "events",
           nullptr);
    _exit(127);
  }
  std::this_thread::sleep_for(300ms);
  // tail keeps the whole (endless) line of /dev/zero in memory; the OOM
  // killer ends it, not the container's init.
  Result r = Ctr(std::string("run --rm --memory-limit 33554432 ") + kRuntime + " " + kImage +
                 " oom1 sh -c 'tail /dev/zero; echo survived'");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("survived"), std::string::npos) << r.out;
  std::string text;
  for (int i = 0; i < 30 && text.find("/tasks/oom") == std::string::npos; ++i) {
    std::this_thread::sleep_for(100ms);
    std::ifstream f(events);
    text.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  kill(watcher, SIGTERM);
  waitpid(watcher, nullptr, 0);
  size_t oom = text.find("/tasks/oom"), exit = text.find("/tasks/exit");
  EXPECT_NE(oom, std::string::npos) << text;
  EXPECT_NE(text.find("oom1", oom == std::string::npos ? 0 : oom), std::string::npos) << text;
  EXPECT_LT(oom, exit) << "TaskOOM must come before the exit it caused:\n" << text;
  ExpectNothingLeft();
}

TEST_P(ShimIntegrationTest, ContainerStartsWithDefaultSignalState) {
  // The shim blocks SIGCHLD and ignores SIGPIPE; its containers must not.
  Result r =
      Ctr(std::string("run --rm ") + kRuntime + " " + kImage + " sig1 cat /proc/self/status");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("SigBlk:\t0000000000000000"), std::string::npos) << r.out;
  // runc's Go init leaves signal 32 ignored; the library leaves nothing.
  if (runtime_.empty()) {
    EXPECT_NE(r.out.find("SigIgn:\t0000000000000000"), std::string::npos) << r.out;
  }
  ExpectNothingLeft();
}

TEST_P(ShimIntegrationTest, ShimKilledThenDeleteCleansUp) {
  // containerd runs `containerd-shim-peapod-v2 delete` for a task whose shim
  // died: the container, its runtime state and its mounts must go.
  Result r = Ctr(std::string("run -d ") + kRuntime + " " + kImage + " dead1 sleep 4321");
  ASSERT_EQ(r.code, 0) << r.out;
  ASSERT_TRUE(AwaitStatus("dead1", "RUNNING"));
  for (pid_t pid : ShimPids()) kill(pid, SIGKILL);
  // containerd cleans up at once: the task goes away.
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = Ctr("task ls").out.find("dead1") == std::string::npos;
    if (!gone) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(gone) << Ctr("task ls").out;
  r = Ctr("container rm dead1");
  EXPECT_EQ(r.code, 0) << r.out;
  bool left = true;
  for (int i = 0; i < 50 && left; ++i) {
    left = Sh("pgrep -x -f 'sleep 4321'").code == 0;
    if (left) std::this_thread::sleep_for(100ms);
  }
  EXPECT_FALSE(left) << "the container outlived its shim's delete";
  ExpectNothingLeft();
}

INSTANTIATE_TEST_SUITE_P(InProcess, ShimIntegrationTest, ::testing::Values("library"));
INSTANTIATE_TEST_SUITE_P(Exec, ShimIntegrationTest, ::testing::Values("runc"));

}  // namespace
}  // namespace peapod::shim
