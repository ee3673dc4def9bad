// Exec: a new process in every namespace and the cgroup of a container.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "oci/linux/console.h"
#include "oci/linux/errno_status.h"
#include "oci/linux/file_util.h"
#include "oci/linux/namespaces.h"
#include "oci/linux/process_setup.h"
#include "oci/runtime/container_init.h"
#include "oci/runtime/container_status.h"
#include "oci/runtime/process_start.h"
#include "oci/runtime/process_util.h"
#include "oci/runtime/runtime.h"

namespace peapod::runtime {
namespace {

using linux::SyncChannel;
using linux::SyncType;

constexpr int kExecOrder[] = {CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET,  CLONE_NEWIPC,
                              CLONE_NEWUTS,  CLONE_NEWCGROUP, CLONE_NEWTIME, CLONE_NEWNS};

// The init's namespaces that differ from ours, opened now (the pidfd pins
// the init, so the start time check makes the pid safe).
absl::StatusOr<std::vector<linux::NamespaceJoin>> InitNamespaces(const StateRecord& rec) {
  PEAPOD_ASSIGN_OR_RETURN(linux::UniqueFd pidfd, OpenInitPidfd(rec));
  std::vector<linux::NamespaceJoin> joins;
  for (int type : kExecOrder) {
    const char* name = linux::NamespaceProcName(type);
    std::string theirs = absl::StrCat("/proc/", rec.init_pid, "/ns/", name);
    struct stat a, b;
    if (::stat(theirs.c_str(), &a) != 0) continue;  // kernel without this ns type
    if (::stat(absl::StrCat("/proc/self/ns/", name).c_str(), &b) == 0 && a.st_ino == b.st_ino &&
        a.st_dev == b.st_dev) {
      continue;
    }
    PEAPOD_ASSIGN_OR_RETURN(linux::UniqueFd fd, linux::OpenNamespace(theirs, type));
    joins.push_back(linux::NamespaceJoin{type, theirs, std::move(fd)});
  }
  if (!InitAlive(rec)) return absl::FailedPreconditionError("container init exited");
  return joins;
}

struct ExecChild {
  const oci::Process* process;
  const seccomp::Filter* seccomp;
  const std::vector<linux::NamespaceJoin>* joins;
  int console_fd;
  int preserve_fds;
  int stdio[3];
};

absl::Status ExecIntermediate(ExecChild& e, SyncChannel& sync) {
  linux::Syscall& sys = linux::RealSyscall();
  // Not dumpable before entering: no container process can ptrace us or
  // open /proc/<pid>/exe (inherited by the clone below).
  PEAPOD_RETURN_IF_ERROR(sys.Prctl(PR_SET_DUMPABLE, 0));
  PEAPOD_RETURN_IF_ERROR(SetupStdio(e.stdio));
  PEAPOD_RETURN_IF_ERROR(linux::JoinNamespaces(sys, *e.joins));
  PEAPOD_ASSIGN_OR_RETURN(pid_t pid, CloneParent(0));
  if (pid == 0) {
    absl::Status st = sync.Expect(SyncType::kGo).status();
    if (st.ok()) {
      ProcessStart ps;
      ps.process = e.process;
      ps.seccomp = e.seccomp;
      ps.console_fd = e.console_fd;
      ps.preserve_fds = e.preserve_fds;
      ps.sync = nullptr;  // success is the socket closing at exec (CLOEXEC)
      st = StartProcess(ps);
    }
    sync.SendError(st).IgnoreError();
    _exit(127);
  }
  return sync.Send(SyncType::kChildPid, pid);
}

}  // namespace

absl::StatusOr<int> Exec(const Options& opts, const std::string& id, const ExecOptions& exec) {
  // 1. The container must be alive; its config gives seccomp.
  PEAPOD_ASSIGN_OR_RETURN(StateRecord rec, LoadState(opts, id));
  InitStatus status = StatusOf(rec);
  if (status != InitStatus::kRunning && status != InitStatus::kCreated) {
    return absl::FailedPreconditionError(
        absl::StrCat("container \"", id, "\" is ", InitStatusName(status), ": cannot exec"));
  }
  PEAPOD_ASSIGN_OR_RETURN(oci::Spec spec, LoadConfig(opts, id));
  // An exec process without capabilities gets the container's, never the
  // launcher's full set.
  oci::Process p = exec.process;
  if (!p.capabilities && spec.process) p.capabilities = spec.process->capabilities;
  if (p.args.empty()) return absl::InvalidArgumentError("exec: process.args is empty");
  PEAPOD_RETURN_IF_ERROR(linux::ValidateUser(p.user));
  if (p.terminal && exec.console_socket.empty()) {
    return absl::InvalidArgumentError("exec: a terminal needs --console-socket");
  }
  // Compiled here, once, not in the child.
  PEAPOD_ASSIGN_OR_RETURN(std::optional<seccomp::Filter> filter, CompileSeccomp(opts, spec));
  PEAPOD_ASSIGN_OR_RETURN(auto joins, InitNamespaces(rec));
  PEAPOD_ASSIGN_OR_RETURN(auto cg, OpenCgroup(rec));
  linux::UniqueFd console;
  if (!exec.console_socket.empty()) {
    PEAPOD_ASSIGN_OR_RETURN(console, linux::ConnectUnix(exec.console_socket));
  }
  // 2. Intermediate (joins namespaces) and the process (cloned as our child).
  ExecChild e{&p,
              filter ? &*filter : nullptr,
              &joins,
              console.get(),
              exec.preserve_fds,
              {exec.stdin_fd, exec.stdout_fd, exec.stderr_fd}};
  std::vector<int*> fds = {&e.console_fd, &e.stdio[0], &e.stdio[1], &e.stdio[2]};
  PEAPOD_ASSIGN_OR_RETURN(
      auto forked, ForkWithSync([&e](SyncChannel& sync) { return ExecIntermediate(e, sync); }, fds,
                                exec.preserve_fds));
  auto& [sync, intermediate] = forked;
  absl::StatusOr<linux::SyncMessage> m = sync.Expect(SyncType::kChildPid);
  WaitChild(intermediate).IgnoreError();
  if (!m.ok()) return m.status();
  pid_t pid = static_cast<pid_t>(m->value);
  // 3. Into the container's cgroup before it runs anything.
  absl::Status st = cg->Apply(pid);
  if (st.ok() && p.oom_score_adj) st = linux::WriteOomScoreAdj(pid, *p.oom_score_adj);
  if (st.ok()) st = sync.Send(SyncType::kGo);
  if (st.ok()) {
    // kEof = exec happened; kError = it failed before.
    absl::StatusOr<linux::SyncMessage> r = sync.Receive();
    if (!r.ok()) {
      st = r.status();
    } else if (r->type == SyncType::kError) {
      st = absl::Status(r->code == absl::StatusCode::kOk ? absl::StatusCode::kInternal : r->code,
                        r->text);
    }
  }
  if (!st.ok()) {
    ::kill(pid, SIGKILL);
    WaitChild(pid).IgnoreError();
    return st;
  }
  if (!exec.pid_file.empty()) {
    PEAPOD_RETURN_IF_ERROR(linux::ReplaceFile(std::filesystem::absolute(exec.pid_file).string(),
                                              std::to_string(pid), 0644));
  }
  if (exec.detach) return 0;
  return WaitChild(pid);
}

}  // namespace peapod::runtime
