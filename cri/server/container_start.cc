// StartContainer: the shim lets the created init exec its program.
#include <chrono>

#include "cri/server/container_hooks.h"
#include "cri/server/container_ops.h"
#include "cri/server/handlers.h"
#include "cri/util/str.h"

namespace peapod::cri {

absl::Status HandleStartContainer(Daemon& d, const ::runtime::v1::StartContainerRequest& req,
                                  ::runtime::v1::StartContainerResponse&) {
  absl::StatusOr<LockedContainer> locked = LockContainer(d, req.container_id());
  if (!locked.ok()) return locked.status();
  std::optional<ContainerRecord> c = std::move(locked->record);
  if (c->state != ContainerState::kCreated) {
    return absl::FailedPreconditionError(
        Cat("container ", c->id, " is not in the CREATED state and cannot start"));
  }
  absl::StatusOr<std::unique_ptr<ShimClient>> shim = ConnectPodShim(d, c->pod_id);
  if (!shim.ok()) return shim.status();
  absl::StatusOr<uint32_t> pid = (*shim)->Start(c->id);
  if (!pid.ok()) return pid.status();
  c->state = ContainerState::kRunning;
  c->pid = *pid;
  c->started_at = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  // In the run dir at once, on disk just after (RecordStore::UpdateSoon).
  if (absl::Status s = d.containers->UpdateSoon(*c); !s.ok()) return s;
  // The postStart hook, if any: StartContainer returns when it has run; a
  // failed hook kills the container and fails the call.
  return RunPostStartHook(d, *c);
}

}  // namespace peapod::cri
