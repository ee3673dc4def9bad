#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "cri/peactl/peactl.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace peapod::cri::peactl {

std::string ResolveEndpoint(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = getenv("CONTAINER_RUNTIME_ENDPOINT"); env != nullptr && *env != '\0') {
    return env;
  }
  return "unix:///run/peapod/peapod.sock";
}

Client Connect(const Globals& g) {
  std::string target = ResolveEndpoint(g.endpoint);
  if (target.starts_with("/")) target = "unix://" + target;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(16 << 20);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  return Client{
      .runtime = v1::RuntimeService::NewStub(channel),
      .images = v1::ImageService::NewStub(channel),
      .timeout_seconds = g.timeout_seconds,
  };
}

std::unique_ptr<grpc::ClientContext> Client::Context() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (timeout_seconds > 0) {
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(timeout_seconds));
  }
  return ctx;
}

int Fail(std::string_view what, const grpc::Status& s) {
  static constexpr const char* kCodes[] = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  int code = static_cast<int>(s.error_code());
  const char* name = code >= 0 && code <= 16 ? kCodes[code] : "Unknown";
  std::fprintf(stderr, "peactl: %.*s: %s: %s\n", static_cast<int>(what.size()), what.data(), name,
               s.error_message().c_str());
  return 1;
}

int Fail(std::string_view message) {
  std::fprintf(stderr, "peactl: %.*s\n", static_cast<int>(message.size()), message.data());
  return 1;
}

}  // namespace peapod::cri::peactl
