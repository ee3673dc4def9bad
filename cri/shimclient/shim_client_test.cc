// ShimClient against a real containerd-shim-peapod-v2 running the real
// peapod-infra (through `pea`) as a pod's infra process: start, reuse,
// Task calls, errors, and nothing left behind after Shutdown.
#include "cri/shimclient/shim_client.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cri/server/test_support.h"
#include "cri/spec/container_spec.h"
#include "gtest/gtest.h"
#include "oci/spec/spec.h"

namespace peapod::cri {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The last NSpid of a process: its pid in its own PID namespace.
std::string InnerPid(uint32_t pid) {
  std::istringstream in(ReadFile("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("NSpid:", 0) == 0) return line.substr(line.find_last_of(" \t") + 1);
  }
  return "";
}

std::string NsLink(const std::string& pid, const std::string& ns) {
  std::error_code ec;
  return fs::read_symlink("/proc/" + pid + "/ns/" + ns, ec).string();
}

class ShimClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* build = getenv("PEAPOD_BUILD_DIR");
    if (geteuid() != 0 || build == nullptr) GTEST_SKIP() << "needs root and PEAPOD_BUILD_DIR";
    build_ = build;
    char tmpl[] = "/tmp/peapod-shimc-XXXXXX";
    dir_ = mkdtemp(tmpl);
    opts_.binary = build_ + "/shim/containerd-shim-peapod-v2";
    opts_.address = dir_ + "/peapod.sock";
    opts_.socket_dir = dir_ + "/s";
    opts_.runtime_root = dir_ + "/runc";
    pod_id_ = "shimc" + std::to_string(getpid());
    pod_dir_ = dir_ + "/pod";
    WriteInfraBundle();
  }

  void TearDown() override {
    if (dir_.empty()) return;
    // A failed test may have left its shim (and the infra under it) running.
    if (HasFailure() && KillShimsMentioning(dir_) > 0) std::this_thread::sleep_for(100ms);
    fs::remove_all(dir_);
  }

  // pod_dir/config.json (BuildSandboxSpec) and an empty read-only root.
  void WriteInfraBundle() {
    fs::create_directories(pod_dir_ + "/rootfs/proc");
    fs::create_directories(pod_dir_ + "/rootfs/dev");
    std::ofstream(pod_dir_ + "/rootfs/peapod-infra").close();
    spec::SandboxSpecInput in;
    in.pod.id = pod_id_;
    in.pod.name = "shimc";
    in.pod.hostname = "shimc-host";
    in.pod.namespaces.pid = spec::NamespaceMode::kPod;
    in.infra_binary = build_ + "/cri/infra/peapod-infra";
    in.rootfs_path = pod_dir_ + "/rootfs";
    absl::StatusOr<oci::Spec> s = spec::BuildSandboxSpec(in);
    ASSERT_TRUE(s.ok()) << s.status();
    std::ofstream(pod_dir_ + "/config.json") << oci::SerializeSpec(*s);
  }

  std::string build_, dir_, pod_id_, pod_dir_;
  ShimOptions opts_;
};

TEST_F(ShimClientTest, RunsTheInfraAsPid1AndLeavesNothing) {
  absl::StatusOr<std::string> addr = ShimClient::StartShim(opts_, pod_id_, pod_dir_);
  ASSERT_TRUE(addr.ok()) << addr.status();
  EXPECT_TRUE(addr->starts_with("unix://" + opts_.socket_dir + "/")) << *addr;
  EXPECT_EQ(ReadFile(pod_dir_ + "/address"), *addr);
  // A second start finds the running shim.
  absl::StatusOr<std::string> again = ShimClient::StartShim(opts_, pod_id_, pod_dir_);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *addr);

  absl::StatusOr<std::unique_ptr<ShimClient>> shim = ShimClient::Connect(*addr);
  ASSERT_TRUE(shim.ok()) << shim.status();
  task::CreateTaskRequest create;
  create.set_id(pod_id_);
  create.set_bundle(pod_dir_);
  absl::StatusOr<uint32_t> pid = (*shim)->Create(create);
  ASSERT_TRUE(pid.ok()) << pid.status();
  EXPECT_GT(*pid, 1u);
  absl::StatusOr<uint32_t> started = (*shim)->Start(pod_id_);
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_EQ(*started, *pid);
  absl::StatusOr<task::StateResponse> st = (*shim)->State(pod_id_);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->status(), containerd::v1::types::RUNNING);

  // The infra: PID 1 of its own PID namespace, its own net/uts, hostname set.
  std::string p = std::to_string(*pid);
  EXPECT_EQ(InnerPid(*pid), "1");
  EXPECT_NE(NsLink(p, "pid"), NsLink("self", "pid"));
  EXPECT_NE(NsLink(p, "net"), NsLink("self", "net"));
  EXPECT_NE(NsLink(p, "uts"), NsLink("self", "uts"));
  // Start returns once the init is released; its exec follows at once.
  std::string cmdline;
  for (int i = 0; i < 200; ++i) {
    cmdline = ReadFile("/proc/" + p + "/cmdline");
    if (cmdline == std::string("/peapod-infra\0", 14)) break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(cmdline, std::string("/peapod-infra\0", 14));

  // Errors keep the shim's code.
  absl::StatusOr<task::StateResponse> missing = (*shim)->State("no-such-task");
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
  // Wait with a timeout on a running task: DeadlineExceeded.
  absl::StatusOr<ExitInfo> early = (*shim)->Wait(pod_id_, "", 200ms);
  EXPECT_TRUE(absl::IsDeadlineExceeded(early.status())) << early.status();

  // SIGTERM ends the infra with status 0.
  ASSERT_TRUE((*shim)->Kill(pod_id_, SIGTERM).ok());
  absl::StatusOr<ExitInfo> exit = (*shim)->Wait(pod_id_, "", 10s);
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(exit->exit_status, 0u);
  EXPECT_GT(exit->exited_at_ns, 0);
  absl::StatusOr<ExitInfo> del = (*shim)->Delete(pod_id_);
  ASSERT_TRUE(del.ok()) << del.status();
  EXPECT_EQ(del->pid, *pid);
  EXPECT_TRUE((*shim)->Shutdown(pod_id_).ok());
  shim->reset();

  // Nothing left: the shim exits, its socket and runtime state go.
  std::string sock = addr->substr(strlen("unix://"));
  for (int i = 0; i < 100 && fs::exists(sock); ++i) std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(fs::exists(sock)) << "shim socket left";
  EXPECT_TRUE(fs::is_empty(opts_.runtime_root + "/k8s.io")) << "runtime state left";
  EXPECT_FALSE(fs::exists("/proc/" + p)) << "infra left";
  EXPECT_FALSE(fs::exists("/sys/fs/cgroup/memory/peapod/" + pod_id_)) << "cgroup left";
  EXPECT_FALSE(ShimClient::Connect(*addr).ok());
}

TEST_F(ShimClientTest, ErrorsNameWhatWentWrong) {
  absl::StatusOr<std::unique_ptr<ShimClient>> c = ShimClient::Connect("unix://" + dir_ + "/none");
  EXPECT_TRUE(absl::IsUnavailable(c.status())) << c.status();
  EXPECT_NE(c.status().message().find(dir_ + "/none"), std::string::npos) << c.status();

  ShimOptions bad = opts_;
  bad.binary = dir_ + "/no-such-shim";
  absl::StatusOr<std::string> addr = ShimClient::StartShim(bad, pod_id_, pod_dir_);
  EXPECT_TRUE(absl::IsNotFound(addr.status())) << addr.status();
  EXPECT_NE(addr.status().message().find("no-such-shim"), std::string::npos) << addr.status();

  absl::StatusOr<std::string> found = FindBinary("sh", "");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ((*found)[0], '/');
  EXPECT_TRUE(absl::IsNotFound(FindBinary("peapod-no-such-binary", "shim").status()));

  // A shim that fails to start reports its own message.
  bad.binary = "/bin/false";
  addr = ShimClient::StartShim(bad, pod_id_, pod_dir_);
  EXPECT_FALSE(addr.ok());
  EXPECT_NE(addr.status().message().find("exit 1"), std::string::npos) << addr.status();
}

}  // namespace
}  // namespace peapod::cri
