// peapodd's side of the streaming server (cri/stream/server.h): what an
// Exec or PortForward URL does once its client connects.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "cri/server/daemon.h"
#include "cri/stream/server.h"

namespace peapod::cri {

// Runs r.cmd in the running container r.container_id through its pod's
// shim, with the client's streams as stdin/stdout/stderr (a terminal if
// r.tty, sized from the resize stream). Returns the exit code; the process
// is killed if the client goes away first.
absl::StatusOr<int> RunStreamExec(Daemon& d, const stream::ExecRequest& r,
                                  const stream::ExecStreams& s);

// Connects the streams to the running container's own stdio: its output
// from now on (a copy; its CRI log goes on), its stdin fifo if it was
// created with stdin, its terminal size. Returns 0 once its output ends or
// the client goes; the container runs on.
absl::StatusOr<int> RunStreamAttach(Daemon& d, const stream::ExecRequest& r,
                                    const stream::ExecStreams& s);

// Connects `data` to localhost:port inside the pod's network namespace (the
// node's for a host-network pod) until either side ends.
absl::Status RunPortForward(Daemon& d, const std::string& pod_id, int port,
                            stream::SpdyStream& data);

}  // namespace peapod::cri
