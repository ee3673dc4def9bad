// Interop: Debian's containerd (private root, state and socket) runs a
// container through its runc shim (io.containerd.runc.v2) with BinaryName
// set to the runtime under test (ctr run --runc-binary), from a busybox
// rootfs made by the test. Checks output, exit status, and that nothing is
// left once containerd stops.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "integration/harness.h"

namespace peapod::integration {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Processes whose command line mentions `needle`.
std::vector<int> ProcessesMentioning(const std::string& needle) {
  std::vector<int> pids;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    int pid = std::atoi(e.path().filename().c_str());
    if (pid <= 0 || pid == getpid()) continue;
    std::ifstream in(e.path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmdline.find(needle) != std::string::npos) pids.push_back(pid);
  }
  return pids;
}

class Containerd {
 public:
  explicit Containerd(const std::string& base) : base_(base) {
    std::ofstream cfg(base + "/config.toml");
    cfg << "version = 2\n"
        << "root = \"" << base << "/root\"\n"
        << "state = \"" << base << "/state\"\n"
        << "disabled_plugins = [\"io.containerd.grpc.v1.cri\", "
           "\"io.containerd.snapshotter.v1.btrfs\", \"io.containerd.snapshotter.v1.zfs\", "
           "\"io.containerd.snapshotter.v1.aufs\", \"io.containerd.snapshotter.v1.devmapper\"]\n"
        << "[grpc]\n  address = \"" << base << "/containerd.sock\"\n"
        << "[ttrpc]\n  address = \"" << base << "/containerd.sock.ttrpc\"\n";
    cfg.close();
    pid_ = fork();
    if (pid_ == 0) {
      std::string log = base + "/containerd.log";
      freopen(log.c_str(), "w", stdout);
      freopen(log.c_str(), "a", stderr);
      execlp("containerd", "containerd", "--config", (base + "/config.toml").c_str(), nullptr);
      _exit(127);
    }
  }
  ~Containerd() { Stop(); }

  std::string socket() const { return base_ + "/containerd.sock"; }

  // Waits until `ctr version` answers.
  bool WaitReady() {
    for (int i = 0; i < 100; ++i) {
      if (Ctr({"version"}, 5).status == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  ProcResult Ctr(const std::vector<std::string>& args, int timeout_s = 60) const {
    std::vector<std::string> argv = {"ctr", "--address", socket()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv, "", timeout_s);
  }

  // SIGTERM, then SIGKILL after 10 s.
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  std::string base_;
  pid_t pid_ = -1;
};

TEST(ContainerdInteropTest, CtrRunThroughTheRuncShim) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  if (RunProcess({"sh", "-c", "command -v containerd && command -v containerd-shim-runc-v2"})
          .status != 0) {
    GTEST_SKIP() << "containerd not installed";
  }
  if (!std::filesystem::exists(BuildDir() + "/oci/probe/peapod-probe")) {
    GTEST_SKIP() << "peapod-probe not built";
  }
  std::string runtime = RuntimePath();
  if (runtime.find('/') == std::string::npos) {
    runtime = RunProcess({"sh", "-c", "command -v " + runtime}).out;
    runtime.erase(runtime.find_last_not_of('\n') + 1);
  }
  runtime = std::filesystem::absolute(runtime).string();
  Bundle bundle;  // only its rootfs is used: ctr makes its own config
  TempDir base;
  // The shim calls a wrapper that records each command line, then execs the
  // runtime under test: proof the shim really drove it, and with what.
  std::string calls = base.path() + "/calls";
  std::string wrapper = base.path() + "/runtime-wrapper";
  {
    std::ofstream w(wrapper);
    w << "#!/bin/sh\necho \"$*\" >> " << calls << "\nexec " << runtime << " \"$@\"\n";
  }
  std::filesystem::permissions(wrapper, std::filesystem::perms(0755));
  std::string id = "peapod-interop";
  {
    Containerd containerd(base.path());
    ASSERT_TRUE(containerd.WaitReady()) << "containerd did not start";
    ProcResult run =
        containerd.Ctr({"run", "--rm", "--runtime", "io.containerd.runc.v2", "--runc-binary",
                        runtime, "--rootfs", bundle.rootfs(), id, "/bin/peapod-probe"},
                       120);
    ASSERT_EQ(run.status, 0) << run.out << run.err;
    absl::StatusOr<json::Value> facts = ProbeJson(run.out);
    ASSERT_TRUE(facts.ok()) << run.out;
    EXPECT_EQ(facts->Find("pid")->raw_uint(), 1u);

    ProcResult exit3 = containerd.Ctr(
        {"run", "--rm", "--runtime", "io.containerd.runc.v2", "--runc-binary", wrapper, "--rootfs",
         bundle.rootfs(), id + "-exit", "/bin/peapod-probe", "exit", "3"},
        120);
    EXPECT_EQ(exit3.status, 3) << exit3.out << exit3.err;
    ProcResult list = containerd.Ctr({"containers", "list", "-q"});
    EXPECT_EQ(list.out, "") << list.out;
    containerd.Stop();
  }
  std::ifstream in(calls);
  std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_THAT(log, HasSubstr("create --bundle"));
  EXPECT_THAT(log, HasSubstr("start " + id));
  EXPECT_THAT(log, HasSubstr("delete"));
  EXPECT_THAT(log, HasSubstr("--log-format json"));
  EXPECT_THAT(ProcessesMentioning(base.path()), IsEmpty());
  EXPECT_THAT(MountsUnder(base.path()), IsEmpty());
  EXPECT_THAT(MountsUnder(bundle.path()), IsEmpty());
  EXPECT_FALSE(std::filesystem::exists("/run/containerd/runc/default/" + id));
}

}  // namespace
}  // namespace peapod::integration
