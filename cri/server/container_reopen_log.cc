// ReopenContainerLog: the shim closes and reopens the container's CRI log
// (after the kubelet rotated it).
#include "cri/server/container_ops.h"
#include "cri/server/handlers.h"
#include "cri/util/str.h"

namespace peapod::cri {

absl::Status HandleReopenContainerLog(Daemon& d,
                                      const ::runtime::v1::ReopenContainerLogRequest& req,
                                      ::runtime::v1::ReopenContainerLogResponse&) {
  absl::StatusOr<LockedContainer> locked = LockContainer(d, req.container_id());
  if (!locked.ok()) return locked.status();
  std::optional<ContainerRecord> c = std::move(locked->record);
  if (c->state != ContainerState::kRunning) {
    return absl::FailedPreconditionError(Cat("container ", c->id, " is not running"));
  }
  if (c->log_path.empty()) {
    return absl::FailedPreconditionError(Cat("container ", c->id, " has no log file"));
  }
  absl::StatusOr<std::unique_ptr<ShimClient>> shim = ConnectPodShim(d, c->pod_id);
  if (!shim.ok()) return shim.status();
  return (*shim)->ReopenLog(c->id);
}

}  // namespace peapod::cri
