// Pod-level operations shared by the pod handlers (sandbox_*.cc) and
// restart recovery: where a pod lives on disk, its shim, stopping and
// removing its containers (through container_ops.h), the undo stack of
// multi-step RPCs.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "cri/server/daemon.h"
#include "cri/shimclient/shim_client.h"
#include "cri/store/records.h"

namespace peapod::cri {

// The pod's volatile directory, <state_dir>/pods/<id>: the infra bundle
// (config.json, rootfs/) and the shim's `address` file.
std::string PodDir(const Daemon& d, const std::string& pod_id);

// The pod's shim address: the record's, else the `address` file the shim
// wrote in the pod dir (a pod whose RunPodSandbox was cut short); "" if none.
std::string PodShimAddress(const Daemon& d, const PodRecord& pod);

// The pod's shim client; Unavailable if the pod has no shim or it is gone.
absl::StatusOr<std::unique_ptr<ShimClient>> PodShim(const Daemon& d, const PodRecord& pod);

// Stops every container of the pod through container_ops.h's
// StopOneContainer, with `timeout_s` (0 = SIGKILL at once). Every container
// is tried; the first error is returned.
absl::Status StopPodContainers(Daemon& d, const std::string& pod_id, int64_t timeout_s);

// Removes every container of the pod (RemoveOneContainer).
absl::Status RemovePodContainers(Daemon& d, const std::string& pod_id);

// Stops a pod (sandbox_stop.cc): every container SIGKILLed, the infra
// killed, the record NOTREADY. Idempotent; a pod whose shim is gone is
// cleaned through the shim's `delete` action.
absl::Status StopPod(Daemon& d, const PodRecord& pod);

// Removes a pod (sandbox_remove.cc): stops it, removes its containers, its
// infra task, its shim, its directory and its record. Idempotent.
absl::Status RemovePod(Daemon& d, const PodRecord& pod);

// StopPodSandbox and RemovePodSandbox's frame: resolves `raw_id` (an id or
// unique prefix), holds the pod's lock and runs `op` on its record as of
// holding it. A pod that is not there, or is gone by then, is OK (the CRI's
// Stop and Remove are idempotent); an error of `op` is prefixed with
// "<what> <id>: ".
absl::Status WithLockedPod(Daemon& d, const std::string& raw_id, std::string_view what,
                           absl::FunctionRef<absl::Status(Daemon&, const PodRecord&)> op);

// Brings a pod's state up to date with its shim: a READY pod whose shim or
// infra is gone becomes NOTREADY, persisted. Returns the record (unchanged
// while another RPC holds the pod's lock: that RPC updates it).
PodRecord RefreshPod(Daemon& d, PodRecord pod);

// At startup, before serving: every READY pod whose shim or infra is gone,
// or whose network fails CNI CHECK, becomes NOTREADY; half-built pods stay
// NOTREADY for Stop/Remove.
absl::Status RecoverPods(Daemon& d);

// Runs `<shim> -id <id> -bundle <bundle> delete`: the runtime state, cgroup
// and rootfs mount of a task whose shim is gone. NotFound-like outcomes are
// fine.
absl::Status ShimDeleteAction(Daemon& d, const std::string& id, const std::string& bundle);

// The shim options peapodd uses for every pod (binary, namespace, address,
// socket and runtime directories under state_dir).
ShimOptions PodShimOptions(const Daemon& d);

// A LIFO stack of described undo steps for a multi-step RPC. Unless
// dismissed, the destructor runs every step, newest first; a failed step is
// logged and never replaces the RPC's own error.
class Rollback {
 public:
  explicit Rollback(Logger& log) : log_(log) {}
  ~Rollback();
  Rollback(const Rollback&) = delete;
  Rollback& operator=(const Rollback&) = delete;

  // Adds an undo step.
  void Push(std::string what, std::function<absl::Status()> undo);
  // Keeps everything done so far (the RPC succeeded).
  void Dismiss() { steps_.clear(); }

 private:
  Logger& log_;
  std::vector<std::pair<std::string, std::function<absl::Status()>>> steps_;
};

// RunPodSandbox's failpoints (cri/util/failpoint.h; TEST ONLY: with
// PEAPOD_FAILPOINT=<name> peapodd SIGKILLs itself there), in step order.
inline constexpr const char* kRunPodFailpoints[] = {"runp:record",  "runp:bundle",  "runp:shim",
                                                    "runp:created", "runp:started", "runp:ready"};

}  // namespace peapod::cri
