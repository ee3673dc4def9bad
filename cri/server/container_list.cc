#include "cri/server/handlers.h"
#include "cri/server/translate.h"

namespace peapod::cri {

absl::Status HandleListContainers(Daemon& d, const ::runtime::v1::ListContainersRequest& req,
                                  ::runtime::v1::ListContainersResponse& resp) {
  for (const ContainerRecord& c : d.containers->List()) {
    if (ContainerMatches(c, req.filter())) ContainerToProto(c, *resp.add_containers());
  }
  return absl::OkStatus();
}

}  // namespace peapod::cri
