// Fuzz target: any bytes a client can send the ttrpc server (containerd and
// peapodd talk to every shim through it). Each input is written on a new
// connection, which is then half-closed and read to its end; after it the
// server must still answer a well-formed call on a new connection. So no
// frame, however malformed (huge lengths, truncated headers, garbage
// protobuf, unknown services), may crash it, hang a connection past the
// client's end of stream, or take it out of service.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "shim/ttrpc/client.h"
#include "shim/ttrpc/server.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "server_fuzz: %s\n", what);
    std::abort();
  }
}

// The fixture's temp dir, removed at exit (the server itself is never
// destroyed: its threads may be mid-connection when the process ends).
char g_dir[] = "/tmp/peapod-ttrpc-fuzz-XXXXXX";

void RemoveDir() {
  unlink((std::string(g_dir) + "/s").c_str());
  rmdir(g_dir);
}

struct Fixture {
  std::string path;
  peapod::ttrpc::Server server;
  Fixture() {
    Check(mkdtemp(g_dir) != nullptr, "mkdtemp");
    std::atexit(RemoveDir);
    path = std::string(g_dir) + "/s";
    server.Register("fuzz.Echo", "Echo", [](std::string_view p) -> absl::StatusOr<std::string> {
      return std::string(p);
    });
    Check(server.Listen(path).ok(), "listen");
  }
};

Fixture& F() {
  static Fixture* f = new Fixture;  // lives for the process, as libFuzzer does
  return *f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Fixture& f = F();
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  Check(fd >= 0, "socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s", f.path.c_str());
  Check(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0, "connect");
  timeval tv{.tv_sec = 5, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (size_t off = 0; off < size;) {
    ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close on a bad frame
    off += static_cast<size_t>(n);
  }
  shutdown(fd, SHUT_WR);
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    Check(n >= 0 || errno != EAGAIN, "the server kept the connection open past end of stream");
    if (n <= 0) break;
  }
  close(fd);

  absl::StatusOr<std::unique_ptr<peapod::ttrpc::Client>> c = peapod::ttrpc::Client::Dial(f.path);
  Check(c.ok(), "dial after the input");
  absl::StatusOr<std::string> r = (*c)->Call("fuzz.Echo", "Echo", "ping", std::chrono::seconds(5));
  Check(r.ok() && *r == "ping", "no answer after the input");
  return 0;
}
