#include "cri/server/signal_name.h"

#include <signal.h>
#include <string.h>

#include <algorithm>
#include <cstdlib>

#include "cri/util/str.h"

namespace peapod::cri {

absl::StatusOr<int> ParseSignal(const std::string& name) {
  if (name.empty()) return absl::InvalidArgumentError("empty signal name");
  if (std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int n = name.size() <= 2 ? std::stoi(name) : 0;
    if (n > 0 && n < NSIG) return n;
    return absl::InvalidArgumentError(Cat("signal number ", name, " out of range"));
  }
  std::string bare = name.starts_with("SIG") ? name.substr(3) : name;
  if (bare.starts_with("RTMIN") || bare.starts_with("RTMAX")) {
    int base = bare.starts_with("RTMIN") ? SIGRTMIN : SIGRTMAX;
    std::string off = bare.substr(5);
    int n = off.empty() ? 0 : (off.size() <= 3 ? std::atoi(off.c_str()) : 1000);
    if (!off.empty() && off[0] != '+' && off[0] != '-') n = 1000;
    int sig = base + n;
    if (sig >= SIGRTMIN && sig <= SIGRTMAX) return sig;
    return absl::InvalidArgumentError(Cat("unknown signal \"", name, "\""));
  }
  for (int sig = 1; sig < SIGRTMIN; ++sig) {
    const char* abbrev = sigabbrev_np(sig);
    if (abbrev != nullptr && bare == abbrev) return sig;
  }
  return absl::InvalidArgumentError(Cat("unknown signal \"", name, "\""));
}

}  // namespace peapod::cri
