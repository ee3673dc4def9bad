// pea kill: sends a signal (name or number, default SIGTERM) to a container.
#include <csignal>

#include "oci/pea/command.h"

namespace peapod::pea {
namespace {

constexpr FlagSpec kKillFlags[] = {
    {"all", "a", FlagKind::kBool,
     "send the specified signal to all processes inside the container"},
};

absl::StatusOr<int> Kill(const Context& ctx, const ParsedFlags& flags) {
  int signal = SIGTERM;
  if (flags.positional.size() > 1) {
    absl::StatusOr<int> parsed = runtime::ParseSignal(flags.positional[1]);
    if (!parsed.ok()) return parsed.status();
    signal = *parsed;
  }
  absl::Status s = runtime::Kill(ctx.options, flags.positional[0], signal, flags.Bool("all"));
  if (!s.ok()) return s;
  return 0;
}

}  // namespace

const Command kKillCommand = {
    .name = "kill",
    .summary = "kill sends the specified signal (default: SIGTERM) to the container's init process",
    .args_usage = "<container-id> [signal]",
    .description =
        "The kill command sends the specified signal to the container's init process.\n"
        "The signal is a name (KILL, SIGKILL) or a number (9); the default is SIGTERM.",
    .flags = kKillFlags,
    .max_args = 2,
    .run = Kill,
};

}  // namespace peapod::pea
