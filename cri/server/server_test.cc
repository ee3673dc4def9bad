// Starts the real peapodd on a private socket and talks to it through the
// generated gRPC stub and through peactl.
#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cri/server/test_support.h"
#include "cri/store/id.h"
#include "cri/store/record_store.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "proto/cri_api.h"

extern char** environ;

namespace peapod::cri {
namespace {

namespace v1 = ::runtime::v1;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Waits up to `timeout` for pid; its wait status, or -1 if still running.
int WaitFor(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  do {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(milliseconds(20));
  } while (std::chrono::steady_clock::now() < deadline);
  return -1;
}

struct Output {
  int exit_code = -1;
  std::string out, err;
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/peapod-server-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    socket_ = dir_ + "/run/peapod.sock";
    config_ = dir_ + "/peapod.toml";
    std::filesystem::create_directories(dir_ + "/net.d");
    std::ofstream(config_) << "socket = \"" << socket_ << "\"\n"
                           << "root = \"" << dir_ << "/lib\"\n"
                           << "state_dir = \"" << dir_ << "/state\"\n"
                           << "log_level = \"debug\"\n"
                           << "shim_spares = 0\n"  // no pods here: no shims
                           << "[cni]\nconf_dir = \"" << dir_ << "/net.d\"\n";
  }

  void TearDown() override {
    for (pid_t pid : daemons_) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    std::filesystem::remove_all(dir_);
  }

  // Spawns peapodd with our config; stdout+stderr go to `log`.
  pid_t Spawn(const std::string& log) {
    std::string bin = BuildDir() + "/cri/server/peapodd";
    std::vector<std::string> argv = {bin, "--config", config_};
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, bin.c_str(), &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return -1;
    daemons_.push_back(pid);
    return pid;
  }

  // Starts peapodd and waits until Version answers.
  pid_t StartDaemon() {
    pid_t pid = Spawn(dir_ + "/peapodd.log");
    if (pid < 0) return -1;
    for (int i = 0; i < 500; ++i) {
      if (WaitFor(pid, milliseconds(0)) != -1) return -1;  // It died.
      v1::VersionResponse resp;
      if (CallVersion(resp).ok()) return pid;
      std::this_thread::sleep_for(milliseconds(20));
    }
    return -1;
  }

  std::unique_ptr<v1::RuntimeService::Stub> Stub() {
    return v1::RuntimeService::NewStub(
        grpc::CreateChannel("unix://" + socket_, grpc::InsecureChannelCredentials()));
  }

  grpc::Status CallVersion(v1::VersionResponse& resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(2));
    v1::VersionRequest req;
    req.set_version("v1");
    return Stub()->Version(&ctx, req, &resp);
  }

  v1::StatusResponse CallStatus() {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(5));
    v1::StatusRequest req;
    req.set_verbose(true);
    v1::StatusResponse resp;
    grpc::Status s = Stub()->Status(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  // Runs peactl with `args` (and extra environment), capturing its output.
  Output Peactl(const std::string& args, const std::string& env = "") {
    std::string out = dir_ + "/peactl.out", err = dir_ + "/peactl.err";
    std::string cmd =
        env + " " + BuildDir() + "/cri/peactl/peactl " + args + " >" + out + " 2>" + err;
    int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadFile(out), ReadFile(err)};
  }

  static const v1::RuntimeCondition* Condition(const v1::StatusResponse& r,
                                               const std::string& type) {
    for (const v1::RuntimeCondition& c : r.status().conditions()) {
      if (c.type() == type) return &c;
    }
    return nullptr;
  }

  std::string dir_, socket_, config_;
  std::vector<pid_t> daemons_;
};

TEST_F(ServerTest, VersionOverGrpc) {
  ASSERT_GT(StartDaemon(), 0) << ReadFile(dir_ + "/peapodd.log");
  v1::VersionResponse v;
  ASSERT_TRUE(CallVersion(v).ok());
  EXPECT_EQ(v.runtime_name(), "peapod");
  EXPECT_EQ(v.runtime_version(), PEAPOD_VERSION);
  EXPECT_EQ(v.runtime_api_version(), "v1");
}

TEST_F(ServerTest, StatusReportsRuntimeAndNetworkReadiness) {
  ASSERT_GT(StartDaemon(), 0) << ReadFile(dir_ + "/peapodd.log");
  v1::StatusResponse r = CallStatus();
  const v1::RuntimeCondition* runtime = Condition(r, "RuntimeReady");
  ASSERT_NE(runtime, nullptr);
  EXPECT_TRUE(runtime->status()) << runtime->message();
  const v1::RuntimeCondition* network = Condition(r, "NetworkReady");
  ASSERT_NE(network, nullptr);
  EXPECT_FALSE(network->status());
  EXPECT_EQ(network->reason(), "NetworkPluginNotReady");
  EXPECT_NE(network->message().find(dir_ + "/net.d"), std::string::npos) << network->message();
  ASSERT_TRUE(r.info().contains("config"));
  EXPECT_NE(r.info().at("config").find(socket_), std::string::npos) << r.info().at("config");

  std::ofstream(dir_ + "/net.d/10-test.conflist")
      << R"({"cniVersion":"1.0.0","name":"t","plugins":[{"type":"loopback"}]})";
  r = CallStatus();
  network = Condition(r, "NetworkReady");
  ASSERT_NE(network, nullptr);
  EXPECT_TRUE(network->status());
  EXPECT_TRUE(network->reason().empty());
}

TEST_F(ServerTest, UnimplementedRpcsAnswerThroughTheEdge) {
  ASSERT_GT(StartDaemon(), 0) << ReadFile(dir_ + "/peapodd.log");
  grpc::ClientContext ctx;
  v1::CheckpointContainerResponse resp;
  grpc::Status s = Stub()->CheckpointContainer(&ctx, v1::CheckpointContainerRequest(), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  auto images = v1::ImageService::NewStub(
      grpc::CreateChannel("unix://" + socket_, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx2;
  std::unique_ptr<grpc::ClientReader<v1::StreamImagesResponse>> reader =
      images->StreamImages(&ctx2, v1::StreamImagesRequest());
  v1::StreamImagesResponse item;
  while (reader->Read(&item)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNIMPLEMENTED);
  std::string log = ReadFile(dir_ + "/peapodd.log");
  EXPECT_NE(log.find("/runtime.v1.RuntimeService/CheckpointContainer failed"), std::string::npos)
      << log;
  EXPECT_NE(log.find("/runtime.v1.ImageService/StreamImages failed"), std::string::npos) << log;
}

// What a kubelet sends at start: it takes the cgroup driver from
// RuntimeConfig (KubeletCgroupDriverFromCRI), and tells the pod CIDRs.
TEST_F(ServerTest, KubeletRuntimeConfigCallsAnswer) {
  ASSERT_GT(StartDaemon(), 0) << ReadFile(dir_ + "/peapodd.log");
  {
    grpc::ClientContext ctx;
    v1::RuntimeConfigResponse resp;
    grpc::Status s = Stub()->RuntimeConfig(&ctx, v1::RuntimeConfigRequest(), &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_TRUE(resp.has_linux());
    EXPECT_EQ(resp.linux().cgroup_driver(), v1::CGROUPFS);  // SYSTEMD is the zero value
  }
  auto update = [&](const std::string& cidr) {
    grpc::ClientContext ctx;
    v1::UpdateRuntimeConfigRequest req;
    req.mutable_runtime_config()->mutable_network_config()->set_pod_cidr(cidr);
    v1::UpdateRuntimeConfigResponse resp;
    return Stub()->UpdateRuntimeConfig(&ctx, req, &resp);
  };
  for (const char* good : {"", "10.244.1.0/24", "10.244.1.0/24,fd00:10:244:1::/64", "0.0.0.0/0"}) {
    grpc::Status s = update(good);
    EXPECT_TRUE(s.ok()) << good << ": " << s.error_message();
  }
  for (const char* bad : {"10.244.1.0/33", "10.244.1.0", "fd00::/129", "10.244.1.0/24,",
                          "10.244.1.0/-1", "banana/8", "10.244.1.0/24\n#x"}) {
    grpc::Status s = update(bad);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_NE(s.error_message().find("pod_cidr"), std::string::npos) << s.error_message();
  }
  std::string log = ReadFile(dir_ + "/peapodd.log");
  EXPECT_NE(log.find("pod CIDR is 10.244.1.0/24,fd00:10:244:1::/64"), std::string::npos) << log;
}

TEST_F(ServerTest, SocketIs0660InA0700Directory) {
  ASSERT_GT(StartDaemon(), 0) << ReadFile(dir_ + "/peapodd.log");
  struct stat st;
  ASSERT_EQ(stat(socket_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  ASSERT_EQ(stat((dir_ + "/run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
}

TEST_F(ServerTest, SecondDaemonOnTheSameSocketRefuses) {
  pid_t first = StartDaemon();
  ASSERT_GT(first, 0) << ReadFile(dir_ + "/peapodd.log");
  pid_t second = Spawn(dir_ + "/second.log");
  ASSERT_GT(second, 0);
  int status = WaitFor(second, seconds(10));
  ASSERT_NE(status, -1) << "the second peapodd kept running";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0);
  std::string log = ReadFile(dir_ + "/second.log");
  EXPECT_NE(log.find("already serving " + socket_), std::string::npos) << log;
  EXPECT_NE(log.find("pid " + std::to_string(first)), std::string::npos) << log;
  // The first one is untouched.
  v1::VersionResponse v;
  EXPECT_TRUE(CallVersion(v).ok());
}

TEST_F(ServerTest, StaleSocketIsReplacedAndRemovedAtShutdown) {
  std::filesystem::create_directory(dir_ + "/run");
  chmod((dir_ + "/run").c_str(), 0700);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, socket_.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  close(fd);  // Bound but nobody listens: a leftover of a dead daemon.

  pid_t pid = StartDaemon();
  ASSERT_GT(pid, 0) << ReadFile(dir_ + "/peapodd.log");
  kill(pid, SIGTERM);
  int status = WaitFor(pid, seconds(10));
  ASSERT_NE(status, -1);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_FALSE(std::filesystem::exists(socket_));
}

TEST_F(ServerTest, RefusesASocketDirectoryOthersCanEnter) {
  std::filesystem::create_directory(dir_ + "/run");
  chmod((dir_ + "/run").c_str(), 0755);
  pid_t pid = Spawn(dir_ + "/peapodd.log");
  ASSERT_GT(pid, 0);
  int status = WaitFor(pid, seconds(10));
  ASSERT_NE(status, -1);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0);
  std::string log = ReadFile(dir_ + "/peapodd.log");
  EXPECT_NE(log.find("mode 0700"), std::string::npos) << log;
}

TEST_F(ServerTest, PeactlVersionInfoAndErrors) {
  ASSERT_GT(StartDaemon(), 0) << ReadFile(dir_ + "/peapodd.log");
  Output o = Peactl("--runtime-endpoint unix://" + socket_ + " version");
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("RuntimeName:  peapod\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("RuntimeApiVersion:  v1\n"), std::string::npos) << o.out;

  o = Peactl("version", "CONTAINER_RUNTIME_ENDPOINT=unix://" + socket_);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("RuntimeVersion:  " PEAPOD_VERSION "\n"), std::string::npos) << o.out;

  o = Peactl("-r " + socket_ + " info");
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("\"NetworkReady\""), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("\"config\""), std::string::npos) << o.out;

  o = Peactl("-r unix://" + socket_ + " inspectp 0123");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("NotFound"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("0123"), std::string::npos) << o.err;

  o = Peactl("-r unix://" + dir_ + "/nobody.sock -t 2 version");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("Unavailable"), std::string::npos) << o.err;
}

TEST_F(ServerTest, ListsAndFindsRecordsLoadedAtStart) {
  std::string pod_id = NewId(), ctr_id = NewId();
  {
    auto pods = PodStore::Open(dir_ + "/lib/pods", "pod sandbox");
    ASSERT_TRUE(pods.ok()) << pods.status();
    PodRecord p;
    p.id = pod_id;
    p.metadata = {.name = "web", .uid = "uid1", .namespace_ = "default", .attempt = 0};
    p.state = PodState::kReady;
    p.created_at = 1;
    p.labels = {{"app", "web"}};
    p.ip = "10.88.0.7";
    ASSERT_TRUE((*pods)->Add(p).ok());
    auto ctrs = ContainerStore::Open(dir_ + "/lib/containers", "container");
    ASSERT_TRUE(ctrs.ok()) << ctrs.status();
    ContainerRecord c;
    c.id = ctr_id;
    c.pod_id = pod_id;
    c.name = "nginx";
    c.unique_name = ContainerUniqueName(p.metadata, "nginx", 0);
    c.image = "busybox:latest";
    c.state = ContainerState::kRunning;
    ASSERT_TRUE((*ctrs)->Add(c).ok());
  }
  ASSERT_GT(StartDaemon(), 0) << ReadFile(dir_ + "/peapodd.log");

  grpc::ClientContext c1;
  v1::ListPodSandboxResponse pods;
  ASSERT_TRUE(Stub()->ListPodSandbox(&c1, v1::ListPodSandboxRequest(), &pods).ok());
  ASSERT_EQ(pods.items_size(), 1);
  EXPECT_EQ(pods.items(0).id(), pod_id);
  EXPECT_EQ(pods.items(0).metadata().name(), "web");
  // Its record says ready, but no infra process runs: recovery tells the truth.
  EXPECT_EQ(pods.items(0).state(), v1::SANDBOX_NOTREADY);

  grpc::ClientContext c2;
  v1::ListPodSandboxRequest by_label;
  (*by_label.mutable_filter()->mutable_label_selector())["app"] = "db";
  ASSERT_TRUE(Stub()->ListPodSandbox(&c2, by_label, &pods).ok());
  EXPECT_EQ(pods.items_size(), 0);

  grpc::ClientContext c3;
  v1::PodSandboxStatusRequest status_req;
  status_req.set_pod_sandbox_id(pod_id.substr(0, 8));
  v1::PodSandboxStatusResponse status;
  ASSERT_TRUE(Stub()->PodSandboxStatus(&c3, status_req, &status).ok());
  EXPECT_EQ(status.status().id(), pod_id);
  EXPECT_EQ(status.status().network().ip(), "10.88.0.7");

  grpc::ClientContext c4;
  status_req.set_pod_sandbox_id("nonexistent");
  EXPECT_EQ(Stub()->PodSandboxStatus(&c4, status_req, &status).error_code(),
            grpc::StatusCode::NOT_FOUND);

  grpc::ClientContext c5;
  v1::ListContainersRequest exited;
  exited.mutable_filter()->mutable_state()->set_state(v1::CONTAINER_RUNNING);
  v1::ListContainersResponse ctrs;
  ASSERT_TRUE(Stub()->ListContainers(&c5, exited, &ctrs).ok());
  EXPECT_EQ(ctrs.containers_size(), 0);

  grpc::ClientContext c6;
  v1::ContainerStatusRequest cs_req;
  cs_req.set_container_id(ctr_id.substr(0, 6));
  v1::ContainerStatusResponse cs;
  ASSERT_TRUE(Stub()->ContainerStatus(&c6, cs_req, &cs).ok());
  EXPECT_EQ(cs.status().id(), ctr_id);
  // Recorded running in a pod that has no shim: its exit status is lost,
  // and it shows as exited with 255 as containerd shows a lost task.
  EXPECT_EQ(cs.status().state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(cs.status().exit_code(), 255);

  Output o = Peactl("-r " + socket_ + " pods");
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find(pod_id.substr(0, 13) + "   "), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("NotReady"), std::string::npos) << o.out;
  o = Peactl("-r " + socket_ + " ps -a");
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("nginx"), std::string::npos) << o.out;
  o = Peactl("-r " + socket_ + " inspect -o yaml " + ctr_id.substr(0, 10));
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("id: " + ctr_id), std::string::npos) << o.out;
}

TEST_F(ServerTest, HelpWorks) {
  Output o = Peactl("--help");
  EXPECT_EQ(o.exit_code, 0);
  for (const char* verb : {"runp", "create", "exec", "logs", "inspecti", "rmp"}) {
    EXPECT_NE(o.out.find(verb), std::string::npos) << verb << "\n" << o.out;
  }
  std::string out = dir_ + "/help.out";
  int status = std::system((BuildDir() + "/cri/server/peapodd --help >" + out).c_str());
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(ReadFile(out).find("--config"), std::string::npos);
}

}  // namespace
}  // namespace peapod::cri
