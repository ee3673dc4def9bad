// The parent/child handshake of the launcher: every message that crosses
// the socketpair between the launcher, its intermediate child and the
// container process is defined here (youki's message.rs).
//
// Transport: a SOCK_SEQPACKET socketpair, so one send is one message. A
// message is a fixed header {type, int value, code} followed by text; an
// fd may ride along as SCM_RIGHTS. EOF (the peer exited or exec'd with the
// socket CLOEXEC) is reported as kEof, never as an error.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "oci/linux/unique_fd.h"

namespace peapod::linux {

enum class SyncType : uint32_t {
  kEof = 0,           // peer closed the socket (exec'd or died)
  kChildPid = 1,      // intermediate → launcher: value = pid of the container process
  kGo = 2,            // launcher → child: cgroups joined, id maps written; continue
  kRuntimeHooks = 3,  // child → launcher: namespaces/mounts ready, run createRuntime hooks
  kHooksDone = 4,     // launcher → child: hooks ran; continue
  kReady = 5,         // child → launcher: set up, blocked before exec (value = pid)
  kError = 6,         // child → launcher: code + text of the failure
  kAbort = 7,         // launcher → child: give up (text says why)
  kCgroupFd = 8,      // launcher → init: a v1 `tasks` fd to join (SCM_RIGHTS), before kGo
};

// A name for logs and errors ("kGo").
const char* SyncTypeName(SyncType type);

struct SyncMessage {
  SyncType type = SyncType::kEof;
  int64_t value = 0;
  absl::StatusCode code = absl::StatusCode::kOk;
  std::string text;
  UniqueFd fd;  // received SCM_RIGHTS fd, if any
};

// One end of the socketpair.
class SyncChannel {
 public:
  SyncChannel() = default;
  explicit SyncChannel(UniqueFd fd) : fd_(std::move(fd)) {}

  // A connected pair (CLOEXEC on both ends).
  static absl::StatusOr<std::pair<SyncChannel, SyncChannel>> Pair();

  // Sends one message; `fd` (if >= 0) is passed with SCM_RIGHTS.
  absl::Status Send(SyncType type, int64_t value = 0, absl::string_view text = {}, int fd = -1);
  // Sends kError carrying a status's code and message.
  absl::Status SendError(const absl::Status& status);
  // Receives one message (kEof when the peer is gone).
  absl::StatusOr<SyncMessage> Receive();
  // Receives one message and checks its type. A kError turns into its
  // status; kEof or another type is an Internal error naming `expected`.
  absl::StatusOr<SyncMessage> Expect(SyncType expected);

  int fd() const { return fd_.get(); }
  UniqueFd& owned_fd() { return fd_; }
  void Close() { fd_.Reset(); }

 private:
  UniqueFd fd_;
};

}  // namespace peapod::linux
