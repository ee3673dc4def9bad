// The verb table and per-verb help.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "oci/pea/command.h"

namespace peapod::pea {

std::span<const Command* const> Commands() {
  static const Command* const kCommands[] = {
      &kCreateCommand, &kDeleteCommand, &kEventsCommand, &kExecCommand,  &kFeaturesCommand,
      &kKillCommand,   &kListCommand,   &kPauseCommand,  &kPsCommand,    &kResumeCommand,
      &kRunCommand,    &kSpecCommand,   &kStartCommand,  &kStateCommand, &kUpdateCommand,
  };
  return kCommands;
}

const Command* FindCommand(std::string_view name) {
  for (const Command* c : Commands()) {
    if (c->name == name) return c;
  }
  return nullptr;
}

std::string CommandHelp(const Command& c) {
  std::string out = absl::StrCat("NAME:\n   pea ", std::string(c.name), " - ",
                                 std::string(c.summary), "\n\nUSAGE:\n   pea ", std::string(c.name),
                                 c.flags.empty() ? "" : " [command options]", " ",
                                 std::string(c.args_usage), "\n\nDESCRIPTION:\n");
  for (absl::string_view line : absl::StrSplit(std::string(c.description), '\n')) {
    absl::StrAppend(&out, "   ", line, "\n");
  }
  if (!c.flags.empty()) absl::StrAppend(&out, "\nOPTIONS:\n", FlagsHelp(c.flags));
  return out;
}

}  // namespace peapod::pea
