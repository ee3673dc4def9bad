// Which runtime a container runs with, decided at Create and recorded in its
// bundle so `containerd-shim-peapod-v2 delete` (run after a shim died) cleans
// up with the same one.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"

namespace peapod::shim {

// The runc-compatible binary the request's runc options name (BinaryName of
// a containerd.runc.v1.Options), "" for the shim's default. Options of other
// types are ignored; undecodable runc options are an error.
absl::StatusOr<std::string> RuntimeBinaryOf(const containerd::task::v2::CreateTaskRequest& req);

// Records `binary` ("" = default) in <bundle>/peapod-runtime.
absl::Status WriteRuntimeChoice(const std::string& bundle, const std::string& binary);
// The recorded binary, or `fallback` when none was recorded.
std::string ReadRuntimeChoice(const std::string& bundle, const std::string& fallback);

}  // namespace peapod::shim
