// The container side of Create: the intermediate child that joins
// namespaces given by path and clones the init (CLONE_PARENT, so the init is
// the launcher's own child), and the init itself, which builds the
// container and blocks on the exec fifo until Start.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "oci/linux/namespaces.h"
#include "oci/linux/sync.h"
#include "oci/seccomp/filter.h"
#include "oci/spec/spec.h"

namespace peapod::runtime {

struct InitParams {
  const oci::Spec* spec = nullptr;
  std::string id;
  std::string bundle;
  std::string rootfs;  // absolute
  bool no_pivot = false;
  int preserve_fds = 0;
  int stdio[3] = {-1, -1, -1};
  int console_fd = -1;    // connected console socket, or -1
  int exec_fifo_fd = -1;  // O_PATH fd of <state>/exec.fifo
  const linux::NamespacePlan* namespaces = nullptr;
  const seccomp::Filter* seccomp = nullptr;  // compiled linux.seccomp, or null
  // cgroups::JoinHandles of the container's cgroup (empty / -1 when the
  // launcher moves the init by pid instead): the init is cloned into the
  // cgroup2 dir and writes itself into every v1 `tasks` file.
  std::vector<int> cgroup_tasks_fds;
  int cgroup_dir_fd = -1;
  // The init waits for kGo before its mounts: needed when the launcher must
  // write id maps (user namespace) or move it into the cgroup by pid.
  bool wait_for_go = true;
  // The v1 `tasks` fds come later: kCgroupFd messages, then kGo, which the
  // init waits for before anything else (the launcher makes the v1 dirs
  // while the init is being spawned).
  bool cgroup_fds_later = false;
};

// A spawned init: either cloned directly (init > 0, intermediate 0), or
// through an intermediate to reap whose first message is kChildPid.
struct SpawnedInit {
  linux::SyncChannel sync;
  pid_t intermediate = 0;
  pid_t init = 0;
  // The init waits for kGo: InitParams::wait_for_go, or always behind an
  // intermediate (the init must not speak before kChildPid is sent).
  bool wait_for_go = true;
};

// Starts the init: cloned directly when it joins no namespace by path and
// needs no time namespace (and we are single-threaded), else through an
// intermediate child whose first message on the channel is kChildPid (the
// init's pid) or kError.
absl::StatusOr<SpawnedInit> SpawnInit(const InitParams& params);

// Forks a child that runs `body` with the child's end of a fresh sync
// channel and reports a failure as kError; returns the parent's end and the
// child pid. The child never returns from here.
absl::StatusOr<std::pair<linux::SyncChannel, pid_t>> ForkWithSync(
    const std::function<absl::Status(linux::SyncChannel&)>& body, std::vector<int*> fds,
    int preserve_fds);

// clone3 with CLONE_PARENT | flags: returns the child pid in the caller, 0 in
// the child.
absl::StatusOr<pid_t> CloneParent(int flags);

// clone3 with `flags` (exit signal SIGCHLD unless CLONE_PARENT); with
// cgroup_fd >= 0 the child is first tried into that cgroup2 directory
// (CLONE_INTO_CGROUP), and *in_cgroup says whether the kernel took it.
absl::StatusOr<pid_t> CloneInit(int flags, int cgroup_fd, bool* in_cgroup);

}  // namespace peapod::runtime
