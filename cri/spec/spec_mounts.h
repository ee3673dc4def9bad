// Mounts and devices of a container spec: the default file systems, the
// pod's shared files, user bind mounts (with propagation checks against the
// host's mount table) and device nodes.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cri/spec/container_spec_input.h"
#include "oci/spec/spec.h"

namespace peapod::cri::spec {

// A lexically cleaned absolute path ("//a/./b/../c/" -> "/a/c");
// InvalidArgument naming `field` when `path` is not absolute.
absl::StatusOr<std::string> CleanAbsolute(absl::string_view path, absl::string_view field);

// proc, /dev, /dev/pts, /dev/mqueue, /sys and /sys/fs/cgroup (read-only
// unless privileged), as containerd mounts them; /dev/shm is separate.
std::vector<oci::Mount> DefaultMounts(bool privileged);

// /dev/shm: the host's for host IPC, the pod's when it shares IPC and has
// one, else a private 64 MiB tmpfs.
oci::Mount ShmMount(const PodInfo& pod, NamespaceMode ipc);

// Binds of the pod's /etc/hostname, /etc/hosts and /etc/resolv.conf, each
// left out when missing from the pod or when `user_destinations` has it.
std::vector<oci::Mount> PodFileMounts(const PodInfo& pod, bool readonly,
                                      const std::vector<std::string>& user_destinations);

// Checks the host mount holding `path` allows `propagation`, from the text of
// a /proc/self/mountinfo: BIDIRECTIONAL needs it shared ("shared:N"),
// HOST_TO_CONTAINER shared or a slave ("master:N"); FailedPrecondition if not.
absl::Status CheckPropagation(absl::string_view mountinfo, const std::string& path,
                              Propagation propagation);

// A user bind mount: the host path (created as a directory when missing, as
// containerd does) resolved through symlinks, rbind + rprivate/rslave/rshared
// + ro/rw. Raises *rootfs_propagation to "rslave"/"rshared" as needed.
absl::StatusOr<oci::Mount> UserMount(const MountInput& mount, absl::string_view mountinfo,
                                     std::string* rootfs_propagation);

// Adds the device node(s) at host_path (a node, or a directory walked for
// nodes) to linux.devices with a matching allow rule in linux.resources.
absl::Status AddDevice(const DeviceInput& device, oci::Linux* linux);

// Adds every device node under `dev_dir` (normally /dev) except the
// per-container ones (pts, shm, mqueue, fd, console), for privileged ones.
absl::Status AddHostDevices(const std::string& dev_dir, oci::Linux* linux);

}  // namespace peapod::cri::spec
