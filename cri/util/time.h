// Wall-clock time as the CRI reports it: nanoseconds since the epoch.
#pragma once

#include <chrono>
#include <cstdint>

namespace peapod::cri {

inline int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace peapod::cri
