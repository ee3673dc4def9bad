// The CRI streaming server: the HTTP endpoint behind the URLs that Exec,
// Attach and PortForward return. A kubelet (for kubectl exec, attach and
// port-forward) or crictl connects to such a URL and upgrades the connection
// to SPDY/3.1, then speaks Kubernetes' remotecommand protocol
// (v4.channel.k8s.io down to channel.k8s.io: one stream per stdio channel,
// an error stream carrying the exit status, a resize stream for terminals)
// or its portforward protocol (portforward.k8s.io: a data and an error
// stream per connection).
//
// Each URL holds a random single-use token that expires after a minute, as
// containerd's and CRI-O's do; the server listens on 127.0.0.1 by default,
// reached by the kubelet of the same node.
#pragma once

#include <stdint.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "cri/images/fs_util.h"
#include "cri/stream/spdy.h"

namespace peapod::cri::stream {

struct ExecRequest {
  std::string container_id;
  std::vector<std::string> cmd;  // empty for an attach
  bool tty = false;
  bool stdin = false;
  bool stdout = false;
  bool stderr = false;
};

// The streams of one exec or attach; null where the request has none.
struct ExecStreams {
  std::shared_ptr<SpdyStream> stdin, stdout, stderr, resize;
  // True once the client's connection is gone.
  std::function<bool()> gone;
};

// What the runtime does with a connection; the server only speaks the
// protocols. Each runs on the connection's own thread.
struct Runtime {
  // Runs req.cmd with the streams as its stdio until it exits: its exit
  // code. The function finishes (FIN) stdout and stderr itself. An error
  // is told to the client on the error stream.
  std::function<absl::StatusOr<int>(const ExecRequest& req, const ExecStreams& s)> exec;
  // Connects the streams to the running container's own stdio (an empty
  // req.cmd) until its output ends or the client leaves; 0 when done.
  std::function<absl::StatusOr<int>(const ExecRequest& req, const ExecStreams& s)> attach;
  // Connects `data` to the pod's `port` (inside its network namespace)
  // until either side ends.
  std::function<absl::Status(const std::string& pod_id, int port, SpdyStream& data)> port_forward;
};

class Server {
 public:
  explicit Server(Runtime runtime) : runtime_(std::move(runtime)) {}
  // Stops listening and waits for every connection to end.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds address:port (port 0: any free one) and starts accepting.
  absl::Status Start(const std::string& address, int port);
  // "http://127.0.0.1:PORT"; valid after Start.
  const std::string& base_url() const { return base_url_; }

  // Single-use URLs for a request, valid for kTokenTtl.
  absl::StatusOr<std::string> ExecUrl(ExecRequest req);
  absl::StatusOr<std::string> AttachUrl(ExecRequest req);
  absl::StatusOr<std::string> PortForwardUrl(const std::string& pod_id);

  static constexpr std::chrono::seconds kTokenTtl{60};
  // Outstanding tokens at most (containerd's streaming cache keeps 1000).
  static constexpr size_t kMaxTokens = 1000;

 private:
  struct Pending {
    enum Kind { kExec, kAttach, kPortForward } kind;
    ExecRequest exec;
    std::string pod_id;
    std::chrono::steady_clock::time_point expires;
  };
  absl::StatusOr<std::string> Register(Pending p, std::string_view path);
  void AcceptLoop();
  void Serve(images::UniqueFd conn);
  void ServeExec(SpdySession& session, const ExecRequest& req, const std::string& protocol,
                 bool attach);
  void ServePortForward(SpdySession& session, const std::string& pod_id);

  Runtime runtime_;
  images::UniqueFd listener_;
  images::UniqueFd stop_;  // an eventfd: the accept loop ends when it is set
  std::string base_url_;
  std::thread acceptor_;
  std::mutex mu_;
  std::map<std::string, Pending> tokens_;
  std::set<int> conns_;  // open connections, shut down by the destructor
  int active_ = 0;
  std::condition_variable idle_;
};

// --- exposed for tests

// An HTTP/1.1 request head (without its final empty line).
struct HttpRequest {
  std::string method, path;                                  // path without the query
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  // The values of a header, comma-separated lists split, in order.
  std::vector<std::string> Values(std::string_view name) const;
};
absl::StatusOr<HttpRequest> ParseRequestHead(std::string_view head);

// Terminal sizes from a resize stream: JSON objects one after another, as
// client-go's encoder writes them ({"Width":80,"Height":24}\n...). Sizes
// past 65535 are dropped.
class ResizeReader {
 public:
  void Feed(std::string_view bytes, const std::function<void(uint32_t, uint32_t)>& on_size);

 private:
  std::string buf_;
};

// The protocol the server picks from the client's X-Stream-Protocol-Version
// values (in the client's order of preference): "" if none matches.
std::string NegotiateProtocol(const std::vector<std::string>& client,
                              const std::vector<std::string>& server);
// The v4 error-stream document for an exit code (0: Success).
std::string ExitStatusJson(int exit_code);
// The v4 error-stream document for an error.
std::string ErrorStatusJson(std::string_view message);

}  // namespace peapod::cri::stream
