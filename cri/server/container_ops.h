// One container's life, shared by the container RPC handlers and the pod
// handlers (StopPodSandbox / RemovePodSandbox stop and remove every
// container of the pod through these) and by restart recovery.
//
// Where a container lives:
//   <root>/containers/<id>.json         its record (ContainerStore)
//   <state_dir>/containers/<id>/        its bundle: config.json, exec fifos
//   <root>/containers/<id>/{rootfs,...} its overlay root (ImageStore::Mount)
//   the pod's shim                      its processes, exit status, CRI log
//
// State comes from the shim: a record says CREATED/RUNNING only until an
// exit is observed (Refresh), which records exit code, reason and finish time
// once. peapodd is never the container's parent.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cri/server/daemon.h"
#include "cri/server/signal_name.h"
#include "cri/shimclient/shim_client.h"
#include "cri/store/records.h"
#include "oci/spec/spec.h"

namespace peapod::cri {

// The bundle directory of a container: <state_dir>/containers/<id>.
std::string ContainerBundleDir(const Daemon& d, const std::string& id);

// The stdin fifo of a container created with stdin: <bundle>/stdin.
std::string ContainerStdinPath(const Daemon& d, const std::string& id);

// The annotation in a container's config.json holding its stop signal
// (a number), taken from the image's StopSignal at create time.
inline constexpr char kStopSignalAnnotation[] = "peapod.io/stop-signal";

// A client of the shim serving pod `pod_id`; Unavailable if the pod has no
// shim address or the shim is gone, NotFound if the pod is unknown.
absl::StatusOr<std::unique_ptr<ShimClient>> ConnectPodShim(Daemon& d, const std::string& pod_id);

// RefreshContainer, then FailedPrecondition unless the container runs: what
// ExecSync, Exec, Attach and their streaming sessions need.
absl::StatusOr<ContainerRecord> RunningContainer(Daemon& d, const std::string& id);

// The process an exec in container `c` runs: the container's own (user,
// env, capabilities, cwd) with `cmd`, with or without a terminal.
absl::StatusOr<oci::Process> ContainerExecProcess(Daemon& d, const ContainerRecord& c,
                                                  const std::vector<std::string>& cmd, bool tty);

// What Exec and Attach check and start from: one of the streams asked
// for, not a terminal with stderr (a terminal has one output), a running
// container (*record), a streaming server.
absl::StatusOr<stream::ExecRequest> NewStreamRequest(Daemon& d, const std::string& container_id,
                                                     bool in, bool out, bool err, bool tty,
                                                     ContainerRecord* record);

// Brings a container's record up to date with its shim: a CREATED/RUNNING
// container whose process ended becomes EXITED with exit code, reason
// (Completed, Error, OOMKilled) and finish time, persisted. A container whose
// shim is unreachable reads UNKNOWN (not persisted). Returns the record.
// While another RPC holds the container's lock, returns the record as it is:
// that RPC brings it up to date.
absl::StatusOr<ContainerRecord> RefreshContainer(Daemon& d, const std::string& id);

// A container's lock, held, and its record refreshed under it: for the RPCs
// that change a container (start, stop, remove, update, reopen log).
struct LockedContainer {
  ObjectLocks::Held lock;
  ContainerRecord record;
};
absl::StatusOr<LockedContainer> LockContainer(Daemon& d, const std::string& id_or_prefix);

// Stops a container: its stop signal (SIGTERM unless the image says
// otherwise), then SIGKILL to every process of it once `timeout_s` seconds
// pass (0 = SIGKILL at once). Idempotent: stopping an exited container is OK.
absl::Status StopOneContainer(Daemon& d, const std::string& id, int64_t timeout_s);

// Removes a container completely: force-stops it, deletes it from its shim,
// unmounts its rootfs, removes its bundle and its record. An unknown id is
// OK (idempotent); a container whose shim is gone is still cleaned up.
absl::Status RemoveOneContainer(Daemon& d, const std::string& id);

// At startup, before serving: re-reads every container's state from its
// shim (Refresh), and removes what a CreateContainer killed half-way left
// behind without a record (bundle, rootfs mount, shim task).
absl::Status RecoverContainers(Daemon& d);

}  // namespace peapod::cri
