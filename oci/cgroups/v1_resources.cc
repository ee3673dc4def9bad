// linux.resources -> cgroup v1 files, one function per controller.
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <optional>

#include "absl/strings/str_cat.h"
#include "oci/cgroups/convert.h"
#include "oci/cgroups/fs.h"
#include "oci/cgroups/v1_manager.h"

namespace peapod::cgroups {
namespace {

constexpr absl::string_view kLimit = "memory.limit_in_bytes";
constexpr absl::string_view kMemsw = "memory.memsw.limit_in_bytes";

// memory.limit_in_bytes must stay <= memory.memsw.limit_in_bytes at every
// moment: when the memsw limit grows write it first, else write the memory
// limit first.
absl::Status SetLimitAndSwap(const std::string& dir, std::optional<int64_t> limit,
                             std::optional<int64_t> swap) {
  if (!swap.has_value()) {
    return limit.has_value() ? WriteFile(dir, kLimit, absl::StrCat(*limit)) : absl::OkStatus();
  }
  auto current = ReadUint(dir, kMemsw);
  if (!current.ok()) return current.status();
  bool growing = *swap == -1 || static_cast<uint64_t>(*swap) > *current;
  if (growing) {
    if (auto st = WriteFile(dir, kMemsw, absl::StrCat(*swap)); !st.ok()) return st;
  }
  if (limit.has_value()) {
    if (auto st = WriteFile(dir, kLimit, absl::StrCat(*limit)); !st.ok()) return st;
  }
  return growing ? absl::OkStatus() : WriteFile(dir, kMemsw, absl::StrCat(*swap));
}

absl::Status CheckBeforeUpdate(const std::string& dir, int64_t limit) {
  auto usage = ReadUint(dir, "memory.usage_in_bytes");
  if (!usage.ok()) return usage.status();
  if (limit > 0 && *usage > static_cast<uint64_t>(limit)) {
    return absl::FailedPreconditionError(absl::StrCat("linux.resources.memory.limit ", limit,
                                                      " is below the current usage ", *usage,
                                                      " (checkBeforeUpdate)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status SetV1Memory(const std::string& dir, const oci::Memory& m) {
  std::optional<int64_t> limit = m.limit;
  std::optional<int64_t> swap = m.swap;
  if (swap == 0) swap.reset();  // 0 means "not set", as in runc
  if (limit.has_value() && m.check_before_update.value_or(false)) {
    if (auto st = CheckBeforeUpdate(dir, *limit); !st.ok()) return st;
  }
  bool have_memsw = FileExists(dir, kMemsw);
  if (!have_memsw) {
    if (swap.has_value() && *swap != -1 && swap != limit) {
      return absl::FailedPreconditionError(
          "linux.resources.memory.swap: swap accounting (memory.memsw.*) is not enabled on this "
          "host");
    }
    swap.reset();
  } else if (limit == -1 && !swap.has_value()) {
    swap = -1;  // an unlimited memory limit cannot sit under a finite memsw limit
  }
  if (swap.has_value() && *swap != -1 && limit.has_value() && *limit != -1 && *swap < *limit) {
    return absl::InvalidArgumentError(absl::StrCat(
        "linux.resources.memory.swap (", *swap,
        ") is memory+swap and must be >= linux.resources.memory.limit (", *limit, ")"));
  }
  if (auto st = SetLimitAndSwap(dir, limit, swap); !st.ok()) return st;
  if (m.reservation.has_value()) {
    auto st = WriteFile(dir, "memory.soft_limit_in_bytes", absl::StrCat(*m.reservation));
    if (!st.ok()) return st;
  }
  if (m.kernel_tcp.has_value() && FileExists(dir, "memory.kmem.tcp.limit_in_bytes")) {
    auto st = WriteFile(dir, "memory.kmem.tcp.limit_in_bytes", absl::StrCat(*m.kernel_tcp));
    if (!st.ok()) return st;
  }
  if (m.swappiness.has_value()) {
    if (*m.swappiness > 100) {
      return absl::InvalidArgumentError(absl::StrCat("linux.resources.memory.swappiness ",
                                                     *m.swappiness, " is out of range 0-100"));
    }
    auto st = WriteFile(dir, "memory.swappiness", absl::StrCat(*m.swappiness));
    if (!st.ok()) return st;
  }
  if (m.disable_oom_killer.has_value()) {
    auto st = WriteFile(dir, "memory.oom_control", *m.disable_oom_killer ? "1" : "0");
    if (!st.ok()) return st;
  }
  return absl::OkStatus();  // memory.kernel is deprecated and ignored, as by runc
}

absl::Status SetV1Cpu(const std::string& dir, const oci::Cpu& c) {
  if (c.shares.has_value() && *c.shares != 0) {
    if (auto st = WriteFile(dir, "cpu.shares", absl::StrCat(*c.shares)); !st.ok()) return st;
  }
  if (c.period.has_value() && *c.period != 0) {
    absl::Status st = WriteFile(dir, "cpu.cfs_period_us", absl::StrCat(*c.period));
    if (!st.ok() && !(absl::IsInvalidArgument(st) && c.quota.has_value())) return st;
    if (!st.ok()) {
      // The old quota does not fit the new period: quota first, then period.
      if (st = WriteFile(dir, "cpu.cfs_quota_us", absl::StrCat(*c.quota)); !st.ok()) return st;
      st = WriteFile(dir, "cpu.cfs_period_us", absl::StrCat(*c.period));
      if (!st.ok()) return st;
    }
  }
  if (c.quota.has_value() && *c.quota != 0) {
    int64_t q = *c.quota < 0 ? -1 : *c.quota;
    if (auto st = WriteFile(dir, "cpu.cfs_quota_us", absl::StrCat(q)); !st.ok()) return st;
  }
  if (c.realtime_period.has_value() && *c.realtime_period != 0) {
    auto st = WriteFile(dir, "cpu.rt_period_us", absl::StrCat(*c.realtime_period));
    if (!st.ok()) return st;
  }
  if (c.realtime_runtime.has_value() && *c.realtime_runtime != 0) {
    auto st = WriteFile(dir, "cpu.rt_runtime_us", absl::StrCat(*c.realtime_runtime));
    if (!st.ok()) return st;
  }
  if (c.idle.has_value()) {
    if (!FileExists(dir, "cpu.idle")) {
      return absl::FailedPreconditionError("linux.resources.cpu.idle: cpu.idle is not supported");
    }
    if (auto st = WriteFile(dir, "cpu.idle", absl::StrCat(*c.idle)); !st.ok()) return st;
  }
  return absl::OkStatus();
}

absl::Status SetV1Cpuset(const std::string& dir, const oci::Cpu& c) {
  if (!c.cpus.empty()) {
    if (auto st = WriteFile(dir, "cpuset.cpus", c.cpus); !st.ok()) return st;
  }
  if (!c.mems.empty()) {
    if (auto st = WriteFile(dir, "cpuset.mems", c.mems); !st.ok()) return st;
  }
  return absl::OkStatus();
}

namespace {

absl::Status WriteThrottles(const std::string& dir, absl::string_view file,
                            const std::vector<oci::ThrottleDevice>& devices) {
  for (const oci::ThrottleDevice& d : devices) {
    auto st = WriteFile(dir, file, absl::StrCat(d.major, ":", d.minor, " ", d.rate));
    if (!st.ok()) return st;
  }
  return absl::OkStatus();
}

// blkio.weight (CFQ) or blkio.bfq.weight (BFQ), whichever the kernel has.
absl::StatusOr<std::string> WeightFile(const std::string& dir) {
  if (FileExists(dir, "blkio.weight")) return std::string("blkio.weight");
  if (FileExists(dir, "blkio.bfq.weight")) return std::string("blkio.bfq.weight");
  return absl::FailedPreconditionError(
      "linux.resources.blockIO weight: no blkio.weight or blkio.bfq.weight on this host "
      "(the I/O scheduler has no weights)");
}

}  // namespace

absl::Status SetV1BlockIo(const std::string& dir, const oci::BlockIo& b) {
  if (b.weight.has_value() || !b.weight_device.empty()) {
    auto file = WeightFile(dir);
    if (!file.ok()) return file.status();
    if (b.weight.has_value()) {
      if (auto st = WriteFile(dir, *file, absl::StrCat(*b.weight)); !st.ok()) return st;
    }
    for (const oci::WeightDevice& d : b.weight_device) {
      if (!d.weight.has_value()) continue;
      std::string dev_file = *file == "blkio.weight" ? "blkio.weight_device" : *file;
      auto st = WriteFile(dir, dev_file, absl::StrCat(d.major, ":", d.minor, " ", *d.weight));
      if (!st.ok()) return st;
    }
  }
  if (b.leaf_weight.has_value() && FileExists(dir, "blkio.leaf_weight")) {
    auto st = WriteFile(dir, "blkio.leaf_weight", absl::StrCat(*b.leaf_weight));
    if (!st.ok()) return st;
  }
  absl::Status st = WriteThrottles(dir, "blkio.throttle.read_bps_device", b.throttle_read_bps);
  st.Update(WriteThrottles(dir, "blkio.throttle.write_bps_device", b.throttle_write_bps));
  st.Update(WriteThrottles(dir, "blkio.throttle.read_iops_device", b.throttle_read_iops));
  st.Update(WriteThrottles(dir, "blkio.throttle.write_iops_device", b.throttle_write_iops));
  return st;
}

absl::Status SetV1Hugetlb(const std::string& dir, const std::vector<oci::HugepageLimit>& limits) {
  for (const oci::HugepageLimit& l : limits) {
    if (auto st = ValidateHugepageSize(l.page_size); !st.ok()) return st;
    std::string file = absl::StrCat("hugetlb.", l.page_size, ".limit_in_bytes");
    if (!FileExists(dir, file)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "linux.resources.hugepageLimits: page size ", l.page_size, " is not supported here"));
    }
    if (auto st = WriteFile(dir, file, absl::StrCat(l.limit)); !st.ok()) return st;
  }
  return absl::OkStatus();
}

absl::Status SetV1Devices(const std::string& dir, const std::vector<oci::DeviceCgroupRule>& rules) {
  // devices.allow and devices.deny are opened once each: a container has
  // a dozen rules or more, and every open walks the cgroupfs path again.
  std::optional<UniqueFd> allow, deny;
  for (const oci::DeviceCgroupRule& rule : rules) {
    std::string line = "a";
    if (!IsDenyAll(rule)) {
      auto l = DeviceRuleLine(rule);
      if (!l.ok()) return l.status();
      line = *l;
    }
    const bool is_allow = rule.allow && !IsDenyAll(rule);
    std::optional<UniqueFd>& fd = is_allow ? allow : deny;
    const char* file = is_allow ? "devices.allow" : "devices.deny";
    if (!fd) {
      auto opened = OpenFileIn(dir, file, O_WRONLY);
      if (!opened.ok()) return opened.status();
      fd = std::move(*opened);
    }
    if (write(fd->get(), line.data(), line.size()) < 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("write \"", line, "\" to ", dir, "/", file));
    }
  }
  return absl::OkStatus();
}

}  // namespace peapod::cgroups
