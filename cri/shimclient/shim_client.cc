// ShimClient: starting a pod's shim with its `start` action and typed calls
// of the Task API over the ttrpc client.
#include "cri/shimclient/shim_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/empty.pb.h"

extern char** environ;

namespace peapod::cri {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr char kTask[] = "containerd.task.v2.Task";
constexpr char kLogs[] = "peapod.shim.v1.Logs";
// Every Task call but Wait gives up after this long: a shim that does not
// answer in a minute is stuck, and the caller should hear so.
constexpr std::chrono::nanoseconds kCallTimeout = 60s;

bool IsExecutable(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

std::string ErrnoText(int e) { return strerror(e); }

// Nanoseconds since the epoch of a protobuf Timestamp.
int64_t Nanos(const google::protobuf::Timestamp& t) { return t.seconds() * 1000000000 + t.nanos(); }

// The environment of `start`: ours, without containerd's event addresses
// (peapodd takes no events), with the shim's directories when given.
std::vector<std::string> ShimEnv(const ShimOptions& o) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv = *e;
    for (const char* drop : {"TTRPC_ADDRESS=", "GRPC_ADDRESS=", "PEAPOD_SHIM_SOCKET_DIR=",
                             "PEAPOD_SHIM_RUNTIME_ROOT=", "NOTIFY_SOCKET="}) {
      if (kv.starts_with(drop)) kv.clear();
    }
    if (!kv.empty()) env.push_back(std::move(kv));
  }
  const char* sd = getenv("PEAPOD_SHIM_SOCKET_DIR");
  const char* rr = getenv("PEAPOD_SHIM_RUNTIME_ROOT");
  std::string socket_dir = !o.socket_dir.empty() ? o.socket_dir : sd != nullptr ? sd : "";
  std::string runtime_root = !o.runtime_root.empty() ? o.runtime_root : rr != nullptr ? rr : "";
  if (!socket_dir.empty()) env.push_back("PEAPOD_SHIM_SOCKET_DIR=" + socket_dir);
  if (!runtime_root.empty()) env.push_back("PEAPOD_SHIM_RUNTIME_ROOT=" + runtime_root);
  return env;
}

struct Captured {
  std::string out, err;
};

// Reads both pipes until EOF on both or the deadline; DeadlineExceeded then.
absl::StatusOr<Captured> ReadBoth(int out_fd, int err_fd,
                                  std::chrono::steady_clock::time_point deadline) {
  Captured c;
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  int open_count = 2;
  while (open_count > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return absl::DeadlineExceededError("timed out");
    int n = poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::InternalError(absl::StrCat("poll: ", ErrnoText(errno)));
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      ssize_t r = read(fds[i].fd, buf, sizeof(buf));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        fds[i].fd = -1;
        --open_count;
        continue;
      }
      (i == 0 ? c.out : c.err).append(buf, static_cast<size_t>(r));
    }
  }
  return c;
}

std::string Trim(std::string s) {
  while (!s.empty() && isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t b = 0;
  while (b < s.size() && isspace(static_cast<unsigned char>(s[b]))) ++b;
  return s.substr(b);
}

absl::Status Annotate(const absl::Status& s, std::string_view what) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat("shim ", std::string(what), ": ", s.message()));
}

}  // namespace

absl::StatusOr<std::string> FindBinary(const std::string& name, const std::string& build_dir) {
  if (name.empty()) return absl::InvalidArgumentError("binary name is empty");
  if (name[0] == '/') {
    if (IsExecutable(name)) return name;
    return absl::NotFoundError(absl::StrCat(name, " is not an executable file"));
  }
  std::vector<std::string> tried;
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && name.find('/') == std::string::npos) {
    tried.push_back((self.parent_path() / name).string());
    if (!build_dir.empty()) {
      tried.push_back(
          (self.parent_path().parent_path().parent_path() / build_dir / name).lexically_normal());
    }
  }
  const char* path = getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin";
  for (size_t b = 0; b <= dirs.size();) {
    size_t e = dirs.find(':', b);
    if (e == std::string::npos) e = dirs.size();
    if (e > b) tried.push_back(absl::StrCat(dirs.substr(b, e - b), "/", name));
    b = e + 1;
  }
  for (const std::string& t : tried) {
    if (IsExecutable(t)) return t;
  }
  return absl::NotFoundError(absl::StrCat(name, " not found next to ", self.string(),
                                          ", in its build tree or in PATH (", dirs, ")"));
}

namespace {

// Runs the shim binary with containerd's flags and `action` in `dir`; its
// stdout, or an error carrying its stderr.
absl::StatusOr<std::string> RunShimAction(const ShimOptions& o, const std::string& id,
                                          const std::string& dir, const std::string& action) {
  absl::StatusOr<std::string> binary = FindBinary(o.binary, "shim");
  if (!binary.ok()) return binary.status();
  std::vector<std::string> args = {*binary,   "-namespace",      o.ns, "-address",
                                   o.address, "-publish-binary", "",   "-id",
                                   id,        "-bundle",         dir,  action};
  std::vector<std::string> env = ShimEnv(o);
  std::vector<char*> argv, envp;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0) return absl::InternalError("pipe: " + ErrnoText(errno));
  linux::UniqueFd out_r(out[0]), out_w(out[1]);
  if (pipe2(err, O_CLOEXEC) != 0) return absl::InternalError("pipe: " + ErrnoText(errno));
  linux::UniqueFd err_r(err[0]), err_w(err[1]);

  // posix_spawn, not fork: peapodd is multi-threaded.
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  absl::Cleanup fa_done = [&] { posix_spawn_file_actions_destroy(&fa); };
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
  posix_spawn_file_actions_addchdir_np(&fa, dir.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  absl::Cleanup attr_done = [&] { posix_spawnattr_destroy(&attr); };
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);  // peapodd blocks SIGTERM; the shim must not
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("spawn ", *binary, " ", action, ": ", ErrnoText(rc)));
  }
  out_w.Reset();
  err_w.Reset();
  absl::StatusOr<Captured> got =
      ReadBoth(out_r.get(), err_r.get(), std::chrono::steady_clock::now() + o.start_timeout);
  if (!got.ok()) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!got.ok()) {
    return absl::DeadlineExceededError(absl::StrCat(
        *binary, " ", action, " for ", id, " did not finish in ", o.start_timeout.count(), "s"));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat(*binary, " ", action, " for ", id, " failed (",
                                            WIFEXITED(status)
                                                ? absl::StrCat("exit ", WEXITSTATUS(status))
                                                : absl::StrCat("signal ", WTERMSIG(status)),
                                            "): ", Trim(got->err)));
  }
  return got->out;
}

}  // namespace

absl::StatusOr<std::string> ShimClient::StartShim(const ShimOptions& o, const std::string& pod_id,
                                                  const std::string& pod_dir) {
  if (pod_id.empty()) return absl::InvalidArgumentError("shim start: pod id is empty");
  absl::StatusOr<std::string> out = RunShimAction(o, pod_id, pod_dir, "start");
  if (!out.ok()) return out.status();
  std::string address = Trim(*out);
  if (!address.starts_with("unix://")) {
    return absl::InternalError(absl::StrCat("shim start for pod ", pod_id,
                                            " printed no unix:// address: \"", address, "\""));
  }
  return address;
}

void ShimClient::AwaitExit(const std::string& address) {
  std::string path = address.starts_with("unix://") ? address.substr(7) : address;
  struct stat st;
  for (int i = 0; i < 100 && lstat(path.c_str(), &st) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

absl::Status ShimClient::DeleteAction(const ShimOptions& o, const std::string& id,
                                      const std::string& bundle) {
  if (id.empty()) return absl::InvalidArgumentError("shim delete: id is empty");
  return RunShimAction(o, id, bundle, "delete").status();
}

absl::StatusOr<std::unique_ptr<ShimClient>> ShimClient::Connect(const std::string& address) {
  absl::StatusOr<std::unique_ptr<ttrpc::Client>> c = ttrpc::Client::Dial(address);
  if (!c.ok()) {
    return absl::UnavailableError(
        absl::StrCat("shim at ", address, " is not reachable: ", c.status().message()));
  }
  return std::unique_ptr<ShimClient>(new ShimClient(std::move(*c)));
}

absl::StatusOr<uint32_t> ShimClient::Create(const task::CreateTaskRequest& req) {
  task::CreateTaskResponse resp;
  absl::Status s = client_->Call(kTask, "Create", req, &resp, kCallTimeout);
  if (!s.ok()) return Annotate(s, absl::StrCat("create ", req.id()));
  return resp.pid();
}

absl::StatusOr<uint32_t> ShimClient::Start(const std::string& id, const std::string& exec_id) {
  task::StartRequest req;
  req.set_id(id);
  req.set_exec_id(exec_id);
  task::StartResponse resp;
  absl::Status s = client_->Call(kTask, "Start", req, &resp, kCallTimeout);
  if (!s.ok()) return Annotate(s, absl::StrCat("start ", id));
  return resp.pid();
}

absl::Status ShimClient::Kill(const std::string& id, uint32_t signal, bool all,
                              const std::string& exec_id) {
  task::KillRequest req;
  req.set_id(id);
  req.set_exec_id(exec_id);
  req.set_signal(signal);
  req.set_all(all);
  google::protobuf::Empty resp;
  return Annotate(client_->Call(kTask, "Kill", req, &resp, kCallTimeout),
                  absl::StrCat("kill ", id));
}

absl::StatusOr<ExitInfo> ShimClient::Wait(const std::string& id, const std::string& exec_id,
                                          std::chrono::nanoseconds timeout) {
  task::WaitRequest req;
  req.set_id(id);
  req.set_exec_id(exec_id);
  task::WaitResponse resp;
  absl::Status s = client_->Call(kTask, "Wait", req, &resp, timeout);
  if (!s.ok()) return Annotate(s, absl::StrCat("wait ", id));
  ExitInfo e;
  e.exit_status = resp.exit_status();
  e.exited_at_ns = Nanos(resp.exited_at());
  return e;
}

absl::StatusOr<task::StateResponse> ShimClient::State(const std::string& id,
                                                      const std::string& exec_id) {
  task::StateRequest req;
  req.set_id(id);
  req.set_exec_id(exec_id);
  task::StateResponse resp;
  absl::Status s = client_->Call(kTask, "State", req, &resp, kCallTimeout);
  if (!s.ok()) return Annotate(s, absl::StrCat("state ", id));
  return resp;
}

absl::StatusOr<ExitInfo> ShimClient::Delete(const std::string& id, const std::string& exec_id) {
  task::DeleteRequest req;
  req.set_id(id);
  req.set_exec_id(exec_id);
  task::DeleteResponse resp;
  absl::Status s = client_->Call(kTask, "Delete", req, &resp, kCallTimeout);
  if (!s.ok()) return Annotate(s, absl::StrCat("delete ", id));
  ExitInfo e;
  e.pid = resp.pid();
  e.exit_status = resp.exit_status();
  e.exited_at_ns = Nanos(resp.exited_at());
  return e;
}

absl::Status ShimClient::Exec(const task::ExecProcessRequest& req) {
  google::protobuf::Empty resp;
  return Annotate(client_->Call(kTask, "Exec", req, &resp, kCallTimeout),
                  absl::StrCat("exec ", req.exec_id(), " in ", req.id()));
}

absl::Status ShimClient::Update(const task::UpdateTaskRequest& req) {
  google::protobuf::Empty resp;
  return Annotate(client_->Call(kTask, "Update", req, &resp, kCallTimeout),
                  absl::StrCat("update ", req.id()));
}

absl::StatusOr<task::StatsResponse> ShimClient::Stats(const std::string& id) {
  task::StatsRequest req;
  req.set_id(id);
  task::StatsResponse resp;
  absl::Status s = client_->Call(kTask, "Stats", req, &resp, kCallTimeout);
  if (!s.ok()) return Annotate(s, absl::StrCat("stats ", id));
  return resp;
}

absl::StatusOr<task::PidsResponse> ShimClient::Pids(const std::string& id) {
  task::PidsRequest req;
  req.set_id(id);
  task::PidsResponse resp;
  absl::Status s = client_->Call(kTask, "Pids", req, &resp, kCallTimeout);
  if (!s.ok()) return Annotate(s, absl::StrCat("pids ", id));
  return resp;
}

absl::Status ShimClient::CloseIO(const std::string& id, const std::string& exec_id, bool stdin) {
  task::CloseIORequest req;
  req.set_id(id);
  req.set_exec_id(exec_id);
  req.set_stdin(stdin);
  google::protobuf::Empty resp;
  return Annotate(client_->Call(kTask, "CloseIO", req, &resp, kCallTimeout),
                  absl::StrCat("close io ", id));
}

absl::Status ShimClient::AttachOutput(const std::string& id, const std::string& stdout_fifo,
                                      const std::string& stderr_fifo) {
  task::ExecProcessRequest req;  // {id, stdout, stderr}: the fields Attach reads
  req.set_id(id);
  req.set_stdout(stdout_fifo);
  req.set_stderr(stderr_fifo);
  google::protobuf::Empty resp;
  return Annotate(client_->Call(kLogs, "Attach", req, &resp, kCallTimeout),
                  absl::StrCat("attach to ", id));
}

absl::Status ShimClient::ResizePty(const std::string& id, const std::string& exec_id,
                                   uint32_t width, uint32_t height) {
  task::ResizePtyRequest req;
  req.set_id(id);
  req.set_exec_id(exec_id);
  req.set_width(width);
  req.set_height(height);
  google::protobuf::Empty resp;
  return Annotate(client_->Call(kTask, "ResizePty", req, &resp, kCallTimeout),
                  absl::StrCat("resize the terminal of ", id));
}

absl::Status ShimClient::ReopenLog(const std::string& id) {
  task::CloseIORequest req;
  req.set_id(id);
  google::protobuf::Empty resp;
  return Annotate(client_->Call(kLogs, "Reopen", req, &resp, kCallTimeout),
                  absl::StrCat("reopen log of ", id));
}

absl::Status ShimClient::Shutdown(const std::string& id, bool now) {
  task::ShutdownRequest req;
  req.set_id(id);
  req.set_now(now);
  google::protobuf::Empty resp;
  absl::Status s = client_->Call(kTask, "Shutdown", req, &resp, kCallTimeout);
  // A shim that exits before its answer arrives has done what was asked.
  if (absl::IsUnavailable(s)) return absl::OkStatus();
  return Annotate(s, "shutdown");
}

}  // namespace peapod::cri
