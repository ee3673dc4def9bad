// Pure conversions from OCI resource values to cgroup file contents.
//
// Kept free of I/O so they are unit-tested without a cgroup, and shared by
// the v1 and v2 managers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "oci/spec/spec.h"

namespace peapod::cgroups {

// v1 cpu.shares [2, 262144] to v2 cpu.weight [1, 10000], the linear mapping
// Kubernetes and runc use: 1 + ((shares - 2) * 9999) / 262142. 0 stays 0
// (meaning "not set").
uint64_t CpuSharesToWeight(uint64_t shares);

// A memory limit for v2 files: negative -> "max", else the number.
std::string MemoryMaxValue(int64_t limit);

// v2 memory.swap.max from OCI's memory+swap total and the memory limit:
// swap - limit, "max" for -1. `limit` is the new (or current, if unchanged)
// memory limit. InvalidArgument for swap below limit or a swap limit without
// a memory limit.
absl::StatusOr<std::string> SwapMaxValue(int64_t swap, std::optional<int64_t> limit);

// v2 cpu.max "<quota|max> <period>". A missing quota keeps `current_quota`
// (as read from cpu.max); a missing period keeps `current_period`.
std::string CpuMaxValue(std::optional<int64_t> quota, std::optional<uint64_t> period,
                        absl::string_view current_quota, uint64_t current_period);

// pids.max: <= 0 -> "max".
std::string PidsMaxValue(int64_t limit);

// A v1 devices.allow/devices.deny line, e.g. "c 1:3 rwm" or "a *:* rwm".
absl::StatusOr<std::string> DeviceRuleLine(const oci::DeviceCgroupRule& rule);

// True if the rule is "deny everything" ({allow: false, access rwm or
// empty, no type/major/minor}).
bool IsDenyAll(const oci::DeviceCgroupRule& rule);

// Checks a linux.resources.unified key: "<controller>.<file>", a plain file
// name. E.g. "../cgroup.procs" -> InvalidArgument
// `linux.resources.unified: invalid key "../cgroup.procs"`.
absl::Status ValidateUnifiedKey(absl::string_view key);

// Checks a hugetlb page size as the kernel names it ("2MB", "1GB", "64KB").
absl::Status ValidateHugepageSize(absl::string_view page_size);

// The controller a unified key belongs to ("memory" for "memory.max").
absl::string_view UnifiedKeyController(absl::string_view key);

}  // namespace peapod::cgroups
