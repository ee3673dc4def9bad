#include "cri/server/handlers.h"
#include "cri/server/pod_network.h"
#include "cri/server/pod_ops.h"
#include "cri/server/translate.h"
#include "cri/util/str.h"
#include "oci/spec/json.h"

namespace peapod::cri {

absl::Status HandlePodSandboxStatus(Daemon& d, const ::runtime::v1::PodSandboxStatusRequest& req,
                                    ::runtime::v1::PodSandboxStatusResponse& resp) {
  absl::StatusOr<PodRecord> got = d.pods->Get(req.pod_sandbox_id());
  if (!got.ok()) return got.status();
  PodRecord pod = RefreshPod(d, *got);
  PodToProto(pod, *resp.mutable_status());
  if (req.verbose()) {
    // As containerd's: what a human debugging the pod wants to see.
    json::Value info{json::Object{}};
    info.Set("pid", pod.infra_pid);
    info.Set("netns", pod.netns_path);
    info.Set("shimAddress", PodShimAddress(d, pod));
    info.Set("hostname", pod.hostname);
    info.Set("runtimeHandler", pod.runtime_handler);
    info.Set("podDir", PodDir(d, pod.id));
    info.Set("name", RecordName(pod));
    // CNI CHECK, run when asked for (verbose status) and at peapodd's start.
    if (pod.state == PodState::kReady) {
      absl::Status check = CheckPodNetwork(d, pod);
      info.Set("networkCheck", check.ok()                     ? std::string("ok")
                               : absl::IsUnimplemented(check) ? Cat("skipped: ", check.message())
                                                              : check.ToString());
    }
    absl::StatusOr<json::Value> spec = json::ParseFile(PodDir(d, pod.id) + "/config.json");
    if (spec.ok()) info.Set("runtimeSpec", *std::move(spec));
    (*resp.mutable_info())["info"] = json::Write(info);
  }
  return absl::OkStatus();
}

}  // namespace peapod::cri
