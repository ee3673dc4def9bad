// Lifecycle hooks of CRI containers (annotation peapod.io/lifecycle, see
// cri/lifecycle): postStart at StartContainer, preStop at StopContainer. Exec
// hooks run as an ExecSync in the container; httpGet hooks inside the pod's
// network namespace.
#pragma once

#include <chrono>

#include "absl/status/status.h"
#include "cri/server/daemon.h"
#include "cri/store/records.h"

namespace peapod::cri {

// How long a postStart hook may run before the container is killed.
inline constexpr std::chrono::seconds kPostStartTimeout{120};

// InvalidArgument when the container's lifecycle annotation is malformed
// (checked at CreateContainer, so a bad hook never gets to run).
absl::Status CheckLifecycleAnnotation(const StringMap& annotations);

// Runs the container's postStart hook, if it has one. On failure the
// container is killed, its status records reason "PostStartHookError" and
// the hook's message, and the error (naming the hook and its output) is
// returned.
absl::Status RunPostStartHook(Daemon& d, const ContainerRecord& c);

// Runs the container's preStop hook, if it has one, until `deadline` (the
// end of the stop timeout). A failure is logged, never fatal: the stop goes
// on.
void RunPreStopHook(Daemon& d, const ContainerRecord& c,
                    std::chrono::steady_clock::time_point deadline);

}  // namespace peapod::cri
