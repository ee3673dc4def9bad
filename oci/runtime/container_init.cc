// Intermediate and init processes of Create.
#include "oci/runtime/container_init.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <functional>

#include "absl/strings/str_cat.h"
#include "oci/cgroups/manager.h"
#include "oci/linux/errno_status.h"
#include "oci/linux/file_util.h"
#include "oci/linux/process_setup.h"
#include "oci/linux/rootfs.h"
#include "oci/runtime/hooks.h"
#include "oci/runtime/process_start.h"

namespace peapod::runtime {
namespace {

using linux::SyncChannel;
using linux::SyncType;

// The init: steps 1-9 build the container, then StartProcess blocks on the
// exec fifo and execs the user's program.
absl::Status InitMain(const InitParams& p, SyncChannel& sync) {
  const oci::Spec& spec = *p.spec;
  linux::Syscall& sys = linux::RealSyscall();
  int new_ns = p.namespaces->new_flags;
  // 1. No one in the container may ptrace us or open our /proc/<pid>/exe.
  PEAPOD_RETURN_IF_ERROR(sys.Prctl(PR_SET_DUMPABLE, 0));
  // 1a. Into the v1 cgroups by ourselves (we have one thread), while the
  //     launcher writes the limits (see cgroups::JoinHandles).
  PEAPOD_RETURN_IF_ERROR(cgroups::JoinSelf(p.cgroup_tasks_fds));
  for (int fd : p.cgroup_tasks_fds) ::close(fd);
  if (p.cgroup_dir_fd >= 0) ::close(p.cgroup_dir_fd);
  // 2. Wait for the launcher: cgroups joined, id maps written.
  PEAPOD_RETURN_IF_ERROR(sync.Expect(SyncType::kGo).status());
  if (new_ns & CLONE_NEWUSER) {
    PEAPOD_RETURN_IF_ERROR(sys.Setgid(0));
    PEAPOD_RETURN_IF_ERROR(sys.Setuid(0));
  }
  // 3. Our cgroups (host view), then a cgroup namespace rooted at them.
  absl::StatusOr<std::string> cg = linux::ReadWholeFile("/proc/self/cgroup");
  if (new_ns & CLONE_NEWCGROUP) PEAPOD_RETURN_IF_ERROR(sys.Unshare(CLONE_NEWCGROUP));
  // 4. Mounts, inside the rootfs.
  if (!(new_ns & CLONE_NEWNS)) {
    bool joined = false;
    for (const auto& j : p.namespaces->joins) joined = joined || j.type == CLONE_NEWNS;
    if (!joined) return absl::InvalidArgumentError("a mount namespace is required");
  }
  linux::RootfsPlan plan = linux::PlanRootfs(spec, p.rootfs, new_ns & CLONE_NEWUSER);
  if (cg.ok()) plan.cgroups = linux::ParseProcCgroup(*cg);
  PEAPOD_RETURN_IF_ERROR(linux::MountRootfs(sys, plan));
  // 5. prestart + createRuntime hooks run in the launcher now (no round
  //    trip when there are none: both sides read the same spec).
  if (HasRuntimeHooks(spec)) {
    PEAPOD_RETURN_IF_ERROR(sync.Send(SyncType::kRuntimeHooks));
    PEAPOD_RETURN_IF_ERROR(sync.Expect(SyncType::kHooksDone).status());
  }
  std::string state = HookState(p.id, "created", ::getpid(), p.bundle, spec.annotations);
  // 6. createContainer hooks: container namespaces, before pivot_root.
  PEAPOD_RETURN_IF_ERROR(RunHooks(spec.hooks.create_container, state, "createContainer hook"));
  // 7. The rootfs becomes "/".
  PEAPOD_RETURN_IF_ERROR(linux::EnterRootfs(sys, p.rootfs, p.no_pivot));
  // 8. sysctls (now /proc is the container's), hostname, then masks and
  //    read-only paths.
  if (spec.linux) PEAPOD_RETURN_IF_ERROR(linux::ApplySysctls(spec.linux->sysctl));
  if ((!spec.hostname.empty() || !spec.domainname.empty()) && !(new_ns & CLONE_NEWUTS)) {
    bool joined = false;
    for (const auto& j : p.namespaces->joins) joined = joined || j.type == CLONE_NEWUTS;
    if (!joined) return absl::InvalidArgumentError("hostname needs a uts namespace");
  }
  PEAPOD_RETURN_IF_ERROR(linux::ApplyHostname(sys, spec.hostname, spec.domainname));
  PEAPOD_RETURN_IF_ERROR(linux::FinishRootfs(sys, spec));
  // 9. The process itself: blocks on the exec fifo, then execs.
  ProcessStart ps;
  ps.process = &*spec.process;
  ps.seccomp = spec.linux && spec.linux->seccomp ? &*spec.linux->seccomp : nullptr;
  ps.console_fd = p.console_fd;
  ps.preserve_fds = p.preserve_fds;
  ps.exec_fifo_fd = p.exec_fifo_fd;
  ps.sync = &sync;
  ps.start_hooks = &spec.hooks.start_container;
  ps.hook_state = state;
  absl::Status st = StartProcess(ps);
  // Past kReady nobody waits on the channel: say it on stderr.
  fprintf(stderr, "pea: container %s: %s\n", p.id.c_str(), std::string(st.message()).c_str());
  return st;
}

// The intermediate: joins namespaces by path, unshares time, clones the
// init as a sibling (CLONE_PARENT) and reports its pid.
absl::Status IntermediateMain(const InitParams& p, SyncChannel& sync) {
  linux::Syscall& sys = linux::RealSyscall();
  const linux::NamespacePlan& ns = *p.namespaces;
  PEAPOD_RETURN_IF_ERROR(linux::JoinNamespaces(sys, ns.joins));
  if (ns.new_flags & CLONE_NEWTIME) {
    std::map<std::string, oci::TimeOffset> offsets;
    if (p.spec->linux) offsets = p.spec->linux->time_offsets;
    PEAPOD_RETURN_IF_ERROR(linux::UnshareTime(sys, offsets));
  }
  int flags = ns.new_flags & ~(CLONE_NEWTIME | CLONE_NEWCGROUP);
  // The init is born in the cgroup2 dir. Where the kernel refuses that (a
  // joined cgroup namespace not containing it), it is moved by pid.
  absl::StatusOr<pid_t> pid = CloneParent(flags, p.cgroup_dir_fd);
  bool move_by_pid = false;
  if (!pid.ok() && p.cgroup_dir_fd >= 0) {
    pid = CloneParent(flags);
    move_by_pid = true;
  }
  if (!pid.ok()) return pid.status();
  if (*pid == 0) {
    absl::Status st = InitMain(p, sync);
    if (!st.ok()) sync.SendError(st).IgnoreError();
    _exit(1);
  }
  if (move_by_pid) {
    linux::UniqueFd procs(::openat(p.cgroup_dir_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC));
    std::string text = std::to_string(*pid);
    if (!procs || ::write(procs.get(), text.data(), text.size()) < 0) {
      absl::Status st = linux::ErrnoStatus("move the init into its cgroup2 dir");
      ::kill(*pid, SIGKILL);
      return st;
    }
  }
  return sync.Send(SyncType::kChildPid, *pid);
}

}  // namespace

absl::StatusOr<pid_t> CloneParent(int flags, int cgroup_fd) {
  struct clone_args args = {};
  args.flags = static_cast<uint64_t>(CLONE_PARENT | flags);
  if (cgroup_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cgroup_fd);
  }
  args.exit_signal = 0;  // CLONE_PARENT: the caller's own exit signal is used
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) return linux::ErrnoStatus(absl::StrCat("clone3 0x", absl::Hex(flags)));
  return static_cast<pid_t>(pid);
}

absl::StatusOr<std::pair<SyncChannel, pid_t>> ForkWithSync(
    const std::function<absl::Status(SyncChannel&)>& body, std::vector<int*> fds,
    int preserve_fds) {
  PEAPOD_ASSIGN_OR_RETURN(auto pair, SyncChannel::Pair());
  auto& [parent, child] = pair;
  pid_t pid = ::fork();
  if (pid < 0) return linux::ErrnoStatus("fork");
  if (pid == 0) {
    parent.Close();
    // Our own fds move above the preserved range before stdio is set up.
    int sync_fd = child.owned_fd().Release();
    fds.push_back(&sync_fd);
    absl::Status st = linux::MoveFdsAbove(fds, 3 + std::max(preserve_fds, 0));
    SyncChannel moved{linux::UniqueFd(sync_fd)};
    if (st.ok()) st = body(moved);
    if (!st.ok()) moved.SendError(st).IgnoreError();
    _exit(st.ok() ? 0 : 1);
  }
  child.Close();
  return std::make_pair(std::move(parent), pid);
}

absl::StatusOr<std::pair<SyncChannel, pid_t>> SpawnInit(const InitParams& params) {
  InitParams p = params;
  std::vector<int*> fds = {&p.console_fd, &p.exec_fifo_fd, &p.cgroup_dir_fd};
  for (int& fd : p.cgroup_tasks_fds) fds.push_back(&fd);
  // stdio fds may sit in the preserved range too: move them first.
  for (int& fd : p.stdio) fds.push_back(&fd);
  auto body = [&p](SyncChannel& sync) -> absl::Status {
    PEAPOD_RETURN_IF_ERROR(SetupStdio(p.stdio));
    return IntermediateMain(p, sync);
  };
  return ForkWithSync(body, fds, p.preserve_fds);
}

}  // namespace peapod::runtime
