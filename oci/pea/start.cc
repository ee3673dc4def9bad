// pea start: lets a created container's process exec the user's program.
#include "oci/pea/command.h"

namespace peapod::pea {
namespace {

absl::StatusOr<int> Start(const Context& ctx, const ParsedFlags& flags) {
  if (absl::Status s = runtime::Start(ctx.options, flags.positional[0]); !s.ok()) return s;
  return 0;
}

}  // namespace

const Command kStartCommand = {
    .name = "start",
    .summary = "executes the user defined process in a created container",
    .args_usage = "<container-id>",
    .description = "The start command executes the user defined process in a created container.",
    .run = Start,
};

}  // namespace peapod::pea
