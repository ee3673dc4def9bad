// A ttrpc client on a unix socket: concurrent calls share one connection,
// each on its own odd, increasing stream id; one reader thread routes the
// responses. A call gives up at its timeout (sent as timeout_nano too).
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
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
  struct Pending {
    std::optional<absl::StatusOr<std::string>> result;
  };
  void ReadLoop();
  void FailAll(const absl::Status& status);

  linux::UniqueFd fd_;
  linux::UniqueFd stop_;  // eventfd waking the reader on close
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::mutex write_mu_;
  uint32_t next_stream_ = 1;
  bool closed_ = false;
  absl::Status close_reason_;
  std::map<uint32_t, std::shared_ptr<Pending>> pending_;
  std::thread reader_;
};

// The socket path of a ttrpc address ("unix:///p" or "/p").
std::string SocketPath(std::string_view address);

}  // namespace peapod::ttrpc
