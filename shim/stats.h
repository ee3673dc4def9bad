// Task metrics: the runtime's `events --stats` JSON (runc's types.Stats), or
// the launcher library's Stats, translated once into containerd's cgroups v1
// Metrics protobuf, the message containerd's runc shim returns from Stats.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "oci/runtime/runtime.h"

namespace peapod::shim {

inline constexpr char kMetricsTypeUrl[] = "io.containerd.cgroups.v1.Metrics";

// Parses `{"type":"stats","data":{...}}` and returns a serialized
// io.containerd.cgroups.v1.Metrics.
absl::StatusOr<std::string> MetricsFromRuntimeStats(std::string_view json_text);

// The in-process launcher's statistics as a serialized
// io.containerd.cgroups.v1.Metrics.
std::string MetricsFromStats(const runtime::Stats& st);

}  // namespace peapod::shim
