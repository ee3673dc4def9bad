// Attach: a URL on the streaming server for a client of a running
// container's own stdio (kubectl attach, kubectl run -i): a copy of its
// output from then on, its stdin if it was created with stdin, its terminal
// size (stream_runtime.cc).
#include "cri/server/container_ops.h"
#include "cri/server/handlers.h"
#include "cri/util/str.h"

namespace peapod::cri {

absl::Status HandleAttach(Daemon& d, const ::runtime::v1::AttachRequest& req,
                          ::runtime::v1::AttachResponse& resp) {
  ContainerRecord c;
  absl::StatusOr<stream::ExecRequest> r = NewStreamRequest(
      d, req.container_id(), req.stdin(), req.stdout(), req.stderr(), req.tty(), &c);
  if (!r.ok()) return r.status();
  if (req.stdin() && !c.stdin) {
    return absl::InvalidArgumentError(
        Cat("container ", c.id, " was not created with stdin: nothing to attach stdin to"));
  }
  absl::StatusOr<std::string> url = d.streams->AttachUrl(*std::move(r));
  if (!url.ok()) return url.status();
  resp.set_url(*url);
  return absl::OkStatus();
}

}  // namespace peapod::cri
