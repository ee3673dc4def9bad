#include "cri/stream/spdy.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "cri/util/str.h"

namespace peapod::cri::stream {
namespace {

constexpr uint16_t kVersion = 3;
// A header block bigger than this once inflated is refused: the streaming
// protocols send a handful of short headers.
constexpr size_t kMaxHeaderBlock = 64 << 10;

uint32_t Get24(std::string_view b, size_t at) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(b[at])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(b[at + 1])) << 8) |
         static_cast<uint8_t>(b[at + 2]);
}

void Put24(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v >> 16));
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

}  // namespace

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void PutU32(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v >> 24));
  Put24(out, v);
}

uint32_t GetU32(std::string_view b, size_t at) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(b[at])) << 24) | Get24(b, at + 1);
}

std::string HeaderValue(const Headers& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (n.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < n.size() && same; ++i) same = tolower(n[i]) == tolower(name[i]);
    if (same) return v;
  }
  return "";
}

HeaderInflater::HeaderInflater() : z_(std::make_unique<z_stream>()) { inflateInit(z_.get()); }
HeaderInflater::~HeaderInflater() { inflateEnd(z_.get()); }

absl::StatusOr<Headers> HeaderInflater::Decode(std::string_view block) {
  std::string raw;
  z_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(block.data()));
  z_->avail_in = static_cast<uInt>(block.size());
  char out[4096];
  while (z_->avail_in > 0) {
    z_->next_out = reinterpret_cast<Bytef*>(out);
    z_->avail_out = sizeof out;
    int r = inflate(z_.get(), Z_SYNC_FLUSH);
    if (r == Z_NEED_DICT) {
      const std::string& d = SpdyDictionary();
      r = inflateSetDictionary(z_.get(), reinterpret_cast<const Bytef*>(d.data()),
                               static_cast<uInt>(d.size()));
      if (r != Z_OK) return absl::InvalidArgumentError("SPDY header block: wrong dictionary");
      continue;
    }
    if (r != Z_OK && r != Z_BUF_ERROR) {
      return absl::InvalidArgumentError(Cat("SPDY header block: zlib error ", r));
    }
    raw.append(out, sizeof out - z_->avail_out);
    if (raw.size() > kMaxHeaderBlock) {
      return absl::InvalidArgumentError("SPDY header block: over 64 KiB");
    }
    if (r == Z_BUF_ERROR && z_->avail_out != 0) break;  // no progress possible
  }
  // Drain what inflate still holds.
  for (;;) {
    z_->next_out = reinterpret_cast<Bytef*>(out);
    z_->avail_out = sizeof out;
    int r = inflate(z_.get(), Z_SYNC_FLUSH);
    raw.append(out, sizeof out - z_->avail_out);
    if (raw.size() > kMaxHeaderBlock) {
      return absl::InvalidArgumentError("SPDY header block: over 64 KiB");
    }
    if (r != Z_OK || z_->avail_out != 0) break;
  }
  Headers h;
  auto bad = [] { return absl::InvalidArgumentError("SPDY header block: truncated"); };
  if (raw.size() < 4) return bad();
  uint32_t count = GetU32(raw, 0);
  size_t at = 4;
  if (count > raw.size() / 8) return bad();
  for (uint32_t i = 0; i < count; ++i) {
    std::string parts[2];
    for (std::string& part : parts) {
      if (raw.size() - at < 4) return bad();
      uint32_t n = GetU32(raw, at);
      at += 4;
      if (raw.size() - at < n) return bad();
      part = raw.substr(at, n);
      at += n;
    }
    if (parts[0].empty()) return absl::InvalidArgumentError("SPDY header block: empty name");
    h.emplace_back(std::move(parts[0]), std::move(parts[1]));
  }
  return h;
}

HeaderDeflater::HeaderDeflater() : z_(std::make_unique<z_stream>()) {
  deflateInit(z_.get(), Z_DEFAULT_COMPRESSION);
  const std::string& d = SpdyDictionary();
  deflateSetDictionary(z_.get(), reinterpret_cast<const Bytef*>(d.data()),
                       static_cast<uInt>(d.size()));
}
HeaderDeflater::~HeaderDeflater() { deflateEnd(z_.get()); }

std::string HeaderDeflater::Encode(const Headers& headers) {
  std::string raw;
  PutU32(&raw, static_cast<uint32_t>(headers.size()));
  for (const auto& [n, v] : headers) {
    PutU32(&raw, static_cast<uint32_t>(n.size()));
    raw += n;
    PutU32(&raw, static_cast<uint32_t>(v.size()));
    raw += v;
  }
  std::string out;
  z_->next_in = reinterpret_cast<Bytef*>(raw.data());
  z_->avail_in = static_cast<uInt>(raw.size());
  char buf[4096];
  do {
    z_->next_out = reinterpret_cast<Bytef*>(buf);
    z_->avail_out = sizeof buf;
    deflate(z_.get(), Z_SYNC_FLUSH);
    out.append(buf, sizeof buf - z_->avail_out);
  } while (z_->avail_out == 0);
  return out;
}

absl::StatusOr<size_t> ParseFrame(std::string_view buf, Frame* out) {
  if (buf.size() < 8) return 0;
  uint32_t length = Get24(buf, 5);
  if (length > kMaxFramePayload) {
    return absl::InvalidArgumentError(Cat("SPDY frame of ", length, " bytes"));
  }
  if (buf.size() < 8 + length) return 0;
  Frame f;
  f.control = (static_cast<uint8_t>(buf[0]) & 0x80) != 0;
  if (f.control) {
    f.version = static_cast<uint16_t>(((static_cast<uint8_t>(buf[0]) & 0x7f) << 8) |
                                      static_cast<uint8_t>(buf[1]));
    f.type =
        static_cast<uint16_t>((static_cast<uint8_t>(buf[2]) << 8) | static_cast<uint8_t>(buf[3]));
  } else {
    f.stream_id = GetU32(buf, 0) & 0x7fffffff;
  }
  f.flags = static_cast<uint8_t>(buf[4]);
  f.payload.assign(buf.substr(8, length));
  *out = std::move(f);
  return 8 + length;
}

std::string ControlFrame(uint16_t type, uint8_t flags, std::string_view payload) {
  std::string f;
  f.push_back(static_cast<char>(0x80 | (kVersion >> 8)));
  f.push_back(static_cast<char>(kVersion & 0xff));
  f.push_back(static_cast<char>(type >> 8));
  f.push_back(static_cast<char>(type & 0xff));
  f.push_back(static_cast<char>(flags));
  Put24(&f, static_cast<uint32_t>(payload.size()));
  f += payload;
  return f;
}

std::string DataFrame(uint32_t stream_id, uint8_t flags, std::string_view payload) {
  std::string f;
  PutU32(&f, stream_id & 0x7fffffff);
  f.push_back(static_cast<char>(flags));
  Put24(&f, static_cast<uint32_t>(payload.size()));
  f += payload;
  return f;
}

// --- SpdyStream

std::string SpdyStream::Read() {
  std::string data;
  bool ended;
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !in_.empty() || remote_done_; });
    if (in_.empty()) return "";
    data = std::move(in_.front());
    in_.pop_front();
    buffered_ -= data.size();
    ended = remote_done_;
  }
  cv_.notify_all();  // a Deliver waiting for room
  // The peer may send as much again: what we took is out of its windows.
  if (!ended && session_->peer_flow_control_) {
    std::string frames;  // the stream's and the session's, in one write
    for (uint32_t stream : {id_, 0u}) {
      std::string p;
      PutU32(&p, stream);
      PutU32(&p, static_cast<uint32_t>(data.size()));
      frames += ControlFrame(kWindowUpdate, 0, p);
    }
    (void)session_->Send(frames);
  }
  return data;
}

absl::Status SpdyStream::Write(std::string_view data) {
  {
    std::lock_guard lock(mu_);
    if (local_done_) return absl::FailedPreconditionError(Cat("stream ", id_, " is closed"));
  }
  // client-go writes and reads 32 KiB at a time; stay at that size.
  constexpr size_t kChunk = 32 << 10;
  while (!data.empty()) {
    size_t n = std::min(data.size(), kChunk);
    if (absl::Status s = session_->Send(DataFrame(id_, 0, data.substr(0, n))); !s.ok()) return s;
    data.remove_prefix(n);
  }
  return absl::OkStatus();
}

absl::Status SpdyStream::CloseWrite() {
  {
    std::lock_guard lock(mu_);
    if (local_done_) return absl::OkStatus();
    local_done_ = true;
  }
  absl::Status s = session_->Send(DataFrame(id_, kFlagFin, ""));
  ForgetIfClosed();
  return s;
}

void SpdyStream::ForgetIfClosed() {
  if (closed()) session_->Forget(id_);
}

void SpdyStream::Reset() {
  {
    std::lock_guard lock(mu_);
    local_done_ = remote_done_ = true;
  }
  cv_.notify_all();
  std::string p;
  PutU32(&p, id_);
  PutU32(&p, kCancel);
  (void)session_->Send(ControlFrame(kRstStream, 0, p));
  ForgetIfClosed();
}

// A peer that ignores flow control (client-go's spdystream does) is held
// back by TCP instead: the reader waits while 4 MiB are unread.
void SpdyStream::Deliver(std::string data, bool fin) {
  constexpr size_t kMaxBuffered = 4 << 20;
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return buffered_ < kMaxBuffered || remote_done_; });
    if (remote_done_) return;
    buffered_ += data.size();
    if (!data.empty()) in_.push_back(std::move(data));
    if (fin) remote_done_ = true;
  }
  cv_.notify_all();
  if (fin) ForgetIfClosed();
}

bool SpdyStream::closed() {
  std::lock_guard lock(mu_);
  return remote_done_ && local_done_;
}

void SpdyStream::StopReads() {
  {
    std::lock_guard lock(mu_);
    remote_done_ = true;
    in_.clear();
    buffered_ = 0;
  }
  cv_.notify_all();
}

void SpdyStream::End() {
  {
    std::lock_guard lock(mu_);
    remote_done_ = local_done_ = true;
  }
  cv_.notify_all();
  ForgetIfClosed();
}

// --- SpdySession

SpdySession::SpdySession(images::UniqueFd fd, std::string pending)
    : fd_(std::move(fd)), buf_(std::move(pending)) {}

SpdySession::~SpdySession() {
  Close();
  if (reader_.joinable()) reader_.join();
}

void SpdySession::Start() {
  reader_ = std::thread([this] { ReadLoop(); });
}

std::shared_ptr<SpdyStream> SpdySession::NextStream(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return !new_streams_.empty() || done_; });
  if (new_streams_.empty()) return nullptr;
  std::shared_ptr<SpdyStream> s = std::move(new_streams_.front());
  new_streams_.pop_front();
  return s;
}

bool SpdySession::done() const {
  std::lock_guard lock(mu_);
  return done_;
}

void SpdySession::Close() {
  {
    std::lock_guard lock(mu_);
    if (done_) {
      shutdown(fd_.get(), SHUT_RDWR);
      return;
    }
  }
  std::string p;
  {
    std::lock_guard lock(mu_);
    PutU32(&p, last_stream_);
  }
  PutU32(&p, 0);  // OK
  (void)Send(ControlFrame(kGoAway, 0, p));
  shutdown(fd_.get(), SHUT_RDWR);  // the reader sees EOF and finishes
  Finish();
}

void SpdySession::CloseGracefully(std::chrono::milliseconds linger) {
  if (!done()) {
    std::string p;
    {
      std::lock_guard lock(mu_);
      PutU32(&p, last_stream_);
    }
    PutU32(&p, 0);
    (void)Send(ControlFrame(kGoAway, 0, p));
    shutdown(fd_.get(), SHUT_WR);
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, linger, [&] { return done_; });
  }
  shutdown(fd_.get(), SHUT_RDWR);
  Finish();
}

absl::Status SpdySession::Send(const std::string& frame) {
  std::lock_guard lock(write_mu_);
  if (!SendAll(fd_.get(), frame)) {
    return absl::UnavailableError("the streaming connection is closed");
  }
  return absl::OkStatus();
}

void SpdySession::Forget(uint32_t id) {
  std::lock_guard lock(mu_);
  streams_.erase(id);
}

void SpdySession::Finish() {
  std::map<uint32_t, std::shared_ptr<SpdyStream>> streams;
  {
    std::lock_guard lock(mu_);
    done_ = true;
    streams = streams_;
  }
  cv_.notify_all();
  for (auto& [id, s] : streams) s->End();
}

void SpdySession::ReadLoop() {
  char chunk[65536];
  for (;;) {
    Frame f;
    absl::StatusOr<size_t> used = ParseFrame(buf_, &f);
    if (!used.ok()) break;
    if (*used > 0) {
      buf_.erase(0, *used);
      if (!Handle(f).ok()) break;
      continue;
    }
    ssize_t n = read(fd_.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf_.append(chunk, static_cast<size_t>(n));
  }
  Finish();
}

absl::Status SpdySession::Handle(Frame& f) {
  if (!f.control) {
    std::shared_ptr<SpdyStream> s;
    {
      std::lock_guard lock(mu_);
      auto it = streams_.find(f.stream_id);
      if (it != streams_.end()) s = it->second;
    }
    if (s == nullptr) {
      std::string p;
      PutU32(&p, f.stream_id);
      PutU32(&p, kInvalidStream);
      return Send(ControlFrame(kRstStream, 0, p));
    }
    s->Deliver(std::move(f.payload), (f.flags & kFlagFin) != 0);
    return absl::OkStatus();
  }
  if (f.version != kVersion) {
    return absl::InvalidArgumentError(Cat("SPDY version ", f.version));
  }
  switch (f.type) {
    case kSynStream: {
      if (f.payload.size() < 10) return absl::InvalidArgumentError("short SYN_STREAM");
      uint32_t id = GetU32(f.payload, 0) & 0x7fffffff;
      absl::StatusOr<Headers> h = inflater_.Decode(std::string_view(f.payload).substr(10));
      if (!h.ok()) return h.status();  // the compression state is lost: the connection is done
      std::shared_ptr<SpdyStream> s(new SpdyStream(this, id, *std::move(h)));
      uint32_t refusal = 0;
      {
        std::lock_guard lock(mu_);
        if (id % 2 == 0 || id <= last_stream_) {
          refusal = kProtocolError;  // client streams are odd and increasing
        } else if (streams_.size() >= SpdySession::kMaxStreams) {
          refusal = kRefusedStream;
          last_stream_ = id;
        } else {
          last_stream_ = id;
          streams_[id] = s;
        }
      }
      if (refusal != 0) {
        std::string p;
        PutU32(&p, id);
        PutU32(&p, refusal);
        return Send(ControlFrame(kRstStream, 0, p));
      }
      if (f.flags & kFlagFin) s->Deliver("", true);
      std::string p;
      PutU32(&p, id);
      {
        std::lock_guard lock(write_mu_);
        p += deflater_.Encode({});
        if (!SendAll(fd_.get(), ControlFrame(kSynReply, 0, p))) {
          return absl::UnavailableError("the streaming connection is closed");
        }
      }
      {
        std::lock_guard lock(mu_);
        new_streams_.push_back(std::move(s));
      }
      cv_.notify_all();
      return absl::OkStatus();
    }
    case kRstStream: {
      if (f.payload.size() < 8) return absl::InvalidArgumentError("short RST_STREAM");
      uint32_t id = GetU32(f.payload, 0) & 0x7fffffff;
      std::shared_ptr<SpdyStream> s;
      {
        std::lock_guard lock(mu_);
        auto it = streams_.find(id);
        if (it != streams_.end()) s = it->second;
      }
      if (s != nullptr) s->End();
      return absl::OkStatus();
    }
    case kPing:
      if (f.payload.size() < 4) return absl::InvalidArgumentError("short PING");
      return Send(ControlFrame(kPing, 0, f.payload.substr(0, 4)));
    case kGoAway:
      return absl::CancelledError("GOAWAY");
    case kHeaders:
      // Its block still moves the decompression state on.
      if (f.payload.size() < 4) return absl::InvalidArgumentError("short HEADERS");
      return inflater_.Decode(std::string_view(f.payload).substr(4)).status();
    case kSettings:
    case kWindowUpdate:
      // Our sends ignore the peer's windows (so does spdystream, and
      // spdy-transport tolerates it); that it has them is what counts.
      peer_flow_control_ = true;
      return absl::OkStatus();
    default:
      return absl::OkStatus();
  }
}

}  // namespace peapod::cri::stream
