// SPDY/3.1, the server side of what the Kubernetes streaming protocols run
// on: kubectl and crictl (client-go's remotecommand and portforward) upgrade
// an HTTP connection to it and open one stream per stdio channel or port.
// Frames and header blocks follow SPDY protocol draft 3.1; flow control is
// kept only as far as client-go's SPDY library (spdystream) keeps it.
#pragma once

#include <stdint.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "cri/images/fs_util.h"

typedef struct z_stream_s z_stream;

namespace peapod::cri::stream {

// The zlib dictionary of SPDY/3 header blocks.
const std::string& SpdyDictionary();

// Name/value pairs; names are lowercase on the wire.
using Headers = std::vector<std::pair<std::string, std::string>>;
std::string HeaderValue(const Headers& headers, std::string_view name);

// One zlib context per direction of a connection, as SPDY requires: every
// header block continues the stream of the ones before it.
class HeaderInflater {
 public:
  HeaderInflater();
  ~HeaderInflater();
  HeaderInflater(const HeaderInflater&) = delete;
  HeaderInflater& operator=(const HeaderInflater&) = delete;
  // A compressed block to its pairs; InvalidArgument for anything malformed.
  absl::StatusOr<Headers> Decode(std::string_view block);

 private:
  std::unique_ptr<z_stream> z_;
};

class HeaderDeflater {
 public:
  HeaderDeflater();
  ~HeaderDeflater();
  HeaderDeflater(const HeaderDeflater&) = delete;
  HeaderDeflater& operator=(const HeaderDeflater&) = delete;
  std::string Encode(const Headers& headers);

 private:
  std::unique_ptr<z_stream> z_;
};

enum ControlType : uint16_t {
  kSynStream = 1,
  kSynReply = 2,
  kRstStream = 3,
  kSettings = 4,
  kPing = 6,
  kGoAway = 7,
  kHeaders = 8,
  kWindowUpdate = 9,
};
constexpr uint8_t kFlagFin = 0x01;
// RST_STREAM status codes.
constexpr uint32_t kProtocolError = 1;
constexpr uint32_t kInvalidStream = 2;
constexpr uint32_t kRefusedStream = 3;
constexpr uint32_t kCancel = 5;
// Frames are at most 2^24-1 bytes of payload; ours and what we accept stay
// far below (client-go writes 32 KiB at most).
constexpr size_t kMaxFramePayload = 1 << 20;

struct Frame {
  bool control = false;
  uint16_t version = 0;    // control frames: 3
  uint16_t type = 0;       // control frames: ControlType
  uint32_t stream_id = 0;  // data frames
  uint8_t flags = 0;
  std::string payload;
};

// Parses the frame at the start of buf: its size, 0 if buf holds only part
// of it, InvalidArgument if it is malformed or larger than kMaxFramePayload.
absl::StatusOr<size_t> ParseFrame(std::string_view buf, Frame* out);
std::string ControlFrame(uint16_t type, uint8_t flags, std::string_view payload);
std::string DataFrame(uint32_t stream_id, uint8_t flags, std::string_view payload);
void PutU32(std::string* out, uint32_t v);
// Sends all of data on a socket (no SIGPIPE); false once the peer is gone.
bool SendAll(int fd, std::string_view data);
uint32_t GetU32(std::string_view b, size_t at);

class SpdySession;

// A stream the peer opened. Thread-safe: one thread may read while others
// write.
class SpdyStream {
 public:
  uint32_t id() const { return id_; }
  const Headers& headers() const { return headers_; }
  std::string Header(std::string_view name) const { return HeaderValue(headers_, name); }
  // Data from the peer, blocking until some comes; "" once the peer has
  // finished its side (FIN), reset the stream, or the connection is gone.
  std::string Read();
  // Sends data; an error once the stream or the connection is closed.
  absl::Status Write(std::string_view data);
  // Finishes our side (FIN); later writes fail.
  absl::Status CloseWrite();
  // Abandons the stream (RST_STREAM CANCEL).
  void Reset();
  // Ends our reads without telling the peer: a blocked Read returns "".
  void StopReads();
  // True once nothing more can pass either way: both sides finished, a
  // reset, or the connection gone.
  bool closed();

 private:
  friend class SpdySession;
  SpdyStream(SpdySession* session, uint32_t id, Headers headers)
      : session_(session), id_(id), headers_(std::move(headers)) {}
  void Deliver(std::string data, bool fin);
  void End();  // reset or connection gone
  // Once closed, the session drops the stream (a long port-forward opens
  // a pair per connection).
  void ForgetIfClosed();

  SpdySession* session_;
  const uint32_t id_;
  const Headers headers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> in_;
  size_t buffered_ = 0;  // bytes in in_
  bool remote_done_ = false;
  bool local_done_ = false;
};

// One upgraded connection. The reader thread answers every SYN_STREAM with
// a SYN_REPLY, PINGs with PINGs, and queues streams for NextStream.
class SpdySession {
 public:
  // fd: the connection after the HTTP 101; `pending`: bytes read past the
  // request head (the peer's first frames).
  SpdySession(images::UniqueFd fd, std::string pending);
  // Closes the connection and waits for the reader thread.
  ~SpdySession();
  SpdySession(const SpdySession&) = delete;
  SpdySession& operator=(const SpdySession&) = delete;

  void Start();
  // Streams open at once at most; more are refused (RST_STREAM).
  static constexpr size_t kMaxStreams = 512;
  // The next stream the peer opened, or null once `timeout` passes or the
  // connection has ended.
  std::shared_ptr<SpdyStream> NextStream(std::chrono::milliseconds timeout);
  // GOAWAY, then the connection is shut down: reads end, writes fail.
  void Close();
  // GOAWAY and our FIN, then waits up to `linger` for the peer to close its
  // side (so it reads everything we sent), then Close.
  void CloseGracefully(std::chrono::milliseconds linger);
  // True once the peer has gone (EOF, GOAWAY, an error) or Close ran.
  bool done() const;

 private:
  friend class SpdyStream;
  absl::Status Send(const std::string& frame);
  void ReadLoop();
  absl::Status Handle(Frame& f);
  void Finish();
  void Forget(uint32_t id);

  images::UniqueFd fd_;
  std::string buf_;
  HeaderInflater inflater_;
  HeaderDeflater deflater_;  // under write_mu_
  std::mutex write_mu_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint32_t, std::shared_ptr<SpdyStream>> streams_;
  std::deque<std::shared_ptr<SpdyStream>> new_streams_;
  uint32_t last_stream_ = 0;
  bool done_ = false;
  // The peer keeps SPDY/3.1 flow control (it sent SETTINGS or a
  // WINDOW_UPDATE): it waits for our WINDOW_UPDATEs, per stream and for the
  // session (stream 0). client-go's spdystream sends neither and is sent
  // none, as Kubernetes' own streaming server does.
  std::atomic<bool> peer_flow_control_ = false;
  std::thread reader_;
};

}  // namespace peapod::cri::stream
