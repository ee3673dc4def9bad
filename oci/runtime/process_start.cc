// Final process setup and execve.
#include "oci/runtime/process_start.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "oci/linux/capabilities.h"
#include "oci/linux/console.h"
#include "oci/linux/errno_status.h"
#include "oci/linux/file_util.h"
#include "oci/linux/path_resolve.h"
#include "oci/linux/process_setup.h"
#include "oci/runtime/hooks.h"
#include "oci/seccomp/filter.h"

namespace peapod::runtime {
namespace {

using linux::ErrnoStatus;

constexpr char kDefaultPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// chdir to process.cwd; a cwd that resolves outside the root (an fd leaked
// from the host, "/proc/self/fd/N") shows up as "(unreachable)" in getcwd
// and is refused.
absl::Status EnterCwd(const std::string& cwd) {
  if (cwd.empty() || cwd[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat("process.cwd \"", cwd, "\" is not absolute"));
  }
  if (::chdir(cwd.c_str()) != 0) return ErrnoStatus("chdir to process.cwd " + cwd);
  char buf[4096];
  if (::getcwd(buf, sizeof buf) == nullptr || buf[0] != '/') {
    return absl::PermissionDeniedError(
        absl::StrCat("process.cwd ", cwd, " resolves outside the container"));
  }
  return absl::OkStatus();
}

bool SetgroupsAllowed() {
  absl::StatusOr<std::string> s = linux::ReadWholeFile("/proc/self/setgroups");
  return !s.ok() || s->rfind("deny", 0) != 0;
}

absl::Status LoadSeccomp(const seccomp::Filter* config) {
  if (config == nullptr) return absl::OkStatus();
  return linux::Annotate(config->Load(), "load seccomp filter");
}

}  // namespace

absl::StatusOr<std::optional<seccomp::Filter>> CompileSeccomp(const Options& opts,
                                                              const oci::Spec& spec) {
  if (!spec.linux || !spec.linux->seccomp) return std::nullopt;
  absl::StatusOr<seccomp::Filter> f =
      opts.seccomp_cache_dir.empty()
          ? seccomp::Filter::Build(*spec.linux->seccomp)
          : seccomp::Filter::BuildCached(*spec.linux->seccomp, opts.seccomp_cache_dir);
  if (!f.ok()) return f.status();
  return std::optional<seccomp::Filter>(*std::move(f));
}

namespace {

// Reports readiness and blocks until `start` opens the exec fifo.
absl::Status WaitForStart(ProcessStart& ps) {
  if (ps.sync != nullptr) {
    PEAPOD_RETURN_IF_ERROR(ps.sync->Send(linux::SyncType::kReady, ::getpid()));
  }
  if (ps.exec_fifo_fd < 0) return absl::OkStatus();
  linux::UniqueFd fifo(::open(linux::FdPath(ps.exec_fifo_fd).c_str(), O_WRONLY | O_CLOEXEC));
  if (!fifo) return ErrnoStatus("open exec fifo");
  if (::write(fifo.get(), "0", 1) != 1) return ErrnoStatus("write exec fifo");
  ::close(ps.exec_fifo_fd);
  ps.exec_fifo_fd = -1;
  return absl::OkStatus();
}

// The caller's signal state is not the container's: a process linking this
// library (the shim) blocks SIGCHLD and ignores SIGPIPE, and both would
// survive execve. The user's program starts as under runc: every signal at
// its default action, none blocked. Re-ignoring first drops an instance that
// arrived while ignored, so it cannot fire once the action is the default.
void ResetSignals() {
  struct sigaction ign = {}, dfl = {}, old = {};
  ign.sa_handler = SIG_IGN;
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    if (::sigaction(sig, nullptr, &old) != 0 || old.sa_handler != SIG_IGN) continue;
    ::sigaction(sig, &ign, nullptr);
    ::sigaction(sig, &dfl, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

}  // namespace

std::string FindProgram(const std::string& name, const std::vector<std::string>& env) {
  if (name.find('/') != std::string::npos) return name;
  std::string path = kDefaultPath;
  for (const std::string& e : env) {
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  }
  for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
    std::string candidate = absl::StrCat(dir, "/", name);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return name;
}

absl::Status SetupStdio(const int stdio[3]) {
  for (int i = 0; i < 3; ++i) {
    if (stdio[i] < 0 || stdio[i] == i) continue;
    if (::dup2(stdio[i], i) < 0) return ErrnoStatus(absl::StrCat("dup2 stdio ", i));
  }
  return absl::OkStatus();
}

absl::Status StartProcess(ProcessStart& ps) {
  const oci::Process& p = *ps.process;
  linux::Syscall& sys = linux::RealSyscall();
  int last_cap = linux::KernelLastCap();
  // 0. Default signal actions, nothing blocked (before seccomp may forbid it).
  ResetSignals();
  // 1. Terminal: a pty from the container's /dev/ptmx becomes stdio.
  if (p.terminal) {
    if (ps.console_fd < 0) {
      return absl::InvalidArgumentError("process.terminal is set but no console socket given");
    }
    PEAPOD_RETURN_IF_ERROR(linux::SetupConsole(ps.console_fd, p.console_size));
    ::close(ps.console_fd);
    ps.console_fd = -1;
  }
  // 2. rlimits (while still privileged).
  PEAPOD_RETURN_IF_ERROR(linux::ApplyRlimits(sys, p.rlimits));
  // 3. Fd hygiene: only 0-2, the preserved fds and our own sync/fifo fds
  //    (CLOEXEC) survive; nothing of the launcher reaches the container.
  std::vector<int> keep;
  if (ps.sync != nullptr) keep.push_back(ps.sync->fd());
  if (ps.exec_fifo_fd >= 0) keep.push_back(ps.exec_fifo_fd);
  PEAPOD_RETURN_IF_ERROR(linux::CloseExtraFds(ps.preserve_fds, keep));
  // 4. The working directory, checked to be inside the container.
  PEAPOD_RETURN_IF_ERROR(EnterCwd(p.cwd));
  // 5. Without no_new_privs, seccomp needs CAP_SYS_ADMIN: load it now.
  if (!p.no_new_privileges) PEAPOD_RETURN_IF_ERROR(LoadSeccomp(ps.seccomp));
  // 6. Identity: bounding set, uid/gid, then the other capability sets.
  std::optional<linux::CapabilityMasks> caps;
  if (p.capabilities) {
    PEAPOD_ASSIGN_OR_RETURN(caps, linux::ParseCapabilities(*p.capabilities, last_cap));
    PEAPOD_RETURN_IF_ERROR(linux::DropBounding(sys, *caps, last_cap));
  }
  PEAPOD_RETURN_IF_ERROR(linux::ApplyUser(sys, p.user, SetgroupsAllowed()));
  if (caps) PEAPOD_RETURN_IF_ERROR(linux::ApplyCapabilities(sys, *caps, last_cap));
  // 7. Created: wait for `start`, then startContainer hooks.
  PEAPOD_RETURN_IF_ERROR(WaitForStart(ps));
  if (ps.start_hooks != nullptr) {
    PEAPOD_RETURN_IF_ERROR(RunHooks(*ps.start_hooks, ps.hook_state, "startContainer hook"));
  }
  // 8. no_new_privs and (then) seccomp, as late as possible.
  if (p.no_new_privileges) {
    PEAPOD_RETURN_IF_ERROR(sys.Prctl(PR_SET_NO_NEW_PRIVS, 1));
    PEAPOD_RETURN_IF_ERROR(LoadSeccomp(ps.seccomp));
  }
  // 9. exec.
  if (p.args.empty()) return absl::InvalidArgumentError("process.args is empty");
  std::vector<std::string> env = p.env;
  linux::SetListenEnv(&env, ps.preserve_fds, ::getpid());
  std::vector<char*> argv, envp;
  for (const std::string& a : p.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  std::string program = FindProgram(p.args[0], env);
  ::execve(program.c_str(), argv.data(), envp.data());
  return ErrnoStatus(absl::StrCat("exec \"", p.args[0], "\""));
}

}  // namespace peapod::runtime
