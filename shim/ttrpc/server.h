// A ttrpc server on a unix socket. One thread accepts, one thread per
// connection reads frames, and each request runs on its own short-lived
// thread, so a slow handler (containerd's Wait) never blocks the other
// streams of its connection. Responses on one connection are serialized.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "oci/linux/unique_fd.h"
#include "shim/ttrpc/thread.h"

namespace peapod::ttrpc {

// What a handler may want to know about its call besides the payload.
struct CallContext {
  std::string service;
  std::string method;
  // When the caller gives up (timeout_nano), or time_point::max().
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  std::vector<std::pair<std::string, std::string>> metadata;
};

// A method: the request payload in, the response payload (or a status) out.
using Handler = std::function<absl::StatusOr<std::string>(std::string_view payload)>;
using ContextHandler =
    std::function<absl::StatusOr<std::string>(const CallContext& ctx, std::string_view payload)>;

class Server {
 public:
  Server();
  // Stops the server and waits for every thread it started.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Registers `service`/`method` (e.g. "containerd.task.v2.Task", "Create").
  // Register before Serve.
  void Register(std::string service, std::string method, Handler handler);
  // Registers a handler that also receives the call's context.
  void Register(std::string service, std::string method, ContextHandler handler);

  // Creates a unix socket at `path` (which must not exist) and serves on it.
  absl::Status Listen(const std::string& path);
  // Serves on an already listening socket; takes ownership.
  absl::Status Serve(linux::UniqueFd listener);
  // Closes the listener and all connections and waits for every thread. A
  // handler still running is waited for, so handlers must return in time.
  void Stop();
  // Number of open connections.
  int connections() const;

 private:
  struct Conn;
  void AcceptLoop();
  void ConnLoop(std::shared_ptr<Conn> conn);
  void Dispatch(std::shared_ptr<Conn> conn, uint32_t stream_id, std::string payload);

  std::map<std::pair<std::string, std::string>, ContextHandler, std::less<>> handlers_;
  linux::UniqueFd listener_;
  linux::UniqueFd stop_;  // eventfd: readable once Stop is called
  ThreadGroup threads_;
  mutable std::mutex mu_;
  std::set<std::shared_ptr<Conn>> conns_;
  std::atomic<bool> stopped_{false};
};

}  // namespace peapod::ttrpc
