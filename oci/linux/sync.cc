// The launcher's parent/child messages over a SOCK_SEQPACKET socketpair.
#include "oci/linux/sync.h"

#include <sys/socket.h>

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "oci/linux/errno_status.h"

namespace peapod::linux {
namespace {

struct Header {
  uint32_t type;
  int32_t code;
  int64_t value;
};

constexpr size_t kMaxText = 60 * 1024;

}  // namespace

const char* SyncTypeName(SyncType type) {
  switch (type) {
    case SyncType::kEof:
      return "kEof";
    case SyncType::kChildPid:
      return "kChildPid";
    case SyncType::kGo:
      return "kGo";
    case SyncType::kRuntimeHooks:
      return "kRuntimeHooks";
    case SyncType::kHooksDone:
      return "kHooksDone";
    case SyncType::kReady:
      return "kReady";
    case SyncType::kError:
      return "kError";
    case SyncType::kAbort:
      return "kAbort";
    case SyncType::kCgroupFd:
      return "kCgroupFd";
  }
  return "unknown";
}

absl::StatusOr<std::pair<SyncChannel, SyncChannel>> SyncChannel::Pair() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return ErrnoStatus("socketpair");
  }
  return std::make_pair(SyncChannel(UniqueFd(sv[0])), SyncChannel(UniqueFd(sv[1])));
}

absl::Status SyncChannel::Send(SyncType type, int64_t value, absl::string_view text, int fd) {
  if (text.size() > kMaxText) text = text.substr(0, kMaxText);
  Header h{static_cast<uint32_t>(type), 0, value};
  std::string buf(reinterpret_cast<const char*>(&h), sizeof h);
  buf.append(text.data(), text.size());
  struct iovec iov = {buf.data(), buf.size()};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  }
  ssize_t n;
  do {
    n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoStatus(absl::StrCat("sync: send ", SyncTypeName(type)));
  return absl::OkStatus();
}

absl::Status SyncChannel::SendError(const absl::Status& status) {
  Header h{static_cast<uint32_t>(SyncType::kError), static_cast<int32_t>(status.code()), 0};
  std::string buf(reinterpret_cast<const char*>(&h), sizeof h);
  absl::string_view m = status.message().substr(0, kMaxText);
  buf.append(m.data(), m.size());
  if (::send(fd_.get(), buf.data(), buf.size(), MSG_NOSIGNAL) < 0) {
    return ErrnoStatus("sync: send kError");
  }
  return absl::OkStatus();
}

absl::StatusOr<SyncMessage> SyncChannel::Receive() {
  std::vector<char> buf(sizeof(Header) + kMaxText);
  struct iovec iov = {buf.data(), buf.size()};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(fd_.get(), &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == ECONNRESET) return SyncMessage{};
    return ErrnoStatus("sync: receive");
  }
  SyncMessage out;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
      out.fd.Reset(fd);
    }
  }
  if (n == 0) return out;  // kEof
  if (static_cast<size_t>(n) < sizeof(Header)) {
    return absl::InternalError(absl::StrCat("sync: short message (", n, " bytes)"));
  }
  Header h;
  std::memcpy(&h, buf.data(), sizeof h);
  out.type = static_cast<SyncType>(h.type);
  out.value = h.value;
  out.code = static_cast<absl::StatusCode>(h.code);
  out.text.assign(buf.data() + sizeof h, n - sizeof h);
  return out;
}

absl::StatusOr<SyncMessage> SyncChannel::Expect(SyncType expected) {
  PEAPOD_ASSIGN_OR_RETURN(SyncMessage m, Receive());
  if (m.type == expected) return m;
  if (m.type == SyncType::kError) {
    absl::StatusCode code = m.code == absl::StatusCode::kOk ? absl::StatusCode::kInternal : m.code;
    return absl::Status(code, m.text);
  }
  if (m.type == SyncType::kAbort) return absl::AbortedError(m.text);
  if (m.type == SyncType::kEof) {
    return absl::InternalError(
        absl::StrCat("sync: peer exited while waiting for ", SyncTypeName(expected)));
  }
  return absl::InternalError(
      absl::StrCat("sync: expected ", SyncTypeName(expected), ", got ", SyncTypeName(m.type)));
}

}  // namespace peapod::linux
