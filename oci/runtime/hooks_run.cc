// Hook processes.
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "oci/linux/errno_status.h"
#include "oci/linux/unique_fd.h"
#include "oci/runtime/hooks.h"

namespace peapod::runtime {
namespace {

using linux::ErrnoStatus;
using linux::UniqueFd;

int64_t NowMs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

[[noreturn]] void ExecHook(const oci::Hook& hook, int stdin_fd, int stderr_fd) {
  ::dup2(stdin_fd, 0);
  ::dup2(stderr_fd, 2);
  int devnull = ::open("/dev/null", O_WRONLY);
  if (devnull >= 0) ::dup2(devnull, 1);
  ::syscall(SYS_close_range, 3, ~0U, 0);
  std::vector<char*> argv, envp;
  std::string path = hook.path;
  if (hook.args.empty()) {
    argv.push_back(path.data());
  } else {
    for (const std::string& a : hook.args) argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  for (const std::string& e : hook.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  ::execve(hook.path.c_str(), argv.data(), envp.data());
  dprintf(2, "exec %s: %s", hook.path.c_str(), strerror(errno));
  _exit(127);
}

// Writes what fits without blocking. A hook that exits without reading
// gives EPIPE, not a SIGPIPE for the whole process: the signal is blocked on
// this thread and a pending one consumed, so no global handler changes.
void WriteIgnoringSigpipe(int fd, const std::string& data) {
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  ssize_t n = ::write(fd, data.data(), data.size());
  if (n < 0 && errno == EPIPE) {
    struct timespec zero = {0, 0};
    sigtimedwait(&pipe_set, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

}  // namespace

std::string HookState(const std::string& id, const std::string& status, int pid,
                      const std::string& bundle,
                      const std::map<std::string, std::string>& annotations) {
  oci::State st;
  st.oci_version = std::string(oci::kOciVersion);
  st.id = id;
  st.status = status;
  st.pid = pid;
  st.bundle = bundle;
  st.annotations = annotations;
  return oci::SerializeState(st);
}

absl::Status RunHook(const oci::Hook& hook, const std::string& state_json) {
  int in[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return ErrnoStatus("pipe");
  UniqueFd in_r(in[0]), in_w(in[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) return ErrnoStatus("pipe");
  UniqueFd err_r(err[0]), err_w(err[1]);
  pid_t pid = ::fork();
  if (pid < 0) return ErrnoStatus("fork hook " + hook.path);
  if (pid == 0) ExecHook(hook, in_r.get(), err_w.get());
  in_r.Reset();
  err_w.Reset();
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  // The hook may not read its stdin; a full pipe must not block us.
  ::fcntl(in_w.get(), F_SETFL, O_NONBLOCK);
  WriteIgnoringSigpipe(in_w.get(), state_json);
  in_w.Reset();
  int64_t deadline = hook.timeout && *hook.timeout > 0 ? NowMs() + *hook.timeout * 1000LL : -1;
  std::string errtext;
  bool timed_out = false;
  for (;;) {
    struct pollfd p[2] = {{pidfd.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
    int wait_ms = deadline < 0 ? -1 : static_cast<int>(std::max<int64_t>(0, deadline - NowMs()));
    int n = ::poll(p, err_r ? 2 : 1, wait_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      ::kill(pid, SIGKILL);
      timed_out = true;
      break;
    }
    if (err_r && (p[1].revents & (POLLIN | POLLHUP))) {
      char buf[1024];
      ssize_t r = ::read(err_r.get(), buf, sizeof buf);
      if (r <= 0) {
        err_r.Reset();
      } else {
        errtext.append(buf, r);
        if (errtext.size() > 4096) errtext.erase(0, errtext.size() - 4096);
      }
    }
    if (p[0].revents & POLLIN) break;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  while (!errtext.empty() && errtext.back() == '\n') errtext.pop_back();
  std::string tail = errtext.empty() ? "" : absl::StrCat(": ", errtext);
  if (timed_out) {
    return absl::DeadlineExceededError(
        absl::StrCat("hook ", hook.path, " timed out after ", *hook.timeout, "s"));
  }
  if (WIFSIGNALED(status)) {
    return absl::InternalError(
        absl::StrCat("hook ", hook.path, " killed by signal ", WTERMSIG(status), tail));
  }
  if (WEXITSTATUS(status) != 0) {
    return absl::InternalError(
        absl::StrCat("hook ", hook.path, " exited with status ", WEXITSTATUS(status), tail));
  }
  return absl::OkStatus();
}

absl::Status RunHooks(const std::vector<oci::Hook>& hooks, const std::string& state_json,
                      const std::string& stage) {
  for (const oci::Hook& h : hooks) {
    absl::Status st = RunHook(h, state_json);
    if (!st.ok()) return linux::Annotate(st, stage);
  }
  return absl::OkStatus();
}

}  // namespace peapod::runtime
