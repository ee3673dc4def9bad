// pea state: prints a container's state as runc's JSON.
#include "oci/pea/command.h"
#include "oci/pea/format.h"

namespace peapod::pea {
namespace {

absl::StatusOr<int> State(const Context& ctx, const ParsedFlags& flags) {
  absl::StatusOr<runtime::ContainerState> state = runtime::State(ctx.options, flags.positional[0]);
  if (!state.ok()) return state.status();
  fprintf(ctx.out, "%s\n", StateJson(*state).c_str());
  return 0;
}

}  // namespace

const Command kStateCommand = {
    .name = "state",
    .summary = "output the state of a container",
    .args_usage = "<container-id>",
    .description =
        "The state command outputs current state information for the instance of a container.",
    .run = State,
};

}  // namespace peapod::pea
