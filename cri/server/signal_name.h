// Signal names as a stop signal annotation or an image's StopSignal gives them.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace peapod::cri {

// A signal by name ("SIGTERM", "TERM", "SIGRTMIN+3") or number ("15");
// InvalidArgument for anything else.
absl::StatusOr<int> ParseSignal(const std::string& name);

}  // namespace peapod::cri
