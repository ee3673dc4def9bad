// Claiming the CRI socket path: one peapodd per socket. The claim is an
// flock on "<socket>.lock" held for the daemon's life (the kernel drops it
// if peapodd dies, even by SIGKILL), so a leftover socket file is known to be
// stale and is removed, while a live peapodd makes the second one refuse.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace peapod::cri {

class SocketClaim {
 public:
  // Prepares the socket's directory (created 0700; an existing one must not
  // be accessible to group or others), takes the lock, and removes a stale
  // socket. FailedPrecondition if another peapodd holds the socket.
  static absl::StatusOr<SocketClaim> Acquire(const std::string& socket_path);

  SocketClaim(SocketClaim&& other) noexcept;
  SocketClaim& operator=(SocketClaim&&) = delete;
  ~SocketClaim();  // Releases the lock; the socket file is left to the caller.

  // Sets the socket's mode to 0660 once the server listens on it.
  absl::Status RestrictSocket() const;
  // Removes the socket file (at shutdown).
  void RemoveSocket() const;

 private:
  SocketClaim(std::string path, int lock_fd) : path_(std::move(path)), lock_fd_(lock_fd) {}

  std::string path_;
  int lock_fd_ = -1;
};

}  // namespace peapod::cri
