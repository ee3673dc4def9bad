// PortForward: a URL on the streaming server through which a client
// (kubectl port-forward, via the kubelet) reaches ports of a pod: each
// connection it opens becomes a TCP connection to localhost:<port> inside
// the pod's network namespace (stream_runtime.cc).
#include "cri/server/handlers.h"
#include "cri/util/str.h"

namespace peapod::cri {

absl::Status HandlePortForward(Daemon& d, const ::runtime::v1::PortForwardRequest& req,
                               ::runtime::v1::PortForwardResponse& resp) {
  for (int32_t port : req.port()) {
    if (port < 1 || port > 65535) {
      return absl::InvalidArgumentError(Cat("port ", port, " is not between 1 and 65535"));
    }
  }
  absl::StatusOr<PodRecord> pod = d.pods->Get(req.pod_sandbox_id());
  if (!pod.ok()) return pod.status();
  if (pod->state != PodState::kReady) {
    return absl::FailedPreconditionError(Cat("pod sandbox ", pod->id, " is not ready"));
  }
  if (d.streams == nullptr) return absl::UnavailableError("the streaming server is not running");
  absl::StatusOr<std::string> url = d.streams->PortForwardUrl(pod->id);
  if (!url.ok()) return url.status();
  resp.set_url(*url);
  return absl::OkStatus();
}

}  // namespace peapod::cri
