// Capabilities: names to bits, and the five sets applied in the order the
// kernel needs (bounding drop, keep-caps across setuid, capset, ambient).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "oci/linux/syscall.h"
#include "oci/spec/spec.h"

namespace peapod::linux {

// The capability number of "CAP_SYS_ADMIN"; an error naming unknown names.
absl::StatusOr<int> CapabilityNumber(const std::string& name);
// The name of a capability number ("CAP_CHOWN"), or "" if unknown.
std::string CapabilityName(int cap);

// A set as a bit mask. Unknown names are an error; caps above `last_cap`
// (unknown to this kernel) are skipped.
absl::StatusOr<uint64_t> CapabilityMask(const std::vector<std::string>& names, int last_cap);

// The five masks of process.capabilities.
struct CapabilityMasks {
  uint64_t bounding = 0, effective = 0, inheritable = 0, permitted = 0, ambient = 0;
};
absl::StatusOr<CapabilityMasks> ParseCapabilities(const oci::Capabilities& caps, int last_cap);

// The highest capability the kernel knows (/proc/sys/kernel/cap_last_cap).
int KernelLastCap();

// Step 1, before the uid change: drop every cap outside the bounding set,
// and keep permitted caps across setuid (PR_SET_KEEPCAPS).
absl::Status DropBounding(Syscall& sys, const CapabilityMasks& masks, int last_cap);
// Step 2, after the uid change: capset of effective/permitted/inheritable,
// then the ambient set raised cap by cap: only caps also permitted and
// inheritable (the kernel refuses others; runc 1.1 ignores that refusal, so
// they are skipped, not errors).
absl::Status ApplyCapabilities(Syscall& sys, const CapabilityMasks& masks, int last_cap);

}  // namespace peapod::linux
