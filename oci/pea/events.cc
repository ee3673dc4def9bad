// pea events: container stats (once with --stats, else every --interval)
// and an "oom" event when the container's cgroup sees an OOM kill.
#include <thread>

#include "oci/pea/command.h"
#include "oci/pea/format.h"
#include "oci/pea/options.h"

namespace peapod::pea {
namespace {

constexpr FlagSpec kEventsFlags[] = {
    {"interval", "", FlagKind::kValue, "set the stats collection interval", "5s"},
    {"stats", "", FlagKind::kBool, "display the container's stats then exit"},
};

absl::Status PrintStats(const Context& ctx, const std::string& id) {
  absl::StatusOr<runtime::Stats> stats = runtime::GetStats(ctx.options, id);
  if (!stats.ok()) return stats.status();
  json::Value data = StatsValue(*stats);
  fprintf(ctx.out, "%s\n", EventJson("stats", id, &data).c_str());
  fflush(ctx.out);
  return absl::OkStatus();
}

absl::StatusOr<int> Events(const Context& ctx, const ParsedFlags& flags) {
  const std::string& id = flags.positional[0];
  if (flags.Bool("stats")) {
    if (absl::Status s = PrintStats(ctx, id); !s.ok()) return s;
    return 0;
  }
  absl::StatusOr<std::chrono::nanoseconds> interval = ParseDuration(flags.Value("interval", "5s"));
  if (!interval.ok()) return interval.status();
  if (interval->count() <= 0)
    return absl::InvalidArgumentError("duration interval must be greater than 0");
  bool oom_reported = false;
  // Until the container is gone: stats every interval, "oom" once.
  while (true) {
    absl::StatusOr<runtime::ContainerState> state = runtime::State(ctx.options, id);
    if (!state.ok()) return state.status();
    absl::StatusOr<bool> oom = runtime::OomKilled(ctx.options, id);
    if (oom.ok() && *oom && !oom_reported) {
      fprintf(ctx.out, "%s\n", EventJson("oom", id, nullptr).c_str());
      fflush(ctx.out);
      oom_reported = true;
    }
    if (state->status == "stopped") return 0;
    if (absl::Status s = PrintStats(ctx, id); !s.ok()) return s;
    std::this_thread::sleep_for(*interval);
  }
}

}  // namespace

const Command kEventsCommand = {
    .name = "events",
    .summary =
        "display container events such as OOM notifications and cpu, memory, and IO usage "
        "statistics",
    .args_usage = "<container-id>",
    .description =
        "The events command prints one JSON object a line: {\"type\":\"stats\",...} every\n"
        "--interval and {\"type\":\"oom\"} when the container's cgroup OOM-kills a process;\n"
        "it ends when the container stops. With --stats it prints the stats once.",
    .flags = kEventsFlags,
    .run = Events,
};

}  // namespace peapod::pea
