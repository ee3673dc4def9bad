#include "cri/server/handlers.h"
#include "cri/server/pod_ops.h"
#include "cri/server/translate.h"

namespace peapod::cri {

absl::Status HandleListPodSandbox(Daemon& d, const ::runtime::v1::ListPodSandboxRequest& req,
                                  ::runtime::v1::ListPodSandboxResponse& resp) {
  for (const PodRecord& p : d.pods->List()) {
    // The id filter first: no shim is asked about pods that are not listed.
    if (!req.filter().id().empty() && !p.id.starts_with(req.filter().id())) continue;
    PodRecord now = RefreshPod(d, p);
    if (PodMatches(now, req.filter())) PodToProto(now, *resp.add_items());
  }
  return absl::OkStatus();
}

}  // namespace peapod::cri
