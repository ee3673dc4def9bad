// linux.resources -> cgroup v2 files, and v2 usage counters.
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "oci/cgroups/convert.h"
#include "oci/cgroups/fs.h"
#include "oci/cgroups/v2_manager.h"

namespace peapod::cgroups {

uint64_t BlkioWeightToIoWeight(uint64_t weight) {
  if (weight == 0) return 0;
  return 1 + (weight - 10) * 9999 / 990;
}

absl::Status SetV2Memory(const std::string& dir, const oci::Memory& m) {
  std::optional<int64_t> swap = m.swap;
  if (swap == 0) swap.reset();  // 0 means "not set", as in runc
  if (swap.has_value()) {
    if (!FileExists(dir, "memory.swap.max")) {
      if (*swap != -1 && swap != m.limit) {
        return absl::FailedPreconditionError(
            "linux.resources.memory.swap: swap accounting (memory.swap.max) is not available");
      }
    } else {
      std::optional<int64_t> limit = m.limit;
      if (!limit.has_value()) {  // swap alone: relative to the current limit
        auto current = ReadTrimmed(dir, "memory.max");
        if (!current.ok()) return current.status();
        int64_t v = -1;
        if (*current != "max" && !absl::SimpleAtoi(*current, &v)) v = -1;
        limit = v;
      }
      auto value = SwapMaxValue(*swap, limit);
      if (!value.ok()) return value.status();
      if (auto st = WriteFile(dir, "memory.swap.max", *value); !st.ok()) return st;
    }
  }
  if (m.limit.has_value()) {
    if (m.check_before_update.value_or(false) && *m.limit > 0) {
      auto usage = ReadUint(dir, "memory.current");
      if (!usage.ok()) return usage.status();
      if (*usage > static_cast<uint64_t>(*m.limit)) {
        return absl::FailedPreconditionError(absl::StrCat("linux.resources.memory.limit ", *m.limit,
                                                          " is below the current usage ", *usage,
                                                          " (checkBeforeUpdate)"));
      }
    }
    auto st = WriteFile(dir, "memory.max", MemoryMaxValue(*m.limit));
    if (!st.ok()) return st;
  }
  if (m.reservation.has_value()) {
    auto st = WriteFile(dir, "memory.low", MemoryMaxValue(*m.reservation));
    if (!st.ok()) return st;
  }
  return absl::OkStatus();  // swappiness, kernel and OOM-killer switches are v1 only
}

absl::Status SetV2Cpu(const std::string& dir, const oci::Cpu& c) {
  if (c.realtime_period.value_or(0) != 0 || c.realtime_runtime.value_or(0) != 0) {
    return absl::FailedPreconditionError(
        "linux.resources.cpu.realtimeRuntime/realtimePeriod are not supported on cgroup v2");
  }
  if (c.shares.value_or(0) != 0) {
    auto st = WriteFile(dir, "cpu.weight", absl::StrCat(CpuSharesToWeight(*c.shares)));
    if (!st.ok()) return st;
  }
  if (c.quota.has_value() || c.period.value_or(0) != 0) {
    auto current = ReadTrimmed(dir, "cpu.max");  // "<quota|max> <period>"
    if (!current.ok()) return current.status();
    absl::string_view cur = *current;
    size_t space = cur.find(' ');
    uint64_t cur_period = 100000;
    if (space != absl::string_view::npos) {
      if (!absl::SimpleAtoi(cur.substr(space + 1), &cur_period)) cur_period = 100000;
    }
    auto st =
        WriteFile(dir, "cpu.max", CpuMaxValue(c.quota, c.period, cur.substr(0, space), cur_period));
    if (!st.ok()) return st;
  }
  if (c.idle.has_value()) {
    if (auto st = WriteFile(dir, "cpu.idle", absl::StrCat(*c.idle)); !st.ok()) return st;
  }
  return absl::OkStatus();
}

absl::Status SetV2Cpuset(const std::string& dir, const oci::Cpu& c) {
  if (!c.cpus.empty()) {
    if (auto st = WriteFile(dir, "cpuset.cpus", c.cpus); !st.ok()) return st;
  }
  if (!c.mems.empty()) {
    if (auto st = WriteFile(dir, "cpuset.mems", c.mems); !st.ok()) return st;
  }
  return absl::OkStatus();
}

absl::Status SetV2Io(const std::string& dir, const oci::BlockIo& b) {
  std::string weight_file = FileExists(dir, "io.bfq.weight") ? "io.bfq.weight" : "io.weight";
  if (b.weight.has_value()) {
    uint64_t w = weight_file == "io.weight" ? BlkioWeightToIoWeight(*b.weight) : *b.weight;
    if (auto st = WriteFile(dir, weight_file, absl::StrCat(w)); !st.ok()) return st;
  }
  for (const oci::WeightDevice& d : b.weight_device) {
    if (!d.weight.has_value()) continue;
    uint64_t w = weight_file == "io.weight" ? BlkioWeightToIoWeight(*d.weight) : *d.weight;
    auto st = WriteFile(dir, weight_file, absl::StrCat(d.major, ":", d.minor, " ", w));
    if (!st.ok()) return st;
  }
  struct {
    const std::vector<oci::ThrottleDevice>* devices;
    absl::string_view key;
  } throttles[] = {{&b.throttle_read_bps, "rbps"},
                   {&b.throttle_write_bps, "wbps"},
                   {&b.throttle_read_iops, "riops"},
                   {&b.throttle_write_iops, "wiops"}};
  for (const auto& t : throttles) {
    for (const oci::ThrottleDevice& d : *t.devices) {
      std::string rate = d.rate == 0 ? "max" : absl::StrCat(d.rate);
      auto st =
          WriteFile(dir, "io.max", absl::StrCat(d.major, ":", d.minor, " ", t.key, "=", rate));
      if (!st.ok()) return st;
    }
  }
  return absl::OkStatus();
}

absl::Status SetV2Hugetlb(const std::string& dir, const std::vector<oci::HugepageLimit>& limits) {
  for (const oci::HugepageLimit& l : limits) {
    if (auto st = ValidateHugepageSize(l.page_size); !st.ok()) return st;
    std::string file = absl::StrCat("hugetlb.", l.page_size, ".max");
    if (!FileExists(dir, file)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "linux.resources.hugepageLimits: page size ", l.page_size, " is not supported here"));
    }
    if (auto st = WriteFile(dir, file, absl::StrCat(l.limit)); !st.ok()) return st;
  }
  return absl::OkStatus();
}

namespace {

// Reads <dir>/<file> as a number if the file exists; absent leaves `out`.
absl::Status ReadIfPresent(const std::string& dir, absl::string_view file, uint64_t* out) {
  if (!FileExists(dir, file)) return absl::OkStatus();
  auto v = ReadUint(dir, file);
  if (!v.ok()) return v.status();
  *out = *v;
  return absl::OkStatus();
}

uint64_t SaturatingAdd(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

absl::Status ReadV2MemoryStats(const std::string& dir, Stats* stats) {
  auto& m = stats->memory;
  absl::Status st = ReadIfPresent(dir, "memory.current", &m.usage);
  st.Update(ReadIfPresent(dir, "memory.peak", &m.max_usage));
  st.Update(ReadIfPresent(dir, "memory.max", &m.limit));
  uint64_t swap = 0, swap_max = 0;
  st.Update(ReadIfPresent(dir, "memory.swap.current", &swap));
  st.Update(ReadIfPresent(dir, "memory.swap.max", &swap_max));
  if (!st.ok()) return st;
  m.swap_usage = SaturatingAdd(m.usage, swap);
  m.swap_limit = SaturatingAdd(m.limit, swap_max);
  if (FileExists(dir, "memory.events")) {
    auto events = ReadFile(dir, "memory.events");
    if (!events.ok()) return events.status();
    m.failcnt = KeyValue(*events, "max");
    m.oom_kill_count = KeyValue(*events, "oom_kill");
  }
  if (FileExists(dir, "memory.stat")) {
    auto text = ReadFile(dir, "memory.stat");
    if (!text.ok()) return text.status();
    for (auto& [k, v] : ParseKeyValues(*text)) m.raw[k] = v;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ReadV2Stats(const std::string& dir, Stats* stats) {
  if (auto st = ReadV2MemoryStats(dir, stats); !st.ok()) return st;
  auto cpu = ReadFile(dir, "cpu.stat");  // present even without the cpu controller
  if (!cpu.ok()) return cpu.status();
  auto& c = stats->cpu;
  c.total_ns = KeyValue(*cpu, "usage_usec") * 1000;
  c.user_ns = KeyValue(*cpu, "user_usec") * 1000;
  c.kernel_ns = KeyValue(*cpu, "system_usec") * 1000;
  c.periods = KeyValue(*cpu, "nr_periods");
  c.throttled_periods = KeyValue(*cpu, "nr_throttled");
  c.throttled_time_ns = KeyValue(*cpu, "throttled_usec") * 1000;
  absl::Status st = ReadIfPresent(dir, "pids.current", &stats->pids.current);
  st.Update(ReadIfPresent(dir, "pids.max", &stats->pids.limit));
  if (stats->pids.limit == UINT64_MAX) stats->pids.limit = 0;
  if (!st.ok()) return st;
  auto files = ListFiles(dir);
  if (!files.ok()) return files.status();
  for (absl::string_view f : *files) {
    if (!absl::ConsumePrefix(&f, "hugetlb.") || !absl::ConsumeSuffix(&f, ".current")) continue;
    uint64_t v = 0;
    if (auto s = ReadIfPresent(dir, absl::StrCat("hugetlb.", f, ".current"), &v); !s.ok()) {
      return s;
    }
    stats->hugetlb_usage[std::string(f)] = v;
  }
  return absl::OkStatus();
}

}  // namespace peapod::cgroups
