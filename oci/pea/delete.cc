// pea delete: removes a stopped (or, with --force, any) container.
#include "oci/pea/command.h"

namespace peapod::pea {
namespace {

constexpr FlagSpec kDeleteFlags[] = {
    {"force", "f", FlagKind::kBool,
     "Forcibly deletes the container if it is still running (uses SIGKILL)"},
};

absl::StatusOr<int> Delete(const Context& ctx, const ParsedFlags& flags) {
  absl::Status s = runtime::Delete(ctx.options, flags.positional[0], flags.Bool("force"));
  if (!s.ok()) return s;
  return 0;
}

}  // namespace

const Command kDeleteCommand = {
    .name = "delete",
    .summary = "delete any resources held by the container often used with detached container",
    .args_usage = "<container-id>",
    .description =
        "The delete command deletes any resources held by the container: its state, cgroup\n"
        "and mounts. A running container needs --force (SIGKILL first).",
    .flags = kDeleteFlags,
    .run = Delete,
};

}  // namespace peapod::pea
