// The verb table of `pea` (after crun's commands[]): each verb lives in its
// own file and exports one Command; main.cc parses the global flags, finds
// the verb and hands it the rest of the command line.
#pragma once

#include <cstdio>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "oci/pea/flags.h"
#include "oci/pea/log.h"
#include "oci/runtime/runtime.h"

namespace peapod::pea {

// What every verb gets: the global options and the streams to print to
// (tests pass their own).
struct Context {
  runtime::Options options;
  LogTarget log;
  FILE* out = stdout;
  FILE* err = stderr;
  FILE* in = stdin;
};

struct Command {
  std::string_view name;
  std::string_view summary;     // one line for `pea --help`
  std::string_view args_usage;  // e.g. "<container-id>"
  std::string_view description;
  std::span<const FlagSpec> flags;
  size_t min_args = 1;  // positional arguments
  size_t max_args = 1;  // SIZE_MAX: no limit
  ParseMode mode;
  // Runs the verb; the returned int is pea's exit status. Errors are
  // reported once by main (stderr and the --log file), exit status 1.
  std::function<absl::StatusOr<int>(const Context&, const ParsedFlags&)> run;
};

// Every verb, in `pea --help` order.
std::span<const Command* const> Commands();
// The verb called `name`, or nullptr.
const Command* FindCommand(std::string_view name);
// The --help text of one verb.
std::string CommandHelp(const Command& command);

// The verbs (one file each).
extern const Command kCreateCommand;
extern const Command kStartCommand;
extern const Command kRunCommand;
extern const Command kStateCommand;
extern const Command kKillCommand;
extern const Command kDeleteCommand;
extern const Command kExecCommand;
extern const Command kListCommand;
extern const Command kPsCommand;
extern const Command kPauseCommand;
extern const Command kResumeCommand;
extern const Command kUpdateCommand;
extern const Command kEventsCommand;
extern const Command kSpecCommand;
extern const Command kFeaturesCommand;

}  // namespace peapod::pea
