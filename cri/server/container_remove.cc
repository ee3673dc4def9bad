// RemoveContainer: force-stop, shim Delete, rootfs, bundle and record
// (container_ops.cc). Removing an unknown container succeeds.
#include "cri/server/container_ops.h"
#include "cri/server/handlers.h"

namespace peapod::cri {

absl::Status HandleRemoveContainer(Daemon& d, const ::runtime::v1::RemoveContainerRequest& req,
                                   ::runtime::v1::RemoveContainerResponse&) {
  if (req.container_id().empty()) return absl::InvalidArgumentError("container_id is empty");
  absl::StatusOr<std::string> id = d.containers->Resolve(req.container_id());
  if (absl::IsNotFound(id.status())) return absl::OkStatus();
  if (!id.ok()) return id.status();
  return RemoveOneContainer(d, *id);
}

}  // namespace peapod::cri
