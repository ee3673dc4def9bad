// Waiting for and signalling processes that may or may not be our children.
#pragma once

#include <sys/types.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "oci/linux/unique_fd.h"
#include "oci/runtime/state_store.h"

namespace peapod::runtime {

// A pidfd for the recorded init, checked against its start time (pid reuse).
absl::StatusOr<linux::UniqueFd> OpenInitPidfd(const StateRecord& rec);
// Sends a signal through a pidfd.
absl::Status SignalPidfd(int pidfd, int signal);
// Waits up to timeout_ms for the process behind `pidfd` to exit; reaps it if
// it is our child. DeadlineExceeded on timeout.
absl::Status WaitPidfd(int pidfd, pid_t pid, int timeout_ms);
// waitpid for our child, retrying EINTR; returns the shell-style status
// (exit code, or 128+signal).
absl::StatusOr<int> WaitChild(pid_t pid);
// Reaps `pid` if it is an exited child of ours (no error otherwise).
void ReapIfChild(pid_t pid);

}  // namespace peapod::runtime
