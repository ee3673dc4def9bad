#include "cri/server/container_ops.h"
#include "cri/server/handlers.h"
#include "cri/server/translate.h"
#include "cri/store/record_file.h"
#include "oci/spec/json.h"

namespace peapod::cri {

absl::Status HandleContainerStatus(Daemon& d, const ::runtime::v1::ContainerStatusRequest& req,
                                   ::runtime::v1::ContainerStatusResponse& resp) {
  absl::StatusOr<ContainerRecord> c = RefreshContainer(d, req.container_id());
  if (!c.ok()) return c.status();
  ContainerToProto(*c, *resp.mutable_status());
  if (req.verbose()) {
    json::Value info{json::Object{}};
    info.Set("pid", c->pid);
    info.Set("sandboxID", c->pod_id);
    std::string bundle = ContainerBundleDir(d, c->id);
    info.Set("bundle", bundle);
    if (absl::StatusOr<std::string> text = ReadSmallFile(bundle + "/config.json"); text.ok()) {
      if (absl::StatusOr<json::Value> spec = json::Parse(*text); spec.ok()) {
        info.Set("runtimeSpec", *std::move(spec));
      }
    }
    (*resp.mutable_info())["info"] = json::Write(info);
  }
  return absl::OkStatus();
}

}  // namespace peapod::cri
