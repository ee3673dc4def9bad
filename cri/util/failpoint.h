// Test-only crash points. With PEAPOD_FAILPOINT=<name> in its environment,
// a process SIGKILLs itself the first time it reaches Failpoint("<name>"),
// so restart tests can kill peapodd between any two steps of an operation
// (names are "<operation>:<step>", e.g. "create-container:shim-created").
// Unset (the normal case) every failpoint is a no-op.
#pragma once

#include <signal.h>

#include <cstdlib>
#include <string_view>

namespace peapod::cri {

// Kills this process with SIGKILL if PEAPOD_FAILPOINT names `name`.
inline void Failpoint(std::string_view name) {
  static const char* const wanted = std::getenv("PEAPOD_FAILPOINT");
  if (wanted != nullptr && name == wanted) ::raise(SIGKILL);
}

}  // namespace peapod::cri
