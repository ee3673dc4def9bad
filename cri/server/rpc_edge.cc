#include "cri/server/rpc_edge.h"

#include <chrono>
#include <exception>

#include "cri/util/str.h"

namespace peapod::cri {

grpc::Status ToGrpcStatus(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  // absl and gRPC share the canonical code numbering (0..16).
  int code = static_cast<int>(s.code());
  if (code < 0 || code > 16) code = static_cast<int>(absl::StatusCode::kUnknown);
  return grpc::Status(static_cast<grpc::StatusCode>(code), std::string(s.message()));
}

grpc::Status RpcEdge::Run(std::string_view method, Gate gate,
                          absl::FunctionRef<absl::Status()> handler) {
  auto start = std::chrono::steady_clock::now();
  absl::Status status;
  if (gate == Gate::kWhenReady && !ready_.load()) {
    status = absl::UnavailableError("peapodd is starting up: state recovery not finished");
  } else {
    try {
      status = handler();
    } catch (const std::exception& e) {
      status = absl::InternalError(Cat("unexpected exception: ", e.what()));
    }
  }
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  if (status.ok()) {
    log_.Debug(Cat(method, " ok (", us, "us)"));
  } else if (status.code() == absl::StatusCode::kUnimplemented ||
             status.code() == absl::StatusCode::kNotFound) {
    log_.Info(Cat(method, " failed (", us, "us): ", status.ToString()));
  } else {
    log_.Error(Cat(method, " failed (", us, "us): ", status.ToString()));
  }
  return ToGrpcStatus(status);
}

}  // namespace peapod::cri
