// pea pause: freezes every process of a container.
#include "oci/pea/command.h"

namespace peapod::pea {
namespace {

absl::StatusOr<int> Pause(const Context& ctx, const ParsedFlags& flags) {
  if (absl::Status s = runtime::Pause(ctx.options, flags.positional[0]); !s.ok()) return s;
  return 0;
}

}  // namespace

const Command kPauseCommand = {
    .name = "pause",
    .summary = "pause suspends all processes inside the container",
    .args_usage = "<container-id>",
    .description =
        "The pause command suspends all processes in the instance of the container (cgroup "
        "freezer).",
    .run = Pause,
};

}  // namespace peapod::pea
