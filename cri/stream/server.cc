#include "cri/stream/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cri/store/id.h"
#include "cri/util/sockaddr.h"
#include "cri/util/str.h"
#include "oci/spec/json.h"

namespace peapod::cri::stream {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

const std::vector<std::string> kExecProtocols = {"v4.channel.k8s.io", "v3.channel.k8s.io",
                                                 "v2.channel.k8s.io", "channel.k8s.io"};
const std::vector<std::string> kPortForwardProtocols = {"portforward.k8s.io"};
// How long a client has to send its request head, and to open its streams
// after the upgrade (client-go's own timeout for the second is 30 s).
constexpr auto kHeadTimeout = 10s;
constexpr auto kStreamsTimeout = 30s;
constexpr size_t kMaxHead = 16 << 10;

void Respond(int fd, int code, std::string_view reason, std::string_view body) {
  SendAll(fd, Cat("HTTP/1.1 ", code, " ", reason,
                  "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ", body.size(),
                  "\r\nConnection: close\r\n\r\n", body));
}

// Reads the request head; the bytes after it stay in *rest.
absl::StatusOr<HttpRequest> ReadHead(int fd, std::string* rest) {
  std::string buf;
  auto deadline = Clock::now() + kHeadTimeout;
  size_t end;
  while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
    if (buf.size() > kMaxHead) return absl::InvalidArgumentError("request head over 16 KiB");
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return absl::DeadlineExceededError("no request head in time");
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char chunk[4096];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::UnavailableError("connection closed before the request head");
    buf.append(chunk, static_cast<size_t>(n));
  }
  *rest = buf.substr(end + 4);
  buf.resize(end);
  return ParseRequestHead(buf);
}

bool HasToken(const std::vector<std::string>& values, std::string_view token) {
  return std::any_of(values.begin(), values.end(), [&](const std::string& v) {
    return absl::EqualsIgnoreCase(v, absl::string_view(token.data(), token.size()));
  });
}

std::string JoinList(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? " " : "") + v[i];
  return out + "]";
}

}  // namespace

std::vector<std::string> HttpRequest::Values(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [n, v] : headers) {
    if (n != name) continue;
    for (absl::string_view part : absl::StrSplit(v, ',')) {
      std::string p(absl::StripAsciiWhitespace(part));
      if (!p.empty()) out.push_back(p);
    }
  }
  return out;
}

absl::StatusOr<HttpRequest> ParseRequestHead(std::string_view head) {
  std::vector<std::string> lines =
      absl::StrSplit(absl::string_view(head.data(), head.size()), "\r\n");
  std::vector<std::string> first = absl::StrSplit(lines[0], ' ');
  if (first.size() != 3 || first[0].empty() || !absl::StartsWith(first[1], "/") ||
      !absl::StartsWith(first[2], "HTTP/1.")) {
    return absl::InvalidArgumentError("malformed request line");
  }
  HttpRequest r;
  r.method = first[0];
  r.path = first[1].substr(0, first[1].find('?'));
  for (size_t i = 1; i < lines.size(); ++i) {
    size_t colon = lines[i].find(':');
    if (colon == std::string::npos || colon == 0) {
      return absl::InvalidArgumentError("malformed header line");
    }
    r.headers.emplace_back(absl::AsciiStrToLower(lines[i].substr(0, colon)),
                           std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1))));
  }
  return r;
}

void ResizeReader::Feed(std::string_view bytes,
                        const std::function<void(uint32_t, uint32_t)>& on_size) {
  buf_ += bytes;
  size_t end;
  while ((end = buf_.find('}')) != std::string::npos) {
    std::string doc = buf_.substr(0, end + 1);
    buf_.erase(0, end + 1);
    absl::StatusOr<json::Value> v = json::Parse(doc);
    if (!v.ok() || !v->is_object()) continue;
    const json::Value* w = v->Find("Width");
    const json::Value* h = v->Find("Height");
    if (w == nullptr || h == nullptr || w->type() != json::Type::kUint ||
        h->type() != json::Type::kUint || w->raw_uint() > 0xffff || h->raw_uint() > 0xffff) {
      continue;
    }
    on_size(static_cast<uint32_t>(w->raw_uint()), static_cast<uint32_t>(h->raw_uint()));
  }
  if (buf_.size() > 4096) buf_.clear();  // no size object is that long
}

std::string NegotiateProtocol(const std::vector<std::string>& client,
                              const std::vector<std::string>& server) {
  for (const std::string& c : client) {
    if (std::find(server.begin(), server.end(), c) != server.end()) return c;
  }
  return "";
}

std::string ExitStatusJson(int exit_code) {
  json::Value v = json::Object{{"metadata", json::Object{}}};
  if (exit_code == 0) {
    v.Set("status", "Success");
    return json::Write(v);
  }
  v.Set("status", "Failure");
  v.Set("message", Cat("command terminated with non-zero exit code: exit status ", exit_code));
  v.Set("reason", "NonZeroExitCode");
  v.Set("details", json::Object{{"causes", json::Array{json::Object{
                                               {"reason", "ExitCode"},
                                               {"message", std::to_string(exit_code)},
                                           }}}});
  return json::Write(v);
}

std::string ErrorStatusJson(std::string_view message) {
  return json::Write(json::Object{{"metadata", json::Object{}},
                                  {"status", "Failure"},
                                  {"message", std::string(message)},
                                  {"reason", "InternalError"},
                                  {"code", 500}});
}

Server::~Server() {
  if (stop_.valid()) {
    uint64_t one = 1;
    (void)!write(stop_.get(), &one, sizeof one);
  }
  if (acceptor_.joinable()) acceptor_.join();
  std::unique_lock lock(mu_);
  for (int fd : conns_) shutdown(fd, SHUT_RDWR);
  idle_.wait(lock, [&] { return active_ == 0; });
}

absl::Status Server::Start(const std::string& address, int port) {
  sockaddr_storage ss;
  socklen_t len = 0;
  if (port < 0 || port > 65535 || !IpSockaddr(address, static_cast<uint16_t>(port), &ss, &len)) {
    return absl::InvalidArgumentError(
        Cat("streaming server: \"", address, "\" port ", port, " is not an address"));
  }
  bool v6 = ss.ss_family == AF_INET6;
  listener_.Reset(socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener_.valid()) return images::ErrnoStatus("streaming server: socket", errno);
  int on = 1;
  setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (bind(listener_.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return images::ErrnoStatus(Cat("streaming server: bind ", address, " port ", port), errno);
  }
  if (listen(listener_.get(), 64) != 0) {
    return images::ErrnoStatus("streaming server: listen", errno);
  }
  len = sizeof ss;
  getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&ss), &len);
  int bound = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                       : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  base_url_ = v6 ? Cat("http://[", address, "]:", bound) : Cat("http://", address, ":", bound);
  stop_.Reset(eventfd(0, EFD_CLOEXEC));
  if (!stop_.valid()) return images::ErrnoStatus("streaming server: eventfd", errno);
  acceptor_ = std::thread([this] { AcceptLoop(); });
  return absl::OkStatus();
}

absl::StatusOr<std::string> Server::Register(Pending p, std::string_view path) {
  std::string token = NewId().substr(0, 32);  // 128 random bits
  auto now = Clock::now();
  p.expires = now + kTokenTtl;
  std::lock_guard lock(mu_);
  std::erase_if(tokens_, [&](const auto& e) { return e.second.expires <= now; });
  if (tokens_.size() >= kMaxTokens) {
    return absl::ResourceExhaustedError(
        Cat("streaming server: ", kMaxTokens, " requests are waiting for their client already"));
  }
  tokens_.emplace(token, std::move(p));
  return Cat(base_url_, "/", path, "/", token);
}

absl::StatusOr<std::string> Server::ExecUrl(ExecRequest req) {
  Pending p{Pending::kExec, std::move(req), "", {}};
  return Register(std::move(p), "exec");
}

absl::StatusOr<std::string> Server::AttachUrl(ExecRequest req) {
  Pending p{Pending::kAttach, std::move(req), "", {}};
  return Register(std::move(p), "attach");
}

absl::StatusOr<std::string> Server::PortForwardUrl(const std::string& pod_id) {
  Pending p{Pending::kPortForward, {}, pod_id, {}};
  return Register(std::move(p), "portforward");
}

void Server::AcceptLoop() {
  for (;;) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    int c = accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    images::UniqueFd conn(c);
    std::lock_guard lock(mu_);
    conns_.insert(c);
    ++active_;
    std::thread([this, conn = std::move(conn)]() mutable {
      int fd = conn.get();
      Serve(std::move(conn));
      std::lock_guard lock(mu_);
      conns_.erase(fd);
      if (--active_ == 0) idle_.notify_all();
    }).detach();
  }
}

void Server::Serve(images::UniqueFd conn) {
  std::string rest;
  absl::StatusOr<HttpRequest> req = ReadHead(conn.get(), &rest);
  if (!req.ok()) {
    if (absl::IsInvalidArgument(req.status())) {
      Respond(conn.get(), 400, "Bad Request", std::string(req.status().message()));
    }
    return;
  }
  // /exec/<token> or /portforward/<token>
  std::vector<std::string> parts = absl::StrSplit(req->path, '/');
  std::optional<Pending> pending;
  if (parts.size() == 3 && parts[0].empty()) {
    std::lock_guard lock(mu_);
    auto it = tokens_.find(parts[2]);
    if (it != tokens_.end()) {
      bool kind_ok = (parts[1] == "exec" && it->second.kind == Pending::kExec) ||
                     (parts[1] == "attach" && it->second.kind == Pending::kAttach) ||
                     (parts[1] == "portforward" && it->second.kind == Pending::kPortForward);
      if (kind_ok && it->second.expires > Clock::now()) pending = std::move(it->second);
      if (kind_ok) tokens_.erase(it);  // single use, even if it had expired
    }
  }
  if (!pending) {
    Respond(conn.get(), 404, "Not Found", "unknown or expired streaming request\n");
    return;
  }
  std::vector<std::string> upgrade = req->Values("upgrade");
  if (!HasToken(req->Values("connection"), "upgrade") || !HasToken(upgrade, "SPDY/3.1")) {
    Respond(conn.get(), 400, "Bad Request",
            HasToken(upgrade, "websocket")
                ? "unable to upgrade: peapod streams over SPDY/3.1 only, not WebSocket\n"
                : "unable to upgrade: missing upgrade headers in request\n");
    return;
  }
  const std::vector<std::string>& supported =
      pending->kind == Pending::kPortForward ? kPortForwardProtocols : kExecProtocols;
  std::vector<std::string> offered = req->Values("x-stream-protocol-version");
  std::string protocol;
  if (offered.empty()) {
    protocol = supported.back();  // the oldest: clients from before negotiation
  } else {
    protocol = NegotiateProtocol(offered, supported);
    if (protocol.empty()) {
      Respond(conn.get(), 403, "Forbidden",
              Cat("unable to upgrade: unable to negotiate protocol: client supports ",
                  JoinList(offered), ", server supports ", JoinList(supported), "\n"));
      return;
    }
  }
  if (!SendAll(conn.get(), Cat("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                               "Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ",
                               protocol, "\r\n\r\n"))) {
    return;
  }
  SpdySession session(std::move(conn), std::move(rest));
  session.Start();
  if (pending->kind == Pending::kPortForward) {
    ServePortForward(session, pending->pod_id);
  } else {
    ServeExec(session, pending->exec, protocol, pending->kind == Pending::kAttach);
  }
  session.CloseGracefully(5s);
}

void Server::ServeExec(SpdySession& session, const ExecRequest& req, const std::string& protocol,
                       bool attach) {
  bool v4 = protocol == "v4.channel.k8s.io";
  bool resizable = v4 || protocol == "v3.channel.k8s.io";
  std::shared_ptr<SpdyStream> error;
  ExecStreams s;
  s.gone = [&session] { return session.done(); };
  std::map<std::string, std::shared_ptr<SpdyStream>*> want = {{"error", &error}};
  if (req.stdin) want["stdin"] = &s.stdin;
  if (req.stdout) want["stdout"] = &s.stdout;
  if (req.stderr && !req.tty) want["stderr"] = &s.stderr;
  if (req.tty && resizable) want["resize"] = &s.resize;
  std::string problem;
  auto deadline = Clock::now() + kStreamsTimeout;
  size_t got = 0;
  while (got < want.size() && problem.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    std::shared_ptr<SpdyStream> st = left.count() > 0 ? session.NextStream(left) : nullptr;
    if (st == nullptr) {
      problem = session.done() ? "the client went away" : "timed out waiting for client streams";
      break;
    }
    std::string type = st->Header("streamtype");
    auto it = want.find(type);
    if (it == want.end() || *it->second != nullptr) {
      problem = Cat("unexpected stream of type \"", type, "\"");
      st->Reset();
      break;
    }
    *it->second = std::move(st);
    ++got;
  }
  absl::StatusOr<int> exit = absl::InvalidArgumentError(problem);
  if (problem.empty()) exit = attach ? runtime_.attach(req, s) : runtime_.exec(req, s);
  for (const auto& st : {s.stdout, s.stderr}) {
    if (st != nullptr) (void)st->CloseWrite();
  }
  if (error == nullptr) return;
  if (v4) {
    (void)error->Write(exit.ok() ? ExitStatusJson(*exit)
                                 : ErrorStatusJson(StdView(exit.status().message())));
  } else if (!exit.ok()) {
    (void)error->Write(StdView(exit.status().message()));
  } else if (*exit != 0) {
    (void)error->Write(Cat("command terminated with non-zero exit code: exit status ", *exit));
  }
  (void)error->CloseWrite();
}

void Server::ServePortForward(SpdySession& session, const std::string& pod_id) {
  struct Pair {
    std::shared_ptr<SpdyStream> error, data;
  };
  std::map<std::string, Pair> pairs;
  // One thread per connection, joined as each ends: a port-forward session
  // may carry thousands of connections over its life.
  struct Forward {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Forward> forwards;
  auto reap = [&](bool all) {
    std::erase_if(forwards, [&](Forward& f) {
      if (!all && !*f.done) return false;
      f.thread.join();
      return true;
    });
  };
  while (!session.done()) {
    std::shared_ptr<SpdyStream> st = session.NextStream(std::chrono::seconds(5));
    reap(false);
    if (st == nullptr) continue;
    std::string type = st->Header("streamtype");
    // Clients before request ids pair a data stream with the error stream
    // opened right before it.
    std::string id = st->Header("requestid");
    if (id.empty()) id = std::to_string(type == "data" ? st->id() - 2 : st->id());
    Pair& p = pairs[id];
    std::shared_ptr<SpdyStream>* slot = type == "error"  ? &p.error
                                        : type == "data" ? &p.data
                                                         : nullptr;
    if (slot == nullptr || *slot != nullptr) {
      st->Reset();
      continue;
    }
    *slot = std::move(st);
    if (p.error == nullptr || p.data == nullptr) continue;
    Pair ready = std::move(p);
    pairs.erase(id);
    auto done = std::make_shared<std::atomic<bool>>(false);
    std::thread t([this, ready, pod_id, done] {
      std::string port_text = ready.data->Header("port");
      int port = 0;
      absl::Status s;
      if (!absl::SimpleAtoi(port_text, &port) || port < 1 || port > 65535) {
        s = absl::InvalidArgumentError(Cat("invalid port \"", port_text, "\""));
      } else {
        s = runtime_.port_forward(pod_id, port, *ready.data);
      }
      if (!s.ok()) {
        (void)ready.error->Write(
            Cat("error forwarding port ", port_text, " to pod ", pod_id, ": ", s.message()));
      }
      (void)ready.error->CloseWrite();
      (void)ready.data->CloseWrite();
      *done = true;
    });
    forwards.push_back({std::move(t), std::move(done)});
  }
  reap(true);
}

}  // namespace peapod::cri::stream
