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

#include "absl/strings/match.h"
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
absl::Status InitMain(const InitParams& p, bool born_in_cgroup, SyncChannel& sync) {
  const oci::Spec& spec = *p.spec;
  linux::Syscall& sys = linux::RealSyscall();
  int new_ns = p.namespaces->new_flags;
  // 1. No one in the container may ptrace us or open our /proc/<pid>/exe.
  PEAPOD_RETURN_IF_ERROR(sys.Prctl(PR_SET_DUMPABLE, 0));
  // 1a. Into the v1 cgroups by ourselves (we have one thread), while the
  //     launcher writes the limits (see cgroups::JoinHandles); into the
  //     cgroup2 dir too if clone3 could not place us there. With the fds
  //     sent later, nothing happens before they (and kGo) are here.
  bool got_go = false;
  if (p.cgroup_fds_later) {
    std::vector<linux::UniqueFd> later;
    for (;;) {
      PEAPOD_ASSIGN_OR_RETURN(linux::SyncMessage m, sync.Receive());
      if (m.type == SyncType::kCgroupFd && m.fd) {
        later.push_back(std::move(m.fd));
        continue;
      }
      if (m.type == SyncType::kGo) break;
      if (m.type == SyncType::kAbort) return absl::AbortedError(m.text);
      return absl::InternalError(
          absl::StrCat("expected kCgroupFd or kGo, got ", linux::SyncTypeName(m.type)));
    }
    got_go = true;
    std::vector<int> fds;
    for (const linux::UniqueFd& fd : later) fds.push_back(fd.get());
    PEAPOD_RETURN_IF_ERROR(cgroups::JoinSelf(fds));
  }
  PEAPOD_RETURN_IF_ERROR(cgroups::JoinSelf(p.cgroup_tasks_fds));
  if (p.cgroup_dir_fd >= 0 && !born_in_cgroup) {
    linux::UniqueFd procs(::openat(p.cgroup_dir_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC));
    if (!procs || ::write(procs.get(), "0", 1) != 1) {
      return linux::ErrnoStatus("join the cgroup2 dir");
    }
  }
  for (int fd : p.cgroup_tasks_fds) ::close(fd);
  if (p.cgroup_dir_fd >= 0) ::close(p.cgroup_dir_fd);
  // 2. Wait for the launcher only when it must act first: id maps written
  //    (user namespace), or the cgroups joined for us (no JoinHandles).
  if (p.wait_for_go && !got_go) PEAPOD_RETURN_IF_ERROR(sync.Expect(SyncType::kGo).status());
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
  ps.seccomp = p.seccomp;
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
  bool born_in_cgroup = false;
  PEAPOD_ASSIGN_OR_RETURN(pid_t pid,
                          CloneInit(CLONE_PARENT | flags, p.cgroup_dir_fd, &born_in_cgroup));
  if (pid == 0) {
    absl::Status st = InitMain(p, born_in_cgroup, sync);
    if (!st.ok()) sync.SendError(st).IgnoreError();
    _exit(1);
  }
  return sync.Send(SyncType::kChildPid, pid);
}

// True if the calling process has one thread. Only then may the init be
// cloned straight from it: clone3 runs no fork handlers, so another
// thread's malloc or stdio lock could stay held in the child forever.
bool SingleThreaded() {
  absl::StatusOr<std::string> status = linux::ReadWholeFile("/proc/self/status");
  return status.ok() && absl::StrContains(*status, "\nThreads:\t1\n");
}

}  // namespace

absl::StatusOr<pid_t> CloneParent(int flags) {
  bool unused = false;
  return CloneInit(CLONE_PARENT | flags, -1, &unused);
}

absl::StatusOr<pid_t> CloneInit(int flags, int cgroup_fd, bool* in_cgroup) {
  struct clone_args args = {};
  args.flags = static_cast<uint64_t>(flags);
  // CLONE_PARENT: the caller's own exit signal is used.
  args.exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD;
  *in_cgroup = false;
  long pid = -1;
  if (cgroup_fd >= 0) {
    struct clone_args into = args;
    into.flags |= CLONE_INTO_CGROUP;
    into.cgroup = static_cast<uint64_t>(cgroup_fd);
    pid = ::syscall(SYS_clone3, &into, sizeof into);
    // The kernel refuses when our cgroup namespace does not hold that dir.
    *in_cgroup = pid >= 0;
  }
  if (pid < 0) pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) return linux::ErrnoStatus(absl::StrCat("clone3 0x", absl::Hex(flags)));
  if (pid == 0) return 0;
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

absl::StatusOr<SpawnedInit> SpawnInit(const InitParams& params) {
  InitParams p = params;
  std::vector<int*> fds = {&p.console_fd, &p.exec_fifo_fd, &p.cgroup_dir_fd};
  for (int& fd : p.cgroup_tasks_fds) fds.push_back(&fd);
  // stdio fds may sit in the preserved range too: move them first.
  for (int& fd : p.stdio) fds.push_back(&fd);
  const linux::NamespacePlan& ns = *p.namespaces;
  SpawnedInit out;
  // 1. Nothing to join and no time namespace: the init is cloned straight
  //    from us with its new namespaces, no intermediate (one process less
  //    to create, schedule and reap).
  if (ns.joins.empty() && !(ns.new_flags & CLONE_NEWTIME) && SingleThreaded()) {
    PEAPOD_ASSIGN_OR_RETURN(auto pair, SyncChannel::Pair());
    auto& [parent, child] = pair;
    bool born_in_cgroup = false;
    PEAPOD_ASSIGN_OR_RETURN(
        pid_t pid, CloneInit(ns.new_flags & ~CLONE_NEWCGROUP, p.cgroup_dir_fd, &born_in_cgroup));
    if (pid == 0) {
      parent.Close();
      int sync_fd = child.owned_fd().Release();
      fds.push_back(&sync_fd);
      absl::Status st = linux::MoveFdsAbove(fds, 3 + std::max(p.preserve_fds, 0));
      SyncChannel moved{linux::UniqueFd(sync_fd)};
      if (st.ok()) st = SetupStdio(p.stdio);
      if (st.ok()) st = InitMain(p, born_in_cgroup, moved);
      if (!st.ok()) moved.SendError(st).IgnoreError();
      _exit(1);
    }
    child.Close();
    out.sync = std::move(parent);
    out.init = pid;
    out.wait_for_go = p.wait_for_go;
    return out;
  }
  // 2. Otherwise an intermediate joins and unshares, then clones the init.
  //    Both share the channel: the init waits for kGo, sent after kChildPid.
  p.wait_for_go = true;
  auto body = [&p](SyncChannel& sync) -> absl::Status {
    PEAPOD_RETURN_IF_ERROR(SetupStdio(p.stdio));
    return IntermediateMain(p, sync);
  };
  PEAPOD_ASSIGN_OR_RETURN(auto forked, ForkWithSync(body, fds, p.preserve_fds));
  out.sync = std::move(forked.first);
  out.intermediate = forked.second;
  return out;
}

}  // namespace peapod::runtime
