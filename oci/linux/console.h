// The container's terminal: a pty made from the container's own
// /dev/pts/ptmx, its slave as the process's stdio and controlling tty, and
// its master sent to the caller's --console-socket (SCM_RIGHTS), as runc.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "oci/linux/unique_fd.h"
#include "oci/spec/spec.h"

namespace peapod::linux {

// Connects to a unix socket path (the console socket).
absl::StatusOr<UniqueFd> ConnectUnix(const std::string& path);

// Opens /dev/ptmx (of the current root), unlocks it, sizes it, sends the
// master over `socket_fd`, and makes the slave fds 0-2 and the controlling
// terminal (new session).
absl::Status SetupConsole(int socket_fd, const std::optional<oci::ConsoleSize>& size);

// Sends one fd with a name over a unix socket (SCM_RIGHTS).
absl::Status SendFd(int socket_fd, int fd, const std::string& name);
// Receives one fd sent by SendFd (tests, the shim).
absl::StatusOr<UniqueFd> ReceiveFd(int socket_fd);

}  // namespace peapod::linux
