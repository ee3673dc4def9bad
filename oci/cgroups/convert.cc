#include "oci/cgroups/convert.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace peapod::cgroups {

uint64_t CpuSharesToWeight(uint64_t shares) {
  if (shares == 0) return 0;
  shares = std::clamp<uint64_t>(shares, 2, 262144);
  return 1 + ((shares - 2) * 9999) / 262142;
}

std::string MemoryMaxValue(int64_t limit) { return limit < 0 ? "max" : absl::StrCat(limit); }

absl::StatusOr<std::string> SwapMaxValue(int64_t swap, std::optional<int64_t> limit) {
  if (swap == -1) return std::string("max");
  if (swap < -1) return absl::InvalidArgumentError(absl::StrCat("invalid memory.swap ", swap));
  if (!limit.has_value() || *limit == 0) {
    return absl::InvalidArgumentError(
        "linux.resources.memory.swap: a swap limit needs a memory limit");
  }
  if (*limit < 0) {
    return absl::InvalidArgumentError(
        "linux.resources.memory.swap: a swap limit needs a finite memory limit");
  }
  if (swap < *limit) {
    return absl::InvalidArgumentError(absl::StrCat(
        "linux.resources.memory.swap (", swap,
        ") is memory+swap and must be >= linux.resources.memory.limit (", *limit, ")"));
  }
  return absl::StrCat(swap - *limit);
}

std::string CpuMaxValue(std::optional<int64_t> quota, std::optional<uint64_t> period,
                        absl::string_view current_quota, uint64_t current_period) {
  std::string q = quota.has_value() ? (*quota <= 0 ? std::string("max") : absl::StrCat(*quota))
                                    : std::string(current_quota.empty() ? "max" : current_quota);
  uint64_t p = period.has_value() && *period > 0 ? *period : current_period;
  return absl::StrCat(q, " ", p);
}

std::string PidsMaxValue(int64_t limit) { return limit <= 0 ? "max" : absl::StrCat(limit); }

absl::StatusOr<std::string> DeviceRuleLine(const oci::DeviceCgroupRule& rule) {
  std::string type = rule.type.empty() ? "a" : rule.type;
  if (type != "a" && type != "c" && type != "b") {
    return absl::InvalidArgumentError(
        absl::StrCat("linux.resources.devices: invalid type \"", rule.type, "\""));
  }
  std::string access = rule.access.empty() ? "rwm" : rule.access;
  if (access.size() > 3 || access.find_first_not_of("rwm") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("linux.resources.devices: invalid access \"", rule.access, "\""));
  }
  auto number = [](const std::optional<int64_t>& n) {
    return n.has_value() && *n >= 0 ? absl::StrCat(*n) : std::string("*");
  };
  return absl::StrCat(type, " ", number(rule.major), ":", number(rule.minor), " ", access);
}

bool IsDenyAll(const oci::DeviceCgroupRule& rule) {
  bool all_access =
      rule.access.empty() ||
      (rule.access.size() == 3 && rule.access.find('r') != std::string::npos &&
       rule.access.find('w') != std::string::npos && rule.access.find('m') != std::string::npos);
  return !rule.allow && (rule.type.empty() || rule.type == "a") && !rule.major.has_value() &&
         !rule.minor.has_value() && all_access;
}

absl::Status ValidateUnifiedKey(absl::string_view key) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("linux.resources.unified: invalid key \"", key, "\""));
  };
  size_t dot = key.find('.');
  if (dot == absl::string_view::npos || dot == 0 || dot + 1 == key.size()) return bad();
  for (char c : key) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') {
      return bad();
    }
  }
  if (key.find("..") != absl::string_view::npos) return bad();
  if (key == "cgroup.procs" || key == "cgroup.threads" || key == "cgroup.subtree_control" ||
      key == "cgroup.kill") {
    return absl::InvalidArgumentError(
        absl::StrCat("linux.resources.unified: key \"", key, "\" is not a resource setting"));
  }
  return absl::OkStatus();
}

absl::Status ValidateHugepageSize(absl::string_view page_size) {
  size_t digits = page_size.find_first_not_of("0123456789");
  absl::string_view unit = digits == absl::string_view::npos ? "" : page_size.substr(digits);
  if (digits == 0 || digits == absl::string_view::npos ||
      (unit != "KB" && unit != "MB" && unit != "GB")) {
    return absl::InvalidArgumentError(
        absl::StrCat("linux.resources.hugepageLimits: invalid pageSize \"", page_size, "\""));
  }
  return absl::OkStatus();
}

absl::string_view UnifiedKeyController(absl::string_view key) {
  return key.substr(0, key.find('.'));
}

}  // namespace peapod::cgroups
