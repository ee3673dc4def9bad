// Exec: a URL on the streaming server for one exec in a running container
// (kubectl exec, crictl exec). The command runs once the client connects
// (stream_runtime.cc); the URL is single-use and expires after a minute.
#include "cri/server/container_ops.h"
#include "cri/server/handlers.h"

namespace peapod::cri {

absl::Status HandleExec(Daemon& d, const ::runtime::v1::ExecRequest& req,
                        ::runtime::v1::ExecResponse& resp) {
  if (req.cmd().empty()) return absl::InvalidArgumentError("cmd must not be empty");
  ContainerRecord c;
  absl::StatusOr<stream::ExecRequest> r = NewStreamRequest(
      d, req.container_id(), req.stdin(), req.stdout(), req.stderr(), req.tty(), &c);
  if (!r.ok()) return r.status();
  r->cmd.assign(req.cmd().begin(), req.cmd().end());
  absl::StatusOr<std::string> url = d.streams->ExecUrl(*std::move(r));
  if (!url.ok()) return url.status();
  resp.set_url(*url);
  return absl::OkStatus();
}

}  // namespace peapod::cri
