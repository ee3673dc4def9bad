// containerd-shim-peapod-v2 driven directly over ttrpc, as peapodd drives it:
// `start` with `-publish-binary ""` and no TTRPC_ADDRESS (events dropped),
// then the Task API on the socket it prints. Checks CRI logs
// (crilog://, Logs/Reopen), runtime selection by runc options, Pids with
// execs, Checkpoint, and that nothing is left once the shim shuts down.
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

#include "absl/strings/str_cat.h"
#include "github.com/containerd/containerd/runtime/v2/runc/options/oci.pb.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "gtest/gtest.h"
#include "shim/ttrpc/client.h"

namespace peapod::shim {
namespace {

namespace fs = std::filesystem;
namespace task = containerd::task::v2;
using namespace std::chrono_literals;

constexpr char kTask[] = "containerd.task.v2.Task";
constexpr char kNs[] = "peapod-direct";

struct Result {
  int code = -1;
  std::string out;
};

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

std::string Slurp(const std::string& path) {
  std::ifstream f(path);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// "<time> <stream> <tag> <text>" -> "<stream> <tag> <text>", checking the time.
std::string DropTime(const std::string& record) {
  size_t sp = record.find(' ');
  if (sp != 30 || record[29] != 'Z' || record[10] != 'T') return "BAD TIME: " + record;
  return record.substr(sp + 1);
}

class ShimDirectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* build = getenv("PEAPOD_BUILD_DIR");
    const char* src = getenv("PEAPOD_SOURCE_DIR");
    if (geteuid() != 0 || build == nullptr || src == nullptr ||
        Sh("command -v runc busybox").code != 0) {
      GTEST_SKIP() << "needs root, runc, busybox and the build tree";
    }
    shim_ = std::string(build) + "/shim/containerd-shim-peapod-v2";
    src_ = src;
    char tmpl[] = "/tmp/peapod-shim-direct-XXXXXX";
    dir_ = mkdtemp(tmpl);
    fs::create_directories(dir_ + "/logs");
  }

  void TearDown() override {
    if (dir_.empty()) return;
    client_.reset();
    if (!address_.empty()) {
      // Whatever a failed test left: the shim and its containers.
      Sh("pkill -KILL -f '[c]ontainerd-shim-peapod-v2 .*" + dir_ + "'");
    }
    Sh("grep -o ' " + dir_ + "[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l");
    fs::remove_all(dir_);
  }

  // Makes a bundle running args; terminal edits config.json's process.
  std::string Bundle(const std::string& name, const std::string& args, bool terminal = false) {
    std::string b = dir_ + "/" + name;
    Result r = Sh(src_ + "/hack/make-bundle.sh --probe /nonexistent " + b + " " + args);
    EXPECT_EQ(r.code, 0) << r.out;
    if (terminal) Sh("sed -i 's/\"terminal\": false/\"terminal\": true/' " + b + "/config.json");
    return b;
  }

  // `start` as peapodd runs it; connects to the printed address. `extra`
  // is appended to the shell command (redirections).
  void StartShim(const std::string& id, const std::string& bundle, const std::string& extra = "") {
    std::string cmd = absl::StrCat(
        "cd ", bundle, " && env -u TTRPC_ADDRESS PEAPOD_SHIM_SOCKET_DIR=", dir_,
        "/s PEAPOD_SHIM_RUNTIME_ROOT=", dir_, "/state ", shim_, " -namespace ", kNs, " -address ",
        dir_, "/peapodd.sock -publish-binary '' -debug -id ", id, " start", extra);
    Result r = Sh(cmd);
    ASSERT_EQ(r.code, 0) << r.out;
    ASSERT_EQ(r.out.rfind("unix://", 0), 0u) << r.out;
    address_ = r.out;
    absl::StatusOr<std::unique_ptr<ttrpc::Client>> c = ttrpc::Client::Dial(address_);
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = std::move(*c);
  }

  absl::Status Call(const char* method, const google::protobuf::MessageLite& req,
                    google::protobuf::MessageLite* resp, const char* service = kTask) {
    return client_->Call(service, method, req, resp, 20s);
  }

  absl::StatusOr<task::CreateTaskResponse> Create(const std::string& id, const std::string& bundle,
                                                  const std::string& stdout_uri,
                                                  const std::string& stderr_uri = "",
                                                  bool terminal = false) {
    task::CreateTaskRequest req;
    req.set_id(id);
    req.set_bundle(bundle);
    req.set_stdout(stdout_uri);
    req.set_stderr(stderr_uri);
    req.set_terminal(terminal);
    task::CreateTaskResponse resp;
    absl::Status s = Call("Create", req, &resp);
    if (!s.ok()) return s;
    return resp;
  }

  absl::Status Simple(const char* method, const std::string& id, const std::string& exec_id = "") {
    task::StartRequest req;  // {id, exec_id}: the same fields as the other requests
    req.set_id(id);
    req.set_exec_id(exec_id);
    task::StartResponse resp;
    return Call(method, req, &resp);
  }

  uint32_t Wait(const std::string& id, const std::string& exec_id = "") {
    task::WaitRequest req;
    req.set_id(id);
    req.set_exec_id(exec_id);
    task::WaitResponse resp;
    absl::Status s = Call("Wait", req, &resp);
    EXPECT_TRUE(s.ok()) << s;
    return resp.exit_status();
  }

  void Delete(const std::string& id) {
    task::DeleteRequest req;
    req.set_id(id);
    task::DeleteResponse resp;
    absl::Status s = Call("Delete", req, &resp);
    EXPECT_TRUE(s.ok()) << s;
  }

  // Shuts the shim down and checks it left nothing: process, socket, state.
  void ShutdownAndCheck() {
    task::ShutdownRequest req;
    google::protobuf::Empty resp;
    (void)Call("Shutdown", req, &resp);
    client_.reset();
    bool gone = false;
    for (int i = 0; i < 50 && !gone; ++i) {
      gone = Sh("pgrep -f '[c]ontainerd-shim-peapod-v2 .*" + dir_ + "'").code != 0;
      if (!gone) std::this_thread::sleep_for(100ms);
    }
    EXPECT_TRUE(gone) << "shim still running";
    EXPECT_TRUE(!fs::exists(dir_ + "/s") || fs::is_empty(dir_ + "/s")) << "socket left";
    std::string ns_root = dir_ + "/state/" + kNs;
    EXPECT_TRUE(!fs::exists(ns_root) || fs::is_empty(ns_root)) << "runtime state left";
    address_.clear();
  }

  std::string shim_, src_, dir_, address_;
  std::unique_ptr<ttrpc::Client> client_;
};

// Descriptors the caller of `start` leaked (not close-on-exec) do not stay
// open in the daemon for the pod's life.
TEST_F(ShimDirectTest, DaemonKeepsNoInheritedFds) {
  std::string b = Bundle("fds", "sleep 60");
  StartShim("fds", b, " 7>" + dir_ + "/leaked-7 9<>" + dir_ + "/leaked-9");
  Result pid = Sh("pgrep -f '[c]ontainerd-shim-peapod-v2 .*-id fds start'");
  ASSERT_EQ(pid.code, 0) << "no shim daemon";
  std::string fd_dir = "/proc/" + pid.out.substr(0, pid.out.find('\n')) + "/fd";
  int open_fds = 0;
  for (const auto& e : fs::directory_iterator(fd_dir)) {
    std::error_code ec;
    std::string target = fs::read_symlink(e.path(), ec).string();
    EXPECT_EQ(target.find("leaked"), std::string::npos) << e.path() << " -> " << target;
    ++open_fds;
  }
  EXPECT_GT(open_fds, 3) << "stdio and the listener at least";
  ShutdownAndCheck();
}

TEST_F(ShimDirectTest, CriLogOfInitAndExecAndRotation) {
  std::string b = Bundle("c1", "sh -c 'echo out1; echo err1 >&2; printf tail; sleep 1000'");
  StartShim("c1", b);
  std::string log = dir_ + "/logs/c1.log";
  absl::StatusOr<task::CreateTaskResponse> c = Create("c1", b, "crilog://" + log, "");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(Simple("Start", "c1").ok());
  // An exec writing to its own CRI log, including a line over 16 KiB.
  task::ExecProcessRequest ex;
  ex.set_id("c1");
  ex.set_exec_id("e1");
  std::string elog = dir_ + "/logs/e1.log";
  ex.set_stdout("crilog://" + elog);
  ex.set_stderr("crilog://" + elog);
  ex.mutable_spec()->set_type_url("types.containerd.io/opencontainers/runtime-spec/1/Process");
  ex.mutable_spec()->set_value(
      R"({"args":["sh","-c","head -c 20000 /dev/zero | tr '\\0' x; echo; echo bye >&2"],)"
      R"("cwd":"/","env":["PATH=/bin"],"user":{"uid":0,"gid":0}})");
  google::protobuf::Empty empty;
  ASSERT_TRUE(Call("Exec", ex, &empty).ok());
  ASSERT_TRUE(Simple("Start", "c1", "e1").ok());
  EXPECT_EQ(Wait("c1", "e1"), 0u);
  // Streams are read from two pipes: order is kept within a stream only.
  std::vector<std::string> out, err;
  for (const std::string& l : Lines(Slurp(elog))) {
    std::string r = DropTime(l);
    (r.rfind("stderr ", 0) == 0 ? err : out).push_back(r);
  }
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0] == "stdout P " + std::string(16384, 'x'))
      << out[0].substr(0, 40) << "... " << out[0].size() << " bytes";
  EXPECT_TRUE(out[1] == "stdout F " + std::string(20000 - 16384, 'x'))
      << out[1].substr(0, 40) << "... " << out[1].size() << " bytes";
  EXPECT_EQ(err, std::vector<std::string>{"stderr F bye"});
  // Rotation: rename, Reopen, then new lines land in a new file.
  for (int i = 0; i < 50 && Lines(Slurp(log)).size() < 2; ++i) std::this_thread::sleep_for(100ms);
  fs::rename(log, log + ".1");
  task::CloseIORequest reopen;
  reopen.set_id("c1");
  ASSERT_TRUE(Call("Reopen", reopen, &empty, "peapod.shim.v1.Logs").ok());
  reopen.set_id("nope");
  absl::Status bad = Call("Reopen", reopen, &empty, "peapod.shim.v1.Logs");
  EXPECT_TRUE(absl::IsNotFound(bad)) << bad;
  task::KillRequest kill;
  kill.set_id("c1");
  kill.set_signal(SIGKILL);
  ASSERT_TRUE(Call("Kill", kill, &empty).ok());
  EXPECT_EQ(Wait("c1"), 128u + SIGKILL);
  std::vector<std::string> old = Lines(Slurp(log + ".1"));
  ASSERT_EQ(old.size(), 2u) << Slurp(log + ".1");
  EXPECT_EQ(DropTime(old[0]), "stdout F out1");
  EXPECT_EQ(DropTime(old[1]), "stderr F err1");
  // The unterminated "tail" is flushed as F at EOF, into the reopened file.
  std::vector<std::string> fresh = Lines(Slurp(log));
  ASSERT_EQ(fresh.size(), 1u) << Slurp(log);
  EXPECT_EQ(DropTime(fresh[0]), "stdout F tail");
  EXPECT_EQ(fs::status(log).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  Delete("c1");
  ShutdownAndCheck();
}

TEST_F(ShimDirectTest, CriLogWithTerminalIsAllStdout) {
  std::string b = Bundle("t1", "sh -c 'tty; echo to-err >&2'", /*terminal=*/true);
  StartShim("t1", b);
  std::string log = dir_ + "/logs/t1.log";
  ASSERT_TRUE(Create("t1", b, "crilog://" + log, "", /*terminal=*/true).ok());
  ASSERT_TRUE(Simple("Start", "t1").ok());
  EXPECT_EQ(Wait("t1"), 0u);
  std::vector<std::string> l = Lines(Slurp(log));
  ASSERT_EQ(l.size(), 2u) << Slurp(log);
  EXPECT_EQ(DropTime(l[0]).rfind("stdout F /dev/pts/", 0), 0u) << l[0];
  EXPECT_EQ(DropTime(l[1]), "stdout F to-err\r") << l[1];  // the pty's CRLF
  Delete("t1");
  ShutdownAndCheck();
}

TEST_F(ShimDirectTest, BadLogUrisFailCreateNamingWhatIsWrong) {
  std::string b = Bundle("b1", "true");
  StartShim("b1", b);
  absl::StatusOr<task::CreateTaskResponse> c =
      Create("b1", b, "crilog://" + dir_ + "/missing/b1.log");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(dir_ + "/missing"), std::string::npos) << c.status();
  c = Create("b1", b, "crilog://" + dir_ + "/logs/b1.log", dir_ + "/logs/other.log");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("stderr"), std::string::npos) << c.status();
  // The id is free again: a good Create works.
  c = Create("b1", b, "crilog://" + dir_ + "/logs/b1.log");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(Simple("Start", "b1").ok());
  EXPECT_EQ(Wait("b1"), 0u);
  Delete("b1");
  ShutdownAndCheck();
}

TEST_F(ShimDirectTest, RuncOptionsBinaryNameSelectsExecMode) {
  std::string b = Bundle("r1", "sh -c 'echo via-binary'");
  StartShim("r1", b);
  // A wrapper records that it ran, then is runc.
  std::string wrapper = dir_ + "/runc-wrapper";
  std::ofstream(wrapper) << "#!/bin/sh\necho \"$@\" >> " << dir_
                         << "/wrapper.calls\nexec runc \"$@\"\n";
  fs::permissions(wrapper, fs::perms::owner_all);
  containerd::runc::v1::Options opts;
  opts.set_binary_name(wrapper);
  task::CreateTaskRequest req;
  req.set_id("r1");
  req.set_bundle(b);
  req.set_stdout("crilog://" + dir_ + "/logs/r1.log");
  req.mutable_options()->set_type_url("containerd.runc.v1.Options");
  req.mutable_options()->set_value(opts.SerializeAsString());
  task::CreateTaskResponse resp;
  absl::Status s = Call("Create", req, &resp);
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_TRUE(Simple("Start", "r1").ok());
  EXPECT_EQ(Wait("r1"), 0u);
  Delete("r1");
  std::string calls = Slurp(dir_ + "/wrapper.calls");
  EXPECT_NE(calls.find("create"), std::string::npos) << calls;
  EXPECT_NE(calls.find("start"), std::string::npos) << calls;
  EXPECT_NE(calls.find("delete"), std::string::npos) << calls;
  EXPECT_NE(Slurp(dir_ + "/logs/r1.log").find("stdout F via-binary"), std::string::npos);
  // A binary that does not exist fails Create, naming it.
  opts.set_binary_name(dir_ + "/no-such-runc");
  req.mutable_options()->set_value(opts.SerializeAsString());
  s = Call("Create", req, &resp);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no-such-runc"), std::string::npos) << s;
  ShutdownAndCheck();
}

TEST_F(ShimDirectTest, PidsListsExecsAndCheckpointIsUnimplemented) {
  std::string b = Bundle("p1", "sleep 1000");
  StartShim("p1", b);
  ASSERT_TRUE(Create("p1", b, "").ok());
  ASSERT_TRUE(Simple("Start", "p1").ok());
  task::ExecProcessRequest ex;
  ex.set_id("p1");
  ex.set_exec_id("sleeper");
  ex.mutable_spec()->set_value(
      R"({"args":["sleep","999"],"cwd":"/","env":["PATH=/bin"],"user":{"uid":0,"gid":0}})");
  google::protobuf::Empty empty;
  ASSERT_TRUE(Call("Exec", ex, &empty).ok());
  task::StartResponse started;
  task::StartRequest sreq;
  sreq.set_id("p1");
  sreq.set_exec_id("sleeper");
  ASSERT_TRUE(Call("Start", sreq, &started).ok());
  task::PidsRequest preq;
  preq.set_id("p1");
  task::PidsResponse pids;
  ASSERT_TRUE(Call("Pids", preq, &pids).ok());
  bool found = false;
  for (const auto& p : pids.processes()) {
    if (p.pid() != started.pid()) continue;
    found = true;
    containerd::runc::v1::ProcessDetails d;
    ASSERT_TRUE(d.ParseFromString(p.info().value()));
    EXPECT_EQ(d.exec_id(), "sleeper");
    EXPECT_EQ(p.info().type_url(), "containerd.runc.v1.ProcessDetails");
  }
  EXPECT_TRUE(found) << pids.DebugString();
  EXPECT_GE(pids.processes_size(), 2);
  task::CheckpointTaskRequest ck;
  ck.set_id("p1");
  absl::Status s = Call("Checkpoint", ck, &empty);
  EXPECT_TRUE(absl::IsUnimplemented(s)) << s;
  EXPECT_NE(s.message().find("checkpoint"), std::string::npos) << s;
  task::KillRequest kill;
  kill.set_id("p1");
  kill.set_signal(SIGKILL);
  kill.set_all(true);
  ASSERT_TRUE(Call("Kill", kill, &empty).ok());
  EXPECT_EQ(Wait("p1"), 128u + SIGKILL);
  EXPECT_EQ(Wait("p1", "sleeper"), 128u + SIGKILL);
  Delete("p1");
  ShutdownAndCheck();
}

// Ids name files (the runtime's state dir, an exec's pid and spec files in the
// bundle, the namespace's runtime root): a bad one is refused by name before
// anything is written, and the shim goes on serving.
TEST_F(ShimDirectTest, IdsThatAreNotPlainNamesAreRefused) {
  std::string b = Bundle("i1", "sleep 1000");
  for (const char* bad : {"../escape", "a/b"}) {
    Result r =
        Sh(absl::StrCat("cd ", b, " && env -u TTRPC_ADDRESS PEAPOD_SHIM_SOCKET_DIR=", dir_,
                        "/s PEAPOD_SHIM_RUNTIME_ROOT=", dir_, "/state ", shim_, " -namespace '",
                        bad, "' -address ", dir_, "/peapodd.sock -publish-binary '' -id i1 start"));
    EXPECT_NE(r.code, 0) << r.out;
    EXPECT_NE(r.out.find(absl::StrCat("invalid -namespace \"", bad, "\"")), std::string::npos)
        << r.out;
  }
  EXPECT_FALSE(fs::exists(dir_ + "/state")) << "a runtime root was made";
  StartShim("i1", b);
  absl::StatusOr<task::CreateTaskResponse> c = Create("../i1", b, "");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(c.status())) << c.status();
  EXPECT_NE(c.status().message().find("invalid task id \"../i1\""), std::string::npos)
      << c.status();
  ASSERT_TRUE(Create("i1", b, "").ok());
  ASSERT_TRUE(Simple("Start", "i1").ok());
  // With a dir named like an exec's file prefix, "x/../../escaped" would put
  // the exec's pid file at <dir>/escaped.pid.
  fs::create_directories(b + "/.exec-x");
  task::ExecProcessRequest ex;
  ex.set_id("i1");
  ex.mutable_spec()->set_value(R"({"args":["true"],"cwd":"/","env":["PATH=/bin"]})");
  google::protobuf::Empty empty;
  for (const char* bad : {"x/../../escaped", "..", "a\nb"}) {
    ex.set_exec_id(bad);
    absl::Status s = Call("Exec", ex, &empty);
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << bad << ": " << s;
    EXPECT_NE(s.message().find("invalid exec id"), std::string::npos) << s;
    EXPECT_TRUE(absl::IsNotFound(Simple("Start", "i1", bad))) << bad;
  }
  EXPECT_FALSE(fs::exists(dir_ + "/escaped.pid"));
  EXPECT_FALSE(fs::exists(dir_ + "/escaped.json"));
  ex.set_exec_id("good-1.x");
  ASSERT_TRUE(Call("Exec", ex, &empty).ok());
  ASSERT_TRUE(Simple("Start", "i1", "good-1.x").ok());
  EXPECT_EQ(Wait("i1", "good-1.x"), 0u);
  task::KillRequest kill;
  kill.set_id("i1");
  kill.set_signal(SIGKILL);
  ASSERT_TRUE(Call("Kill", kill, &empty).ok());
  EXPECT_EQ(Wait("i1"), 128u + SIGKILL);
  Delete("i1");
  ShutdownAndCheck();
}

}  // namespace
}  // namespace peapod::shim
