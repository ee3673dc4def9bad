// pea list: the containers under --root, as a table, JSON or ids.
#include "oci/pea/command.h"
#include "oci/pea/format.h"

namespace peapod::pea {
namespace {

constexpr FlagSpec kListFlags[] = {
    {"format", "f", FlagKind::kValue, "select one of: table or json", "\"table\""},
    {"quiet", "q", FlagKind::kBool, "display only container IDs"},
};

absl::StatusOr<int> List(const Context& ctx, const ParsedFlags& flags) {
  std::string format = flags.Value("format", "table");
  if (format != "table" && format != "json") {
    return absl::InvalidArgumentError("invalid format option \"" + format +
                                      "\": use table or json");
  }
  absl::StatusOr<std::vector<runtime::ContainerState>> states = runtime::List(ctx.options);
  if (!states.ok()) return states.status();
  if (flags.Bool("quiet")) {
    for (const runtime::ContainerState& s : *states) fprintf(ctx.out, "%s\n", s.id.c_str());
  } else if (format == "json") {
    fprintf(ctx.out, "%s\n", ListJson(*states).c_str());
  } else {
    fputs(ListTable(*states).c_str(), ctx.out);
  }
  return 0;
}

}  // namespace

const Command kListCommand = {
    .name = "list",
    .summary = "lists containers started by pea with the given root",
    .args_usage = "",
    .description = "The list command lists containers started by pea with the given root.",
    .flags = kListFlags,
    .min_args = 0,
    .max_args = 0,
    .run = List,
};

}  // namespace peapod::pea
