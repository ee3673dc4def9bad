// Capability sets.
#include <sys/prctl.h>

#include <atomic>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "oci/linux/capabilities.h"
#include "oci/linux/errno_status.h"
#include "oci/linux/file_util.h"
#include "oci/spec/capability_names.h"

namespace peapod::linux {
namespace {

constexpr int kKnownLast = static_cast<int>(oci::kCapabilityNames.size()) - 1;

}  // namespace

absl::StatusOr<int> CapabilityNumber(const std::string& name) {
  for (int i = 0; i <= kKnownLast; ++i) {
    if (name == oci::kCapabilityNames[i]) return i;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown capability \"", name, "\""));
}

std::string CapabilityName(int cap) {
  return cap >= 0 && cap <= kKnownLast ? std::string(oci::kCapabilityNames[cap]) : "";
}

int KernelLastCap() {
  // Fixed for the boot: read once per process. An atomic, not a guarded
  // static, so a child forked from a threaded process never meets a lock.
  static std::atomic<int> cached{-1};
  if (int v = cached.load(std::memory_order_relaxed); v >= 0) return v;
  absl::StatusOr<std::string> text = ReadWholeFile("/proc/sys/kernel/cap_last_cap");
  int last = 0;
  if (!text.ok() || !absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &last)) return kKnownLast;
  cached.store(last, std::memory_order_relaxed);
  return last;
}

absl::StatusOr<uint64_t> CapabilityMask(const std::vector<std::string>& names, int last_cap) {
  uint64_t mask = 0;
  for (const std::string& n : names) {
    PEAPOD_ASSIGN_OR_RETURN(int cap, CapabilityNumber(n));
    if (cap > last_cap || cap > 63) continue;  // unknown to this kernel: skipped
    mask |= uint64_t{1} << cap;
  }
  return mask;
}

absl::StatusOr<CapabilityMasks> ParseCapabilities(const oci::Capabilities& caps, int last_cap) {
  CapabilityMasks m;
  auto one = [&](const char* set, const std::vector<std::string>& names,
                 uint64_t* out) -> absl::Status {
    absl::StatusOr<uint64_t> mask = CapabilityMask(names, last_cap);
    if (!mask.ok()) return Annotate(mask.status(), absl::StrCat("process.capabilities.", set));
    *out = *mask;
    return absl::OkStatus();
  };
  PEAPOD_RETURN_IF_ERROR(one("bounding", caps.bounding, &m.bounding));
  PEAPOD_RETURN_IF_ERROR(one("effective", caps.effective, &m.effective));
  PEAPOD_RETURN_IF_ERROR(one("inheritable", caps.inheritable, &m.inheritable));
  PEAPOD_RETURN_IF_ERROR(one("permitted", caps.permitted, &m.permitted));
  PEAPOD_RETURN_IF_ERROR(one("ambient", caps.ambient, &m.ambient));
  return m;
}

absl::Status DropBounding(Syscall& sys, const CapabilityMasks& masks, int last_cap) {
  for (int cap = 0; cap <= last_cap && cap < 64; ++cap) {
    if (masks.bounding & (uint64_t{1} << cap)) continue;
    absl::Status st = sys.Prctl(PR_CAPBSET_DROP, static_cast<unsigned long>(cap));
    if (!st.ok()) return Annotate(st, "drop bounding capability " + CapabilityName(cap));
  }
  return sys.Prctl(PR_SET_KEEPCAPS, 1);
}

absl::Status ApplyCapabilities(Syscall& sys, const CapabilityMasks& masks, int last_cap) {
  PEAPOD_RETURN_IF_ERROR(sys.Prctl(PR_SET_KEEPCAPS, 0));
  PEAPOD_RETURN_IF_ERROR(sys.Capset(CapSets{masks.effective, masks.permitted, masks.inheritable}));
  // The kernel raises an ambient cap only if it is permitted and
  // inheritable; runc (1.1) ignores its refusal for the others, so a spec
  // with ambient but no inheritable caps runs there with none raised. Same
  // here: only those the kernel accepts are raised.
  uint64_t ambient = masks.ambient & masks.permitted & masks.inheritable;
  for (int cap = 0; cap <= last_cap && cap < 64; ++cap) {
    if (!(ambient & (uint64_t{1} << cap))) continue;
    absl::Status st =
        sys.Prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, static_cast<unsigned long>(cap));
    if (!st.ok()) return Annotate(st, "raise ambient capability " + CapabilityName(cap));
  }
  return absl::OkStatus();
}

}  // namespace peapod::linux
