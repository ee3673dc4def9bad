// pea resume: thaws a paused container.
#include "oci/pea/command.h"

namespace peapod::pea {
namespace {

absl::StatusOr<int> Resume(const Context& ctx, const ParsedFlags& flags) {
  if (absl::Status s = runtime::Resume(ctx.options, flags.positional[0]); !s.ok()) return s;
  return 0;
}

}  // namespace

const Command kResumeCommand = {
    .name = "resume",
    .summary = "resumes all processes that have been previously paused",
    .args_usage = "<container-id>",
    .description = "The resume command resumes all processes in the instance of the container.",
    .run = Resume,
};

}  // namespace peapod::pea
