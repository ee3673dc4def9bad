#include "shim/ttrpc/frame.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace peapod::ttrpc {
namespace {

uint32_t LoadBe32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

void StoreBe32(uint32_t v, uint8_t* p) {
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

// Waits until fd is readable; Cancelled if stop_fd becomes readable first.
absl::Status WaitReadable(int fd, int stop_fd) {
  pollfd fds[2] = {{fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
  const nfds_t n = stop_fd >= 0 ? 2 : 1;
  for (;;) {
    int r = ::poll(fds, n, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return absl::UnavailableError(absl::StrCat("poll: ", strerror(errno)));
    if (n == 2 && fds[1].revents != 0) return absl::CancelledError("connection stopped");
    return absl::OkStatus();
  }
}

// Reads exactly n bytes. *got tells how many arrived before an error.
absl::Status ReadFull(int fd, int stop_fd, char* buf, size_t n, size_t* got) {
  *got = 0;
  while (*got < n) {
    if (absl::Status s = WaitReadable(fd, stop_fd); !s.ok()) return s;
    ssize_t r = ::read(fd, buf + *got, n - *got);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r < 0) return absl::UnavailableError(absl::StrCat("read: ", strerror(errno)));
    if (r == 0) return absl::OutOfRangeError("end of stream");
    *got += r;
  }
  return absl::OkStatus();
}

}  // namespace

void EncodeHeader(const FrameHeader& h, uint8_t out[kHeaderSize]) {
  StoreBe32(h.length, out);
  StoreBe32(h.stream_id, out + 4);
  out[8] = h.type;
  out[9] = h.flags;
}

FrameHeader DecodeHeader(const uint8_t in[kHeaderSize]) {
  return FrameHeader{LoadBe32(in), LoadBe32(in + 4), in[8], in[9]};
}

absl::Status WriteFrame(int fd, uint32_t stream_id, uint8_t type, std::string_view payload) {
  if (payload.size() > kMaxMessage) {
    return absl::ResourceExhaustedError(
        absl::StrCat("message length ", payload.size(), " exceeds maximum ", kMaxMessage));
  }
  uint8_t header[kHeaderSize];
  EncodeHeader({static_cast<uint32_t>(payload.size()), stream_id, type, 0}, header);
  iovec iov[2] = {{header, kHeaderSize}, {const_cast<char*>(payload.data()), payload.size()}};
  size_t total = kHeaderSize + payload.size(), sent = 0;
  while (sent < total) {
    // Skip the iovec parts already written.
    iovec cur[2];
    int n = 0;
    size_t skip = sent;
    for (const iovec& v : iov) {
      if (skip >= v.iov_len) {
        skip -= v.iov_len;
        continue;
      }
      cur[n++] = {static_cast<char*>(v.iov_base) + skip, v.iov_len - skip};
      skip = 0;
    }
    msghdr msg{};
    msg.msg_iov = cur;
    msg.msg_iovlen = n;
    ssize_t w = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return absl::UnavailableError(absl::StrCat("send: ", strerror(errno)));
    sent += w;
  }
  return absl::OkStatus();
}

absl::Status ReadFrame(int fd, int stop_fd, Frame* out) {
  uint8_t header[kHeaderSize];
  size_t got = 0;
  absl::Status s = ReadFull(fd, stop_fd, reinterpret_cast<char*>(header), kHeaderSize, &got);
  if (absl::IsOutOfRange(s) && got > 0) return absl::DataLossError("truncated frame header");
  if (!s.ok()) return s;
  out->header = DecodeHeader(header);
  if (out->header.length > kMaxMessage) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "message length ", out->header.length, " exceeds maximum message size of ", kMaxMessage));
  }
  out->payload.resize(out->header.length);
  s = ReadFull(fd, stop_fd, out->payload.data(), out->header.length, &got);
  if (absl::IsOutOfRange(s)) return absl::DataLossError("truncated frame payload");
  return s;
}

}  // namespace peapod::ttrpc
