// pea update: changes a container's cgroup limits.
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "oci/pea/command.h"
#include "oci/pea/options.h"

namespace peapod::pea {
namespace {

constexpr FlagSpec kUpdateFlags[] = {
    {"resources", "r", FlagKind::kValue,
     "path to the file containing the resources to update or '-' to read from the standard "
     "input (all other options are then ignored)"},
    {"blkio-weight", "", FlagKind::kValue, "Specifies per cgroup weight, range is from 10 to 1000"},
    {"cpu-period", "", FlagKind::kValue, "CPU CFS period to be used for hardcapping (in usecs)"},
    {"cpu-quota", "", FlagKind::kValue, "CPU CFS hardcap limit (in usecs) per period"},
    {"cpu-share", "cpu-shares", FlagKind::kValue,
     "CPU shares (relative weight vs. other containers)"},
    {"cpu-rt-period", "", FlagKind::kValue, "CPU realtime period (in usecs)"},
    {"cpu-rt-runtime", "", FlagKind::kValue, "CPU realtime hardcap limit (in usecs)"},
    {"cpuset-cpus", "", FlagKind::kValue, "CPU(s) to use"},
    {"cpuset-mems", "", FlagKind::kValue, "Memory node(s) to use"},
    {"memory", "", FlagKind::kValue, "Memory limit (in bytes; k/m/g suffixes accepted)"},
    {"memory-reservation", "", FlagKind::kValue, "Memory reservation or soft_limit (in bytes)"},
    {"memory-swap", "", FlagKind::kValue,
     "Total memory usage (memory + swap); set '-1' to enable unlimited swap"},
    {"kernel-memory", "", FlagKind::kValue, "Kernel memory limit (in bytes; cgroup v1 only)"},
    {"kernel-memory-tcp", "", FlagKind::kValue, "Kernel memory limit for tcp buffers (in bytes)"},
    {"pids-limit", "", FlagKind::kValue, "Maximum number of pids allowed in the container"},
};

absl::StatusOr<std::string> ReadAll(FILE* in) {
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0) text.append(buf, n);
  if (ferror(in)) return absl::ErrnoToStatus(errno, "reading resources");
  return text;
}

absl::StatusOr<oci::Resources> LoadResources(const Context& ctx, const std::string& path) {
  absl::StatusOr<std::string> text;
  if (path == "-") {
    text = ReadAll(ctx.in);
  } else {
    FILE* f = fopen(path.c_str(), "re");
    if (f == nullptr) return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
    text = ReadAll(f);
    fclose(f);
  }
  if (!text.ok()) return text.status();
  return oci::ParseResources(*text);
}

absl::StatusOr<int> Update(const Context& ctx, const ParsedFlags& flags) {
  absl::StatusOr<oci::Resources> resources =
      flags.Has("resources") ? LoadResources(ctx, flags.Value("resources")) : BuildResources(flags);
  if (!resources.ok()) return resources.status();
  absl::Status s = runtime::Update(ctx.options, flags.positional[0], *resources);
  if (!s.ok()) return s;
  return 0;
}

}  // namespace

const Command kUpdateCommand = {
    .name = "update",
    .summary = "update container resource constraints",
    .args_usage = "<container-id>",
    .description =
        "The update command changes the cgroup limits of a container, from flags or from a\n"
        "linux.resources JSON document given with -r <file|->.",
    .flags = kUpdateFlags,
    .run = Update,
};

}  // namespace peapod::pea
