#include "cri/server/handlers.h"
#include "cri/server/translate.h"

namespace peapod::cri {

absl::Status HandleListPodSandbox(Daemon& d, const ::runtime::v1::ListPodSandboxRequest& req,
                                  ::runtime::v1::ListPodSandboxResponse& resp) {
  for (const PodRecord& p : d.pods->List()) {
    if (PodMatches(p, req.filter())) PodToProto(p, *resp.add_items());
  }
  return absl::OkStatus();
}

}  // namespace peapod::cri
