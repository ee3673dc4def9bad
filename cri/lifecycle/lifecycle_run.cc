// Running hooks. httpGet connects from a thread that joined the pod's
// network namespace, so a pod listening only on its loopback is reachable;
// every step has the hook's deadline.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "cri/lifecycle/lifecycle.h"
#include "cri/net/netns.h"
#include "cri/util/sockaddr.h"
#include "cri/util/str.h"
#include "oci/linux/errno_status.h"
#include "oci/linux/unique_fd.h"

namespace peapod::cri {
namespace {

using Clock = std::chrono::steady_clock;
using linux::ErrnoStatus;
using linux::UniqueFd;

int MsLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(std::min<int64_t>(left.count(), 1 << 30));
}

absl::Status Timeout(std::string_view what) {
  return absl::DeadlineExceededError(Cat("timed out ", what));
}

// Waits for fd to be ready for `events` before the deadline.
absl::Status WaitFd(int fd, short events, Clock::time_point deadline, std::string_view what) {
  while (true) {
    int ms = MsLeft(deadline);
    if (ms == 0) return Timeout(what);
    struct pollfd p = {fd, events, 0};
    int r = ::poll(&p, 1, ms);
    if (r > 0) return absl::OkStatus();
    if (r == 0) return Timeout(what);
    if (errno != EINTR) return ErrnoStatus(Cat("poll while ", what));
  }
}

absl::StatusOr<UniqueFd> Connect(const std::string& host, uint16_t port,
                                 Clock::time_point deadline) {
  struct sockaddr_storage ss {};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (!IpSockaddr(host, port, &ss, &len)) {
    // A name: resolved with the node's resolver (as the kubelet does).
    struct addrinfo hints {};
    hints.ai_socktype = SOCK_STREAM;
    struct addrinfo* res = nullptr;
    int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
    if (rc != 0 || res == nullptr) {
      return absl::UnavailableError(Cat("resolve ", host, ": ", ::gai_strerror(rc)));
    }
    std::memcpy(&ss, res->ai_addr, res->ai_addrlen);
    len = res->ai_addrlen;
    ::freeaddrinfo(res);
    if (ss.ss_family == AF_INET) v4->sin_port = htons(port);
    if (ss.ss_family == AF_INET6) v6->sin6_port = htons(port);
  }
  UniqueFd s(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s) return ErrnoStatus("socket");
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    if (errno != EINPROGRESS) return ErrnoStatus(Cat("connect to ", host, ":", port));
    PEAPOD_RETURN_IF_ERROR(
        WaitFd(s.get(), POLLOUT, deadline, Cat("connecting to ", host, ":", port)));
    int err = 0;
    socklen_t el = sizeof err;
    ::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &el);
    if (err != 0) return ErrnoStatus(err, Cat("connect to ", host, ":", port));
  }
  return s;
}

// A byte stream over a socket, plain or TLS, with the deadline.
class Stream {
 public:
  Stream(UniqueFd fd, Clock::time_point deadline) : fd_(std::move(fd)), deadline_(deadline) {}
  ~Stream() {
    if (ssl_) SSL_free(ssl_);
    if (ctx_) SSL_CTX_free(ctx_);
  }

  absl::Status StartTls(const std::string& host) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (!ctx_) return absl::InternalError("TLS: cannot create context");
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);  // as the kubelet's hooks
    ssl_ = SSL_new(ctx_);
    if (!ssl_) return absl::InternalError("TLS: cannot create session");
    SSL_set_fd(ssl_, fd_.get());
    unsigned char buf[16];
    if (::inet_pton(AF_INET, host.c_str(), buf) != 1 &&
        ::inet_pton(AF_INET6, host.c_str(), buf) != 1) {
      SSL_set_tlsext_host_name(ssl_, host.c_str());
    }
    while (true) {
      int r = SSL_connect(ssl_);
      if (r == 1) return absl::OkStatus();
      PEAPOD_RETURN_IF_ERROR(Retry(r, "TLS handshake"));
    }
  }

  absl::Status WriteAll(std::string_view data) {
    size_t off = 0;
    while (off < data.size()) {
      if (ssl_) {
        int r = SSL_write(ssl_, data.data() + off, static_cast<int>(data.size() - off));
        if (r > 0) {
          off += r;
          continue;
        }
        PEAPOD_RETURN_IF_ERROR(Retry(r, "sending the request"));
        continue;
      }
      ssize_t n = ::send(fd_.get(), data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n > 0) {
        off += n;
      } else if (errno == EAGAIN || errno == EINTR) {
        PEAPOD_RETURN_IF_ERROR(WaitFd(fd_.get(), POLLOUT, deadline_, "sending the request"));
      } else {
        return ErrnoStatus("send request");
      }
    }
    return absl::OkStatus();
  }

  // Reads until EOF or `max` bytes.
  absl::StatusOr<std::string> ReadAll(size_t max) {
    std::string out;
    char buf[4096];
    while (out.size() < max) {
      if (ssl_) {
        int r = SSL_read(ssl_, buf, sizeof buf);
        if (r > 0) {
          out.append(buf, r);
          continue;
        }
        int e = SSL_get_error(ssl_, r);
        if (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL) break;
        PEAPOD_RETURN_IF_ERROR(Retry(r, "reading the response"));
        continue;
      }
      ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
      if (n > 0) {
        out.append(buf, n);
      } else if (n == 0) {
        break;
      } else if (errno == EAGAIN || errno == EINTR) {
        PEAPOD_RETURN_IF_ERROR(WaitFd(fd_.get(), POLLIN, deadline_, "reading the response"));
      } else if (errno == ECONNRESET && !out.empty()) {
        break;
      } else {
        return ErrnoStatus("read response");
      }
    }
    return out;
  }

 private:
  absl::Status Retry(int r, std::string_view what) {
    int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ) return WaitFd(fd_.get(), POLLIN, deadline_, what);
    if (e == SSL_ERROR_WANT_WRITE) return WaitFd(fd_.get(), POLLOUT, deadline_, what);
    char msg[256] = "connection closed";
    if (unsigned long code = ERR_get_error()) ERR_error_string_n(code, msg, sizeof msg);
    return absl::UnavailableError(Cat("TLS error while ", what, ": ", msg));
  }

  UniqueFd fd_;
  Clock::time_point deadline_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
};

std::string Printable(std::string_view s, size_t max = 512) {
  std::string out;
  for (unsigned char c : s.substr(0, max)) {
    out += (c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f)) ? static_cast<char>(c) : '?';
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

absl::Status HttpGetOnce(const HttpGetAction& a, const std::string& host,
                         Clock::time_point deadline) {
  PEAPOD_ASSIGN_OR_RETURN(UniqueFd fd, Connect(host, a.port, deadline));
  Stream s(std::move(fd), deadline);
  if (a.scheme == "HTTPS") PEAPOD_RETURN_IF_ERROR(s.StartTls(host));
  bool v6 = host.find(':') != std::string::npos;
  std::string host_header = v6 ? Cat("[", host, "]:", a.port) : Cat(host, ":", a.port);
  bool has_host = false, has_ua = false, has_accept = false;
  std::string extra;
  for (const HttpHeader& h : a.headers) {
    std::string lower;
    for (char c : h.name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "host") {
      has_host = true;
      host_header = h.value;
      continue;
    }
    has_ua |= lower == "user-agent";
    has_accept |= lower == "accept";
    extra += Cat(h.name, ": ", h.value, "\r\n");
  }
  (void)has_host;
  std::string req = Cat("GET ", a.path, " HTTP/1.1\r\nHost: ", host_header, "\r\n");
  if (!has_ua) req += "User-Agent: peapod-lifecycle\r\n";
  if (!has_accept) req += "Accept: */*\r\n";
  req += Cat(extra, "Connection: close\r\n\r\n");
  PEAPOD_RETURN_IF_ERROR(s.WriteAll(req));
  PEAPOD_ASSIGN_OR_RETURN(std::string resp, s.ReadAll(64 << 10));
  // Status line: HTTP/1.x NNN reason
  if (resp.size() < 12 || resp.compare(0, 5, "HTTP/") != 0) {
    return absl::UnavailableError(Cat("not an HTTP response: \"", Printable(resp, 80), "\""));
  }
  size_t sp = resp.find(' ');
  int code = 0;
  if (sp == std::string::npos || sp + 4 > resp.size()) {
    return absl::UnavailableError("malformed HTTP status line");
  }
  for (size_t i = sp + 1; i < sp + 4; ++i) {
    if (resp[i] < '0' || resp[i] > '9') return absl::UnavailableError("malformed HTTP status line");
    code = code * 10 + (resp[i] - '0');
  }
  if (code >= 200 && code < 400) return absl::OkStatus();
  size_t body = resp.find("\r\n\r\n");
  std::string text = body == std::string::npos ? "" : Printable(resp.substr(body + 4));
  std::string line = resp.substr(0, resp.find("\r\n"));
  return absl::UnavailableError(Cat(Printable(line), text.empty() ? "" : ": ", text));
}

absl::Status RunLifecycleHook(std::string_view name, const LifecycleHandler& h,
                              const HookContext& ctx) {
  std::string what = Cat(name, " hook (", h.Describe(), ")");
  if (MsLeft(ctx.deadline) == 0) {
    return absl::DeadlineExceededError(Cat(what, " failed: no time left before it could start"));
  }
  if (h.exec) {
    if (!ctx.exec) return absl::InternalError(Cat(what, ": no way to run exec hooks"));
    auto r = ctx.exec(h.exec->command, std::chrono::milliseconds(MsLeft(ctx.deadline)));
    if (!r.ok()) {
      return absl::Status(r.status().code(), Cat(what, " failed: ", r.status().message()));
    }
    if (r->exit_code != 0) {
      std::string out = Printable(r->output, 2048);
      return absl::UnavailableError(
          Cat(what, " failed: exit code ", r->exit_code, out.empty() ? "" : ": ", out));
    }
    return absl::OkStatus();
  }
  if (h.http_get) {
    std::string host = h.http_get->host;
    if (host.empty()) host = ctx.pod_ip.empty() ? "127.0.0.1" : ctx.pod_ip;
    absl::Status st;
    if (ctx.netns_path.empty()) {
      st = HttpGetOnce(*h.http_get, host, ctx.deadline);
    } else {
      st = RunInNetns(ctx.netns_path, [&] { return HttpGetOnce(*h.http_get, host, ctx.deadline); });
    }
    if (!st.ok()) {
      std::string desc =
          Cat("httpGet ", h.http_get->scheme, "://", host, ":", h.http_get->port, h.http_get->path);
      return absl::Status(st.code(), Cat(name, " hook (", desc, ") failed: ", st.message()));
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(Cat(name, " hook has no action"));
}

}  // namespace peapod::cri
