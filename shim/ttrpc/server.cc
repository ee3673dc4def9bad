#include "shim/ttrpc/server.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "shim/ttrpc/frame.h"
#include "shim/ttrpc/status.h"
#include "shim/ttrpc/ttrpc.pb.h"

namespace peapod::ttrpc {

// One accepted connection. Invariant: the fd stays open while any request
// thread holds the Conn, so a late response never goes to a reused fd.
struct Server::Conn {
  linux::UniqueFd fd;
  std::mutex write_mu;
};

namespace {

// Request threads (plus accept and connection threads) the server allows at once.
constexpr int kMaxInFlight = 512;

// Sends a Response frame carrying `result` on `stream_id`.
void Respond(int fd, std::mutex& mu, uint32_t stream_id,
             const absl::StatusOr<std::string>& result) {
  wire::Response resp;
  if (result.ok()) {
    resp.set_payload(*result);
  } else {
    StatusToWire(result.status(), resp.mutable_status());
  }
  std::string bytes = resp.SerializeAsString();
  std::lock_guard lock(mu);
  (void)WriteFrame(fd, stream_id, kTypeResponse, bytes);  // a gone peer is not our error
}

}  // namespace

Server::Server() : stop_(::eventfd(0, EFD_CLOEXEC)) {}

Server::~Server() { Stop(); }

void Server::Register(std::string service, std::string method, Handler handler) {
  Register(std::move(service), std::move(method),
           ContextHandler([h = std::move(handler)](const CallContext&, std::string_view payload) {
             return h(payload);
           }));
}

void Server::Register(std::string service, std::string method, ContextHandler handler) {
  handlers_[{std::move(service), std::move(method)}] = std::move(handler);
}

absl::Status Server::Listen(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("socket path too long: ", path));
  }
  memcpy(addr.sun_path, path.data(), path.size());
  linux::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    auto msg = absl::StrCat("bind ", path, ": ", strerror(err));
    return err == EADDRINUSE ? absl::AlreadyExistsError(msg) : absl::InternalError(msg);
  }
  if (::listen(fd.get(), 64) != 0) {
    return absl::InternalError(absl::StrCat("listen ", path, ": ", strerror(errno)));
  }
  return Serve(std::move(fd));
}

absl::Status Server::Serve(linux::UniqueFd listener) {
  if (!stop_) return absl::InternalError(absl::StrCat("eventfd: ", strerror(errno)));
  listener_ = std::move(listener);
  return threads_.Spawn([this] { AcceptLoop(); });
}

void Server::Stop() {
  if (stopped_.exchange(true)) {
    threads_.WaitIdle();
    return;
  }
  uint64_t one = 1;
  if (stop_) (void)!::write(stop_.get(), &one, sizeof(one));
  {
    std::lock_guard lock(mu_);
    for (const auto& c : conns_) ::shutdown(c->fd.get(), SHUT_RDWR);
  }
  threads_.WaitIdle();
  listener_.Reset();
}

int Server::connections() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(conns_.size());
}

void Server::AcceptLoop() {
  pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
  while (!stopped_) {
    int r = ::poll(fds, 2, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || fds[1].revents != 0) return;
    int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) ::usleep(10000);  // wait for fds to free up
      continue;
    }
    auto conn = std::make_shared<Conn>();
    conn->fd.Reset(fd);
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      conns_.insert(conn);
    }
    if (!threads_.Spawn([this, conn] { ConnLoop(conn); }).ok()) {
      std::lock_guard lock(mu_);
      conns_.erase(conn);
    }
  }
}

void Server::ConnLoop(std::shared_ptr<Conn> conn) {
  for (;;) {
    Frame frame;
    absl::Status s = ReadFrame(conn->fd.get(), stop_.get(), &frame);
    if (absl::IsResourceExhausted(s)) {
      // The oversized payload is not read: answer on its stream, then drop
      // the connection since the byte stream cannot be resynchronized cheaply.
      Respond(conn->fd.get(), conn->write_mu, frame.header.stream_id, s);
      break;
    }
    if (!s.ok()) break;
    if (frame.header.type != kTypeRequest) {
      Respond(conn->fd.get(), conn->write_mu, frame.header.stream_id,
              absl::InvalidArgumentError(
                  absl::StrCat("unsupported message type ", int{frame.header.type})));
      continue;
    }
    if (frame.header.stream_id % 2 != 1) {
      Respond(conn->fd.get(), conn->write_mu, frame.header.stream_id,
              absl::InvalidArgumentError("StreamID must be odd for client initiated streams"));
      continue;
    }
    uint32_t id = frame.header.stream_id;
    if (threads_.running() > kMaxInFlight) {  // a flooding peer gets refusals, not threads
      Respond(conn->fd.get(), conn->write_mu, id,
              absl::ResourceExhaustedError("too many requests in flight"));
      continue;
    }
    auto run = [this, conn, id, payload = std::move(frame.payload)]() mutable {
      Dispatch(conn, id, std::move(payload));
    };
    if (!threads_.Spawn(std::move(run)).ok()) {
      Respond(conn->fd.get(), conn->write_mu, id, absl::ResourceExhaustedError("no thread"));
    }
  }
  // On Stop the peer must see the close now, not when the last handler ends.
  if (stopped_) ::shutdown(conn->fd.get(), SHUT_RDWR);
  std::lock_guard lock(mu_);
  conns_.erase(conn);
}

void Server::Dispatch(std::shared_ptr<Conn> conn, uint32_t stream_id, std::string payload) {
  wire::Request req;
  if (!req.ParseFromString(payload)) {
    Respond(conn->fd.get(), conn->write_mu, stream_id,
            absl::InvalidArgumentError("unmarshal request error"));
    return;
  }
  auto it = handlers_.find(std::make_pair(req.service(), req.method()));
  if (it == handlers_.end()) {
    Respond(conn->fd.get(), conn->write_mu, stream_id,
            absl::UnimplementedError(
                absl::StrCat(req.service(), "/", req.method(), ": method not implemented")));
    return;
  }
  CallContext ctx;
  ctx.service = req.service();
  ctx.method = req.method();
  if (req.timeout_nano() > 0) {
    ctx.deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(req.timeout_nano());
  }
  for (const auto& kv : req.metadata()) ctx.metadata.emplace_back(kv.key(), kv.value());
  Respond(conn->fd.get(), conn->write_mu, stream_id, it->second(ctx, req.payload()));
}

}  // namespace peapod::ttrpc
