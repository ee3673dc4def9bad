#include "cri/server/handlers.h"
#include "cri/server/translate.h"
#include "cri/util/str.h"
#include "oci/spec/json.h"

namespace peapod::cri {

absl::Status HandlePodSandboxStatus(Daemon& d, const ::runtime::v1::PodSandboxStatusRequest& req,
                                    ::runtime::v1::PodSandboxStatusResponse& resp) {
  absl::StatusOr<PodRecord> pod = d.pods->Get(req.pod_sandbox_id());
  if (!pod.ok()) return pod.status();
  PodToProto(*pod, *resp.mutable_status());
  if (req.verbose()) {
    json::Value info{json::Object{}};
    info.Set("pid", pod->infra_pid);
    info.Set("netns", pod->netns_path);
    info.Set("shimAddress", pod->shim_address);
    info.Set("hostname", pod->hostname);
    (*resp.mutable_info())["info"] = json::Write(info);
  }
  return absl::OkStatus();
}

}  // namespace peapod::cri
