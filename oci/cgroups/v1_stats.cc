// Usage counters from cgroup v1 files.
#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "oci/cgroups/fs.h"
#include "oci/cgroups/v1_manager.h"

namespace peapod::cgroups {

absl::Status ReadV1MemoryStats(const std::string& dir, Stats* stats) {
  auto& m = stats->memory;
  struct {
    absl::string_view file;
    uint64_t* out;
  } files[] = {{"memory.usage_in_bytes", &m.usage},
               {"memory.max_usage_in_bytes", &m.max_usage},
               {"memory.failcnt", &m.failcnt},
               {"memory.limit_in_bytes", &m.limit}};
  for (const auto& f : files) {
    auto v = ReadUint(dir, f.file);
    if (!v.ok()) return v.status();
    *f.out = *v;
  }
  if (FileExists(dir, "memory.memsw.usage_in_bytes")) {
    auto usage = ReadUint(dir, "memory.memsw.usage_in_bytes");
    auto limit = ReadUint(dir, "memory.memsw.limit_in_bytes");
    if (!usage.ok()) return usage.status();
    if (!limit.ok()) return limit.status();
    m.swap_usage = *usage;
    m.swap_limit = *limit;
  }
  auto stat = ReadFile(dir, "memory.stat");
  if (!stat.ok()) return stat.status();
  for (auto& [k, v] : ParseKeyValues(*stat)) m.raw[k] = v;
  auto oom = ReadFile(dir, "memory.oom_control");
  if (!oom.ok()) return oom.status();
  m.oom_kill_count = KeyValue(*oom, "oom_kill");
  return absl::OkStatus();
}

absl::Status ReadV1CpuacctStats(const std::string& dir, Stats* stats) {
  auto& c = stats->cpu;
  auto total = ReadUint(dir, "cpuacct.usage");
  if (!total.ok()) return total.status();
  c.total_ns = *total;
  if (FileExists(dir, "cpuacct.usage_user") && FileExists(dir, "cpuacct.usage_sys")) {
    auto user = ReadUint(dir, "cpuacct.usage_user");
    auto sys = ReadUint(dir, "cpuacct.usage_sys");
    if (!user.ok()) return user.status();
    if (!sys.ok()) return sys.status();
    c.user_ns = *user;
    c.kernel_ns = *sys;
  } else {
    // Older kernels: cpuacct.stat in USER_HZ ticks.
    auto text = ReadFile(dir, "cpuacct.stat");
    if (!text.ok()) return text.status();
    uint64_t ns_per_tick = 1'000'000'000 / static_cast<uint64_t>(sysconf(_SC_CLK_TCK));
    c.user_ns = KeyValue(*text, "user") * ns_per_tick;
    c.kernel_ns = KeyValue(*text, "system") * ns_per_tick;
  }
  auto percpu = ReadFile(dir, "cpuacct.usage_percpu");
  if (!percpu.ok()) return percpu.status();
  c.percpu_ns.clear();
  for (absl::string_view f : absl::StrSplit(*percpu, absl::ByAnyChar(" \n"), absl::SkipEmpty())) {
    uint64_t v = 0;
    if (absl::SimpleAtoi(f, &v)) c.percpu_ns.push_back(v);
  }
  return absl::OkStatus();
}

absl::Status ReadV1CpuStats(const std::string& dir, Stats* stats) {
  auto text = ReadFile(dir, "cpu.stat");
  if (!text.ok()) return text.status();
  stats->cpu.periods = KeyValue(*text, "nr_periods");
  stats->cpu.throttled_periods = KeyValue(*text, "nr_throttled");
  stats->cpu.throttled_time_ns = KeyValue(*text, "throttled_time");
  return absl::OkStatus();
}

absl::Status ReadV1HugetlbStats(const std::string& dir, Stats* stats) {
  auto files = ListFiles(dir);
  if (!files.ok()) return files.status();
  for (absl::string_view f : *files) {
    // hugetlb.<size>.usage_in_bytes
    if (!absl::ConsumePrefix(&f, "hugetlb.") || !absl::ConsumeSuffix(&f, ".usage_in_bytes")) {
      continue;
    }
    auto v = ReadUint(dir, absl::StrCat("hugetlb.", f, ".usage_in_bytes"));
    if (!v.ok()) return v.status();
    stats->hugetlb_usage[std::string(f)] = *v;
  }
  return absl::OkStatus();
}

}  // namespace peapod::cgroups
