#include "cri/server/handlers.h"
#include "cri/server/translate.h"
#include "oci/spec/json.h"

namespace peapod::cri {

absl::Status HandleContainerStatus(Daemon& d, const ::runtime::v1::ContainerStatusRequest& req,
                                   ::runtime::v1::ContainerStatusResponse& resp) {
  absl::StatusOr<ContainerRecord> c = d.containers->Get(req.container_id());
  if (!c.ok()) return c.status();
  ContainerToProto(*c, *resp.mutable_status());
  if (req.verbose()) {
    json::Value info{json::Object{}};
    info.Set("pid", c->pid);
    info.Set("sandboxID", c->pod_id);
    (*resp.mutable_info())["info"] = json::Write(info);
  }
  return absl::OkStatus();
}

}  // namespace peapod::cri
