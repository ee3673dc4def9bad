#include "oci/pea/format.h"

#include <seccomp.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "oci/spec/capability_names.h"
#include "oci/spec/spec.h"

namespace peapod::pea {
namespace {

using json::Array;
using json::Object;
using json::Value;

Value Strings(std::initializer_list<const char*> items) {
  Array a;
  for (const char* s : items) a.emplace_back(s);
  return Value(std::move(a));
}

Value U64Array(const std::vector<uint64_t>& v) {
  Array a;
  for (uint64_t x : v) a.emplace_back(x);
  return Value(std::move(a));
}

Value MapValue(const std::map<std::string, uint64_t>& m) {
  Object o;
  for (const auto& [k, v] : m) o.emplace_back(k, Value(v));
  return Value(std::move(o));
}

Value MemoryValue(const runtime::Stats& s) {
  Object usage = {{"limit", Value(s.memory.limit)},
                  {"usage", Value(s.memory.usage)},
                  {"max", Value(s.memory.max_usage)},
                  {"failcnt", Value(s.memory.failcnt)}};
  Object swap = {{"limit", Value(s.memory.swap_limit)}, {"usage", Value(s.memory.swap_usage)}};
  auto cache = s.memory.raw.find("cache");
  uint64_t cache_bytes = cache == s.memory.raw.end() ? 0 : cache->second;
  return Value(Object{{"cache", Value(cache_bytes)},
                      {"usage", Value(std::move(usage))},
                      {"swap", Value(std::move(swap))},
                      {"oom_kill", Value(s.memory.oom_kill_count)},
                      {"raw", MapValue(s.memory.raw)}});
}

Value CpuValue(const runtime::Stats& s) {
  Object usage = {{"total", Value(s.cpu.total_ns)},
                  {"percpu", U64Array(s.cpu.percpu_ns)},
                  {"kernel", Value(s.cpu.kernel_ns)},
                  {"user", Value(s.cpu.user_ns)}};
  Object throttling = {{"periods", Value(s.cpu.periods)},
                       {"throttledPeriods", Value(s.cpu.throttled_periods)},
                       {"throttledTime", Value(s.cpu.throttled_time_ns)}};
  return Value(
      Object{{"usage", Value(std::move(usage))}, {"throttling", Value(std::move(throttling))}});
}

Value SeccompFeatures() {
  return Value(Object{
      {"enabled", Value(true)},
      {"actions",
       Strings({"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"})},
      {"operators", Strings({"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE",
                             "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"})},
      {"archs", Strings({"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_X32", "SCMP_ARCH_X86",
                         "SCMP_ARCH_X86_64"})},
  });
}

Value Capabilities() {
  Array names;
  for (std::string_view c : oci::kCapabilityNames) names.emplace_back(std::string(c));
  return Value(std::move(names));
}

}  // namespace

Value StateValue(const runtime::ContainerState& s) {
  Object o = {{"ociVersion", Value(s.oci_version)},
              {"id", Value(s.id)},
              {"pid", Value(static_cast<int64_t>(s.pid))},
              {"status", Value(s.status)},
              {"bundle", Value(s.bundle)},
              {"rootfs", Value(s.rootfs)},
              {"created", Value(s.created)},
              {"owner", Value(s.owner)}};
  if (!s.annotations.empty()) {
    Object a;
    for (const auto& [k, v] : s.annotations) a.emplace_back(k, Value(v));
    o.emplace_back("annotations", Value(std::move(a)));
  }
  return Value(std::move(o));
}

std::string StateJson(const runtime::ContainerState& state) {
  return json::Write(StateValue(state), /*pretty=*/true);
}

std::string ListJson(const std::vector<runtime::ContainerState>& states) {
  if (states.empty()) return "null";
  Array a;
  for (const runtime::ContainerState& s : states) a.push_back(StateValue(s));
  return json::Write(Value(std::move(a)));
}

std::string Tabulate(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    for (size_t c = 0; c + 1 < row.size(); ++c) {  // the last cell is not padded
      if (width.size() <= c) width.resize(c + 1, 0);
      width[c] = std::max({width[c], row[c].size() + 3, size_t{12}});
    }
  }
  std::string out;
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) {
      out += row[c];
      if (c + 1 < row.size()) out += std::string(width[c] - row[c].size(), ' ');
    }
    out += '\n';
  }
  return out;
}

std::string ListTable(const std::vector<runtime::ContainerState>& states) {
  std::vector<std::vector<std::string>> rows = {
      {"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
  for (const runtime::ContainerState& s : states) {
    rows.push_back({s.id, std::to_string(s.pid), s.status, s.bundle, s.created, s.owner});
  }
  return Tabulate(rows);
}

std::string EventJson(const std::string& type, const std::string& id, const Value* data) {
  Object o = {{"type", Value(type)}, {"id", Value(id)}};
  if (data != nullptr) o.emplace_back("data", *data);
  return json::Write(Value(std::move(o)));
}

Value StatsValue(const runtime::Stats& s) {
  Object hugetlb;
  for (const auto& [size, usage] : s.hugetlb_usage) {
    hugetlb.emplace_back(size, Value(Object{{"usage", Value(usage)}}));
  }
  return Value(Object{
      {"cpu", CpuValue(s)},
      {"memory", MemoryValue(s)},
      {"pids", Value(Object{{"current", Value(s.pids.current)}, {"limit", Value(s.pids.limit)}})},
      {"blkio", Value(Object{})},
      {"hugetlb", Value(std::move(hugetlb))}});
}

std::string FeaturesJson() {
  const scmp_version* v = seccomp_version();
  std::string libseccomp = absl::StrCat(v->major, ".", v->minor, ".", v->micro);
  Value mount_options =
      Strings({"async",      "atime",      "bind",    "defaults",    "dev",
               "diratime",   "dirsync",    "exec",    "iversion",    "lazytime",
               "mand",       "noatime",    "nodev",   "nodiratime",  "noexec",
               "noiversion", "nolazytime", "nomand",  "norelatime",  "nostrictatime",
               "nosuid",     "private",    "rbind",   "relatime",    "remount",
               "ro",         "rprivate",   "rshared", "rslave",      "runbindable",
               "rw",         "shared",     "slave",   "strictatime", "suid",
               "sync",       "unbindable"});
  Object linux = {
      {"namespaces", Strings({"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"})},
      {"capabilities", Capabilities()},
      {"cgroup", Value(Object{{"v1", Value(true)},
                              {"v2", Value(true)},
                              {"systemd", Value(false)},
                              {"systemdUser", Value(false)}})},
      {"seccomp", SeccompFeatures()},
      {"apparmor", Value(Object{{"enabled", Value(false)}})},
      {"selinux", Value(Object{{"enabled", Value(false)}})},
  };
  Object features = {
      {"ociVersionMin", Value("1.0.0")},
      {"ociVersionMax", Value(std::string(oci::kOciVersion))},
      {"hooks", Strings({"prestart", "createRuntime", "createContainer", "startContainer",
                         "poststart", "poststop"})},
      {"mountOptions", std::move(mount_options)},
      {"linux", Value(std::move(linux))},
      {"annotations", Value(Object{{"io.github.seccomp.libseccomp.version", Value(libseccomp)}})},
  };
  return json::Write(Value(std::move(features)), /*pretty=*/true);
}

}  // namespace peapod::pea
