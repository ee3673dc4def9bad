// OCI mount options ("ro", "nosuid", "rbind", "rslave", "mode=755", ...)
// turned into mount(2) flags and data. Pure logic, unit-tested.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace peapod::linux {

struct MountOptions {
  unsigned long flags = 0;        // MS_RDONLY, MS_NOSUID, ... (no propagation bits)
  unsigned long propagation = 0;  // one of MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (+MS_REC)
  bool bind = false;              // "bind" or "rbind"
  bool recursive = false;         // "rbind"
  std::string data;               // comma-joined options the kernel parses (mode=755, size=...)
};

// Parses a mount's options. Options that clear a flag ("rw", "suid") clear
// it; unknown options that look like fs data are passed on as data.
absl::StatusOr<MountOptions> ParseMountOptions(const std::vector<std::string>& options);

// The propagation flags for rootfsPropagation ("", "shared", "rslave", ...).
absl::StatusOr<unsigned long> ParsePropagation(const std::string& name);

// The flags a bind mount has to be remounted with (the bind itself ignores
// them): everything but MS_BIND/MS_REC.
unsigned long BindRemountFlags(const MountOptions& opts);

}  // namespace peapod::linux
