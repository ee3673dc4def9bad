// Plugin processes: posix_spawn (safe in peapodd's threads), pipes polled
// until the plugin exits or its deadline passes.
#include "cri/net/plugin_exec.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "cri/util/str.h"
#include "oci/linux/errno_status.h"
#include "oci/linux/unique_fd.h"
#include "oci/spec/json.h"

extern char** environ;

namespace peapod::cri {
namespace {

using linux::ErrnoStatus;
using linux::UniqueFd;

int64_t NowMs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// The caller's environment without CNI_* variables, plus the call's.
std::vector<std::string> PluginEnv(const PluginCall& c) {
  std::vector<std::string> env;
  bool has_path = false;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    if (kv.starts_with("CNI_")) continue;
    if (kv.starts_with("PATH=")) has_path = true;
    env.emplace_back(kv);
  }
  if (!has_path) env.push_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  std::string cni_path;
  for (const std::string& d : c.plugin_dirs) {
    if (!cni_path.empty()) cni_path += ':';
    cni_path += d;
  }
  env.push_back(Cat("CNI_COMMAND=", c.command));
  env.push_back(Cat("CNI_CONTAINERID=", c.container_id));
  env.push_back(Cat("CNI_NETNS=", c.netns));
  env.push_back(Cat("CNI_IFNAME=", c.ifname));
  env.push_back(Cat("CNI_ARGS=", c.args));
  env.push_back(Cat("CNI_PATH=", cni_path));
  return env;
}

// write(2) to a pipe whose reader may be gone: EPIPE instead of a SIGPIPE for
// peapodd. SIGPIPE is blocked on this thread only and a pending one consumed.
ssize_t WriteNoSigpipe(int fd, const char* data, size_t len) {
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  ssize_t n = ::write(fd, data, len);
  int saved = errno;
  if (n < 0 && errno == EPIPE) {
    struct timespec zero = {0, 0};
    sigtimedwait(&pipe_set, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = saved;
  return n;
}

std::string Tail(const std::string& s, size_t n = 2000) {
  return s.size() <= n ? s : s.substr(s.size() - n);
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

absl::StatusOr<std::string> FindPlugin(const std::string& type,
                                       const std::vector<std::string>& dirs) {
  if (type.empty() || type.find('/') != std::string::npos || type == "." || type == "..") {
    return absl::InvalidArgumentError(Cat("invalid CNI plugin type \"", type, "\""));
  }
  std::string looked;
  for (const std::string& d : dirs) {
    std::string p = Cat(d, "/", type);
    struct stat st;
    if (::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) return p;
    if (!looked.empty()) looked += ", ";
    looked += d;
  }
  return absl::NotFoundError(Cat("CNI plugin \"", type, "\" not found in ", looked));
}

std::string CniErrorMessage(const std::string& out) {
  auto v = json::Parse(out);
  if (!v.ok() || !v->is_object()) return "";
  const json::Value* msg = v->Find("msg");
  if (!msg || !msg->is_string()) return "";
  std::string m = msg->as_string();
  if (const json::Value* d = v->Find("details"); d && d->is_string() && !d->as_string().empty()) {
    m += Cat(": ", d->as_string());
  }
  if (const json::Value* c = v->Find("code"); c && c->type() == json::Type::kUint) {
    m += Cat(" (code ", c->raw_uint(), ")");
  }
  return m;
}

absl::StatusOr<PluginProcess> PluginProcess::Start(const std::string& path,
                                                   const PluginCall& call) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return ErrnoStatus("pipe");
  UniqueFd in_r(in[0]), in_w(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) return ErrnoStatus("pipe");
  UniqueFd out_r(out[0]), out_w(out[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) return ErrnoStatus("pipe");
  UniqueFd err_r(err[0]), err_w(err[1]);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> env = PluginEnv(call);
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string arg0 = path;
  char* argv[] = {arg0.data(), nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, path.c_str(), &fa, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return ErrnoStatus(rc, Cat("run CNI plugin ", path));
  ::fcntl(in_w.get(), F_SETFL, O_NONBLOCK);
  PluginProcess p;
  p.pid_ = pid;
  p.what_ = Cat("CNI plugin ", path, " (", call.command, ")");
  p.timeout_ = call.timeout;
  p.in_ = std::move(in_w);
  p.out_ = std::move(out_r);
  p.err_ = std::move(err_r);
  return p;
}

PluginProcess::~PluginProcess() { KillUnused(); }

void PluginProcess::KillUnused() {
  if (pid_ <= 0) return;
  if (sent_) {
    // It has its config and may be acting: it is let finish, not cut off.
    (void)Finish();
    return;
  }
  // Never given its config (a step before it failed): it has done nothing.
  ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

PluginProcess& PluginProcess::operator=(PluginProcess&& o) noexcept {
  if (this != &o) {
    KillUnused();
    pid_ = std::exchange(o.pid_, -1);
    what_ = std::move(o.what_);
    timeout_ = o.timeout_;
    in_ = std::move(o.in_);
    out_ = std::move(o.out_);
    err_ = std::move(o.err_);
    sent_ = std::exchange(o.sent_, false);
    config_ = std::move(o.config_);
    written_ = std::exchange(o.written_, 0);
    out_text_ = std::move(o.out_text_);
    err_text_ = std::move(o.err_text_);
    deadline_ = std::exchange(o.deadline_, 0);
    timed_out_ = std::exchange(o.timed_out_, false);
  }
  return *this;
}

void PluginProcess::WriteSome() {
  if (!in_.valid()) return;
  if (written_ < config_.size()) {
    ssize_t w = WriteNoSigpipe(in_.get(), config_.data() + written_, config_.size() - written_);
    if (w > 0) written_ += w;
    if (w < 0 && errno != EAGAIN) in_.Reset();  // EPIPE: plugin did not read
  }
  if (written_ == config_.size()) in_.Reset();
}

void PluginProcess::Send(std::string config) {
  if (pid_ <= 0 || sent_) return;
  sent_ = true;
  config_ = std::move(config);
  WriteSome();
}

// Whether `out` is a whole JSON object that is not a CNI error document.
static bool HoldsResult(const std::string& out) {
  if (out.empty() || out.find('}') == std::string::npos) return false;
  absl::StatusOr<json::Value> v = json::Parse(out);
  return v.ok() && v->is_object() && !v->Find("code");
}

bool PluginProcess::Pump(bool stop_at_result) {
  if (deadline_ == 0) deadline_ = NowMs() + timeout_.count();
  bool grew = true;
  while (out_.valid() || err_.valid()) {
    if (stop_at_result && grew && HoldsResult(out_text_)) return true;
    grew = false;
    struct pollfd p[3];
    int n = 0;
    int idx_in = -1, idx_out = -1, idx_err = -1;
    if (in_.valid()) p[idx_in = n++] = {in_.get(), POLLOUT, 0};
    if (out_.valid()) p[idx_out = n++] = {out_.get(), POLLIN, 0};
    if (err_.valid()) p[idx_err = n++] = {err_.get(), POLLIN, 0};
    int64_t left = deadline_ - NowMs();
    if (left <= 0) {
      timed_out_ = true;
      return false;
    }
    int r = ::poll(p, n, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return false;
    if (idx_in >= 0 && p[idx_in].revents) WriteSome();
    auto drain = [](UniqueFd& fd, std::string& into, short revents) {
      if (!revents) return false;
      char buf[8192];
      ssize_t k = ::read(fd.get(), buf, sizeof buf);
      if (k > 0) {
        if (into.size() < (16u << 20)) into.append(buf, k);
        return true;
      }
      if (k == 0 || (errno != EINTR && errno != EAGAIN)) fd.Reset();
      return false;
    };
    if (idx_out >= 0) grew = drain(out_, out_text_, p[idx_out].revents);
    if (idx_err >= 0) drain(err_, err_text_, p[idx_err].revents);
  }
  return false;
}

absl::StatusOr<std::string> PluginProcess::AwaitResult() {
  if (pid_ <= 0) return absl::FailedPreconditionError("CNI plugin: not started");
  if (Pump(true)) return out_text_;
  return Finish();
}

absl::StatusOr<std::string> PluginProcess::Finish(std::string config) {
  if (pid_ <= 0) return absl::FailedPreconditionError("CNI plugin: not started");
  Send(std::move(config));
  Pump(false);
  in_.Reset();
  out_.Reset();
  err_.Reset();
  pid_t pid = std::exchange(pid_, -1);
  if (timed_out_) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const std::string& stdout_text = out_text_;
  const std::string& stderr_text = err_text_;
  const std::string& what = what_;
  if (timed_out_) {
    return absl::DeadlineExceededError(Cat(what, ": killed after ", timeout_.count(), " ms"));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return stdout_text;
  std::string msg = CniErrorMessage(stdout_text);
  if (msg.empty()) msg = CniErrorMessage(stderr_text);
  if (msg.empty()) {
    msg = Trim(Tail(stderr_text.empty() ? stdout_text : stderr_text));
    if (WIFSIGNALED(status)) {
      msg = Cat("killed by signal ", WTERMSIG(status), msg.empty() ? "" : ": ", msg);
    } else {
      msg = Cat("exit status ", WEXITSTATUS(status), msg.empty() ? "" : ": ", msg);
    }
  }
  return absl::InternalError(Cat(what, ": ", msg));
}

absl::StatusOr<std::string> ExecPlugin(const std::string& path, const PluginCall& call) {
  absl::StatusOr<PluginProcess> p = PluginProcess::Start(path, call);
  if (!p.ok()) return p.status();
  return p->Finish(call.stdin_config);
}

}  // namespace peapod::cri
