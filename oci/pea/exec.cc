// pea exec: runs another process in a running container.
#include "absl/strings/numbers.h"
#include "oci/pea/command.h"
#include "oci/pea/options.h"
#include "oci/spec/json.h"

namespace peapod::pea {
namespace {

constexpr FlagSpec kExecFlags[] = {
    {"console-socket", "", FlagKind::kValue,
     "path to an AF_UNIX socket which will receive a file descriptor referencing the master "
     "end of the console's pseudoterminal"},
    {"cwd", "", FlagKind::kValue, "current working directory in the container"},
    {"env", "e", FlagKind::kRepeated, "set environment variables"},
    {"tty", "t", FlagKind::kBool, "allocate a pseudo-TTY"},
    {"user", "u", FlagKind::kValue, "UID (format: <uid>[:<gid>])"},
    {"additional-gids", "g", FlagKind::kRepeated, "additional gids"},
    {"process", "p", FlagKind::kValue, "path to the process.json"},
    {"detach", "d", FlagKind::kBool, "detach from the container's process"},
    {"pid-file", "", FlagKind::kValue, "specify the file to write the process id to"},
    {"process-label", "", FlagKind::kValue, "set the asm process label (SELinux; not supported)"},
    {"apparmor", "", FlagKind::kValue, "set the apparmor profile for the process (not supported)"},
    {"no-new-privs", "", FlagKind::kBool, "set the no new privileges value for the process"},
    {"cap", "c", FlagKind::kRepeated, "add a capability to the bounding set for the process"},
    {"preserve-fds", "", FlagKind::kValue,
     "Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)", "0"},
    {"ignore-paused", "", FlagKind::kBool, "accepted for runc compatibility"},
};

// The process to run: --process's file, or the container's own process
// with the command line's args and flags applied.
absl::StatusOr<oci::Process> ExecProcess(const Context& ctx, const ParsedFlags& flags) {
  if (flags.Has("process")) {
    std::string path = flags.Value("process");
    absl::StatusOr<json::Value> doc = json::ParseFile(path);
    if (!doc.ok()) return doc.status();
    return oci::ParseProcess(json::Write(*doc));
  }
  absl::StatusOr<runtime::ContainerState> state = runtime::State(ctx.options, flags.positional[0]);
  if (!state.ok()) return state.status();
  absl::StatusOr<oci::Spec> spec = oci::LoadSpec(state->bundle + "/config.json");
  if (!spec.ok()) return spec.status();
  return BuildExecProcess(spec->process.value_or(oci::Process{}), flags);
}

absl::StatusOr<int> Exec(const Context& ctx, const ParsedFlags& flags) {
  runtime::ExecOptions exec;
  absl::StatusOr<oci::Process> process = ExecProcess(ctx, flags);
  if (!process.ok()) return process.status();
  exec.process = *std::move(process);
  exec.detach = flags.Bool("detach");
  exec.pid_file = Absolute(flags.Value("pid-file"));
  exec.console_socket = Absolute(flags.Value("console-socket"));
  int preserve = 0;
  if (!absl::SimpleAtoi(flags.Value("preserve-fds", "0"), &preserve) || preserve < 0) {
    return absl::InvalidArgumentError("invalid --preserve-fds: not a count");
  }
  exec.preserve_fds = preserve;
  return runtime::Exec(ctx.options, flags.positional[0], exec);
}

}  // namespace

const Command kExecCommand = {
    .name = "exec",
    .summary = "execute new process inside the container",
    .args_usage = "<container-id> <command> [command options]  || -p process.json <container-id>",
    .description =
        "The exec command runs a new process in a running container. Without --process the\n"
        "container's own process settings are used, with the given command and flags.\n"
        "Unless --detach, pea waits and exits with the process's status.",
    .flags = kExecFlags,
    .max_args = SIZE_MAX,
    .mode = {.stop_at_positional = true},
    .run = Exec,
};

}  // namespace peapod::pea
