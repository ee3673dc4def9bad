// StopContainer: stop signal, then SIGKILL at the timeout (container_ops.cc).
#include "cri/server/container_ops.h"
#include "cri/server/handlers.h"

namespace peapod::cri {

absl::Status HandleStopContainer(Daemon& d, const ::runtime::v1::StopContainerRequest& req,
                                 ::runtime::v1::StopContainerResponse&) {
  if (req.timeout() < 0) return absl::InvalidArgumentError("timeout must not be negative");
  return StopOneContainer(d, req.container_id(), req.timeout());
}

}  // namespace peapod::cri
