// pea run: create + start; waits for the container unless --detach.
#include "oci/pea/command.h"
#include "oci/pea/options.h"

namespace peapod::pea {
namespace {

absl::StatusOr<int> Run(const Context& ctx, const ParsedFlags& flags) {
  absl::StatusOr<runtime::CreateOptions> create = BuildCreateOptions(flags);
  if (!create.ok()) return create.status();
  return runtime::Run(ctx.options, *create, flags.Bool("detach"));
}

std::vector<FlagSpec> RunFlags() {
  std::vector<FlagSpec> f(CreateFlags().begin(), CreateFlags().end());
  f.push_back({"detach", "d", FlagKind::kBool, "detach from the container's process"});
  f.push_back({"no-subreaper", "", FlagKind::kBool,
               "accepted for runc compatibility; pea does not become a subreaper"});
  f.push_back({"keep", "", FlagKind::kBool,
               "accepted for runc compatibility (not supported: the container is deleted)"});
  return f;
}
const std::vector<FlagSpec> kRunFlags = RunFlags();

}  // namespace

const Command kRunCommand = {
    .name = "run",
    .summary = "create and run a container",
    .args_usage = "<container-id>",
    .description =
        "The run command creates an instance of a container for a bundle and starts it.\n"
        "Without --detach it waits for the container's process and exits with its status\n"
        "(128+signal if a signal ended it).",
    .flags = kRunFlags,
    .run = Run,
};

}  // namespace peapod::pea
