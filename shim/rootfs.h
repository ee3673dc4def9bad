// The task's rootfs: containerd sends the snapshot as mounts (overlay, bind)
// in CreateTaskRequest; the shim mounts them on <bundle>/rootfs, where the
// bundle's config.json expects the root, and unmounts them on delete.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace peapod::shim {

struct MountSpec {
  std::string type, source;
  std::vector<std::string> options;  // "ro", "rbind", "lowerdir=...", ...
};

// Mounts each spec on target in order; on error, undoes what it mounted.
absl::Status MountRootfs(const std::vector<MountSpec>& mounts, const std::string& target);
// Unmounts everything stacked on target (lazily); ok if nothing is mounted.
absl::Status UnmountRootfs(const std::string& target);

// Splits mount(8)-style options into MS_* flags and the filesystem data.
void ParseMountOptions(const std::vector<std::string>& options, unsigned long* flags,
                       unsigned long* propagation, std::string* data);

}  // namespace peapod::shim
