// The one decorator every RPC goes through: it checks readiness, runs the
// handler, logs the outcome once, and converts absl::Status to grpc::Status.
// Handlers below it only return absl::Status with the code chosen where the
// error happened; nothing below picks a gRPC code.
#pragma once

#include <atomic>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "cri/server/log.h"
#include "grpcpp/support/status.h"

namespace peapod::cri {

// Maps an absl::Status to the gRPC status with the same canonical code.
grpc::Status ToGrpcStatus(const absl::Status& s);

class RpcEdge {
 public:
  // Whether an RPC may run before the daemon has finished recovering state.
  enum class Gate { kAlways, kWhenReady };

  // `ready` turns true once peapodd has rebuilt its state; until then gated
  // RPCs fail with Unavailable.
  RpcEdge(Logger& log, const std::atomic<bool>& ready) : log_(log), ready_(ready) {}

  // Runs `handler` for RPC `method` and returns its result as a grpc::Status.
  grpc::Status Run(std::string_view method, Gate gate, absl::FunctionRef<absl::Status()> handler);

 private:
  Logger& log_;
  const std::atomic<bool>& ready_;
};

}  // namespace peapod::cri
