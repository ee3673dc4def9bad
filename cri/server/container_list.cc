#include "cri/server/container_ops.h"
#include "cri/server/handlers.h"
#include "cri/server/translate.h"

namespace peapod::cri {

absl::Status HandleListContainers(Daemon& d, const ::runtime::v1::ListContainersRequest& req,
                                  ::runtime::v1::ListContainersResponse& resp) {
  for (ContainerRecord c : d.containers->List()) {
    if (!req.filter().id().empty() && !c.id.starts_with(req.filter().id())) continue;
    // Live containers are asked for their state, so exits show up in lists.
    if (c.state != ContainerState::kExited) {
      absl::StatusOr<ContainerRecord> fresh = RefreshContainer(d, c.id);
      if (absl::IsNotFound(fresh.status())) continue;  // removed meanwhile
      if (fresh.ok()) c = *std::move(fresh);
    }
    if (ContainerMatches(c, req.filter())) ContainerToProto(c, *resp.add_containers());
  }
  return absl::OkStatus();
}

}  // namespace peapod::cri
