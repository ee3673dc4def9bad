// A container's status and its cgroup manager, computed from its record.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "oci/cgroups/manager.h"
#include "oci/runtime/state_store.h"

namespace peapod::runtime {

// The cgroup manager of a recorded container.
absl::StatusOr<std::unique_ptr<cgroups::Manager>> OpenCgroup(const StateRecord& rec);

// created (init blocked on the exec fifo), running, paused (frozen) or
// stopped (init gone or a zombie).
InitStatus StatusOf(const StateRecord& rec);

}  // namespace peapod::runtime
