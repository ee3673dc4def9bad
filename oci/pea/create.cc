// pea create: sets a container up from a bundle; its process waits for start.
#include "oci/pea/command.h"
#include "oci/pea/options.h"

namespace peapod::pea {
namespace {

absl::StatusOr<int> Create(const Context& ctx, const ParsedFlags& flags) {
  absl::StatusOr<runtime::CreateOptions> create = BuildCreateOptions(flags);
  if (!create.ok()) return create.status();
  if (absl::Status s = runtime::Create(ctx.options, *create); !s.ok()) return s;
  return 0;
}

// go-runc passes --detach to create as well; it means nothing there.
std::vector<FlagSpec> CreateVerbFlags() {
  std::vector<FlagSpec> f(CreateFlags().begin(), CreateFlags().end());
  f.push_back(
      {"detach", "d", FlagKind::kBool, "accepted for runc compatibility (create always detaches)"});
  return f;
}
const std::vector<FlagSpec> kCreateVerbFlags = CreateVerbFlags();

}  // namespace

const Command kCreateCommand = {
    .name = "create",
    .summary = "create a container",
    .args_usage = "<container-id>",
    .description =
        "The create command creates an instance of a container for a bundle. The bundle\n"
        "is a directory with a specification file named \"config.json\" and a root\n"
        "filesystem. The container's process waits until `pea start`.",
    .flags = kCreateVerbFlags,
    .run = Create,
};

}  // namespace peapod::pea
