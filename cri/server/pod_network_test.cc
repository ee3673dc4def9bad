// Pod networking, pod files and lifecycle hooks through the real peapodd:
// pods get an address from a test-private CNI network (its own bridge,
// subnet and host-local data dir), /etc/hosts and /etc/resolv.conf are read
// from inside containers, and postStart / preStop hooks run for real.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "cri/images/digest.h"
#include "cri/images/test_registry.h"
#include "cri/images/test_tar.h"
#include "cri/server/test_support.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "oci/spec/json.h"
#include "proto/cri_api.h"

extern char** environ;

namespace peapod::cri {
namespace {

namespace v1 = ::runtime::v1;
namespace fs = std::filesystem;
using images::testing::TarBuilder;
using images::testing::TestImage;
using images::testing::TestRegistry;
using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

constexpr char kBridge[] = "pph4cri0";
constexpr char kSubnetPrefix[] = "10.89.1.";

// A one-layer image: busybox with its applets, a CGI script for httpd.
TestImage BusyboxImage() {
  TarBuilder t;
  t.Dir("bin").Dir("etc").Dir("tmp", 01777).Dir("srv").Dir("srv/cgi-bin");
  t.File("bin/busybox", ReadFile("/bin/busybox"), 0755);
  for (const char* applet : {"sh", "sleep", "cat", "echo", "httpd", "wget", "ls", "true"}) {
    t.Symlink(std::string("bin/") + applet, "busybox");
  }
  t.File("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
  t.File("etc/group", "root:x:0:\n");
  t.File("srv/index.html", "hi\n");
  t.File("srv/cgi-bin/hit",
         "#!/bin/sh\necho \"$REQUEST_METHOD $REQUEST_URI $HTTP_X_PEAPOD\" >> /tmp/hits\n"
         "echo 'Content-Type: text/plain'\necho\necho ok\n",
         0755);
  return images::testing::BuildImageWithConfig({t.Build()},
                                               R"({"Cmd":["sleep","3600"],"Env":["PATH=/bin"]})");
}

class PodNetworkTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    registry_ = new TestRegistry();
    ASSERT_EQ(registry_->Push("test/busybox", "1", BusyboxImage()), 201);
    image_ = registry_->host() + "/test/busybox:1";
    char tmpl[] = "/tmp/peapod-h4-podnet-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs::create_directories(dir_ + "/net.d");
    std::ofstream(dir_ + "/net.d/10-test.conflist")
        << R"({"cniVersion":"1.0.0","name":"peapod-h4-cri","plugins":[{"type":"bridge",)"
        << R"("bridge":")" << kBridge << R"(","isGateway":true,"ipam":{"type":"host-local",)"
        << R"("ranges":[[{"subnet":")" << kSubnetPrefix << R"(0/24"}]],"dataDir":")" << dir_
        << R"(/ipam"}}]})";
    StartDaemon();
    v1::PullImageRequest req;
    req.mutable_image()->set_image(image_);
    v1::PullImageResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = images_->PullImage(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  static void TearDownTestSuite() {
    if (pid_ > 0) {
      runtime_.reset();
      images_.reset();
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    KillShimsMentioning(dir_);  // any a failed test left
    delete registry_;
    UnmountUnder(dir_);
    std::system((std::string("ip link del ") + kBridge + " 2>/dev/null").c_str());
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void TearDown() override {
    for (const std::string& id : pods_) {
      {
        v1::StopPodSandboxRequest req;
        req.set_pod_sandbox_id(id);
        v1::StopPodSandboxResponse resp;
        grpc::ClientContext ctx;
        (void)runtime_->StopPodSandbox(&ctx, req, &resp);
      }
      v1::RemovePodSandboxRequest req;
      req.set_pod_sandbox_id(id);
      v1::RemovePodSandboxResponse resp;
      grpc::ClientContext ctx;
      grpc::Status s = runtime_->RemovePodSandbox(&ctx, req, &resp);
      EXPECT_TRUE(s.ok()) << s.error_message();
    }
    pods_.clear();
  }

  static std::string Log() { return ReadFile(dir_ + "/peapodd.log"); }

  // The addresses the test network's IPAM has leased to pods (with
  // `warm`, also those of warm attachments: warm_network.h).
  static std::vector<std::string> Leases(bool warm = false) {
    std::vector<std::string> out;
    std::vector<std::string> warm_ids = WarmIds();
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_ + "/ipam/peapod-h4-cri", ec)) {
      std::string name = e.path().filename();
      if (name.rfind(kSubnetPrefix, 0) != 0) continue;
      std::string owner = ReadFile(e.path());
      bool is_warm = std::any_of(warm_ids.begin(), warm_ids.end(), [&](const std::string& id) {
        return owner.find(id) != std::string::npos;
      });
      if (warm || !is_warm) out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // Lines of `iptables-save -t nat` that name `id` (portmap's DNAT rules
  // carry the pod id in a comment).
  static size_t nat_rules_for(const std::string& id) {
    FILE* f = popen("iptables-save -t nat", "r");
    std::string out;
    char buf[4096];
    size_t n;
    while (f && (n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    if (f) pclose(f);
    size_t count = 0;
    for (size_t at = out.find(id); at != std::string::npos; at = out.find(id, at + 1)) ++count;
    return count;
  }

  // The suite's network with portmap after the bridge, in a config file
  // that sorts first; returns its path.
  static std::string WritePortmapConfig() {
    const std::string path = dir_ + "/net.d/05-portmap.conflist";
    std::ofstream(path) << R"({"cniVersion":"1.0.0","name":"peapod-h4-cri","plugins":[)"
                        << R"({"type":"bridge","bridge":")" << kBridge
                        << R"(","isGateway":true,"ipam":{"type":"host-local",)"
                        << R"("ranges":[[{"subnet":")" << kSubnetPrefix << R"(0/24"}]],"dataDir":")"
                        << dir_ << R"(/ipam"}},)"
                        << R"({"type":"portmap","capabilities":{"portMappings":true}}]})";
    return path;
  }

  static v1::PodSandboxConfig with_port(v1::PodSandboxConfig c, int host_port) {
    v1::PortMapping* pm = c.add_port_mappings();
    pm->set_protocol(v1::TCP);
    pm->set_container_port(80);
    pm->set_host_port(host_port);
    return c;
  }

  // The ids of warm CNI attachments (their intents), made or being made.
  static std::vector<std::string> WarmIds() {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_ + "/lib/cni-warm", ec)) {
      out.push_back(e.path().filename());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // The one warm attachment, once it is ready (its lease and its namespace
  // exist), or "".
  static std::string ReadyWarmId() {
    for (int i = 0; i < 500; ++i) {
      std::vector<std::string> ids = WarmIds();
      if (ids.size() == 1) {
        std::string lease_owner;
        for (const std::string& ip : Leases(true)) {
          if (ReadFile(dir_ + "/ipam/peapod-h4-cri/" + ip).find(ids[0]) != std::string::npos) {
            lease_owner = ids[0];
          }
        }
        if (!lease_owner.empty() &&
            ReadFile("/proc/self/mountinfo").find(dir_ + "/state/netns/" + ids[0]) !=
                std::string::npos &&
            fs::exists(dir_ + "/lib/cni-cache/peapod-h4-cri-" + ids[0] + "-eth0.json")) {
          return ids[0];
        }
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
    return "";
  }

  // Stops peapodd (SIGTERM, or `sig`).
  static void StopDaemon(int sig = SIGTERM) {
    runtime_.reset();
    images_.reset();
    kill(pid_, sig);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  // Pids of CNI plugin processes started for the pod named `name` (their
  // CNI_ARGS name it).
  static std::vector<std::string> PluginProcessesFor(const std::string& name) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/proc", ec)) {
      std::string env = ReadFile(e.path().string() + "/environ");
      std::replace(env.begin(), env.end(), '\0', '\n');
      if (env.find("CNI_COMMAND=") != std::string::npos &&
          env.find("K8S_POD_NAME=" + name + ";") != std::string::npos) {
        out.push_back(e.path().filename());
      }
    }
    return out;
  }

  // Starts peapodd (with PEAPOD_FAILPOINT=failpoint when given; `cni_extra`
  // goes into [cni]).
  static void StartDaemon(const std::string& failpoint = "", const std::string& cni_extra = "") {
    std::string config = dir_ + "/peapod.toml";
    std::ofstream out(config);
    out << "socket = \"" << dir_ << "/run/peapod.sock\"\nroot = \"" << dir_
        << "/lib\"\nstate_dir = \"" << dir_ << "/state\"\nlog_level = \"debug\"\n"
        << "shim_binary = \"" << BuildDir() << "/shim/containerd-shim-peapod-v2\"\n"
        << "infra_binary = \"" << BuildDir() << "/cri/infra/peapod-infra\"\n"
        << "[cni]\nconf_dir = \"" << dir_ << "/net.d\"\n"
        << cni_extra << "[registry.\"" << registry_->host() << "\"]\ninsecure = true\n";
    out.close();
    std::string bin = BuildDir() + "/cri/server/peapodd";
    std::string log = dir_ + "/peapodd.log";
    std::vector<std::string> argv = {bin, "--config", config};
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) env_strings.push_back(*e);
    if (!failpoint.empty()) env_strings.push_back("PEAPOD_FAILPOINT=" + failpoint);
    std::vector<char*> env;
    for (std::string& e : env_strings) env.push_back(e.data());
    env.push_back(nullptr);
    int rc = posix_spawn(&pid_, bin.c_str(), &fa, nullptr, args.data(), env.data());
    posix_spawn_file_actions_destroy(&fa);
    ASSERT_EQ(rc, 0) << bin;
    for (int i = 0; i < 500; ++i) {
      ASSERT_EQ(waitpid(pid_, nullptr, WNOHANG), 0) << "peapodd died:\n" << Log();
      // A new channel per try: one that failed to connect waits out gRPC's
      // reconnect backoff (seconds) before it tries again.
      auto channel = grpc::CreateChannel("unix://" + dir_ + "/run/peapod.sock",
                                         grpc::InsecureChannelCredentials());
      runtime_ = v1::RuntimeService::NewStub(channel);
      images_ = v1::ImageService::NewStub(channel);
      v1::ListContainersRequest req;
      v1::ListContainersResponse resp;
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + seconds(1));
      if (runtime_->ListContainers(&ctx, req, &resp).ok()) return;
      std::this_thread::sleep_for(milliseconds(20));
    }
    FAIL() << "peapodd did not answer:\n" << Log();
  }

  static v1::PodSandboxConfig PodConfig(const std::string& name) {
    v1::PodSandboxConfig c;
    c.mutable_metadata()->set_name(name);
    c.mutable_metadata()->set_uid(name + "-uid");
    c.mutable_metadata()->set_namespace_("default");
    c.set_hostname(name);
    c.set_log_directory(dir_ + "/logs/" + name);
    return c;
  }

  grpc::Status RunPod(const v1::PodSandboxConfig& c, std::string* id) {
    v1::RunPodSandboxRequest req;
    *req.mutable_config() = c;
    v1::RunPodSandboxResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = runtime_->RunPodSandbox(&ctx, req, &resp);
    if (s.ok()) pods_.push_back(resp.pod_sandbox_id());
    *id = resp.pod_sandbox_id();
    return s;
  }

  static v1::ContainerConfig Container(const std::string& name, std::vector<std::string> cmd,
                                       const std::string& lifecycle = "") {
    v1::ContainerConfig c;
    c.mutable_metadata()->set_name(name);
    c.mutable_image()->set_image(image_);
    for (const std::string& a : cmd) c.add_command(a);
    if (!lifecycle.empty()) (*c.mutable_annotations())["peapod.io/lifecycle"] = lifecycle;
    return c;
  }

  static grpc::Status Create(const std::string& pod, const v1::PodSandboxConfig& pc,
                             const v1::ContainerConfig& c, std::string* id) {
    v1::CreateContainerRequest req;
    req.set_pod_sandbox_id(pod);
    *req.mutable_config() = c;
    *req.mutable_sandbox_config() = pc;
    v1::CreateContainerResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = runtime_->CreateContainer(&ctx, req, &resp);
    *id = resp.container_id();
    return s;
  }

  static grpc::Status Start(const std::string& id) {
    v1::StartContainerRequest req;
    req.set_container_id(id);
    v1::StartContainerResponse resp;
    grpc::ClientContext ctx;
    return runtime_->StartContainer(&ctx, req, &resp);
  }

  static grpc::Status Stop(const std::string& id, int64_t timeout) {
    v1::StopContainerRequest req;
    req.set_container_id(id);
    req.set_timeout(timeout);
    v1::StopContainerResponse resp;
    grpc::ClientContext ctx;
    return runtime_->StopContainer(&ctx, req, &resp);
  }

  std::string RunContainer(const std::string& pod, const v1::PodSandboxConfig& pc,
                           const v1::ContainerConfig& c) {
    std::string id;
    grpc::Status s = Create(pod, pc, c, &id);
    EXPECT_TRUE(s.ok()) << s.error_message() << "\n" << Log();
    s = Start(id);
    EXPECT_TRUE(s.ok()) << s.error_message() << "\n" << Log();
    return id;
  }

  // ExecSync; returns stdout (stderr appended), exit code in *code.
  static std::string Exec(const std::string& id, std::vector<std::string> cmd,
                          int* code = nullptr) {
    v1::ExecSyncRequest req;
    req.set_container_id(id);
    for (const std::string& a : cmd) req.add_cmd(a);
    req.set_timeout(20);
    v1::ExecSyncResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = runtime_->ExecSync(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (code) *code = resp.exit_code();
    return resp.stdout() + resp.stderr();
  }

  static v1::ContainerStatus Status(const std::string& id) {
    v1::ContainerStatusRequest req;
    req.set_container_id(id);
    v1::ContainerStatusResponse resp;
    grpc::ClientContext ctx;
    EXPECT_TRUE(runtime_->ContainerStatus(&ctx, req, &resp).ok());
    return resp.status();
  }

  static std::string PodIp(const std::string& pod) {
    v1::PodSandboxStatusRequest req;
    req.set_pod_sandbox_id(pod);
    v1::PodSandboxStatusResponse resp;
    grpc::ClientContext ctx;
    EXPECT_TRUE(runtime_->PodSandboxStatus(&ctx, req, &resp).ok());
    return resp.status().network().ip();
  }

  static inline TestRegistry* registry_ = nullptr;
  static inline std::string image_, dir_;
  static inline pid_t pid_ = -1;
  static inline std::unique_ptr<v1::RuntimeService::Stub> runtime_;
  static inline std::unique_ptr<v1::ImageService::Stub> images_;
  std::vector<std::string> pods_;
};

TEST_F(PodNetworkTest, HostsWithTwoAliasesFromTwoContainers) {
  v1::PodSandboxConfig pc = PodConfig("hosts");
  (*pc.mutable_annotations())["peapod.io/host-aliases"] =
      R"([{"ip":"10.1.2.3","hostnames":["foo.remote","bar.remote"]},)"
      R"({"ip":"10.1.2.4","hostnames":["baz.remote"]}])";
  std::string pod;
  grpc::Status s = RunPod(pc, &pod);
  ASSERT_TRUE(s.ok()) << s.error_message() << "\n" << Log();
  std::string ip = PodIp(pod);
  ASSERT_THAT(ip, ::testing::StartsWith(kSubnetPrefix));
  std::string want =
      "127.0.0.1\tlocalhost\n"
      "::1\tlocalhost ip6-localhost ip6-loopback\n"
      "fe00::0\tip6-localnet\n"
      "fe00::0\tip6-mcastprefix\n"
      "fe00::1\tip6-allnodes\n"
      "fe00::2\tip6-allrouters\n" +
      ip + "\thosts\n" +
      "10.1.2.3\tfoo.remote bar.remote\n"
      "10.1.2.4\tbaz.remote\n";
  std::string a = RunContainer(pod, pc, Container("a", {"sleep", "3600"}));
  std::string b = RunContainer(pod, pc, Container("b", {"sleep", "3600"}));
  EXPECT_EQ(Exec(a, {"cat", "/etc/hosts"}), want);
  EXPECT_EQ(Exec(b, {"cat", "/etc/hosts"}), want);
  EXPECT_EQ(Exec(a, {"cat", "/etc/hostname"}), "hosts\n");
  // The pod's address is on its eth0, and its lo is up.
  std::string addr = Exec(b, {"busybox", "ip", "-o", "addr"});
  EXPECT_THAT(addr, HasSubstr(ip + "/24"));
  EXPECT_THAT(addr, HasSubstr("127.0.0.1/8"));
}

TEST_F(PodNetworkTest, HostileAliasesRejected) {
  for (const char* bad : {R"([{"ip":"10.1.2.3","hostnames":["ok","evil\n6.6.6.6 bank.com"]}])",
                          R"([{"ip":"10.1.2.3 # x","hostnames":["ok"]}])",
                          R"([{"ip":"10.1.2.3","hostnames":["under_score"]}])", "not json"}) {
    v1::PodSandboxConfig pc = PodConfig("hostile");
    (*pc.mutable_annotations())["peapod.io/host-aliases"] = bad;
    std::string pod;
    grpc::Status s = RunPod(pc, &pod);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_THAT(s.error_message(), HasSubstr("peapod.io/host-aliases")) << bad;
  }
  v1::ListPodSandboxRequest req;
  v1::ListPodSandboxResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(runtime_->ListPodSandbox(&ctx, req, &resp).ok());
  for (const auto& p : resp.items()) EXPECT_NE(p.metadata().name(), "hostile");
}

TEST_F(PodNetworkTest, ResolvConfFromDnsConfig) {
  v1::PodSandboxConfig pc = PodConfig("dns");
  pc.mutable_dns_config()->add_servers("10.96.0.10");
  pc.mutable_dns_config()->add_servers("10.96.0.11");
  pc.mutable_dns_config()->add_searches("default.svc.cluster.local");
  pc.mutable_dns_config()->add_searches("cluster.local");
  pc.mutable_dns_config()->add_options("ndots:5");
  std::string pod;
  grpc::Status s = RunPod(pc, &pod);
  ASSERT_TRUE(s.ok()) << s.error_message() << "\n" << Log();
  std::string c = RunContainer(pod, pc, Container("c", {"sleep", "3600"}));
  EXPECT_EQ(Exec(c, {"cat", "/etc/resolv.conf"}),
            "search default.svc.cluster.local cluster.local\n"
            "nameserver 10.96.0.10\n"
            "nameserver 10.96.0.11\n"
            "options ndots:5\n");
}

TEST_F(PodNetworkTest, PostStartWritesFileMainProcessReads) {
  v1::PodSandboxConfig pc = PodConfig("poststart");
  std::string pod;
  ASSERT_TRUE(RunPod(pc, &pod).ok()) << Log();
  std::string c = RunContainer(
      pod, pc,
      Container(
          "main",
          {"sh", "-c",
           "while [ ! -f /tmp/started ]; do sleep 0.05; done; "
           "cat /tmp/started > /tmp/seen; sleep 3600"},
          R"({"postStart":{"exec":{"command":["sh","-c","echo from-hook > /tmp/started"]}}})"));
  // StartContainer returned only after the hook finished.
  EXPECT_EQ(Exec(c, {"cat", "/tmp/started"}), "from-hook\n");
  std::string seen;
  for (int i = 0; i < 100 && seen.empty(); ++i) {
    seen = Exec(c, {"sh", "-c", "cat /tmp/seen 2>/dev/null"});
    if (seen.empty()) std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_EQ(seen, "from-hook\n");
}

TEST_F(PodNetworkTest, FailingPostStartKillsContainer) {
  v1::PodSandboxConfig pc = PodConfig("poststart-fail");
  std::string pod;
  ASSERT_TRUE(RunPod(pc, &pod).ok()) << Log();
  std::string id;
  ASSERT_TRUE(Create(pod, pc,
                     Container("main", {"sleep", "3600"},
                               R"({"postStart":{"exec":{"command":["sh","-c",)"
                               R"("echo doomed; exit 7"]}}})"),
                     &id)
                  .ok());
  grpc::Status s = Start(id);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.error_message(), HasSubstr("PostStart hook (exec [sh -c echo doomed; exit 7])"));
  EXPECT_THAT(s.error_message(), HasSubstr("exit code 7: doomed"));
  v1::ContainerStatus st = Status(id);
  EXPECT_EQ(st.state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(st.reason(), "PostStartHookError");
  EXPECT_THAT(st.message(), HasSubstr("exit code 7: doomed"));
  // A bad annotation never gets that far.
  s = Create(pod, pc, Container("bad", {"sleep", "1"}, R"({"postStart":{}})"), &id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("exactly one of exec, httpGet"));
}

TEST_F(PodNetworkTest, PreStopDelaysShutdownWithinAndPastGrace) {
  v1::PodSandboxConfig pc = PodConfig("prestop");
  std::string pod;
  ASSERT_TRUE(RunPod(pc, &pod).ok()) << Log();
  const std::vector<std::string> main = {"sh", "-c",
                                         "trap 'exit 0' TERM; while true; do sleep 0.1; done"};
  // Inside the grace period: the hook's 2 s, then SIGTERM ends it cleanly.
  std::string a = RunContainer(
      pod, pc, Container("within", main, R"({"preStop":{"exec":{"command":["sleep","2"]}}})"));
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(Stop(a, 10).ok()) << Log();
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, milliseconds(1900));
  EXPECT_LT(took, seconds(8));
  EXPECT_EQ(Status(a).exit_code(), 0);
  // Past it: the hook would take 30 s, the timeout is 2 s; killed.
  std::string b = RunContainer(
      pod, pc, Container("past", main, R"({"preStop":{"exec":{"command":["sleep","30"]}}})"));
  t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(Stop(b, 2).ok()) << Log();
  took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, milliseconds(1500));
  EXPECT_LT(took, seconds(8));
  EXPECT_EQ(Status(b).state(), v1::CONTAINER_EXITED);
}

TEST_F(PodNetworkTest, HttpGetHooksAgainstServerInPod) {
  v1::PodSandboxConfig pc = PodConfig("httpget");
  std::string pod;
  ASSERT_TRUE(RunPod(pc, &pod).ok()) << Log();
  std::string server =
      RunContainer(pod, pc, Container("server", {"httpd", "-f", "-p", "8080", "-h", "/srv"}));
  int code = 1;
  for (int i = 0; i < 100 && code != 0; ++i) {
    Exec(server, {"wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/index.html"}, &code);
    if (code != 0) std::this_thread::sleep_for(milliseconds(50));
  }
  ASSERT_EQ(code, 0);
  // postStart to the pod IP (the default host), preStop to loopback.
  std::string client = RunContainer(
      pod, pc,
      Container("client", {"sleep", "3600"},
                R"({"postStart":{"httpGet":{"port":8080,"path":"/cgi-bin/hit?from=poststart",)"
                R"("httpHeaders":[{"name":"X-Peapod","value":"hello"}]}},)"
                R"("preStop":{"httpGet":{"host":"127.0.0.1","port":8080,)"
                R"("path":"/cgi-bin/hit?from=prestop"}}})"));
  EXPECT_EQ(Exec(server, {"cat", "/tmp/hits"}), "GET /cgi-bin/hit?from=poststart hello\n");
  ASSERT_TRUE(Stop(client, 10).ok());
  EXPECT_EQ(Exec(server, {"cat", "/tmp/hits"}),
            "GET /cgi-bin/hit?from=poststart hello\nGET /cgi-bin/hit?from=prestop \n");
  // A hook against a port nobody serves fails StartContainer.
  std::string id;
  ASSERT_TRUE(Create(pod, pc,
                     Container("client2", {"sleep", "3600"},
                               R"({"postStart":{"httpGet":{"port":8081,"path":"/x"}}})"),
                     &id)
                  .ok());
  grpc::Status s = Start(id);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.error_message(), HasSubstr("PostStart hook (httpGet HTTP://"));
  EXPECT_THAT(s.error_message(), HasSubstr(":8081/x) failed"));
}

// CNI CHECK: "ok" in a verbose PodSandboxStatus while the pod's network is
// intact; the plugin's complaint once its address is gone; and a peapodd
// restarted after that finds the pod NOTREADY.
TEST_F(PodNetworkTest, CniCheckOnVerboseStatusAndAtRestart) {
  v1::PodSandboxConfig pc = PodConfig("checked");
  std::string pod;
  ASSERT_TRUE(RunPod(pc, &pod).ok()) << Log();
  auto status = [&](std::string* check) {
    v1::PodSandboxStatusRequest req;
    req.set_pod_sandbox_id(pod);
    req.set_verbose(true);
    v1::PodSandboxStatusResponse resp;
    grpc::ClientContext ctx;
    EXPECT_TRUE(runtime_->PodSandboxStatus(&ctx, req, &resp).ok());
    absl::StatusOr<json::Value> info = json::Parse(resp.info().at("info"));
    EXPECT_TRUE(info.ok());
    const json::Value* c = info.ok() ? info->Find("networkCheck") : nullptr;
    *check = c && c->is_string() ? c->as_string() : "";
    return resp.status().state();
  };
  std::string check;
  EXPECT_EQ(status(&check), v1::SANDBOX_READY);
  EXPECT_EQ(check, "ok") << Log();
  // The pod loses its address behind peapodd's back.
  std::string netns = dir_ + "/state/netns/" + pod;
  ASSERT_EQ(std::system(("nsenter --net=" + netns + " ip addr flush dev eth0").c_str()), 0);
  status(&check);
  EXPECT_NE(check, "ok");
  EXPECT_FALSE(check.empty());
  EXPECT_EQ(check.find("skipped"), std::string::npos) << check;
  // A restarted peapodd runs CHECK for every ready pod.
  runtime_.reset();
  images_.reset();
  kill(pid_, SIGTERM);
  waitpid(pid_, nullptr, 0);
  StartDaemon();
  EXPECT_EQ(status(&check), v1::SANDBOX_NOTREADY) << Log();
  EXPECT_NE(Log().find("CNI CHECK failed"), std::string::npos);
}

// peapodd killed right after the first CNI plugin was started, before the
// pod's record exists: the plugin, never given its config, ends without
// acting (no address leased) and nothing of the pod is left or listed.
TEST_F(PodNetworkTest, KilledBeforeTheRecordTheStartedPluginNeverActs) {
  std::vector<std::string> before = Leases();
  runtime_.reset();
  images_.reset();
  kill(pid_, SIGTERM);
  waitpid(pid_, nullptr, 0);
  // No warm attachment: the plugin started ahead is the bridge.
  StartDaemon("runp:plugin", "warm = false\n");
  std::string id;
  EXPECT_FALSE(RunPod(PodConfig("killed-plugin"), &id).ok());
  int status = 0;
  for (int i = 0; i < 250 && waitpid(pid_, &status, WNOHANG) == 0; ++i) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << Log();
  pid_ = -1;
  bool gone = false;
  for (int i = 0; i < 250 && !(gone = PluginProcessesFor("killed-plugin").empty()); ++i) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_TRUE(gone) << "a CNI plugin of the killed call still runs";
  StartDaemon();
  v1::ListPodSandboxRequest req;
  v1::ListPodSandboxResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(runtime_->ListPodSandbox(&ctx, req, &resp).ok());
  for (const v1::PodSandbox& p : resp.items()) {
    EXPECT_NE(p.metadata().name(), "killed-plugin") << "a pod with no record is listed";
  }
  EXPECT_EQ(Leases(), before) << "the plugin leased an address without its config";
}

// peapodd killed at steps of RunPodSandbox while CNI ADD runs beside the
// shim's start (at runp:record the first plugin runs but has no config
// yet): after a restart the pod is NOTREADY, and Stop + Remove release its
// address and unpin its namespace.
TEST_F(PodNetworkTest, KilledDuringRunpWithCniLeavesNothingAfterRemove) {
  std::vector<std::string> before = Leases();
  for (const char* fp : {"runp:record", "runp:bundle", "runp:created", "runp:started"}) {
    SCOPED_TRACE(fp);
    runtime_.reset();
    images_.reset();
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    StartDaemon(fp);
    std::string id;
    EXPECT_FALSE(RunPod(PodConfig(std::string("killed-") + (fp + 5)), &id).ok());
    int status = 0;
    for (int i = 0; i < 250 && waitpid(pid_, &status, WNOHANG) == 0; ++i) {
      std::this_thread::sleep_for(milliseconds(20));
    }
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << Log();
    pid_ = -1;
    StartDaemon();
    v1::ListPodSandboxRequest req;
    v1::ListPodSandboxResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(runtime_->ListPodSandbox(&ctx, req, &resp).ok());
    std::string killed;
    for (const v1::PodSandbox& p : resp.items()) {
      if (p.metadata().name() == std::string("killed-") + (fp + 5)) {
        killed = p.id();
        EXPECT_EQ(p.state(), v1::SANDBOX_NOTREADY);
      }
    }
    ASSERT_FALSE(killed.empty()) << "the half-built pod is not listed";
    pods_.push_back(killed);
    TearDown();  // Stop + Remove
    EXPECT_FALSE(fs::exists(dir_ + "/state/netns/" + killed)) << "namespace still pinned";
    EXPECT_EQ(Leases(), before) << "an address is still leased";
    EXPECT_TRUE(PluginProcessesFor(std::string("killed-") + (fp + 5)).empty());
  }
}

// The spare network namespace (netns_spare.h): made at start when CNI is
// set up, taken by the next pod (the pod's namespace is that very one) and
// replaced; a SIGKILLed peapodd's spare is unpinned by the next one, and a
// clean stop unpins it. (With a warm CNI attachment ready, a pod takes its
// namespace instead: off here.)
TEST_F(PodNetworkTest, SpareNetnsIsTakenReplacedAndNeverLeft) {
  StopDaemon();
  StartDaemon("", "warm = false\n");
  auto spares = [] {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_ + "/state/netns", ec)) {
      if (e.path().filename().string().starts_with("spare-")) out.push_back(e.path());
    }
    return out;
  };
  auto inode = [](const std::string& path) {
    struct stat st {};
    return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
  };
  auto eventually_one = [&] {
    for (int i = 0; i < 250 && spares().size() != 1; ++i)
      std::this_thread::sleep_for(milliseconds(20));
    return spares();
  };
  std::vector<std::string> before = eventually_one();
  ASSERT_EQ(before.size(), 1u) << Log();
  ino_t spare_ns = inode(before[0]);
  ASSERT_NE(spare_ns, 0u);
  std::string pod;
  ASSERT_TRUE(RunPod(PodConfig("spare-netns"), &pod).ok()) << Log();
  EXPECT_EQ(inode(dir_ + "/state/netns/" + pod), spare_ns) << "the pod did not get the spare";
  std::vector<std::string> after = eventually_one();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_NE(after[0], before[0]);
  EXPECT_NE(inode(after[0]), spare_ns);
  TearDown();  // Stop + Remove
  EXPECT_FALSE(fs::exists(dir_ + "/state/netns/" + pod));
  // SIGKILL: the spare stays pinned until the next peapodd unpins it.
  runtime_.reset();
  images_.reset();
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  EXPECT_EQ(spares(), after);
  StartDaemon("", "warm = false\n");
  std::vector<std::string> third = eventually_one();
  ASSERT_EQ(third.size(), 1u);
  EXPECT_NE(third[0], after[0]);
  EXPECT_EQ(ReadFile("/proc/self/mountinfo").find(after[0]), std::string::npos);
  // A clean stop leaves no spare.
  runtime_.reset();
  images_.reset();
  kill(pid_, SIGTERM);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  EXPECT_TRUE(spares().empty());
  EXPECT_EQ(ReadFile("/proc/self/mountinfo").find(dir_ + "/state/netns/"), std::string::npos);
  StartDaemon();  // for the tests after this one
}

// The warm CNI attachment (warm_network.h): made at start, the next pod
// takes it (the pod's id, namespace and address are its), and the next one
// is made. One made for an older network config is torn down, not taken; a
// RunPodSandbox that fails before its ADD gives it back; a SIGKILLed
// peapodd's is torn down at the next start, as is one taken by a pod killed
// before its record; a clean stop leaves none. Each teardown releases the
// address, the namespace and the intent.
TEST_F(PodNetworkTest, WarmAttachmentIsTakenReplacedAndNeverLeft) {
  auto leased_to = [](const std::string& id) {
    std::string ip;
    for (const std::string& l : Leases(true)) {
      if (ReadFile(dir_ + "/ipam/peapod-h4-cri/" + l).find(id) != std::string::npos) ip = l;
    }
    return ip;
  };
  auto pinned = [](const std::string& id) {
    return ReadFile("/proc/self/mountinfo").find(dir_ + "/state/netns/" + id) != std::string::npos;
  };
  auto gone = [&](const std::string& id) {
    return leased_to(id).empty() && !pinned(id) && !fs::exists(dir_ + "/state/netns/" + id) &&
           !fs::exists(dir_ + "/lib/cni-warm/" + id) &&
           !fs::exists(dir_ + "/lib/cni-cache/peapod-h4-cri-" + id + "-eth0.json");
  };
  std::vector<std::string> before = Leases();
  std::string w1 = ReadyWarmId();
  ASSERT_FALSE(w1.empty()) << Log();
  std::string w1_ip = leased_to(w1);

  // 1. The next pod is the warm attachment's.
  v1::PodSandboxConfig pc = PodConfig("warm-a");
  std::string pod;
  ASSERT_TRUE(RunPod(pc, &pod).ok()) << Log();
  EXPECT_EQ(pod, w1) << "the pod did not take the warm attachment";
  EXPECT_EQ(PodIp(pod), w1_ip);
  std::string w2 = ReadyWarmId();
  ASSERT_FALSE(w2.empty()) << Log();
  EXPECT_NE(w2, w1);
  EXPECT_FALSE(fs::exists(dir_ + "/lib/cni-warm/" + w1)) << "the pod's intent was not dropped";
  // Its containers reach the network through it as any pod's.
  std::string c = RunContainer(pod, pc, Container("c", {"sleep", "3600"}));
  EXPECT_NE(Exec(c, {"cat", "/etc/hosts"}).find(w1_ip + "\twarm-a"), std::string::npos);

  // 2. A failed RunPodSandbox (the name is taken) gives it back.
  std::string dup;
  EXPECT_FALSE(RunPod(pc, &dup).ok());
  EXPECT_EQ(ReadyWarmId(), w2);
  EXPECT_FALSE(leased_to(w2).empty());

  // 3. A new config (the same network, now with portmap after the bridge):
  //    w2, made for the old one, is torn down; the pod gets a full ADD, and
  //    the attachment made next, for the new config, serves the pod after.
  const std::string pm_conf = WritePortmapConfig();
  // Pods go first: their DEL needs portmap in the config (a failed check
  // above returns with them still up).
  absl::Cleanup drop_pm = [&] {
    if (pid_ > 0) TearDown();
    fs::remove(pm_conf);
  };
  std::string pod_b;
  ASSERT_TRUE(RunPod(with_port(PodConfig("warm-b"), 18431), &pod_b).ok()) << Log();
  EXPECT_NE(pod_b, w2) << "a warm attachment of an older config was taken";
  EXPECT_GT(nat_rules_for(pod_b), 0u) << "portmap did not run for the pod";
  for (int i = 0; i < 250 && !gone(w2); ++i) std::this_thread::sleep_for(milliseconds(20));
  EXPECT_TRUE(gone(w2)) << "the stale warm attachment was not torn down\n" << Log();
  std::string w3 = ReadyWarmId();
  ASSERT_FALSE(w3.empty()) << Log();
  EXPECT_EQ(nat_rules_for(w3), 0u) << "portmap ran ahead of the pod";
  std::string pod_c;
  ASSERT_TRUE(RunPod(with_port(PodConfig("warm-c"), 18432), &pod_c).ok()) << Log();
  EXPECT_EQ(pod_c, w3);
  EXPECT_GT(nat_rules_for(pod_c), 0u) << "portmap did not run after the warm head";
  EXPECT_NE(Log().find("after a warm head of 1"), std::string::npos);
  TearDown();  // Stop + Remove of the three pods
  EXPECT_EQ(nat_rules_for(pod_b) + nat_rules_for(pod_c), 0u);
  EXPECT_TRUE(gone(pod)) << "a pod's attachment was left";

  // 4. SIGKILL: the unused one is torn down by the next peapodd.
  std::string w4 = ReadyWarmId();
  ASSERT_FALSE(w4.empty()) << Log();
  StopDaemon(SIGKILL);
  EXPECT_FALSE(gone(w4));
  StartDaemon();
  EXPECT_TRUE(gone(w4)) << Log();
  EXPECT_NE(Log().find("warm CNI attachment " + w4 + " left by an earlier peapodd: torn down"),
            std::string::npos);

  // 5. Killed after a pod took it, before the pod's record: torn down too,
  //    and no pod is listed.
  std::string w5 = ReadyWarmId();
  ASSERT_FALSE(w5.empty()) << Log();
  StopDaemon();
  EXPECT_TRUE(gone(w5)) << "a clean stop left the warm attachment";
  EXPECT_TRUE(WarmIds().empty());
  StartDaemon("runp:plugin");
  std::string w6 = ReadyWarmId();
  ASSERT_FALSE(w6.empty()) << Log();
  std::string killed;
  EXPECT_FALSE(RunPod(PodConfig("warm-killed"), &killed).ok());
  int status = 0;
  for (int i = 0; i < 250 && waitpid(pid_, &status, WNOHANG) == 0; ++i) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << Log();
  pid_ = -1;
  EXPECT_FALSE(gone(w6));
  std::move(drop_pm).Invoke();  // back to the suite's config
  StartDaemon();
  EXPECT_TRUE(gone(w6)) << Log();
  v1::ListPodSandboxRequest req;
  v1::ListPodSandboxResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(runtime_->ListPodSandbox(&ctx, req, &resp).ok());
  for (const v1::PodSandbox& p : resp.items()) EXPECT_NE(p.metadata().name(), "warm-killed");
  EXPECT_EQ(Leases(), before);
}

// DEL runs with the config the ADD ran with (kept in the CNI cache), not
// today's: portmap, since dropped from the config, still removes the pod's
// DNAT rules. As CRI-O does; with today's config they were left behind.
TEST_F(PodNetworkTest, DelUsesTheConfigOfTheAdd) {
  const std::string pm_conf = WritePortmapConfig();
  absl::Cleanup drop_pm = [&] { fs::remove(pm_conf); };
  std::string pod;
  ASSERT_TRUE(RunPod(with_port(PodConfig("del-config"), 18433), &pod).ok()) << Log();
  ASSERT_GT(nat_rules_for(pod), 0u) << Log();
  std::string lease = dir_ + "/ipam/peapod-h4-cri/" + PodIp(pod);
  std::move(drop_pm).Invoke();  // the config is the bridge alone again
  TearDown();                   // Stop + Remove
  EXPECT_EQ(nat_rules_for(pod), 0u) << "portmap's rules were left\n" << Log();
  EXPECT_FALSE(fs::exists(lease));
}

TEST_F(PodNetworkTest, StopAndRemoveReleaseTheAddress) {
  v1::PodSandboxConfig pc = PodConfig("release");
  std::string pod;
  ASSERT_TRUE(RunPod(pc, &pod).ok()) << Log();
  std::string ip = PodIp(pod);
  ASSERT_FALSE(ip.empty());
  std::string lease = dir_ + "/ipam/peapod-h4-cri/" + ip;
  EXPECT_TRUE(fs::exists(lease));
  std::string netns = dir_ + "/state/netns/" + pod;
  EXPECT_TRUE(fs::exists(netns));
  TearDown();  // Stop + Remove
  EXPECT_FALSE(fs::exists(lease));
  EXPECT_FALSE(fs::exists(netns));
}

// CNI DEL that cannot run (the network config became unreadable, and the
// ADD's own config, in its cache, with it): Stop and
// Remove fail naming the pod and the cause, the pod keeps its address and
// namespace, and once the config is back a retry releases both.
TEST_F(PodNetworkTest, StopAndRemoveFailWhileDelCannotRunAndARetryReleases) {
  std::string pod;
  ASSERT_TRUE(RunPod(PodConfig("del-fails"), &pod).ok()) << Log();
  pods_.push_back(pod);  // TearDown's Stop + Remove is the retry
  std::string lease = dir_ + "/ipam/peapod-h4-cri/" + PodIp(pod);
  const std::string broken = dir_ + "/net.d/00-broken.conflist";  // sorts first
  std::ofstream(broken) << "{not json";
  // Nor is the ADD's own config at hand: its cache is unreadable.
  std::ofstream(dir_ + "/lib/cni-cache/peapod-h4-cri-" + pod + "-eth0.json") << "{torn";
  absl::Cleanup restore = [&] { fs::remove(broken); };
  auto call = [&](bool remove) {
    grpc::ClientContext ctx;
    if (remove) {
      v1::RemovePodSandboxRequest req;
      req.set_pod_sandbox_id(pod);
      v1::RemovePodSandboxResponse resp;
      return runtime_->RemovePodSandbox(&ctx, req, &resp);
    }
    v1::StopPodSandboxRequest req;
    req.set_pod_sandbox_id(pod);
    v1::StopPodSandboxResponse resp;
    return runtime_->StopPodSandbox(&ctx, req, &resp);
  };
  for (bool remove : {false, true}) {
    grpc::Status s = call(remove);
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.error_message().rfind(
                  std::string(remove ? "remove" : "stop") + " pod sandbox " + pod + ": ", 0),
              0u)
        << s.error_message();
    EXPECT_NE(s.error_message().find("00-broken.conflist"), std::string::npos) << s.error_message();
  }
  EXPECT_TRUE(fs::exists(lease));
  EXPECT_TRUE(fs::exists(dir_ + "/state/netns/" + pod));
  std::move(restore).Invoke();
  TearDown();
  EXPECT_FALSE(fs::exists(lease));
  EXPECT_FALSE(fs::exists(dir_ + "/state/netns/" + pod));
}

}  // namespace
}  // namespace peapod::cri
