#include "shim/stats.h"

#include "github.com/containerd/cgroups/stats/v1/metrics.pb.h"
#include "oci/spec/json.h"

namespace peapod::shim {
namespace {

namespace cg = io::containerd::cgroups::v1;

// The unsigned value at obj.key, 0 if absent or not a number.
uint64_t U(const json::Value* obj, const char* key) {
  const json::Value* v = obj != nullptr ? obj->Find(key) : nullptr;
  if (v == nullptr) return 0;
  if (v->type() == json::Type::kUint) return v->raw_uint();
  if (v->type() == json::Type::kInt && v->raw_int() > 0) return v->raw_int();
  return 0;
}

const json::Value* Obj(const json::Value* obj, const char* key) {
  const json::Value* v = obj != nullptr ? obj->Find(key) : nullptr;
  return v != nullptr && v->is_object() ? v : nullptr;
}

void FillEntry(const json::Value* e, cg::MemoryEntry* out) {
  out->set_limit(U(e, "limit"));
  out->set_usage(U(e, "usage"));
  out->set_max(U(e, "max"));
  out->set_failcnt(U(e, "failcnt"));
}

void FillMemory(const json::Value* mem, cg::MemoryStat* out) {
  FillEntry(Obj(mem, "usage"), out->mutable_usage());
  FillEntry(Obj(mem, "swap"), out->mutable_swap());
  FillEntry(Obj(mem, "kernel"), out->mutable_kernel());
  FillEntry(Obj(mem, "kernelTCP"), out->mutable_kernel_tcp());
  const json::Value* raw = Obj(mem, "raw");
  out->set_cache(U(raw, "cache"));
  out->set_rss(U(raw, "rss"));
  out->set_rss_huge(U(raw, "rss_huge"));
  out->set_mapped_file(U(raw, "mapped_file"));
  out->set_dirty(U(raw, "dirty"));
  out->set_writeback(U(raw, "writeback"));
  out->set_pg_fault(U(raw, "pgfault"));
  out->set_pg_maj_fault(U(raw, "pgmajfault"));
  out->set_inactive_anon(U(raw, "inactive_anon"));
  out->set_active_anon(U(raw, "active_anon"));
  out->set_inactive_file(U(raw, "inactive_file"));
  out->set_active_file(U(raw, "active_file"));
  out->set_unevictable(U(raw, "unevictable"));
  out->set_hierarchical_memory_limit(U(raw, "hierarchical_memory_limit"));
  out->set_total_cache(U(raw, "total_cache"));
  out->set_total_rss(U(raw, "total_rss"));
}

void FillCpu(const json::Value* cpu, cg::CPUStat* out) {
  const json::Value* usage = Obj(cpu, "usage");
  out->mutable_usage()->set_total(U(usage, "total"));
  out->mutable_usage()->set_kernel(U(usage, "kernel"));
  out->mutable_usage()->set_user(U(usage, "user"));
  if (const json::Value* per = usage ? usage->Find("percpu") : nullptr; per && per->is_array()) {
    for (const json::Value& v : per->as_array()) {
      out->mutable_usage()->add_per_cpu(v.type() == json::Type::kUint ? v.raw_uint() : 0);
    }
  }
  const json::Value* thr = Obj(cpu, "throttling");
  out->mutable_throttling()->set_periods(U(thr, "periods"));
  out->mutable_throttling()->set_throttled_periods(U(thr, "throttledPeriods"));
  out->mutable_throttling()->set_throttled_time(U(thr, "throttledTime"));
}

uint64_t Raw(const std::map<std::string, uint64_t>& raw, const char* key) {
  auto it = raw.find(key);
  return it == raw.end() ? 0 : it->second;
}

}  // namespace

std::string MetricsFromStats(const runtime::Stats& st) {
  cg::Metrics m;
  m.mutable_pids()->set_current(st.pids.current);
  m.mutable_pids()->set_limit(st.pids.limit);
  cg::CPUStat* cpu = m.mutable_cpu();
  cpu->mutable_usage()->set_total(st.cpu.total_ns);
  cpu->mutable_usage()->set_kernel(st.cpu.kernel_ns);
  cpu->mutable_usage()->set_user(st.cpu.user_ns);
  for (uint64_t v : st.cpu.percpu_ns) cpu->mutable_usage()->add_per_cpu(v);
  cpu->mutable_throttling()->set_periods(st.cpu.periods);
  cpu->mutable_throttling()->set_throttled_periods(st.cpu.throttled_periods);
  cpu->mutable_throttling()->set_throttled_time(st.cpu.throttled_time_ns);
  cg::MemoryStat* mem = m.mutable_memory();
  mem->mutable_usage()->set_usage(st.memory.usage);
  mem->mutable_usage()->set_max(st.memory.max_usage);
  mem->mutable_usage()->set_failcnt(st.memory.failcnt);
  mem->mutable_usage()->set_limit(st.memory.limit);
  mem->mutable_swap()->set_usage(st.memory.swap_usage);
  mem->mutable_swap()->set_limit(st.memory.swap_limit);
  const auto& raw = st.memory.raw;
  mem->set_cache(Raw(raw, "cache"));
  mem->set_rss(Raw(raw, "rss"));
  mem->set_rss_huge(Raw(raw, "rss_huge"));
  mem->set_mapped_file(Raw(raw, "mapped_file"));
  mem->set_dirty(Raw(raw, "dirty"));
  mem->set_writeback(Raw(raw, "writeback"));
  mem->set_pg_fault(Raw(raw, "pgfault"));
  mem->set_pg_maj_fault(Raw(raw, "pgmajfault"));
  mem->set_inactive_anon(Raw(raw, "inactive_anon"));
  mem->set_active_anon(Raw(raw, "active_anon"));
  mem->set_inactive_file(Raw(raw, "inactive_file"));
  mem->set_active_file(Raw(raw, "active_file"));
  mem->set_unevictable(Raw(raw, "unevictable"));
  mem->set_hierarchical_memory_limit(Raw(raw, "hierarchical_memory_limit"));
  mem->set_total_cache(Raw(raw, "total_cache"));
  mem->set_total_rss(Raw(raw, "total_rss"));
  for (const auto& [size, usage] : st.hugetlb_usage) {
    cg::HugetlbStat* h = m.add_hugetlb();
    h->set_pagesize(size);
    h->set_usage(usage);
  }
  return m.SerializeAsString();
}

absl::StatusOr<std::string> MetricsFromRuntimeStats(std::string_view json_text) {
  absl::StatusOr<json::Value> doc = json::Parse(json_text);
  if (!doc.ok()) return doc.status();
  const json::Value* data = Obj(&*doc, "data");
  if (data == nullptr) return absl::InvalidArgumentError("runtime stats: no data object");
  cg::Metrics m;
  if (const json::Value* pids = Obj(data, "pids")) {
    m.mutable_pids()->set_current(U(pids, "current"));
    m.mutable_pids()->set_limit(U(pids, "limit"));
  }
  if (const json::Value* cpu = Obj(data, "cpu")) FillCpu(cpu, m.mutable_cpu());
  if (const json::Value* mem = Obj(data, "memory")) FillMemory(mem, m.mutable_memory());
  if (const json::Value* huge = Obj(data, "hugetlb")) {
    for (const auto& [size, e] : huge->as_object()) {
      cg::HugetlbStat* h = m.add_hugetlb();
      h->set_pagesize(size);
      h->set_usage(U(&e, "usage"));
      h->set_max(U(&e, "max"));
      h->set_failcnt(U(&e, "failcnt"));
    }
  }
  return m.SerializeAsString();
}

}  // namespace peapod::shim
