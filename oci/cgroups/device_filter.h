// linux.resources.devices on cgroup v2: an eBPF program of type
// BPF_PROG_TYPE_CGROUP_DEVICE attached to the container's cgroup.
//
// Rule semantics (the same outcome as the v1 devices controller for the
// rule lists runtimes produce): rules are checked from last to first and the
// first one that matches decides. An allow rule matches when type, major and
// minor match and the requested access is a subset of the rule's access; a
// deny rule matches when they match and the requested access overlaps it.
// If no rule matches, access is allowed (a v1 cgroup also starts as
// allow-all; OCI configs begin with a deny-all rule).
#pragma once

#include <linux/bpf.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "oci/spec/spec.h"

namespace peapod::cgroups {

// Compiles the rules into eBPF instructions; InvalidArgument for a bad
// type or access string.
absl::StatusOr<std::vector<bpf_insn>> BuildDeviceProgram(
    const std::vector<oci::DeviceCgroupRule>& rules);

// Loads `program` and attaches it to the cgroup2 directory `dir`, then
// detaches the device programs that were attached there before (so `update`
// replaces the rules instead of stacking them).
absl::Status AttachDeviceProgram(const std::string& dir, const std::vector<bpf_insn>& program);

}  // namespace peapod::cgroups
