// A ttrpc client on a unix socket: concurrent calls share one connection,
// each on its own odd, increasing stream id; one reader thread routes the
// responses. A call gives up at its timeout (sent as timeout_nano too).
// Destroying the client closes the connection without waiting for the
// reader: it shares the connection's state and ends on its own.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/message_lite.h"
#include "oci/linux/unique_fd.h"

namespace peapod::ttrpc {

class Client {
 public:
  using Metadata = std::vector<std::pair<std::string, std::string>>;

  // Connects to "unix:///path" or a plain socket path.
  static absl::StatusOr<std::unique_ptr<Client>> Dial(std::string_view address);
  // Wraps a connected socket.
  explicit Client(linux::UniqueFd fd);
  // Closes the connection; pending calls fail with Unavailable.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Calls service/method with a serialized request; returns the response
  // payload or the server's status. DeadlineExceeded after `timeout` (0 = none).
  absl::StatusOr<std::string> Call(std::string_view service, std::string_view method,
                                   std::string_view payload,
                                   std::chrono::nanoseconds timeout = std::chrono::nanoseconds(0),
                                   const Metadata& metadata = {});
  // Typed form: serializes req, parses the response into *resp.
  absl::Status Call(std::string_view service, std::string_view method,
                    const google::protobuf::MessageLite& req, google::protobuf::MessageLite* resp,
                    std::chrono::nanoseconds timeout = std::chrono::nanoseconds(0),
                    const Metadata& metadata = {});
  // True until the connection is closed by either side.
  bool connected() const;

 private:
  struct Conn;  // the connection's state, shared with the reader thread
  std::shared_ptr<Conn> conn_;
};

// The socket path of a ttrpc address ("unix:///p" or "/p").
std::string SocketPath(std::string_view address);

}  // namespace peapod::ttrpc
