// Containers of the real peapodd, driven through the CRI gRPC stub: images
// built here (busybox-static + peapod-probe + passwd/group) and pulled from
// a private docker-registry on 127.0.0.1, pods through RunPodSandbox, and
// every fact checked from inside the container (peapod-probe's JSON) or on
// the host (mounts, cgroups, files).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cri/images/digest.h"
#include "cri/images/test_registry.h"
#include "cri/images/test_tar.h"
#include "cri/server/test_support.h"
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
using images::testing::Compression;
using images::testing::TarBuilder;
using images::testing::TestImage;
using images::testing::TestRegistry;
using std::chrono::milliseconds;
using std::chrono::seconds;

int64_t Int(const json::Value* v) {
  if (v == nullptr) return -1;
  if (v->type() == json::Type::kInt) return v->raw_int();
  if (v->type() == json::Type::kUint) return static_cast<int64_t>(v->raw_uint());
  return -1;
}

std::string Str(const json::Value* v) { return v && v->is_string() ? v->as_string() : ""; }

// This process's capability bounding set as /proc shows it (16 hex digits).
std::string OwnCapBnd() {
  std::istringstream in(ReadFile("/proc/self/status"));
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("CapBnd:")) return line.substr(line.find_first_not_of(" \t", 7));
  }
  return "";
}

std::vector<std::string> Strings(const json::Value* v) {
  std::vector<std::string> out;
  if (v == nullptr || !v->is_array()) return out;
  for (const json::Value& e : v->as_array()) out.push_back(Str(&e));
  return out;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// An OCI image of the given layers and "config" object (JSON text).
TestImage MakeImage(const std::vector<std::string>& tars, const std::string& config) {
  return images::testing::BuildImageWithConfig(tars, config);
}

// busybox (with the applets the tests use), peapod-probe, passwd and group.
std::string BaseLayer() {
  TarBuilder t;
  t.Dir("bin").Dir("etc").Dir("tmp", 01777).Dir("srv").Dir("home").Dir("home/app");
  t.File("bin/busybox", ReadFile("/bin/busybox"), 0755);
  t.File("bin/peapod-probe", ReadFile(BuildDir() + "/oci/probe/peapod-probe"), 0755);
  for (const char* applet : {"sh", "sleep", "cat", "echo", "nc", "ls", "head", "yes", "id", "ps",
                             "hostname", "wc", "true", "kill", "dd", "grep", "stty"}) {
    t.Symlink(std::string("bin/") + applet, "busybox");
  }
  t.File("etc/passwd",
         "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"
         "nobody:x:65534:65534:nobody:/:/bin/sh\n");
  t.File("etc/group", "root:x:0:\napp:x:1000:\nextra:x:2000:app\nnogroup:x:65534:\n");
  return t.Build();
}

class ContainerTest : public ::testing::Test {
 protected:
  struct Pod {
    std::string id;
    v1::PodSandboxConfig config;
  };

  static void SetUpTestSuite() {
    registry_ = new TestRegistry();
    std::string base = BaseLayer();
    ASSERT_EQ(registry_->Push(
                  "test/probe", "1",
                  MakeImage({base}, R"({"Cmd":["sleep","3600"],"Env":["PATH=/bin","FROM_IMAGE=yes"],
                                        "WorkingDir":"/srv","StopSignal":"SIGUSR1"})")),
              201);
    ASSERT_EQ(registry_->Push("test/named", "1",
                              MakeImage({base}, R"({"User":"app","Cmd":["sleep","3600"],
                                                    "Env":["PATH=/bin"]})")),
              201);
    probe_image_ = registry_->host() + "/test/probe:1";
    named_image_ = registry_->host() + "/test/named:1";
    char tmpl[] = "/tmp/peapod-container-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    StartDaemon();
    for (const std::string& ref : {probe_image_, named_image_}) {
      v1::PullImageRequest req;
      req.mutable_image()->set_image(ref);
      v1::PullImageResponse resp;
      grpc::ClientContext ctx;
      grpc::Status s = images_->PullImage(&ctx, req, &resp);
      ASSERT_TRUE(s.ok()) << ref << ": " << s.error_message();
    }
  }

  static void TearDownTestSuite() {
    StopDaemon(SIGTERM);
    KillShimsMentioning(dir_);  // any a failed test left
    delete registry_;
    registry_ = nullptr;
    // Rootfs mounts of anything a failed test left behind first.
    UnmountUnder(dir_);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void TearDown() override {
    if (pid_ <= 0) StartDaemon();
    for (const Pod& p : pods_) {
      {
        v1::StopPodSandboxRequest req;
        req.set_pod_sandbox_id(p.id);
        v1::StopPodSandboxResponse resp;
        grpc::ClientContext ctx;
        (void)runtime_->StopPodSandbox(&ctx, req, &resp);
      }
      v1::RemovePodSandboxRequest req;
      req.set_pod_sandbox_id(p.id);
      v1::RemovePodSandboxResponse resp;
      grpc::ClientContext ctx;
      grpc::Status s = runtime_->RemovePodSandbox(&ctx, req, &resp);
      EXPECT_TRUE(s.ok()) << s.error_message();
    }
    pods_.clear();
  }

  static std::string Log() { return ReadFile(dir_ + "/peapodd.log"); }

  // Starts peapodd (with extra environment, e.g. a failpoint) and waits for it.
  static void StartDaemon(const std::vector<std::string>& extra_env = {}) {
    std::string config = dir_ + "/peapod.toml";
    std::ofstream out(config);
    out << "socket = \"" << dir_ << "/run/peapod.sock\"\nroot = \"" << dir_
        << "/lib\"\nstate_dir = \"" << dir_ << "/state\"\nlog_level = \"debug\"\n"
        << "shim_binary = \"" << BuildDir() << "/shim/containerd-shim-peapod-v2\"\n"
        << "infra_binary = \"" << BuildDir() << "/cri/infra/peapod-infra\"\n"
        << "[registry.\"" << registry_->host() << "\"]\ninsecure = true\n";
    out.close();
    std::string bin = BuildDir() + "/cri/server/peapodd";
    std::string log = dir_ + "/peapodd.log";
    std::vector<std::string> argv = {bin, "--config", config};
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    std::vector<std::string> env_store = extra_env;
    for (char** e = environ; *e; ++e) env_store.push_back(*e);
    std::vector<char*> env;
    for (std::string& e : env_store) env.push_back(e.data());
    env.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    int rc = posix_spawn(&pid_, bin.c_str(), &fa, nullptr, args.data(), env.data());
    posix_spawn_file_actions_destroy(&fa);
    ASSERT_EQ(rc, 0) << bin;
    grpc::ChannelArguments ch;
    ch.SetMaxReceiveMessageSize(64 << 20);
    for (int i = 0; i < 500; ++i) {
      ASSERT_EQ(waitpid(pid_, nullptr, WNOHANG), 0) << "peapodd died:\n" << Log();
      // A new channel per try: one that failed to connect waits out gRPC's
      // reconnect backoff (seconds) before it tries again.
      auto channel = grpc::CreateCustomChannel("unix://" + dir_ + "/run/peapod.sock",
                                               grpc::InsecureChannelCredentials(), ch);
      runtime_ = v1::RuntimeService::NewStub(channel);
      images_ = v1::ImageService::NewStub(channel);
      v1::ListContainersRequest lreq;
      v1::ListContainersResponse lresp;
      grpc::ClientContext lctx;
      lctx.set_deadline(std::chrono::system_clock::now() + seconds(1));
      if (runtime_->ListContainers(&lctx, lreq, &lresp).ok()) return;
      std::this_thread::sleep_for(milliseconds(20));
    }
    FAIL() << "peapodd did not answer:\n" << Log();
  }

  static void StopDaemon(int sig) {
    if (pid_ <= 0) return;
    runtime_.reset();
    images_.reset();
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  // Waits for peapodd to die by itself (a failpoint).
  static bool AwaitDaemonDeath() {
    for (int i = 0; i < 500; ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        runtime_.reset();
        images_.reset();
        return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
    return false;
  }

  Pod RunPod(const std::string& name, v1::NamespaceMode pid_mode = v1::CONTAINER,
             bool privileged = false) {
    v1::RunPodSandboxRequest req;
    v1::PodSandboxConfig& c = *req.mutable_config();
    c.mutable_metadata()->set_name(name);
    c.mutable_metadata()->set_uid(name + "-uid");
    c.mutable_metadata()->set_namespace_("default");
    c.set_hostname(name);
    c.set_log_directory(dir_ + "/logs/" + name);
    auto& sc = *c.mutable_linux()->mutable_security_context();
    sc.mutable_namespace_options()->set_pid(pid_mode);
    sc.set_privileged(privileged);
    v1::RunPodSandboxResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = runtime_->RunPodSandbox(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message() << "\n" << Log();
    Pod p{resp.pod_sandbox_id(), c};
    if (s.ok()) pods_.push_back(p);
    return p;
  }

  static v1::ContainerConfig Config(const std::string& name, std::vector<std::string> command = {},
                                    const std::string& image = "") {
    v1::ContainerConfig c;
    c.mutable_metadata()->set_name(name);
    c.mutable_image()->set_image(image.empty() ? probe_image_ : image);
    for (const std::string& a : command) c.add_command(a);
    c.set_log_path(name + ".log");
    return c;
  }

  static grpc::Status Create(const Pod& pod, const v1::ContainerConfig& config, std::string* id) {
    v1::CreateContainerRequest req;
    req.set_pod_sandbox_id(pod.id);
    *req.mutable_config() = config;
    // As a kubelet does: the container shares the pod's namespace choices.
    auto* sc = req.mutable_config()->mutable_linux()->mutable_security_context();
    if (!sc->has_namespace_options()) {
      *sc->mutable_namespace_options() = pod.config.linux().security_context().namespace_options();
    }
    *req.mutable_sandbox_config() = pod.config;
    v1::CreateContainerResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(30));
    grpc::Status s = runtime_->CreateContainer(&ctx, req, &resp);
    if (id) *id = resp.container_id();
    return s;
  }

  static grpc::Status Start(const std::string& id) {
    v1::StartContainerRequest req;
    req.set_container_id(id);
    v1::StartContainerResponse resp;
    grpc::ClientContext ctx;
    return runtime_->StartContainer(&ctx, req, &resp);
  }

  // Creates and starts; fails the test on error.
  std::string Run(const Pod& pod, const v1::ContainerConfig& config) {
    std::string id;
    grpc::Status s = Create(pod, config, &id);
    EXPECT_TRUE(s.ok()) << s.error_message() << "\n" << Log();
    if (!s.ok()) return "";
    s = Start(id);
    EXPECT_TRUE(s.ok()) << s.error_message() << "\n" << Log();
    return id;
  }

  static grpc::Status Stop(const std::string& id, int64_t timeout) {
    v1::StopContainerRequest req;
    req.set_container_id(id);
    req.set_timeout(timeout);
    v1::StopContainerResponse resp;
    grpc::ClientContext ctx;
    return runtime_->StopContainer(&ctx, req, &resp);
  }

  static grpc::Status Remove(const std::string& id) {
    v1::RemoveContainerRequest req;
    req.set_container_id(id);
    v1::RemoveContainerResponse resp;
    grpc::ClientContext ctx;
    return runtime_->RemoveContainer(&ctx, req, &resp);
  }

  static v1::ContainerStatusResponse Status(const std::string& id, bool verbose = false) {
    v1::ContainerStatusRequest req;
    req.set_container_id(id);
    req.set_verbose(verbose);
    v1::ContainerStatusResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = runtime_->ContainerStatus(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  // Polls until the container has exited (10 s at most).
  static v1::ContainerStatus AwaitExit(const std::string& id) {
    v1::ContainerStatus st;
    for (int i = 0; i < 200; ++i) {
      st = Status(id).status();
      if (st.state() == v1::CONTAINER_EXITED) break;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return st;
  }

  static grpc::Status Exec(const std::string& id, const std::vector<std::string>& cmd,
                           v1::ExecSyncResponse* resp, int64_t timeout = 10) {
    v1::ExecSyncRequest req;
    req.set_container_id(id);
    for (const std::string& a : cmd) req.add_cmd(a);
    req.set_timeout(timeout);
    grpc::ClientContext ctx;
    return runtime_->ExecSync(&ctx, req, resp);
  }

  // A streaming URL from CRI Exec (status in *s).
  static std::string ExecUrl(const std::string& id, const std::vector<std::string>& cmd, bool in,
                             bool tty, bool err, grpc::Status* s) {
    v1::ExecRequest req;
    req.set_container_id(id);
    for (const std::string& a : cmd) req.add_cmd(a);
    req.set_stdin(in);
    req.set_stdout(true);
    req.set_stderr(err);
    req.set_tty(tty);
    v1::ExecResponse resp;
    grpc::ClientContext ctx;
    *s = runtime_->Exec(&ctx, req, &resp);
    return resp.url();
  }

  static std::string AttachUrl(const std::string& id, bool in, grpc::Status* s) {
    v1::AttachRequest req;
    req.set_container_id(id);
    req.set_stdin(in);
    req.set_stdout(true);
    req.set_stderr(true);
    v1::AttachResponse resp;
    grpc::ClientContext ctx;
    *s = runtime_->Attach(&ctx, req, &resp);
    return resp.url();
  }

  struct Client {
    int code = -1;
    std::string out, err;
  };
  // integration/stream/kube-stream.mjs (client-go's protocols over node's
  // spdy-transport, `npm ci` by hack/setup.sh) with `input` as its stdin.
  static Client KubeStream(const std::string& args, const std::string& input = "") {
    const char* src = getenv("PEAPOD_SOURCE_DIR");
    std::string script = std::string(src ? src : ".") + "/integration/stream/kube-stream.mjs";
    EXPECT_TRUE(fs::exists(fs::path(script).parent_path() / "node_modules/spdy-transport"))
        << "run hack/setup.sh: it installs the test client's spdy-transport";
    std::ofstream(dir_ + "/client.in") << input;
    std::string cmd = "node " + script + " " + args + " <" + dir_ + "/client.in >" + dir_ +
                      "/client.out 2>" + dir_ + "/client.err";
    int st = system(cmd.c_str());
    Client c;
    c.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    c.out = ReadFile(dir_ + "/client.out");
    c.err = ReadFile(dir_ + "/client.err");
    return c;
  }

  // peapod-probe's facts from an exec in the container.
  static json::Value Facts(const std::string& id) {
    v1::ExecSyncResponse resp;
    grpc::Status s = Exec(id, {"/bin/peapod-probe"}, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    absl::StatusOr<json::Value> v = json::Parse(resp.stdout());
    EXPECT_TRUE(v.ok()) << resp.stdout() << resp.stderr();
    return v.ok() ? *v : json::Value();
  }

  // The container's config.json, from ContainerStatus' verbose info.
  static json::Value RuntimeSpec(const std::string& id) {
    v1::ContainerStatusResponse st = Status(id, true);
    absl::StatusOr<json::Value> info = json::Parse(st.info().at("info"));
    EXPECT_TRUE(info.ok());
    const json::Value* spec = info.ok() ? info->Find("runtimeSpec") : nullptr;
    return spec ? *spec : json::Value();
  }

  static inline TestRegistry* registry_ = nullptr;
  static inline std::string dir_, probe_image_, named_image_;
  static inline pid_t pid_ = -1;
  static inline std::unique_ptr<v1::RuntimeService::Stub> runtime_;
  static inline std::unique_ptr<v1::ImageService::Stub> images_;
  std::vector<Pod> pods_;
};

// Everything a container leaves on the host, for the "nothing left" checks.
struct Traces {
  std::vector<std::string> paths;  // record, bundle, rootfs dir, cgroup dirs
  std::string id;
};

Traces TracesOf(const std::string& dir, const std::string& id, const std::string& cgroups_path) {
  Traces t{{dir + "/lib/containers/" + id + ".json", dir + "/state/containers/" + id,
            dir + "/lib/containers/" + id},
           id};
  for (const char* hier : {"memory", "pids", "cpu,cpuacct", "freezer", "unified", "systemd"}) {
    t.paths.push_back(std::string("/sys/fs/cgroup/") + hier + cgroups_path);
  }
  return t;
}

void ExpectGone(const Traces& t) {
  for (const std::string& p : t.paths) EXPECT_FALSE(fs::exists(p)) << p << " left behind";
  EXPECT_EQ(ReadFile("/proc/self/mountinfo").find(t.id), std::string::npos)
      << "a mount of " << t.id << " left behind";
}

TEST_F(ContainerTest, LifecycleWithImageDefaultsAndNothingLeftAfterRemove) {
  Pod pod = RunPod("life");
  // The image's Cmd when the config has no command.
  std::string dflt = Run(pod, Config("dflt"));
  v1::ExecSyncResponse ps;
  ASSERT_TRUE(Exec(dflt, {"cat", "/proc/1/cmdline"}, &ps).ok());
  EXPECT_EQ(ps.stdout(), std::string("sleep\0003600\000", 11));
  ASSERT_TRUE(Remove(dflt).ok());
  // PID 1 gets only the signals it handles: the trap shows which one came.
  v1::ContainerConfig cfg =
      Config("main", {"sh", "-c", "trap 'exit 42' USR1; trap 'exit 43' TERM; sleep 3600 & wait"});
  (*cfg.mutable_labels())["tier"] = "web";
  auto& ann = *cfg.mutable_annotations();
  ann["io.kubernetes.container.hash"] = "abc";
  ann["run.oci.hooks.prestart"] = "/bin/evil";
  ann["org.systemd.property.KillMode"] = "none";
  ann["org.criu.config"] = "/etc/evil";
  ann["bundle"] = "/elsewhere";
  ann["unlisted.example.com/x"] = "y";
  std::string id;
  ASSERT_TRUE(Create(pod, cfg, &id).ok()) << Log();
  EXPECT_EQ(Status(id).status().state(), v1::CONTAINER_CREATED);
  json::Value spec = RuntimeSpec(id);
  const json::Value* annotations = spec.Find("annotations");
  ASSERT_NE(annotations, nullptr);
  EXPECT_EQ(Str(annotations->Find("io.kubernetes.container.hash")), "abc");
  for (const char* denied : {"run.oci.hooks.prestart", "org.systemd.property.KillMode",
                             "org.criu.config", "bundle", "unlisted.example.com/x"}) {
    EXPECT_EQ(annotations->Find(denied), nullptr) << denied << " reached config.json";
  }
  EXPECT_EQ(Str(annotations->Find("io.kubernetes.cri.sandbox-id")), pod.id);
  std::string cgroups_path = Str(spec.Find("linux")->Find("cgroupsPath"));
  ASSERT_FALSE(cgroups_path.empty());

  ASSERT_TRUE(Start(id).ok()) << Log();
  v1::ContainerStatus st = Status(id).status();
  EXPECT_EQ(st.state(), v1::CONTAINER_RUNNING);
  EXPECT_GT(st.started_at(), 0);
  EXPECT_EQ(st.log_path(), dir_ + "/logs/life/main.log");
  EXPECT_EQ(st.labels().at("tier"), "web");
  // The image's Cmd, Env and WorkingDir.
  json::Value facts = Facts(id);
  EXPECT_EQ(Str(facts.Find("cwd")), "/srv");
  EXPECT_TRUE(Contains(Strings(facts.Find("env")), "FROM_IMAGE=yes"));
  EXPECT_EQ(Str(facts.Find("hostname")), "life");

  // Filters of ListContainers.
  auto list = [&](v1::ContainerFilter f) {
    v1::ListContainersRequest req;
    *req.mutable_filter() = f;
    v1::ListContainersResponse resp;
    grpc::ClientContext ctx;
    EXPECT_TRUE(runtime_->ListContainers(&ctx, req, &resp).ok());
    return resp.containers_size();
  };
  v1::ContainerFilter f;
  f.set_pod_sandbox_id(pod.id);
  EXPECT_EQ(list(f), 1);
  f.mutable_state()->set_state(v1::CONTAINER_EXITED);
  EXPECT_EQ(list(f), 0);
  f.mutable_state()->set_state(v1::CONTAINER_RUNNING);
  (*f.mutable_label_selector())["tier"] = "web";
  EXPECT_EQ(list(f), 1);
  (*f.mutable_label_selector())["tier"] = "db";
  EXPECT_EQ(list(f), 0);

  // The image's StopSignal is SIGUSR1.
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(Stop(id, 20).ok()) << Log();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, seconds(10));
  st = Status(id).status();
  EXPECT_EQ(st.state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(st.exit_code(), 42);
  EXPECT_EQ(st.reason(), "Error");
  EXPECT_GE(st.finished_at(), st.started_at());
  EXPECT_TRUE(Stop(id, 20).ok()) << "stop is idempotent";
  ASSERT_TRUE(Remove(id).ok()) << Log();
  EXPECT_TRUE(Remove(id).ok()) << "remove is idempotent";
  ExpectGone(TracesOf(dir_, id, cgroups_path));
  v1::ContainerStatusRequest req;
  req.set_container_id(id);
  v1::ContainerStatusResponse resp;
  grpc::ClientContext ctx;
  EXPECT_EQ(runtime_->ContainerStatus(&ctx, req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
}

// RPCs racing on one pod take turns (per-pod and per-container locks): a
// container created while its pod is stopped and removed is either created
// first and removed with the pod, or refused; whatever the order, every
// call succeeds or fails cleanly and nothing of the pod is left.
TEST_F(ContainerTest, RacingStopRemoveAndCreateOnOnePodLeaveNothing) {
  for (int round = 0; round < 6; ++round) {
    Pod pod = RunPod("race" + std::to_string(round));
    std::string a = Run(pod, Config("a", {"sleep", "3600"}));
    ASSERT_FALSE(a.empty());
    std::string a_cgroup = Str(RuntimeSpec(a).Find("linux")->Find("cgroupsPath"));
    std::string b;
    grpc::Status create_b, stop_pod, remove_pod[2], stop_a, remove_a;
    auto pod_call = [&](bool remove, grpc::Status* out) {
      grpc::ClientContext ctx;
      if (remove) {
        v1::RemovePodSandboxRequest req;
        req.set_pod_sandbox_id(pod.id);
        v1::RemovePodSandboxResponse resp;
        *out = runtime_->RemovePodSandbox(&ctx, req, &resp);
      } else {
        v1::StopPodSandboxRequest req;
        req.set_pod_sandbox_id(pod.id);
        v1::StopPodSandboxResponse resp;
        *out = runtime_->StopPodSandbox(&ctx, req, &resp);
      }
    };
    std::vector<std::thread> calls;
    calls.emplace_back([&] { create_b = Create(pod, Config("b", {"sleep", "3600"}), &b); });
    // The rest lands at a different point of the create each round.
    std::this_thread::sleep_for(milliseconds(3 * round));
    calls.emplace_back([&] { pod_call(false, &stop_pod); });
    calls.emplace_back([&] { pod_call(true, &remove_pod[0]); });
    calls.emplace_back([&] { pod_call(true, &remove_pod[1]); });
    calls.emplace_back([&] { stop_a = Stop(a, 0); });
    calls.emplace_back([&] { remove_a = Remove(a); });
    for (std::thread& t : calls) t.join();
    EXPECT_TRUE(stop_pod.ok()) << stop_pod.error_message() << "\n" << Log();
    for (const grpc::Status& s : remove_pod) EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(remove_a.ok()) << remove_a.error_message();
    // Stopping a container its pod removal took away first: NotFound.
    EXPECT_TRUE(stop_a.ok() || stop_a.error_code() == grpc::StatusCode::NOT_FOUND)
        << stop_a.error_message();
    EXPECT_TRUE(create_b.ok() || create_b.error_code() == grpc::StatusCode::NOT_FOUND ||
                create_b.error_code() == grpc::StatusCode::FAILED_PRECONDITION)
        << create_b.error_message();
    // Nothing of the pod or its containers is left.
    v1::ListContainersRequest lreq;
    lreq.mutable_filter()->set_pod_sandbox_id(pod.id);
    v1::ListContainersResponse lresp;
    grpc::ClientContext lctx;
    ASSERT_TRUE(runtime_->ListContainers(&lctx, lreq, &lresp).ok());
    EXPECT_EQ(lresp.containers_size(), 0)
        << "containers outlived their pod (create_b " << create_b.error_message() << ")";
    ExpectGone(TracesOf(dir_, a, a_cgroup));
    if (!b.empty()) {
      EXPECT_FALSE(fs::exists(dir_ + "/lib/containers/" + b + ".json")) << "record of b left";
      EXPECT_FALSE(fs::exists(dir_ + "/state/containers/" + b)) << "bundle of b left";
      EXPECT_EQ(ReadFile("/proc/self/mountinfo").find(b), std::string::npos) << "rootfs of b";
    }
    EXPECT_FALSE(fs::exists(dir_ + "/state/pods/" + pod.id)) << "pod dir left";
    pods_.clear();
  }
}

TEST_F(ContainerTest, BadInputsAreRejectedByName) {
  Pod pod = RunPod("bad");
  std::string id;
  grpc::Status s = Create(pod, Config("a", {}, registry_->host() + "/test/missing:1"), &id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(s.error_message().find("test/missing:1"), std::string::npos) << s.error_message();
  Pod nopod{"0123456789abcdef", pod.config};
  EXPECT_EQ(Create(nopod, Config("a"), &id).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Create(pod, Config(""), &id).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // run_as_group without a user.
  v1::ContainerConfig c = Config("group-only");
  c.mutable_linux()->mutable_security_context()->mutable_run_as_group()->set_value(5);
  s = Create(pod, c, &id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  // uid ≥ 2^31.
  c = Config("big-uid");
  c.mutable_linux()->mutable_security_context()->mutable_run_as_user()->set_value(1LL << 31);
  EXPECT_EQ(Create(pod, c, &id).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // An unknown user name.
  c = Config("no-user");
  c.mutable_linux()->mutable_security_context()->set_run_as_username("ghost");
  s = Create(pod, c, &id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("ghost"), std::string::npos) << s.error_message();
  // A seccomp path without the localhost/ prefix (the deprecated field).
  c = Config("seccomp-path");
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  c.mutable_linux()->mutable_security_context()->set_seccomp_profile_path("/etc/profile.json");
#pragma GCC diagnostic pop
  EXPECT_EQ(Create(pod, c, &id).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // Two containers of one name and attempt.
  ASSERT_TRUE(Create(pod, Config("twice"), &id).ok());
  EXPECT_EQ(Create(pod, Config("twice"), nullptr).error_code(), grpc::StatusCode::ALREADY_EXISTS);
  // Nothing half-made stays from the failures.
  v1::ListContainersRequest lreq;
  lreq.mutable_filter()->set_pod_sandbox_id(pod.id);
  v1::ListContainersResponse lresp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(runtime_->ListContainers(&ctx, lreq, &lresp).ok());
  EXPECT_EQ(lresp.containers_size(), 1);
  EXPECT_EQ(fs::exists(dir_ + "/state/containers")
                ? std::distance(fs::directory_iterator(dir_ + "/state/containers"), {})
                : 0,
            1);
  EXPECT_EQ(Start("0123456789abcdef").error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(Remove(id).ok());
}

TEST_F(ContainerTest, TwoContainersOfAPodTalkOverLocalhost) {
  Pod pod = RunPod("net");
  std::string server =
      Run(pod, Config("server", {"sh", "-c", "echo hello-from-server | nc -l -p 8080"}));
  std::string client = Run(pod, Config("client"));
  v1::ExecSyncResponse resp;
  std::string out;
  for (int i = 0; i < 50 && out.find("hello-from-server") == std::string::npos; ++i) {
    ASSERT_TRUE(Exec(client, {"sh", "-c", "nc 127.0.0.1 8080 </dev/null"}, &resp).ok());
    out = resp.stdout();
    if (out.empty()) std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_NE(out.find("hello-from-server"), std::string::npos) << out << resp.stderr();
}

TEST_F(ContainerTest, SharedPidNamespaceHasInfraAsPid1) {
  Pod pod = RunPod("pids", v1::POD);
  std::string a = Run(pod, Config("a", {"sleep", "1234"}));
  std::string b = Run(pod, Config("b"));
  v1::ExecSyncResponse resp;
  ASSERT_TRUE(
      Exec(b, {"sh", "-c", "cat /proc/1/comm; cat /proc/[0-9]*/cmdline | tr '\\0' ' '"}, &resp)
          .ok());
  EXPECT_TRUE(resp.stdout().starts_with("peapod-infra\n")) << resp.stdout();
  EXPECT_NE(resp.stdout().find("sleep 1234"), std::string::npos) << resp.stdout();
  // Without pid=POD each container is its own PID 1.
  Pod own = RunPod("own-pids");
  std::string c = Run(own, Config("c"));
  ASSERT_TRUE(Exec(c, {"cat", "/proc/1/comm"}, &resp).ok());
  EXPECT_EQ(resp.stdout(), "sleep\n");
}

TEST_F(ContainerTest, SecurityContextSeenFromInside) {
  Pod pod = RunPod("sec", v1::CONTAINER, /*privileged=*/true);
  // Privileged: every capability.
  v1::ContainerConfig c = Config("priv");
  c.mutable_linux()->mutable_security_context()->set_privileged(true);
  json::Value f = Facts(Run(pod, c));
  // Every capability peapodd itself may hold: its bounding set (a CI
  // container may lack some, e.g. CAP_SYS_RESOURCE).
  EXPECT_EQ(Str(f.Find("CapEff")), OwnCapBnd());
  EXPECT_EQ(Int(f.Find("seccomp")), 0);
  // Drop ALL, add NET_ADMIN (bit 12); no_new_privs; runtime/default seccomp.
  c = Config("caps");
  auto* sc = c.mutable_linux()->mutable_security_context();
  sc->mutable_capabilities()->add_drop_capabilities("ALL");
  sc->mutable_capabilities()->add_add_capabilities("NET_ADMIN");
  sc->set_no_new_privs(true);
  sc->mutable_seccomp()->set_profile_type(v1::SecurityProfile::RuntimeDefault);
  std::string caps = Run(pod, c);
  f = Facts(caps);
  EXPECT_EQ(Str(f.Find("CapEff")), "0000000000001000");
  EXPECT_EQ(Int(f.Find("no_new_privs")), 1);
  EXPECT_EQ(Int(f.Find("seccomp")), 2);
  v1::ExecSyncResponse resp;
  ASSERT_TRUE(Exec(caps, {"/bin/peapod-probe", "sethostname", "x"}, &resp).ok());
  EXPECT_NE(resp.stdout().find("\"errno\":1,"), std::string::npos) << resp.stdout();
  // The shim compiled the profile once and kept it (root-only) for the next
  // container: an exec and a second container load it, compile nothing.
  std::string cache = dir_ + "/state/runtime/.seccomp-cache";
  struct stat cst;
  ASSERT_EQ(stat(cache.c_str(), &cst), 0) << cache;
  EXPECT_EQ(cst.st_mode & 0777, 0700u);
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(cache)) ++entries;
  EXPECT_GE(entries, 1u);
  v1::ContainerConfig c2 = c;
  c2.mutable_metadata()->set_name("caps-again");
  c2.set_log_path("caps-again.log");
  std::string again = Run(pod, c2);
  EXPECT_EQ(Int(Facts(again).Find("seccomp")), 2);
  size_t after = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(cache)) ++after;
  EXPECT_EQ(after, entries) << "the same profile was compiled into a second entry";
  // Masked /proc files read empty (those this kernel has); the rest of
  // /proc is there.
  std::string want;
  for (const char* p : {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug"}) {
    if (access(p, F_OK) == 0) want += std::string(p) + " 0\n";
  }
  ASSERT_FALSE(want.empty()) << "this kernel has none of the masked /proc files";
  ASSERT_TRUE(Exec(caps,
                   {"sh", "-c",
                    "for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug; do "
                    "[ -e $f ] && echo $f $(wc -c < $f); done; cat /proc/self/comm"},
                   &resp)
                  .ok());
  EXPECT_EQ(resp.stdout(), want + "cat\n");
  // uid/gid/supplemental groups; read-only rootfs.
  c = Config("ids");
  sc = c.mutable_linux()->mutable_security_context();
  sc->mutable_run_as_user()->set_value(1234);
  sc->mutable_run_as_group()->set_value(5678);
  sc->add_supplemental_groups(42);
  sc->set_readonly_rootfs(true);
  f = Facts(Run(pod, c));
  EXPECT_EQ(Int(f.Find("uid")), 1234);
  EXPECT_EQ(Int(f.Find("gid")), 5678);
  EXPECT_EQ(json::Write(*f.Find("groups")), "[42]");
  EXPECT_EQ(f.Find("root_writable")->as_bool(), false);
  EXPECT_EQ(Str(f.Find("CapEff")), "0000000000000000");
  // run_as_username resolved in the image, with its group memberships.
  c = Config("byname");
  c.mutable_linux()->mutable_security_context()->set_run_as_username("app");
  f = Facts(Run(pod, c));
  EXPECT_EQ(Int(f.Find("uid")), 1000);
  EXPECT_EQ(Int(f.Find("gid")), 1000);
  // The image's membership (extra); the primary group is the gid itself.
  EXPECT_NE(json::Write(*f.Find("groups")).find("2000"), std::string::npos);
  // The image's own USER (a name).
  f = Facts(Run(pod, Config("imageuser", {}, named_image_)));
  EXPECT_EQ(Int(f.Find("uid")), 1000);
  EXPECT_TRUE(Contains(Strings(f.Find("env")), "HOME=/home/app"));
  // A localhost seccomp profile: sethostname fails with EPERM even with
  // CAP_SYS_ADMIN; unconfined it works.
  std::string profile = dir_ + "/no-sethostname.json";
  std::ofstream(profile) << R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
      {"names":["sethostname"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]})";
  for (bool confined : {true, false}) {
    c = Config(confined ? "local" : "unconfined");
    sc = c.mutable_linux()->mutable_security_context();
    sc->mutable_capabilities()->add_add_capabilities("SYS_ADMIN");
    sc->mutable_namespace_options()->set_pid(v1::CONTAINER);
    if (confined) {
      sc->mutable_seccomp()->set_profile_type(v1::SecurityProfile::Localhost);
      sc->mutable_seccomp()->set_localhost_ref(profile);
    }
    std::string id = Run(pod, c);
    ASSERT_TRUE(Exec(id, {"/bin/peapod-probe", "sethostname", "sec"}, &resp).ok());
    EXPECT_NE(resp.stdout().find(confined ? "\"errno\":1," : "\"errno\":0,"), std::string::npos)
        << confined << resp.stdout();
  }
}

TEST_F(ContainerTest, LogsInCriFormat) {
  Pod pod = RunPod("logs");
  std::string id = Run(pod, Config("talker", {"sh", "-c", "echo out-line; echo err-line >&2"}));
  v1::ContainerStatus st = AwaitExit(id);
  ASSERT_EQ(st.state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(st.exit_code(), 0);
  EXPECT_EQ(st.reason(), "Completed");
  std::string log = ReadFile(st.log_path());
  std::regex out_re(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d) stdout F out-line$)");
  std::regex err_re(R"(^\S+ stderr F err-line$)");
  bool out = false, err = false;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    out = out || std::regex_match(line, out_re);
    err = err || std::regex_match(line, err_re);
  }
  EXPECT_TRUE(out && err) << log;
  // peactl logs reads the same file through ContainerStatus.
  std::string cmd =
      BuildDir() + "/cri/peactl/peactl -r unix://" + dir_ + "/run/peapod.sock logs " + id + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string got;
  char buf[256];
  while (size_t n = fread(buf, 1, sizeof buf, p)) got.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << got;
  EXPECT_NE(got.find("out-line"), std::string::npos) << got;
  EXPECT_NE(got.find("err-line"), std::string::npos) << got;
}

TEST_F(ContainerTest, ExecSyncTimeoutAndHugeOutput) {
  Pod pod = RunPod("exec");
  std::string id = Run(pod, Config("main"));
  v1::ExecSyncResponse resp;
  ASSERT_TRUE(Exec(id, {"sh", "-c", "echo to-out; echo to-err >&2; exit 3"}, &resp).ok());
  EXPECT_EQ(resp.stdout(), "to-out\n");
  EXPECT_EQ(resp.stderr(), "to-err\n");
  EXPECT_EQ(resp.exit_code(), 3);
  auto t0 = std::chrono::steady_clock::now();
  grpc::Status s = Exec(id, {"sleep", "100"}, &resp, 1);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, seconds(15));
  ASSERT_TRUE(Exec(id, {"sh", "-c", "yes | head -c 20000000"}, &resp, 60).ok());
  EXPECT_EQ(resp.stdout().size(), 16u << 20);
  EXPECT_EQ(resp.stdout().substr(0, 4), "y\ny\n");
  // The exec sessions' fifos are gone.
  for (const auto& e : fs::directory_iterator(dir_ + "/state/containers/" + id)) {
    EXPECT_FALSE(e.path().filename().string().starts_with("exec-")) << e.path();
  }
}

// Exec as kubectl exec reaches it: the URL from CRI Exec, upgraded to SPDY
// by a real SPDY implementation (spdy-transport) speaking client-go's
// remotecommand protocol. stdin round-trips (past SPDY's 64 KiB windows),
// stdout and stderr are apart, the exit code comes back, and a URL is
// good for one connection.
TEST_F(ContainerTest, StreamingExecCarriesStdioAndTheExitCode) {
  Pod pod = RunPod("stream");
  std::string id = Run(pod, Config("main"));
  grpc::Status s;
  std::string url =
      ExecUrl(id, {"sh", "-c", "cat; echo to-err >&2; exit 3"}, true, false, true, &s);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(url.starts_with("http://127.0.0.1:")) << url;
  std::string input;
  for (int i = 0; input.size() < (300 << 10); ++i) input += "line " + std::to_string(i) + "\n";
  Client c = KubeStream("exec '" + url + "' --stdin", input);
  EXPECT_EQ(c.code, 3) << c.err;
  EXPECT_TRUE(c.out == input) << c.out.size() << " bytes of " << input.size();
  EXPECT_EQ(c.err, "to-err\n");
  // The URL was used up.
  c = KubeStream("exec '" + url + "'");
  EXPECT_EQ(c.code, 2);
  EXPECT_NE(c.err.find("404"), std::string::npos) << c.err;
  // Success, and an older protocol version (plain-text error stream).
  url = ExecUrl(id, {"echo", "hi"}, false, false, true, &s);
  ASSERT_TRUE(s.ok()) << s.error_message();
  c = KubeStream("exec '" + url + "' --protocols v2.channel.k8s.io");
  EXPECT_EQ(c.code, 0) << c.err;
  EXPECT_EQ(c.out, "hi\n");
  // The exec sessions' fifos are gone.
  for (const auto& e : fs::directory_iterator(dir_ + "/state/containers/" + id)) {
    EXPECT_FALSE(e.path().filename().string().starts_with("exec-")) << e.path();
  }
}

// With a terminal: one output stream, and the size the client sends is the
// terminal's size inside.
TEST_F(ContainerTest, StreamingExecWithATerminalTakesItsSize) {
  Pod pod = RunPod("tty");
  std::string id = Run(pod, Config("main"));
  grpc::Status s;
  std::string url = ExecUrl(id,
                            {"sh", "-c",
                             "for i in $(seq 50); do s=$(stty size); [ \"$s\" = '40 100' ] && "
                             "break; sleep 0.1; done; echo \"size $s\"; [ -t 0 ] && echo tty"},
                            true, true, false, &s);
  ASSERT_TRUE(s.ok()) << s.error_message();
  Client c = KubeStream("exec '" + url + "' --stdin --tty --resize 100,40");
  EXPECT_EQ(c.code, 0) << c.err;
  EXPECT_NE(c.out.find("size 40 100"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("tty"), std::string::npos) << c.out;
}

// kubectl run -i / attach: a container made with stdin gets the client's
// input; with stdin_once the client's end of input is the container's EOF,
// and the client sees the output until the container ends.
TEST_F(ContainerTest, AttachWithStdinOnceFeedsTheContainerUntilItEnds) {
  Pod pod = RunPod("attach-once");
  v1::ContainerConfig config =
      Config("main", {"sh", "-c", "while read l; do echo \"got $l\"; done; echo eof >&2; exit 5"});
  config.set_stdin(true);
  config.set_stdin_once(true);
  std::string id = Run(pod, config);
  grpc::Status s;
  std::string url = AttachUrl(id, true, &s);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_NE(url.find("/attach/"), std::string::npos) << url;
  Client c = KubeStream("attach '" + url + "' --stdin", "a\nb\n");
  EXPECT_EQ(c.code, 0) << c.err;
  EXPECT_EQ(c.out, "got a\ngot b\n");
  EXPECT_EQ(c.err, "eof\n");
  v1::ContainerStatus st = AwaitExit(id);
  EXPECT_EQ(st.exit_code(), 5);
  std::string log = ReadFile(dir_ + "/logs/attach-once/main.log");
  EXPECT_NE(log.find("stdout F got b"), std::string::npos) << log;
}

// Without stdin_once the container's stdin stays open between clients: a
// client that ends its input leaves the container reading, and the next one
// goes on where it left off.
TEST_F(ContainerTest, AttachKeepsStdinOpenAcrossClients) {
  Pod pod = RunPod("attach-many");
  v1::ContainerConfig config =
      Config("main", {"sh", "-c", "while read l; do echo \"got $l\"; done; echo eof"});
  config.set_stdin(true);
  std::string id = Run(pod, config);
  std::string log_path = dir_ + "/logs/attach-many/main.log";
  for (const char* line : {"first", "second"}) {
    grpc::Status s;
    std::string url = AttachUrl(id, true, &s);
    ASSERT_TRUE(s.ok()) << s.error_message();
    // The container outlives the client's input: the client gives up.
    Client c = KubeStream("attach '" + url + "' --stdin --timeout 2", std::string(line) + "\n");
    EXPECT_EQ(c.code, 2) << c.err;
    EXPECT_EQ(c.out, std::string("got ") + line + "\n");
    EXPECT_EQ(Status(id).status().state(), v1::CONTAINER_RUNNING);
  }
  std::string log = ReadFile(log_path);
  EXPECT_NE(log.find("got first"), std::string::npos) << log;
  EXPECT_NE(log.find("got second"), std::string::npos) << log;
  EXPECT_EQ(log.find("eof"), std::string::npos) << log;
  // Output only: no stdin needed. A container made without stdin refuses
  // an attach with stdin.
  std::string plain = Run(pod, Config("plain"));
  grpc::Status s;
  AttachUrl(plain, true, &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_NE(s.error_message().find("not created with stdin"), std::string::npos);
  std::string url = AttachUrl(plain, false, &s);
  ASSERT_TRUE(s.ok()) << s.error_message();
  // Its output while attached reaches the client.
  v1::ExecSyncResponse resp;
  std::thread later([&] {
    std::this_thread::sleep_for(milliseconds(500));
    (void)Exec(plain, {"sh", "-c", "echo from-exec > /proc/1/fd/1"}, &resp);
  });
  Client c = KubeStream("attach '" + url + "' --timeout 3");
  later.join();
  EXPECT_EQ(c.out, "from-exec\n") << c.err;
  // peapodd sees the client gone within a poll (0.5 s) and removes its fifos.
  auto attach_dirs = [&] {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir_ + "/state/containers/" + plain)) {
      n += e.path().filename().string().starts_with("attach-");
    }
    return n;
  };
  for (int i = 0; i < 50 && attach_dirs() > 0; ++i) std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(attach_dirs(), 0);
}

// A client that goes away takes its process with it.
TEST_F(ContainerTest, StreamingExecEndsWhenTheClientGoesAway) {
  Pod pod = RunPod("gone");
  std::string id = Run(pod, Config("main"));
  grpc::Status s;
  std::string url = ExecUrl(id, {"sleep", "1017"}, false, false, true, &s);
  ASSERT_TRUE(s.ok()) << s.error_message();
  Client c = KubeStream("exec '" + url + "' --timeout 2");
  EXPECT_EQ(c.code, 2) << c.err;
  v1::ExecSyncResponse resp;
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    ASSERT_TRUE(Exec(id, {"ps"}, &resp).ok());
    gone = resp.stdout().find("sleep 1017") == std::string::npos;
    if (!gone) std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_TRUE(gone) << resp.stdout();
  EXPECT_NE(Log().find("the client went away, killing the process"), std::string::npos);
}

// peapodd stopping ends its streaming sessions: it exits with a client
// still attached to an exec, the client sees the connection end, and the
// exec's process is gone (the container is not).
TEST_F(ContainerTest, StoppingPeapoddEndsStreamingSessions) {
  Pod pod = RunPod("stream-stop");
  std::string id = Run(pod, Config("main"));
  grpc::Status s;
  std::string url = ExecUrl(id, {"sleep", "1019"}, false, false, true, &s);
  ASSERT_TRUE(s.ok()) << s.error_message();
  Client c;
  std::thread client([&] { c = KubeStream("exec '" + url + "' --timeout 60"); });
  v1::ExecSyncResponse resp;
  bool running = false;
  for (int i = 0; i < 100 && !running; ++i) {
    ASSERT_TRUE(Exec(id, {"ps"}, &resp).ok());
    running = resp.stdout().find("sleep 1019") != std::string::npos;
    if (!running) std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_TRUE(running) << resp.stdout();
  StopDaemon(SIGTERM);  // returns once peapodd has exited
  client.join();
  // The connection ended under the client, not its own timeout (client-go,
  // like this client, then reads the empty error stream as success).
  EXPECT_NE(c.err.find("the connection closed before the error stream ended"), std::string::npos)
      << c.code << " " << c.err;
  StartDaemon();
  EXPECT_EQ(Status(id).status().state(), v1::CONTAINER_RUNNING);
  ASSERT_TRUE(Exec(id, {"ps"}, &resp).ok());
  EXPECT_EQ(resp.stdout().find("sleep 1019"), std::string::npos) << resp.stdout();
}

// kubectl port-forward's path: a connection to a port inside the pod's
// network namespace.
TEST_F(ContainerTest, PortForwardReachesAPortInsideThePod) {
  Pod pod = RunPod("pf");
  // nc keeps reading the connection while its stdin is open.
  std::string id =
      Run(pod, Config("server", {"sh", "-c", "(echo hello-from-pod; sleep 5) | nc -l -p 8080"}));
  v1::PortForwardRequest req;
  req.set_pod_sandbox_id(pod.id);
  req.add_port(8080);
  v1::PortForwardResponse resp;
  Client c;
  // The server may not listen yet: each try is a fresh URL.
  for (int i = 0; i < 50 && c.out.empty(); ++i) {
    grpc::ClientContext ctx;
    grpc::Status s = runtime_->PortForward(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    c = KubeStream("port-forward '" + resp.url() + "' 8080", "ping-from-client\n");
    if (c.out.empty()) std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_EQ(c.code, 0) << c.err;
  EXPECT_EQ(c.out, "hello-from-pod\n");
  // What the client sent reached the server in the pod.
  std::string log;
  for (int i = 0; i < 50 && log.find("ping-from-client") == std::string::npos; ++i) {
    log = ReadFile(dir_ + "/logs/pf/server.log");
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_NE(log.find("ping-from-client"), std::string::npos) << log;
  // A closed port is an error on the error stream, naming the port.
  grpc::ClientContext ctx;
  ASSERT_TRUE(runtime_->PortForward(&ctx, req, &resp).ok());
  c = KubeStream("port-forward '" + resp.url() + "' 8081", "x");
  EXPECT_EQ(c.code, 1) << c.err;
  EXPECT_NE(c.err.find("localhost:8081"), std::string::npos) << c.err;
}

// Sessions leave nothing in peapodd: its open fds and threads are back to
// what they were, and no exec dir stays in the bundle.
TEST_F(ContainerTest, StreamingSessionsLeaveNoFdsOrThreads) {
  Pod pod = RunPod("streamleak");
  std::string id = Run(pod, Config("main"));
  auto count = [](const std::string& dir) {
    int n = 0;
    std::error_code ec;
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
      ++n;
    }
    return n;
  };
  std::string proc = "/proc/" + std::to_string(pid_);
  auto session = [&](int i) {
    grpc::Status s;
    std::string url = ExecUrl(id, {"sh", "-c", "cat; exit 7"}, true, false, true, &s);
    ASSERT_TRUE(s.ok()) << s.error_message();
    Client c = KubeStream("exec '" + url + "' --stdin", "round " + std::to_string(i));
    EXPECT_EQ(c.code, 7) << c.err;
    EXPECT_EQ(c.out, "round " + std::to_string(i));
  };
  session(0);  // gRPC and the shim client warm up
  int fds = count(proc + "/fd"), threads = count(proc + "/task");
  for (int i = 1; i <= 20; ++i) session(i);
  // An unused URL and a refused connection too.
  grpc::Status s;
  ExecUrl(id, {"true"}, false, false, true, &s);
  std::string url = ExecUrl(id, {"true"}, false, false, true, &s);
  EXPECT_EQ(KubeStream("exec '" + url + "' --protocols nope").code, 2);
  int fds_after = 0, threads_after = 0;
  for (int i = 0; i < 50; ++i) {
    fds_after = count(proc + "/fd");
    threads_after = count(proc + "/task");
    if (fds_after <= fds && threads_after <= threads) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_LE(fds_after, fds);
  EXPECT_LE(threads_after, threads);
  for (const auto& e : fs::directory_iterator(dir_ + "/state/containers/" + id)) {
    EXPECT_FALSE(e.path().filename().string().starts_with("exec-")) << e.path();
  }
}

TEST_F(ContainerTest, StreamingRequestsWithBadInputsAreRefused) {
  Pod pod = RunPod("streambad");
  std::string id = Run(pod, Config("main"));
  grpc::Status s;
  ExecUrl(id, {"true"}, false, true, true, &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("tty and stderr"), std::string::npos) << s.error_message();
  ExecUrl(id, {}, false, false, true, &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ExecUrl("no-such-container", {"true"}, false, false, true, &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  {
    v1::ExecRequest req;
    req.set_container_id(id);
    req.add_cmd("true");
    v1::ExecResponse resp;
    grpc::ClientContext ctx;
    s = runtime_->Exec(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  for (int32_t port : {0, 70000}) {
    v1::PortForwardRequest req;
    req.set_pod_sandbox_id(pod.id);
    req.add_port(port);
    v1::PortForwardResponse resp;
    grpc::ClientContext ctx;
    s = runtime_->PortForward(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << port;
  }
  {
    v1::PortForwardRequest req;
    req.set_pod_sandbox_id("no-such-pod");
    v1::PortForwardResponse resp;
    grpc::ClientContext ctx;
    s = runtime_->PortForward(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  }
  // Plain HTTP, a WebSocket upgrade and an unknown protocol version: each
  // refused by the server with its reason, and the URL used up.
  std::string url = ExecUrl(id, {"true"}, false, false, true, &s);
  ASSERT_TRUE(s.ok()) << s.error_message();
  std::string base = url.substr(0, url.find("/exec/"));
  int rc = system(("curl -s -o " + dir_ + "/curl.out -w '%{http_code}' -X POST '" + url + "' > " +
                   dir_ + "/curl.code")
                      .c_str());
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(ReadFile(dir_ + "/curl.code"), "400");
  EXPECT_NE(ReadFile(dir_ + "/curl.out").find("missing upgrade headers"), std::string::npos);
  Client c = KubeStream("exec '" + url + "'");
  EXPECT_NE(c.err.find("404"), std::string::npos) << c.err;
  url = ExecUrl(id, {"true"}, false, false, true, &s);
  ASSERT_TRUE(s.ok()) << s.error_message();
  rc = system(("curl -s -o " + dir_ + "/curl.out -w '%{http_code}' -H 'Connection: Upgrade' " +
               "-H 'Upgrade: websocket' '" + url + "' > " + dir_ + "/curl.code")
                  .c_str());
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(ReadFile(dir_ + "/curl.code"), "400");
  EXPECT_NE(ReadFile(dir_ + "/curl.out").find("SPDY/3.1 only, not WebSocket"), std::string::npos)
      << ReadFile(dir_ + "/curl.out");
  url = ExecUrl(id, {"true"}, false, false, true, &s);
  ASSERT_TRUE(s.ok()) << s.error_message();
  c = KubeStream("exec '" + url + "' --protocols v9.channel.k8s.io");
  EXPECT_EQ(c.code, 2);
  EXPECT_NE(c.err.find("unable to negotiate protocol"), std::string::npos) << c.err;
  // A made-up token.
  c = KubeStream("exec '" + base + "/exec/0123456789abcdef0123456789abcdef'");
  EXPECT_NE(c.err.find("404"), std::string::npos) << c.err;
}

TEST_F(ContainerTest, StopTimeoutKillsAProcessIgnoringTerm) {
  Pod pod = RunPod("stop");
  // sh as PID 1 ignores SIGUSR1/TERM without a handler; trap makes it explicit.
  std::string id = Run(pod, Config("stubborn", {"sh", "-c", "trap '' TERM USR1; sleep 1000"}));
  v1::ExecSyncResponse resp;
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(Stop(id, 2).ok()) << Log();
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, milliseconds(1900));
  EXPECT_LT(took, seconds(10));
  v1::ContainerStatus st = Status(id).status();
  EXPECT_EQ(st.state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(st.exit_code(), 128 + SIGKILL);
}

TEST_F(ContainerTest, OomKilledReasonUpdateAndStats) {
  Pod pod = RunPod("oom");
  v1::ContainerConfig c = Config("hog", {"sh", "-c", "sleep 1; /bin/peapod-probe alloc 256"});
  c.mutable_linux()->mutable_resources()->set_memory_limit_in_bytes(32 << 20);
  std::string id = Run(pod, c);
  v1::ContainerStatus st = AwaitExit(id);
  EXPECT_EQ(st.state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(st.reason(), "OOMKilled");
  EXPECT_NE(st.exit_code(), 0);

  // Update: a new memory limit reaches the cgroup; stats see the container.
  std::string live = Run(pod, Config("live", {"sh", "-c",
                                              "dd if=/dev/zero of=/tmp/f bs=1k "
                                              "count=512 2>/dev/null; sleep 1000"}));
  v1::UpdateContainerResourcesRequest ureq;
  ureq.set_container_id(live);
  ureq.mutable_linux()->set_memory_limit_in_bytes(64 << 20);
  v1::UpdateContainerResourcesResponse uresp;
  grpc::ClientContext uctx;
  grpc::Status s = runtime_->UpdateContainerResources(&uctx, ureq, &uresp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  std::string cg = Str(RuntimeSpec(live).Find("linux")->Find("cgroupsPath"));
  EXPECT_EQ(ReadFile("/sys/fs/cgroup/memory" + cg + "/memory.limit_in_bytes"),
            std::to_string(64 << 20) + "\n");
  std::this_thread::sleep_for(milliseconds(500));
  v1::ContainerStatsRequest sreq;
  sreq.set_container_id(live);
  v1::ContainerStatsResponse sresp;
  grpc::ClientContext sctx;
  ASSERT_TRUE(runtime_->ContainerStats(&sctx, sreq, &sresp).ok());
  EXPECT_EQ(sresp.stats().attributes().id(), live);
  EXPECT_GT(sresp.stats().memory().working_set_bytes().value(), 0u);
  EXPECT_GT(sresp.stats().cpu().usage_core_nano_seconds().value(), 0u);
  EXPECT_GE(sresp.stats().writable_layer().used_bytes().value(), 512u << 10);
  v1::ListContainerStatsRequest lreq;
  lreq.mutable_filter()->set_pod_sandbox_id(pod.id);
  v1::ListContainerStatsResponse lresp;
  grpc::ClientContext lctx;
  ASSERT_TRUE(runtime_->ListContainerStats(&lctx, lreq, &lresp).ok());
  EXPECT_EQ(lresp.stats_size(), 2);
}

TEST_F(ContainerTest, ContainersSurviveAPeapoddKill) {
  Pod pod = RunPod("survive");
  std::string running = Run(pod, Config("running"));
  std::string quitter = Run(pod, Config("quitter", {"sh", "-c", "sleep 2; exit 7"}));
  std::string created;
  ASSERT_TRUE(Create(pod, Config("created"), &created).ok());
  StopDaemon(SIGKILL);
  std::this_thread::sleep_for(seconds(3));  // quitter exits while peapodd is down
  StartDaemon();
  EXPECT_EQ(Status(running).status().state(), v1::CONTAINER_RUNNING) << Log();
  EXPECT_EQ(Status(created).status().state(), v1::CONTAINER_CREATED);
  v1::ContainerStatus q = Status(quitter).status();
  EXPECT_EQ(q.state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(q.exit_code(), 7);
  EXPECT_EQ(q.reason(), "Error");
  v1::ExecSyncResponse resp;
  ASSERT_TRUE(Exec(running, {"echo", "still-here"}, &resp).ok());
  EXPECT_EQ(resp.stdout(), "still-here\n");
  ASSERT_TRUE(Start(created).ok());
  ASSERT_TRUE(Stop(running, 0).ok());
  EXPECT_EQ(Status(running).status().exit_code(), 128 + SIGKILL);
}

// peapodd SIGKILLed at each step of CreateContainer: after a restart the
// container is either fully there (CREATED, startable) or gone without a
// trace, and RemoveContainer cleans what is there.
TEST_F(ContainerTest, KilledAtEachCreateStepIsAllOrNothing) {
  Pod pod = RunPod("failpoints");
  int n = 0;
  for (const char* step : {"create-container:rootfs-mounted", "create-container:config-written",
                           "create-container:shim-created", "create-container:recorded"}) {
    SCOPED_TRACE(step);
    StopDaemon(SIGTERM);
    StartDaemon({std::string("PEAPOD_FAILPOINT=") + step});
    std::string name = "fp" + std::to_string(n++);
    grpc::Status s = Create(pod, Config(name), nullptr);
    EXPECT_FALSE(s.ok());
    ASSERT_TRUE(AwaitDaemonDeath()) << Log();
    StartDaemon();
    v1::ListContainersRequest req;
    req.mutable_filter()->set_pod_sandbox_id(pod.id);
    v1::ListContainersResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(runtime_->ListContainers(&ctx, req, &resp).ok());
    std::vector<std::string> leftovers;
    for (const char* d : {"/state/containers", "/lib/containers"}) {
      if (!fs::exists(dir_ + d)) continue;
      for (const auto& e : fs::directory_iterator(dir_ + d)) {
        if (e.is_directory()) leftovers.push_back(e.path());
      }
    }
    if (std::string(step) == "create-container:recorded") {
      ASSERT_EQ(resp.containers_size(), 1);
      std::string id = resp.containers(0).id();
      EXPECT_EQ(resp.containers(0).state(), v1::CONTAINER_CREATED);
      std::string cg = Str(RuntimeSpec(id).Find("linux")->Find("cgroupsPath"));
      ASSERT_TRUE(Start(id).ok()) << Log();
      ASSERT_TRUE(Remove(id).ok()) << Log();
      ExpectGone(TracesOf(dir_, id, cg));
    } else {
      EXPECT_EQ(resp.containers_size(), 0);
      EXPECT_TRUE(leftovers.empty()) << leftovers[0];
      // The name is free again.
      std::string id;
      ASSERT_TRUE(Create(pod, Config(name), &id).ok()) << Log();
      ASSERT_TRUE(Remove(id).ok());
    }
  }
}

}  // namespace
}  // namespace peapod::cri
