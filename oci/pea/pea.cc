// Global flags, verb dispatch and the one place errors are reported.
#include "oci/pea/pea.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "oci/pea/command.h"
#include "oci/pea/format.h"
#include "oci/spec/spec.h"

namespace peapod::pea {
namespace {

constexpr FlagSpec kGlobalFlags[] = {
    {"debug", "", FlagKind::kBool, "enable debug logging"},
    {"log", "", FlagKind::kValue, "set the log file to write pea logs to (default: stderr only)"},
    {"log-format", "", FlagKind::kValue, "set the log format ('text' (default), or 'json')",
     "\"text\""},
    {"root", "", FlagKind::kValue, "root directory for storage of container state", "\"/run/pea\""},
    {"criu", "", FlagKind::kValue, "accepted for runc compatibility (checkpoint is not supported)"},
    {"systemd-cgroup", "", FlagKind::kBool, "systemd cgroup support (not supported: an error)"},
    {"rootless", "", FlagKind::kValue, "'true', 'false' or 'auto' (only non-rootless is supported)",
     "\"auto\""},
    {"help", "h", FlagKind::kBool, "show help"},
    {"version", "v", FlagKind::kBool, "print the version"},
};

constexpr FlagSpec kHelpFlag = {"help", "h", FlagKind::kBool, "show help"};

std::string MainHelp() {
  std::string out =
      "NAME:\n   pea - Open Container Initiative runtime (runc-compatible) of peapod\n\n"
      "USAGE:\n   pea [global options] command [command options] [arguments...]\n\nCOMMANDS:\n";
  std::vector<std::vector<std::string>> rows;
  for (const Command* c : Commands()) {
    rows.push_back({"   " + std::string(c->name), std::string(c->summary)});
  }
  rows.push_back({"   help", "Shows a list of commands or help for one command"});
  absl::StrAppend(&out, Tabulate(rows), "\nGLOBAL OPTIONS:\n", FlagsHelp(kGlobalFlags));
  return out;
}

// Reports an error once: one line on stderr, one record in the --log file.
int Fail(const LogTarget& log, FILE* err, std::string_view verb, const absl::Status& status) {
  std::string message = absl::StrReplaceAll(status.message(), {{"\n", "; "}});
  WriteLog(log, "error", message);
  fprintf(err, "pea%s%s: %s\n", verb.empty() ? "" : " ", std::string(verb).c_str(),
          message.c_str());
  return 1;
}

absl::Status CheckArgs(const Command& c, const ParsedFlags& flags) {
  size_t n = flags.positional.size();
  if (n >= c.min_args && n <= c.max_args) return absl::OkStatus();
  if (c.min_args == c.max_args) {
    return absl::InvalidArgumentError(absl::StrCat("\"", std::string(c.name),
                                                   "\" requires exactly ", c.min_args,
                                                   " argument(s): ", std::string(c.args_usage)));
  }
  if (n < c.min_args) {
    return absl::InvalidArgumentError(absl::StrCat("\"", std::string(c.name),
                                                   "\" requires a minimum of ", c.min_args,
                                                   " argument(s): ", std::string(c.args_usage)));
  }
  return absl::InvalidArgumentError(absl::StrCat("\"", std::string(c.name),
                                                 "\" requires a maximum of ", c.max_args,
                                                 " argument(s): ", std::string(c.args_usage)));
}

absl::Status CheckGlobals(const ParsedFlags& g) {
  if (g.Bool("systemd-cgroup")) {
    return absl::UnimplementedError(
        "--systemd-cgroup is not supported: pea manages cgroupfs paths directly; drop the flag "
        "(containerd: SystemdCgroup = false)");
  }
  std::string rootless = g.Value("rootless", "auto");
  if (rootless == "true") return absl::UnimplementedError("--rootless=true is not supported");
  if (rootless != "false" && rootless != "auto") {
    return absl::InvalidArgumentError("--rootless must be true, false or auto");
  }
  std::string format = g.Value("log-format", "text");
  if (format != "text" && format != "json") {
    return absl::InvalidArgumentError("invalid log-format: " + format);
  }
  return absl::OkStatus();
}

// Parses the verb's flags and runs it.
int RunCommand(const Command& c, Context& ctx, std::span<const std::string> args) {
  std::vector<FlagSpec> specs(c.flags.begin(), c.flags.end());
  specs.push_back(kHelpFlag);
  absl::StatusOr<ParsedFlags> flags = ParseFlags(specs, args, c.mode);
  if (!flags.ok()) return Fail(ctx.log, ctx.err, c.name, flags.status());
  if (flags->Bool("help")) {
    fputs(CommandHelp(c).c_str(), ctx.out);
    return 0;
  }
  if (absl::Status s = CheckArgs(c, *flags); !s.ok()) return Fail(ctx.log, ctx.err, c.name, s);
  WriteLog(ctx.log, "debug",
           absl::StrCat("pea ", std::string(c.name), " ", absl::StrJoin(args, " ")));
  absl::StatusOr<int> result = c.run(ctx, *flags);
  if (!result.ok()) return Fail(ctx.log, ctx.err, c.name, result.status());
  return *result;
}

}  // namespace

int Main(std::span<const std::string> args, FILE* out, FILE* err, FILE* in) {
  absl::StatusOr<ParsedFlags> global = ParseFlags(kGlobalFlags, args, {.stop_at_unknown = true});
  if (!global.ok()) return Fail({}, err, "", global.status());
  Context ctx{.out = out, .err = err, .in = in};
  ctx.log = {.path = global->Value("log"),
             .json = global->Value("log-format") == "json",
             .debug = global->Bool("debug")};
  ctx.options.root = global->Value("root", "/run/pea");
  ctx.options.debug = global->Bool("debug");
  ctx.options.log = ctx.log.path;
  ctx.options.log_json = ctx.log.json;
  if (global->Bool("version")) {
    fprintf(out, "pea version 0.1.0\nspec: %s\n", std::string(oci::kOciVersion).c_str());
    return 0;
  }
  const std::vector<std::string>& rest = global->positional;
  if (global->Bool("help") || rest.empty() || (rest[0] == "help" && rest.size() == 1)) {
    fputs(MainHelp().c_str(), out);
    return rest.empty() && !global->Bool("help") ? 1 : 0;
  }
  bool help_verb = rest[0] == "help";
  const std::string& verb = help_verb ? rest[1] : rest[0];
  const Command* command = FindCommand(verb);
  if (command == nullptr) {
    return Fail(ctx.log, err, "", absl::InvalidArgumentError("no such command: " + verb));
  }
  if (help_verb) {
    fputs(CommandHelp(*command).c_str(), out);
    return 0;
  }
  if (absl::Status s = CheckGlobals(*global); !s.ok()) return Fail(ctx.log, err, verb, s);
  return RunCommand(*command, ctx, std::span(rest).subspan(1));
}

}  // namespace peapod::pea
