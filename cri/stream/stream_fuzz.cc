// Fuzz target: what a streaming client sends peapodd, through each parser.
// - the HTTP request head: an accepted one has a method, a path starting
//   with "/" and no query, and lowercase header names;
// - a resize stream: every size delivered fits 16 bits;
// - a SPDY header block: an accepted one re-encodes and decodes the same;
// - the bytes as a whole SPDY connection: the session answers and ends when
//   the peer closes, whatever came before.
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <thread>

#include "cri/stream/server.h"
#include "cri/stream/spdy.h"

using namespace peapod::cri::stream;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (absl::StatusOr<HttpRequest> r = ParseRequestHead(in); r.ok()) {
    if (r->method.empty() || r->path.empty() || r->path[0] != '/' ||
        r->path.find('?') != std::string::npos) {
      std::abort();
    }
    for (const auto& [name, value] : r->headers) {
      for (char c : name) {
        if (c >= 'A' && c <= 'Z') std::abort();
      }
    }
  }
  ResizeReader sizes;
  sizes.Feed(in, [](uint32_t w, uint32_t h) {
    if (w > 0xffff || h > 0xffff) std::abort();
  });
  HeaderInflater inflater;
  if (absl::StatusOr<Headers> h = inflater.Decode(in); h.ok()) {
    HeaderDeflater out;
    HeaderInflater back;
    absl::StatusOr<Headers> again = back.Decode(out.Encode(*h));
    if (!again.ok() || *again != *h) std::abort();
  }
  // The session over a socketpair: the bytes, then the peer's close.
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return 0;
  peapod::images::UniqueFd peer(sv[0]);
  {
    SpdySession session{peapod::images::UniqueFd(sv[1]), ""};
    session.Start();
    // The session's answers are drained meanwhile, so it never blocks on a
    // full socket.
    std::thread drain([fd = peer.get()] {
      char buf[4096];
      while (read(fd, buf, sizeof buf) > 0) {
      }
    });
    (void)SendAll(peer.get(), in);
    shutdown(peer.get(), SHUT_WR);
    for (int i = 0; i < 1000 && !session.done(); ++i) {
      if (std::shared_ptr<SpdyStream> s = session.NextStream(std::chrono::milliseconds(1))) {
        (void)s->Write("x");
        s->Reset();
      }
    }
    if (!session.done()) std::abort();  // the peer's close must end it
    session.Close();
    drain.join();
  }
  return 0;
}
