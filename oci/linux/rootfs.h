// The container's filesystem view, built inside its own mount namespace:
// the rootfs bound onto itself, every mount of the spec resolved INSIDE the
// rootfs, devices, pivot_root (or MS_MOVE + chroot), then masked and
// read-only paths and a read-only root.
//
// Invariant: nothing outside the rootfs is ever the target of a mount or a
// create. Targets are O_PATH fds from openat2(RESOLVE_IN_ROOT) mounted
// through /proc/self/fd/N; /dev, /proc and /dev/null must not be symlinks.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "oci/linux/syscall.h"
#include "oci/linux/unique_fd.h"
#include "oci/spec/spec.h"

namespace peapod::linux {

// One line of /proc/self/cgroup: the controllers of a hierarchy and the
// process's path in it ("cpu,cpuacct", "/peapod/abc"; "" for cgroup2).
struct CgroupEntry {
  std::string controllers;
  std::string path;
};

// Parses /proc/<pid>/cgroup text.
std::vector<CgroupEntry> ParseProcCgroup(const std::string& text);

struct RootfsPlan {
  std::string rootfs;  // absolute host path of the root directory
  bool readonly = false;
  std::string propagation;  // linux.rootfsPropagation
  std::vector<oci::Mount> mounts;
  std::vector<oci::Device> devices;
  bool in_user_ns = false;           // devices are bind-mounted from the host
  std::vector<CgroupEntry> cgroups;  // the container's own cgroups (for "cgroup" mounts)
  std::string cgroup_root = "/sys/fs/cgroup";
};

// Builds the plan from a spec (rootfs already made absolute by the caller).
RootfsPlan PlanRootfs(const oci::Spec& spec, const std::string& rootfs, bool in_user_ns);

// Checks the rootfs is a directory whose /dev, /proc and /dev/null (if
// present) are not symlinks.
absl::Status CheckRootfs(const std::string& rootfs);

// Steps before pivot_root, in the container's fresh mount namespace: host
// mounts made slave, rootfs bound onto itself, spec mounts, default and
// configured devices, /dev symlinks.
absl::Status MountRootfs(Syscall& sys, const RootfsPlan& plan);

// Mounts one spec mount inside the root (exposed for tests).
absl::Status MountOne(Syscall& sys, int root_fd, const RootfsPlan& plan, const oci::Mount& m);

// Creates default devices (null zero full random urandom tty, ptmx
// symlink, /dev/fd and std* links) and linux.devices under root_fd.
absl::Status CreateDevices(Syscall& sys, int root_fd, const RootfsPlan& plan);

// Makes the rootfs "/" : pivot_root(".", ".") + detach of the old root, or
// with no_pivot MS_MOVE + chroot. The cwd is "/" afterwards.
absl::Status EnterRootfs(Syscall& sys, const std::string& rootfs, bool no_pivot);

// After EnterRootfs: masks (/dev/null over files, ro tmpfs over dirs),
// read-only paths, then a read-only root if asked.
absl::Status FinishRootfs(Syscall& sys, const oci::Spec& spec);

// Bind-mounts `target` (resolved in root) onto itself read-only.
absl::Status MakeReadonly(Syscall& sys, int root_fd, const std::string& path);

}  // namespace peapod::linux
