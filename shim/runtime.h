// How the shim runs containers: one interface, two implementations.
//   LibRuntime  peapod's launcher library (oci/runtime) in-process: it forks
//               the container itself, no binary is executed (the default).
//   Launcher    a runc-compatible binary run once per step (runc, pea, ...),
//               chosen by env PEAPOD_SHIM_RUNTIME or the Create request's
//               runc options (BinaryName).
// Either way the container's init and execs are children of the shim, whose
// Reaper reaps them.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "shim/stdio.h"

namespace peapod::shim {

class Runtime {
 public:
  virtual ~Runtime() = default;

  // The container's init exists, blocked before exec. Returns its pid.
  virtual absl::StatusOr<pid_t> Create(const std::string& id, const std::string& bundle,
                                       const Stdio& io) = 0;
  // The init execs the user's program.
  virtual absl::Status Start(const std::string& id) = 0;
  // Runs `process_json` (an OCI process) in the container; returns its pid.
  virtual absl::StatusOr<pid_t> Exec(const std::string& id, const std::string& bundle,
                                     const std::string& exec_id, const std::string& process_json,
                                     const Stdio& io) = 0;
  // Signals the init (or every process of the container with all).
  virtual absl::Status Kill(const std::string& id, int signal, bool all) = 0;
  // Removes the runtime's state (and kills the init with force). NotFound
  // when the runtime has no such container.
  virtual absl::Status Delete(const std::string& id, bool force) = 0;
  // Freezes and thaws the container's cgroup.
  virtual absl::Status Pause(const std::string& id) = 0;
  virtual absl::Status Resume(const std::string& id) = 0;
  // Applies an OCI LinuxResources JSON document.
  virtual absl::Status Update(const std::string& id, const std::string& bundle,
                              const std::string& resources_json) = 0;
  // The pids in the container's cgroup.
  virtual absl::StatusOr<std::vector<pid_t>> Pids(const std::string& id) = 0;
  // The container's cgroup statistics as a serialized
  // io.containerd.cgroups.v1.Metrics.
  virtual absl::StatusOr<std::string> Metrics(const std::string& id) = 0;
  // "peapod" (in-process) or the binary's name, for messages.
  virtual std::string name() const = 0;
};

}  // namespace peapod::shim
