// Exec: a URL on the streaming server for one exec in a running container
// (kubectl exec, crictl exec). The command runs once the client connects
// (stream_runtime.cc); the URL is single-use and expires after a minute.
#include "cri/server/container_ops.h"
#include "cri/server/handlers.h"
#include "cri/util/str.h"

namespace peapod::cri {

absl::Status HandleExec(Daemon& d, const ::runtime::v1::ExecRequest& req,
                        ::runtime::v1::ExecResponse& resp) {
  if (req.cmd().empty()) return absl::InvalidArgumentError("cmd must not be empty");
  if (!req.stdin() && !req.stdout() && !req.stderr()) {
    return absl::InvalidArgumentError("one of stdin, stdout and stderr must be true");
  }
  if (req.tty() && req.stderr()) {
    // A terminal has one output: the client reads it as stdout.
    return absl::InvalidArgumentError("tty and stderr cannot both be true");
  }
  absl::StatusOr<ContainerRecord> c = RefreshContainer(d, req.container_id());
  if (!c.ok()) return c.status();
  if (c->state != ContainerState::kRunning) {
    return absl::FailedPreconditionError(Cat("container ", c->id, " is not running"));
  }
  if (d.streams == nullptr) return absl::UnavailableError("the streaming server is not running");
  stream::ExecRequest r;
  r.container_id = c->id;
  r.cmd.assign(req.cmd().begin(), req.cmd().end());
  r.tty = req.tty();
  r.stdin = req.stdin();
  r.stdout = req.stdout();
  r.stderr = req.stderr();
  absl::StatusOr<std::string> url = d.streams->ExecUrl(std::move(r));
  if (!url.ok()) return url.status();
  resp.set_url(*url);
  return absl::OkStatus();
}

}  // namespace peapod::cri
