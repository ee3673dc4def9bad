// Command-line flags with runc's (Go `flag` / urfave/cli) syntax:
//   --name value, --name=value, -name value, -n value; bool flags take no
//   value (--detach) or an explicit one (--detach=false); "--" ends flags.
// Flags may follow positional arguments (urfave/cli reorders them) unless
// the command stops at its first positional argument (exec, ps), where
// everything after the container id belongs to the process.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace peapod::pea {

enum class FlagKind { kBool, kValue, kRepeated };

struct FlagSpec {
  std::string_view name;   // long name, e.g. "bundle"
  std::string_view alias;  // short name or alternative spelling ("b"), may be empty
  FlagKind kind = FlagKind::kBool;
  std::string_view help;
  std::string_view default_value;  // shown in --help
};

// The outcome of parsing: values by long name, positional arguments in order.
class ParsedFlags {
 public:
  // True if the flag was given (a bool flag given as =false counts as given).
  bool Has(std::string_view name) const;
  // A bool flag's value: false unless given (and not =false).
  bool Bool(std::string_view name) const;
  // A value flag's last value, or `fallback` if not given.
  std::string Value(std::string_view name, std::string_view fallback = "") const;
  // Every value of a repeated flag, in order.
  std::vector<std::string> Values(std::string_view name) const;

  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>, std::less<>> values;
};

struct ParseMode {
  bool stop_at_positional = false;  // everything after the first positional is positional
  bool stop_at_unknown = false;     // global flags: stop at the first non-flag (the verb)
};

// Parses args (without the program/verb name) against specs. Errors are
// InvalidArgument naming the flag: "flag provided but not defined: -x".
absl::StatusOr<ParsedFlags> ParseFlags(std::span<const FlagSpec> specs,
                                       std::span<const std::string> args, ParseMode mode = {});

// The "OPTIONS:" block of a --help text, one flag a line.
std::string FlagsHelp(std::span<const FlagSpec> specs);

}  // namespace peapod::pea
