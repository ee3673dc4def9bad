// Pods end to end: a real peapodd (private socket, root, state and config)
// starting real shims that run the real peapod-infra, driven over gRPC and
// through peactl. Checks facts from /proc: namespaces, PID 1, hostname,
// sysctls, and that nothing of a removed pod is left.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

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
using namespace std::chrono_literals;

const char* const kFailpoints[] = {"runp:record",  "runp:bundle",  "runp:shim",
                                   "runp:created", "runp:started", "runp:ready"};

std::string Sh(const std::string& cmd, int* code = nullptr) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  int st = pclose(p);
  if (code != nullptr) *code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string NsLink(const std::string& pid, const std::string& ns) {
  std::error_code ec;
  return fs::read_symlink("/proc/" + pid + "/ns/" + ns, ec).string();
}

// A process's pid inside its own PID namespace (last NSpid field).
std::string InnerPid(const std::string& pid) {
  std::istringstream in(ReadFile("/proc/" + pid + "/status"));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("NSpid:", 0) == 0) return line.substr(line.find_last_of(" \t") + 1);
  }
  return "";
}

// Polls up to 5 s for `done`.
template <typename F>
bool Eventually(F done) {
  for (int i = 0; i < 250; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    char tmpl[] = "/tmp/pp-sbx-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    socket_ = dir_ + "/run/peapod.sock";
    config_ = dir_ + "/peapod.toml";
    cgroup_parent_ = "/peapod-sbx-test-" + std::to_string(getpid());
    fs::create_directories(dir_ + "/net.d");
    std::ofstream(config_) << "socket = \"" << socket_ << "\"\n"
                           << "root = \"" << dir_ << "/lib\"\n"
                           << "state_dir = \"" << dir_ << "/state\"\n"
                           << "log_level = \"debug\"\n"
                           << "[cni]\nconf_dir = \"" << dir_ << "/net.d\"\n";
  }

  void TearDown() override {
    if (dir_.empty()) return;
    for (pid_t pid : daemons_) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    KillShimsMentioning(dir_);  // the spare shims of the daemons just killed
    UnmountUnder(dir_);         // and their spare network namespace's pin
    if (!HasFailure()) {
      fs::remove_all(dir_);
    } else {
      std::cerr << "peapodd log:\n" << ReadFile(dir_ + "/peapodd.log");
    }
    // The pods' cgroup parent, in every hierarchy (v1 ones and the v2 one).
    std::error_code ec;
    for (const fs::directory_entry& h : fs::directory_iterator("/sys/fs/cgroup", ec)) {
      if (!h.is_symlink(ec)) rmdir((h.path().string() + cgroup_parent_).c_str());
    }
  }

  // Starts peapodd (with `env` added) and waits until it answers; -1 if it
  // died first.
  pid_t StartDaemon(const std::vector<std::string>& env = {}) {
    std::string bin = BuildDir() + "/cri/server/peapodd";
    std::vector<std::string> argv = {bin, "--config", config_};
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    std::vector<std::string> envs(env);
    for (char** e = environ; *e != nullptr; ++e) envs.push_back(*e);
    std::vector<char*> envp;
    for (std::string& e : envs) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    std::string log = dir_ + "/peapodd.log";
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, bin.c_str(), &fa, nullptr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return -1;
    daemons_.push_back(pid);
    for (int i = 0; i < 500; ++i) {
      if (waitpid(pid, nullptr, WNOHANG) == pid) return -1;
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + 1s);
      v1::ListPodSandboxResponse resp;
      if (Stub()->ListPodSandbox(&ctx, v1::ListPodSandboxRequest(), &resp).ok()) return pid;
      std::this_thread::sleep_for(20ms);
    }
    return -1;
  }

  // kill -9 and reap.
  void KillDaemon(pid_t pid) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    std::erase(daemons_, pid);
  }

  std::unique_ptr<v1::RuntimeService::Stub> Stub() {
    return v1::RuntimeService::NewStub(
        grpc::CreateChannel("unix://" + socket_, grpc::InsecureChannelCredentials()));
  }

  static std::unique_ptr<grpc::ClientContext> Ctx() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + 30s);
    return ctx;
  }

  v1::PodSandboxConfig PodConfig(const std::string& name) {
    v1::PodSandboxConfig c;
    c.mutable_metadata()->set_name(name);
    c.mutable_metadata()->set_namespace_("sbx");
    c.mutable_metadata()->set_uid("uid-" + name);
    c.set_hostname(name + "-host");
    (*c.mutable_labels())["app"] = name;
    c.mutable_linux()->set_cgroup_parent(cgroup_parent_);
    return c;
  }

  grpc::Status RunPod(const v1::PodSandboxConfig& c, std::string* id) {
    v1::RunPodSandboxRequest req;
    *req.mutable_config() = c;
    v1::RunPodSandboxResponse resp;
    grpc::Status s = Stub()->RunPodSandbox(Ctx().get(), req, &resp);
    *id = resp.pod_sandbox_id();
    return s;
  }

  grpc::Status StopPod(const std::string& id) {
    v1::StopPodSandboxRequest req;
    req.set_pod_sandbox_id(id);
    v1::StopPodSandboxResponse resp;
    return Stub()->StopPodSandbox(Ctx().get(), req, &resp);
  }

  grpc::Status RemovePod(const std::string& id) {
    v1::RemovePodSandboxRequest req;
    req.set_pod_sandbox_id(id);
    v1::RemovePodSandboxResponse resp;
    return Stub()->RemovePodSandbox(Ctx().get(), req, &resp);
  }

  grpc::Status Status(const std::string& id, v1::PodSandboxStatusResponse* resp) {
    v1::PodSandboxStatusRequest req;
    req.set_pod_sandbox_id(id);
    req.set_verbose(true);
    return Stub()->PodSandboxStatus(Ctx().get(), req, resp);
  }

  std::vector<v1::PodSandbox> ListPods(const v1::PodSandboxFilter& f = {}) {
    v1::ListPodSandboxRequest req;
    *req.mutable_filter() = f;
    v1::ListPodSandboxResponse resp;
    grpc::Status s = Stub()->ListPodSandbox(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {resp.items().begin(), resp.items().end()};
  }

  // The infra pid from the verbose status ("pid": N).
  std::string InfraPid(const std::string& id) {
    v1::PodSandboxStatusResponse resp;
    grpc::Status s = Status(id, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    const std::string& info = resp.info().at("info");
    size_t at = info.find("\"pid\":");
    if (at == std::string::npos) return "";
    return std::to_string(atoll(info.c_str() + at + 6));
  }

  // Processes whose command line names our private directory (shims are
  // started with -address <dir>/run/peapod.sock).
  std::vector<std::string> OurProcesses() {
    std::vector<std::string> pids;
    for (const auto& e : fs::directory_iterator("/proc")) {
      std::string pid = e.path().filename();
      if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
      std::string cmd = ReadFile("/proc/" + pid + "/cmdline");
      // Spare shims (ShimSpares) belong to the daemon, not to any pod.
      if (cmd.find(dir_) != std::string::npos && cmd.find("peapodd") == std::string::npos &&
          cmd.find(dir_ + "/state/spares/") == std::string::npos) {
        pids.push_back(pid);
      }
    }
    return pids;
  }

  // After Remove: no shim, infra, mount, cgroup, file or record is left.
  void ExpectNothingLeft(const std::vector<std::string>& infra_pids,
                         const std::vector<std::string>& pod_ids) {
    for (int i = 0; i < 100 && !OurProcesses().empty(); ++i) std::this_thread::sleep_for(20ms);
    EXPECT_TRUE(OurProcesses().empty()) << "shim processes left";
    for (const std::string& pid : infra_pids) {
      EXPECT_FALSE(fs::exists("/proc/" + pid)) << "infra " << pid << " left";
    }
    // The daemon's spare network namespace (netns_spare.h) is its own, as
    // spare shims are.
    EXPECT_EQ(Sh("grep '" + dir_ + "' /proc/self/mountinfo | grep -v '" + dir_ +
                 "/state/netns/spare-' | wc -l"),
              "0")
        << "mounts left";
    for (const std::string& id : pod_ids) {
      for (const char* ctl : {"memory", "pids", "cpu,cpuacct", "devices", "freezer"}) {
        std::string cg = "/sys/fs/cgroup/" + std::string(ctl) + cgroup_parent_ + "/" + id;
        EXPECT_FALSE(fs::exists(cg)) << "cgroup left: " << cg;
      }
    }
    // The shim sockets left are the spares' (a new spare may still be
    // writing its address).
    EXPECT_TRUE(Eventually([&] {
      std::set<std::string> spares;
      std::error_code ec;
      for (const fs::directory_entry& e : fs::directory_iterator(dir_ + "/state/spares", ec)) {
        std::string a = ReadFile(e.path().string() + "/address");
        spares.insert(a.starts_with("unix://") ? a.substr(7) : a);
      }
      for (const fs::directory_entry& e : fs::directory_iterator(dir_ + "/state/s", ec)) {
        if (!spares.count(e.path().string())) return false;
      }
      return true;
    })) << "shim sockets left: "
        << Sh("ls -la " + dir_ + "/state/s");
    for (const char* sub :
         {"/state/pods", "/state/runtime/k8s.io", "/lib/pods", "/state/records/pods"}) {
      std::error_code ec;
      EXPECT_TRUE(!fs::exists(dir_ + sub) || fs::is_empty(dir_ + sub, ec))
          << "files left in " << dir_ << sub << ": " << Sh("ls -la " + dir_ + sub);
    }
  }

  std::string dir_, socket_, config_, cgroup_parent_;
  std::vector<pid_t> daemons_;
};

TEST_F(SandboxTest, RunpStoppRmpThroughPeactl) {
  ASSERT_GT(StartDaemon(), 0) << ReadFile(dir_ + "/peapodd.log");
  std::ofstream(dir_ + "/pod.json") << R"({"metadata":{"name":"web","namespace":"sbx","uid":"u1"},
      "hostname":"web-host","labels":{"tier":"front"},
      "linux":{"cgroup_parent":")" << cgroup_parent_
                                    << R"("}})";
  std::string peactl = BuildDir() + "/cri/peactl/peactl -r unix://" + socket_ + " ";
  int code = -1;
  std::string id = Sh(peactl + "runp " + dir_ + "/pod.json", &code);
  ASSERT_EQ(code, 0) << id;
  ASSERT_EQ(id.size(), 64u) << id;
  std::string pods = Sh(peactl + "pods", &code);
  EXPECT_NE(pods.find("Ready"), std::string::npos) << pods;
  EXPECT_NE(pods.find("web"), std::string::npos) << pods;
  std::string inspect = Sh(peactl + "inspectp " + id, &code);
  EXPECT_EQ(code, 0) << inspect;
  EXPECT_NE(inspect.find(id), std::string::npos) << inspect;
  EXPECT_NE(inspect.find("/peapod-infra"), std::string::npos) << "runtimeSpec in info: " << inspect;
  std::string pid = InfraPid(id);
  ASSERT_TRUE(fs::exists("/proc/" + pid)) << pid;
  // No CNI network: the pod's own network namespace, pinned under the
  // state dir before the infra joined it, its loopback up and nothing else.
  const std::string pin = dir_ + "/state/netns/" + id;
  EXPECT_EQ(Sh("stat -L -c %i /proc/" + pid + "/ns/net"), Sh("stat -c %i " + pin));
  EXPECT_NE(Sh("readlink /proc/" + pid + "/ns/net"), Sh("readlink /proc/self/ns/net"));
  EXPECT_EQ(Sh("nsenter --net=" + pin + " ip -o link show | awk '{print $2 $3}'"),
            "lo:<LOOPBACK,UP,LOWER_UP>");
  // The pod cgroup lives under cgroup_parent.
  EXPECT_TRUE(fs::exists("/sys/fs/cgroup/memory" + cgroup_parent_ + "/" + id));
  EXPECT_NE(
      ReadFile("/sys/fs/cgroup/memory" + cgroup_parent_ + "/" + id + "/cgroup.procs").find(pid),
      std::string::npos);
  // Label filter and state filter.
  EXPECT_NE(Sh(peactl + "pods -q --label tier=front"), "");
  EXPECT_EQ(Sh(peactl + "pods -q --label tier=back"), "");

  std::string out = Sh(peactl + "stopp " + id, &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(Sh(peactl + "pods").find("NotReady"), std::string::npos);
  for (int i = 0; i < 50 && fs::exists("/proc/" + pid); ++i) std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(fs::exists("/proc/" + pid)) << "infra still runs after stopp";
  out = Sh(peactl + "stopp " + id, &code);  // idempotent
  EXPECT_EQ(code, 0) << out;
  out = Sh(peactl + "rmp " + id, &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(Sh(peactl + "pods -q"), "");
  ExpectNothingLeft({pid}, {id});
  // Unknown ids: Stop/Remove are fine (as containerd), Status is NotFound.
  EXPECT_TRUE(StopPod(id).ok());
  EXPECT_TRUE(RemovePod(id).ok());
  v1::PodSandboxStatusResponse st;
  EXPECT_EQ(Status(id, &st).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(SandboxTest, SharedPidNamespaceHostnameAndSysctls) {
  ASSERT_GT(StartDaemon(), 0) << ReadFile(dir_ + "/peapodd.log");
  v1::PodSandboxConfig c = PodConfig("shared");
  c.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(v1::POD);
  (*c.mutable_linux()->mutable_sysctls())["net.ipv4.ip_unprivileged_port_start"] = "1000";
  (*c.mutable_linux()->mutable_sysctls())["kernel.shm_rmid_forced"] = "1";
  std::string id;
  grpc::Status s = RunPod(c, &id);
  ASSERT_TRUE(s.ok()) << s.error_message();
  std::string pid = InfraPid(id);
  EXPECT_EQ(InnerPid(pid), "1") << "the infra is PID 1 of the pod's PID namespace";
  for (const char* ns : {"pid", "net", "ipc", "uts"}) {
    EXPECT_NE(NsLink(pid, ns), NsLink("self", ns)) << ns;
  }
  EXPECT_EQ(Sh("nsenter -t " + pid + " -u hostname"), "shared-host");
  EXPECT_EQ(Sh("nsenter -t " + pid + " -n cat /proc/sys/net/ipv4/ip_unprivileged_port_start"),
            "1000");
  EXPECT_EQ(Sh("nsenter -t " + pid + " -i cat /proc/sys/kernel/shm_rmid_forced"), "1");
  EXPECT_NE(Sh("hostname"), "shared-host");
  // Stats of the pod cgroup (under cgroup_parent) and of its network.
  v1::PodSandboxStatsRequest sreq;
  sreq.set_pod_sandbox_id(id);
  v1::PodSandboxStatsResponse sresp;
  grpc::Status ss = Stub()->PodSandboxStats(Ctx().get(), sreq, &sresp);
  ASSERT_TRUE(ss.ok()) << ss.error_message();
  const v1::PodSandboxStats& st = sresp.stats();
  EXPECT_EQ(st.attributes().id(), id);
  EXPECT_EQ(st.attributes().metadata().name(), "shared");
  EXPECT_GT(st.linux().memory().usage_bytes().value(), 0u);
  EXPECT_GE(st.linux().process().process_count().value(), 1u);
  EXPECT_GT(st.linux().cpu().timestamp(), 0);
  EXPECT_GT(st.linux().network().timestamp(), 0);
  v1::ListPodSandboxStatsRequest lreq;
  (*lreq.mutable_filter()->mutable_label_selector())["app"] = "shared";
  v1::ListPodSandboxStatsResponse lresp;
  ASSERT_TRUE(Stub()->ListPodSandboxStats(Ctx().get(), lreq, &lresp).ok());
  ASSERT_EQ(lresp.stats_size(), 1);
  EXPECT_EQ(lresp.stats(0).attributes().id(), id);
  (*lreq.mutable_filter()->mutable_label_selector())["app"] = "other";
  v1::ListPodSandboxStatsResponse none;
  ASSERT_TRUE(Stub()->ListPodSandboxStats(Ctx().get(), lreq, &none).ok());
  EXPECT_EQ(none.stats_size(), 0);
  sreq.set_pod_sandbox_id("0000nosuchpod");
  EXPECT_EQ(Stub()->PodSandboxStats(Ctx().get(), sreq, &sresp).error_code(),
            grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(RemovePod(id).ok());
  ExpectNothingLeft({pid}, {id});
}

TEST_F(SandboxTest, NodeNamespacesAreTheHosts) {
  ASSERT_GT(StartDaemon(), 0) << ReadFile(dir_ + "/peapodd.log");
  v1::PodSandboxConfig c = PodConfig("hostns");
  c.clear_hostname();
  auto* ns = c.mutable_linux()->mutable_security_context()->mutable_namespace_options();
  ns->set_network(v1::NODE);
  ns->set_pid(v1::NODE);
  ns->set_ipc(v1::NODE);
  std::string id;
  grpc::Status s = RunPod(c, &id);
  ASSERT_TRUE(s.ok()) << s.error_message();
  std::string pid = InfraPid(id);
  for (const char* n : {"pid", "net", "ipc", "uts"}) {
    EXPECT_EQ(NsLink(pid, n), NsLink("self", n)) << n;  // this test runs in the host's
  }
  EXPECT_NE(InnerPid(pid), "1");
  v1::PodSandboxStatusResponse st;
  ASSERT_TRUE(Status(id, &st).ok());
  EXPECT_EQ(st.status().linux().namespaces().options().network(), v1::NODE);
  ASSERT_TRUE(RemovePod(id).ok());
  ExpectNothingLeft({pid}, {id});
}

TEST_F(SandboxTest, BadInputsAreRejectedNamingTheField) {
  ASSERT_GT(StartDaemon(), 0) << ReadFile(dir_ + "/peapodd.log");
  struct Case {
    std::string what;
    std::function<void(v1::PodSandboxConfig&)> edit;
    std::string expect;
  };
  std::vector<Case> cases = {
      {"no metadata", [](auto& c) { c.clear_metadata(); }, "config.metadata"},
      {"no uid", [](auto& c) { c.mutable_metadata()->clear_uid(); }, "config.metadata.uid"},
      {"core_pattern",
       [](auto& c) { (*c.mutable_linux()->mutable_sysctls())["kernel.core_pattern"] = "|/x"; },
       "kernel.core_pattern"},
      {"smuggled key",
       [](auto& c) {
         (*c.mutable_linux()->mutable_sysctls())["net.ipv4.ip_forward"] = "1\nkernel.x=2";
       },
       "net.ipv4.ip_forward"},
      {"net sysctl on host network",
       [](auto& c) {
         c.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(
             v1::NODE);
         (*c.mutable_linux()->mutable_sysctls())["net.ipv4.ip_forward"] = "1";
       },
       "host network"},
      {"hostname", [](auto& c) { c.set_hostname("bad_host\nname"); }, "hostname"},
      {"relative log dir", [](auto& c) { c.set_log_directory("logs"); }, "log_directory"},
      {"target pid",
       [](auto& c) {
         c.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
             v1::TARGET);
       },
       "TARGET"},
  };
  for (const Case& k : cases) {
    v1::PodSandboxConfig c = PodConfig("bad");
    k.edit(c);
    std::string id;
    grpc::Status s = RunPod(c, &id);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << k.what << ": " << s.error_message();
    EXPECT_NE(s.error_message().find(k.expect), std::string::npos)
        << k.what << ": " << s.error_message();
  }
  EXPECT_TRUE(ListPods().empty());
  // A duplicate name is refused, naming the name and the pod holding it.
  std::string id, id2;
  ASSERT_TRUE(RunPod(PodConfig("dup"), &id).ok());
  grpc::Status s = RunPod(PodConfig("dup"), &id2);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << s.error_message();
  EXPECT_NE(s.error_message().find("dup_sbx_uid-dup_0"), std::string::npos) << s.error_message();
  EXPECT_NE(s.error_message().find(id), std::string::npos) << s.error_message();
  v1::RunPodSandboxRequest handler;
  *handler.mutable_config() = PodConfig("handler");
  handler.set_runtime_handler("kata");
  v1::RunPodSandboxResponse resp;
  s = Stub()->RunPodSandbox(Ctx().get(), handler, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("kata"), std::string::npos) << s.error_message();
  std::string pid = InfraPid(id);
  ASSERT_TRUE(RemovePod(id).ok());
  ExpectNothingLeft({pid}, {id});
}

TEST_F(SandboxTest, RestartKeepsPodsAndNoticesDeadInfra) {
  pid_t d = StartDaemon();
  ASSERT_GT(d, 0) << ReadFile(dir_ + "/peapodd.log");
  std::string a, b;
  ASSERT_TRUE(RunPod(PodConfig("keep"), &a).ok());
  ASSERT_TRUE(RunPod(PodConfig("lose"), &b).ok());
  std::string pa = InfraPid(a), pb = InfraPid(b);
  KillDaemon(d);
  // While peapodd is down one infra dies; the other keeps running.
  kill(atoi(pb.c_str()), SIGKILL);
  EXPECT_TRUE(fs::exists("/proc/" + pa));
  ASSERT_GT(StartDaemon(), 0) << ReadFile(dir_ + "/peapodd.log");
  v1::PodSandboxFilter ready;
  ready.mutable_state()->set_state(v1::SANDBOX_READY);
  std::vector<v1::PodSandbox> pods = ListPods(ready);
  ASSERT_EQ(pods.size(), 1u);
  EXPECT_EQ(pods[0].id(), a);
  v1::PodSandboxStatusResponse st;
  ASSERT_TRUE(Status(b, &st).ok());
  EXPECT_EQ(st.status().state(), v1::SANDBOX_NOTREADY);
  EXPECT_EQ(InfraPid(a), pa);
  // Still controllable.
  ASSERT_TRUE(StopPod(a).ok());
  EXPECT_FALSE(fs::exists("/proc/" + pa));
  ASSERT_TRUE(RemovePod(a).ok());
  ASSERT_TRUE(RemovePod(b).ok());
  EXPECT_TRUE(ListPods().empty());
  ExpectNothingLeft({pa, pb}, {a, b});
}

// Pids of the peapod shims whose command line mentions `what`.
std::vector<pid_t> ShimPids(const std::string& what) {
  std::vector<pid_t> out;
  for (const fs::directory_entry& e : fs::directory_iterator("/proc")) {
    std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmd = ReadFile(e.path().string() + "/cmdline");
    if (cmd.substr(0, cmd.find('\0')).ends_with("containerd-shim-peapod-v2") &&
        cmd.find(what) != std::string::npos) {
      out.push_back(std::stoi(name));
    }
  }
  return out;
}

std::string SocketOf(const std::string& address) {
  return address.starts_with("unix://") ? address.substr(7) : address;
}

struct Spare {
  std::string id, address;
};

// The spare shims ready now (ShimSpares), once there are `n`.
std::vector<Spare> ReadySpares(const std::string& state_dir, size_t n) {
  std::vector<Spare> out;
  Eventually([&] {
    out.clear();
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(state_dir + "/spares", ec)) {
      std::string a = ReadFile(e.path().string() + "/address");
      if (!a.empty()) out.push_back({e.path().filename().string(), a});
    }
    // The shim writes its address before peapodd has connected to it; a
    // spare is ready (Take can hand it out) once peapodd says so.
    std::string log = ReadFile(fs::path(state_dir).parent_path().string() + "/peapodd.log");
    std::erase_if(out, [&](const Spare& s) {
      return log.find("spare shim " + s.id + " ready") == std::string::npos;
    });
    return out.size() >= n;
  });
  return out;
}

// The one spare shim of the peapodd just started, once it is ready, and
// its one process.
void OneReadySpare(const std::string& state_dir, Spare* spare, pid_t* pid) {
  std::vector<Spare> ready = ReadySpares(state_dir, 1);
  ASSERT_EQ(ready.size(), 1u);
  std::vector<pid_t> pids = ShimPids(ready[0].id);
  ASSERT_EQ(pids.size(), 1u);
  *spare = ready[0];
  *pid = pids[0];
}

// RunPodSandbox takes the spare shim that was ready (the pod's shim is that
// one) and a new spare takes its place; the pod's removal ends that shim.
TEST_F(SandboxTest, RunPodTakesTheSpareShimAndANewOneIsStarted) {
  ASSERT_GT(StartDaemon(), 0) << ReadFile(dir_ + "/peapodd.log");
  Spare spare;
  pid_t spare_pid = -1;
  ASSERT_NO_FATAL_FAILURE(OneReadySpare(dir_ + "/state", &spare, &spare_pid));
  std::string id;
  ASSERT_TRUE(RunPod(PodConfig("spare"), &id).ok());
  EXPECT_EQ(ReadFile(dir_ + "/state/pods/" + id + "/address"), spare.address);
  EXPECT_FALSE(fs::exists(dir_ + "/state/spares/" + spare.id));
  // The infra is that shim's child (the shim is its subreaper and parent).
  std::string infra = InfraPid(id);
  std::istringstream stat(ReadFile("/proc/" + infra + "/stat"));
  std::string f1, f2, f3, ppid;
  stat >> f1 >> f2 >> f3 >> ppid;
  EXPECT_EQ(ppid, std::to_string(spare_pid));
  std::vector<Spare> after = ReadySpares(dir_ + "/state", 1);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_NE(after[0].id, spare.id);
  ASSERT_TRUE(RemovePod(id).ok());
  EXPECT_FALSE(fs::exists(SocketOf(spare.address)));
  EXPECT_TRUE(Eventually([&] { return ShimPids(spare.id).empty(); }));
  ExpectNothingLeft({infra}, {id});
}

// A spare whose shim died (peapodd holds a connection to it) is passed over:
// the pod starts all the same, with a shim of its own, and the dead spare's
// dir and socket are removed.
TEST_F(SandboxTest, ADeadSpareIsPassedOver) {
  ASSERT_GT(StartDaemon(), 0) << ReadFile(dir_ + "/peapodd.log");
  Spare spare;
  pid_t spare_pid = -1;
  ASSERT_NO_FATAL_FAILURE(OneReadySpare(dir_ + "/state", &spare, &spare_pid));
  ASSERT_EQ(kill(spare_pid, SIGKILL), 0);
  ASSERT_TRUE(Eventually([&] { return ShimPids(spare.id).empty(); }));
  std::string id;
  grpc::Status s = RunPod(PodConfig("after-dead-spare"), &id);
  ASSERT_TRUE(s.ok()) << s.error_message() << "\n" << ReadFile(dir_ + "/peapodd.log");
  EXPECT_NE(ReadFile(dir_ + "/state/pods/" + id + "/address"), spare.address);
  EXPECT_FALSE(fs::exists(dir_ + "/state/spares/" + spare.id));
  EXPECT_FALSE(fs::exists(SocketOf(spare.address)));
  EXPECT_NE(ReadFile(dir_ + "/peapodd.log").find("went away"), std::string::npos);
  std::string infra = InfraPid(id);
  ASSERT_TRUE(RemovePod(id).ok());
  ExpectNothingLeft({infra}, {id});
}

// Nothing of a spare outlives peapodd: a clean stop shuts spares down, and
// the spare of a SIGKILLed peapodd (it runs on, as any shim) is shut down by
// the next peapodd before it starts its own.
TEST_F(SandboxTest, SpareShimsEndWithPeapoddEvenAfterACrash) {
  pid_t d = StartDaemon();
  ASSERT_GT(d, 0) << ReadFile(dir_ + "/peapodd.log");
  std::vector<Spare> first = ReadySpares(dir_ + "/state", 1);
  ASSERT_EQ(first.size(), 1u);
  KillDaemon(d);
  EXPECT_EQ(ShimPids(first[0].id).size(), 1u) << "a shim dies with peapodd";
  d = StartDaemon();
  ASSERT_GT(d, 0) << ReadFile(dir_ + "/peapodd.log");
  std::vector<Spare> second = ReadySpares(dir_ + "/state", 1);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_NE(second[0].id, first[0].id);
  EXPECT_TRUE(Eventually([&] { return ShimPids(first[0].id).empty(); }))
      << "the spare of the killed peapodd still runs";
  EXPECT_FALSE(fs::exists(SocketOf(first[0].address)));
  kill(d, SIGTERM);
  EXPECT_EQ(waitpid(d, nullptr, 0), d);
  std::erase(daemons_, d);
  EXPECT_TRUE(Eventually([&] { return ShimPids(dir_).empty(); })) << "a shim outlived peapodd";
  EXPECT_FALSE(fs::exists(SocketOf(second[0].address)));
  std::error_code ec;
  EXPECT_TRUE(fs::is_empty(dir_ + "/state/spares", ec));
}

// shim_spares = 0: no spare; pods start their own shim.
TEST_F(SandboxTest, NoSparesWhenDisabled) {
  std::string config = ReadFile(config_);
  std::ofstream(config_) << "shim_spares = 0\n" << config;  // a top-level key: before [cni]
  ASSERT_GT(StartDaemon(), 0) << ReadFile(dir_ + "/peapodd.log");
  std::string id;
  ASSERT_TRUE(RunPod(PodConfig("own"), &id).ok());
  EXPECT_TRUE(ShimPids(dir_ + "/state/spares").empty());
  EXPECT_FALSE(ReadFile(dir_ + "/state/pods/" + id + "/address").empty());
  std::string infra = InfraPid(id);
  ASSERT_TRUE(RemovePod(id).ok());
  ExpectNothingLeft({infra}, {id});
}

TEST_F(SandboxTest, KillAtEachStepOfRunPodSandbox) {
  for (const char* fp : kFailpoints) {
    SCOPED_TRACE(fp);
    pid_t d = StartDaemon({std::string("PEAPOD_FAILPOINT=") + fp});
    ASSERT_GT(d, 0) << ReadFile(dir_ + "/peapodd.log");
    std::string id;
    grpc::Status s = RunPod(PodConfig("fp"), &id);
    EXPECT_FALSE(s.ok()) << "peapodd should have died at " << fp;
    EXPECT_EQ(waitpid(d, nullptr, 0), d);
    std::erase(daemons_, d);
    ASSERT_GT(StartDaemon(), 0) << ReadFile(dir_ + "/peapodd.log");
    std::vector<v1::PodSandbox> pods = ListPods();
    ASSERT_EQ(pods.size(), 1u);
    bool last = std::string(fp) == "runp:ready";
    EXPECT_EQ(pods[0].state(), last ? v1::SANDBOX_READY : v1::SANDBOX_NOTREADY);
    id = pods[0].id();
    ASSERT_TRUE(StopPod(id).ok());
    grpc::Status r = RemovePod(id);
    ASSERT_TRUE(r.ok()) << r.error_message();
    EXPECT_TRUE(ListPods().empty());
    ExpectNothingLeft({}, {id});
    for (pid_t p : std::vector<pid_t>(daemons_)) KillDaemon(p);
  }
}

}  // namespace
}  // namespace peapod::cri
