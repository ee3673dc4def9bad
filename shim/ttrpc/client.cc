#include "shim/ttrpc/client.h"

#include <errno.h>
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

std::string SocketPath(std::string_view address) {
  if (address.substr(0, 7) == "unix://") address.remove_prefix(7);
  return std::string(address);
}

absl::StatusOr<std::unique_ptr<Client>> Client::Dial(std::string_view address) {
  std::string path = SocketPath(address);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("bad ttrpc address: ", std::string(address)));
  }
  memcpy(addr.sun_path, path.data(), path.size());
  linux::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  int r;
  do {
    r = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  } while (r != 0 && errno == EINTR);
  if (r != 0) {
    return absl::UnavailableError(absl::StrCat("connect ", path, ": ", strerror(errno)));
  }
  return std::make_unique<Client>(std::move(fd));
}

Client::Client(linux::UniqueFd fd) : fd_(std::move(fd)), stop_(::eventfd(0, EFD_CLOEXEC)) {
  reader_ = std::thread([this] { ReadLoop(); });
}

Client::~Client() {
  uint64_t one = 1;
  (void)!::write(stop_.get(), &one, sizeof(one));
  ::shutdown(fd_.get(), SHUT_RDWR);
  reader_.join();
}

bool Client::connected() const {
  std::lock_guard lock(mu_);
  return !closed_;
}

absl::StatusOr<std::string> Client::Call(std::string_view service, std::string_view method,
                                         std::string_view payload, std::chrono::nanoseconds timeout,
                                         const Metadata& metadata) {
  wire::Request req;
  req.set_service(std::string(service));
  req.set_method(std::string(method));
  req.set_payload(std::string(payload));
  if (timeout.count() > 0) req.set_timeout_nano(timeout.count());
  for (const auto& [k, v] : metadata) {
    wire::KeyValue* kv = req.add_metadata();
    kv->set_key(k);
    kv->set_value(v);
  }
  std::string bytes = req.SerializeAsString();
  auto pending = std::make_shared<Pending>();
  uint32_t id;
  {
    std::lock_guard lock(mu_);
    if (closed_)
      return absl::UnavailableError(absl::StrCat("ttrpc: closed: ", close_reason_.message()));
    id = next_stream_;
    next_stream_ += 2;
    pending_[id] = pending;
  }
  absl::Status sent;
  {
    std::lock_guard lock(write_mu_);
    sent = WriteFrame(fd_.get(), id, kTypeRequest, bytes);
  }
  std::unique_lock lock(mu_);
  if (!sent.ok()) {
    pending_.erase(id);
    return sent;
  }
  auto done = [&] { return pending->result.has_value(); };
  if (timeout.count() > 0) {
    if (!cv_.wait_for(lock, timeout, done)) {
      pending_.erase(id);  // a late response for this stream is dropped
      return absl::DeadlineExceededError(absl::StrCat(std::string(service), "/",
                                                      std::string(method), ": no response within ",
                                                      timeout.count(), "ns"));
    }
  } else {
    cv_.wait(lock, done);
  }
  return std::move(*pending->result);
}

absl::Status Client::Call(std::string_view service, std::string_view method,
                          const google::protobuf::MessageLite& req,
                          google::protobuf::MessageLite* resp, std::chrono::nanoseconds timeout,
                          const Metadata& metadata) {
  absl::StatusOr<std::string> out =
      Call(service, method, req.SerializeAsString(), timeout, metadata);
  if (!out.ok()) return out.status();
  if (resp != nullptr && !resp->ParseFromString(*out)) {
    return absl::DataLossError(
        absl::StrCat(std::string(service), "/", std::string(method), ": undecodable response"));
  }
  return absl::OkStatus();
}

void Client::ReadLoop() {
  for (;;) {
    Frame frame;
    absl::Status s = ReadFrame(fd_.get(), stop_.get(), &frame);
    if (!s.ok()) {
      FailAll(absl::IsOutOfRange(s) ? absl::UnavailableError("connection closed by peer") : s);
      return;
    }
    if (frame.header.type != kTypeResponse) continue;  // ignored, as ttrpc does
    wire::Response resp;
    absl::StatusOr<std::string> result;
    if (!resp.ParseFromString(frame.payload)) {
      result = absl::DataLossError("undecodable ttrpc response");
    } else if (resp.has_status() && resp.status().code() != 0) {
      result = StatusFromWire(resp.status());
    } else {
      result = std::move(*resp.mutable_payload());
    }
    std::lock_guard lock(mu_);
    auto it = pending_.find(frame.header.stream_id);
    if (it == pending_.end()) continue;
    it->second->result = std::move(result);
    pending_.erase(it);
    cv_.notify_all();
  }
}

void Client::FailAll(const absl::Status& status) {
  std::lock_guard lock(mu_);
  closed_ = true;
  close_reason_ = status;
  for (auto& [id, p] : pending_) {
    p->result =
        absl::UnavailableError(absl::StrCat("ttrpc: connection closed: ", status.message()));
  }
  pending_.clear();
  cv_.notify_all();
}

}  // namespace peapod::ttrpc
