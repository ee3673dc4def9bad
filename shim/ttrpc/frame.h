// ttrpc framing: every message is a 10-byte header (uint32 big-endian payload
// length, uint32 big-endian stream id, uint8 type, uint8 flags) followed by a
// protobuf payload of at most 4 MiB.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace peapod::ttrpc {

inline constexpr size_t kHeaderSize = 10;
inline constexpr uint32_t kMaxMessage = 4 << 20;
inline constexpr uint8_t kTypeRequest = 1;
inline constexpr uint8_t kTypeResponse = 2;

struct FrameHeader {
  uint32_t length = 0;
  uint32_t stream_id = 0;
  uint8_t type = 0;
  uint8_t flags = 0;
};

struct Frame {
  FrameHeader header;
  std::string payload;
};

// Encodes a header into its 10 wire bytes.
void EncodeHeader(const FrameHeader& h, uint8_t out[kHeaderSize]);
// Decodes 10 wire bytes into a header.
FrameHeader DecodeHeader(const uint8_t in[kHeaderSize]);

// Writes one frame (header + payload) completely; never raises SIGPIPE.
// Callers sharing a connection serialize calls themselves.
absl::Status WriteFrame(int fd, uint32_t stream_id, uint8_t type, std::string_view payload);

// Reads one frame. `stop_fd` (or -1) is polled alongside `fd`: once it is
// readable the read gives up with Cancelled. Errors:
//   OutOfRange        clean end of stream between frames
//   DataLoss          the peer closed mid-frame (truncated frame)
//   ResourceExhausted length over kMaxMessage; out->header is filled in so the
//                     caller can answer on that stream, the payload is unread
//   Cancelled         stop_fd fired
//   Unavailable       any other socket error (errno in the message)
absl::Status ReadFrame(int fd, int stop_fd, Frame* out);

}  // namespace peapod::ttrpc
