#include "oci/cgroups/device_filter.h"

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "oci/cgroups/fs.h"

namespace peapod::cgroups {
namespace {

// Registers used by the program.
constexpr uint8_t kCtx = 1, kType = 2, kAccess = 3, kMajor = 4, kMinor = 5, kTmp = 6;

bpf_insn Insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i;
  std::memset(&i, 0, sizeof i);
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

bpf_insn LoadCtxWord(uint8_t dst, int16_t off) {
  return Insn(BPF_LDX | BPF_MEM | BPF_W, dst, kCtx, off, 0);
}
bpf_insn AluImm(uint8_t op, uint8_t dst, int32_t imm) {
  return Insn(BPF_ALU64 | op | BPF_K, dst, 0, 0, imm);
}
bpf_insn MovReg(uint8_t dst, uint8_t src) {
  return Insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
}
bpf_insn JumpImm(uint8_t op, uint8_t dst, int32_t imm, int16_t off) {
  return Insn(BPF_JMP | op | BPF_K, dst, 0, off, imm);
}
bpf_insn Return(int32_t value) { return AluImm(BPF_MOV, 0, value); }
bpf_insn Exit() { return Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

absl::StatusOr<int32_t> AccessMask(const std::string& access) {
  if (access.empty()) return BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
  int32_t mask = 0;
  for (char c : access) {
    switch (c) {
      case 'r':
        mask |= BPF_DEVCG_ACC_READ;
        break;
      case 'w':
        mask |= BPF_DEVCG_ACC_WRITE;
        break;
      case 'm':
        mask |= BPF_DEVCG_ACC_MKNOD;
        break;
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("linux.resources.devices: invalid access \"", access, "\""));
    }
  }
  return mask;
}

// One rule as a block of "skip the rest of the block unless ..." checks
// followed by return allow/deny. Jump offsets are patched to the block end.
absl::StatusOr<std::vector<bpf_insn>> RuleBlock(const oci::DeviceCgroupRule& rule) {
  constexpr int32_t kAll = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
  std::vector<bpf_insn> b;
  std::vector<size_t> skips;  // indexes of jumps to the block end
  auto skip_unless_eq = [&](uint8_t reg, int32_t value) {
    skips.push_back(b.size());
    b.push_back(JumpImm(BPF_JNE, reg, value, 0));
  };
  if (rule.type == "c" || rule.type == "b") {
    skip_unless_eq(kType, rule.type == "c" ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
  } else if (!rule.type.empty() && rule.type != "a") {
    return absl::InvalidArgumentError(
        absl::StrCat("linux.resources.devices: invalid type \"", rule.type, "\""));
  }
  auto mask = AccessMask(rule.access);
  if (!mask.ok()) return mask.status();
  if (*mask != kAll) {
    b.push_back(MovReg(kTmp, kAccess));
    if (rule.allow) {  // requested access must be a subset of the rule's
      b.push_back(AluImm(BPF_AND, kTmp, ~*mask & kAll));
      skips.push_back(b.size());
      b.push_back(JumpImm(BPF_JNE, kTmp, 0, 0));
    } else {  // requested access overlaps the denied access
      b.push_back(AluImm(BPF_AND, kTmp, *mask));
      skips.push_back(b.size());
      b.push_back(JumpImm(BPF_JEQ, kTmp, 0, 0));
    }
  }
  if (rule.major.has_value() && *rule.major >= 0) {
    skip_unless_eq(kMajor, static_cast<int32_t>(*rule.major));
  }
  if (rule.minor.has_value() && *rule.minor >= 0) {
    skip_unless_eq(kMinor, static_cast<int32_t>(*rule.minor));
  }
  b.push_back(Return(rule.allow ? 1 : 0));
  b.push_back(Exit());
  for (size_t i : skips) b[i].off = static_cast<int16_t>(b.size() - (i + 1));
  return b;
}

long Bpf(int cmd, bpf_attr* attr) { return syscall(SYS_bpf, cmd, attr, sizeof(*attr)); }

}  // namespace

absl::StatusOr<std::vector<bpf_insn>> BuildDeviceProgram(
    const std::vector<oci::DeviceCgroupRule>& rules) {
  std::vector<bpf_insn> p = {
      LoadCtxWord(kType, offsetof(bpf_cgroup_dev_ctx, access_type)),
      AluImm(BPF_AND, kType, 0xffff),
      LoadCtxWord(kAccess, offsetof(bpf_cgroup_dev_ctx, access_type)),
      AluImm(BPF_RSH, kAccess, 16),
      LoadCtxWord(kMajor, offsetof(bpf_cgroup_dev_ctx, major)),
      LoadCtxWord(kMinor, offsetof(bpf_cgroup_dev_ctx, minor)),
  };
  for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
    auto block = RuleBlock(*it);
    if (!block.ok()) return block.status();
    p.insert(p.end(), block->begin(), block->end());
    // A rule matching everything ends the program: the verifier rejects
    // unreachable instructions after it. Earlier rules are still checked.
    if (block->size() == 2) {
      for (auto rest = std::next(it); rest != rules.rend(); ++rest) {
        if (auto checked = RuleBlock(*rest); !checked.ok()) return checked.status();
      }
      return p;
    }
  }
  p.push_back(Return(1));  // no rule matched
  p.push_back(Exit());
  return p;
}

absl::Status AttachDeviceProgram(const std::string& dir, const std::vector<bpf_insn>& program) {
  auto cgroup = OpenDir(dir);
  if (!cgroup.ok()) return cgroup.status();
  // 1. The programs attached now, to detach once the new one is in place.
  uint32_t old_ids[64] = {};
  bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.query.target_fd = static_cast<uint32_t>(cgroup->get());
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  attr.query.prog_ids = reinterpret_cast<uint64_t>(old_ids);
  attr.query.prog_cnt = 64;
  if (Bpf(BPF_PROG_QUERY, &attr) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("bpf(PROG_QUERY) on ", dir));
  }
  uint32_t old_count = attr.query.prog_cnt;
  // 2. Load the new program (the verifier log explains a rejection).
  static char license[] = "GPL";
  std::string log(4096, '\0');
  std::memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = reinterpret_cast<uint64_t>(program.data());
  attr.insn_cnt = static_cast<uint32_t>(program.size());
  attr.license = reinterpret_cast<uint64_t>(license);
  attr.log_buf = reinterpret_cast<uint64_t>(log.data());
  attr.log_size = static_cast<uint32_t>(log.size());
  attr.log_level = 1;
  long prog = Bpf(BPF_PROG_LOAD, &attr);
  if (prog < 0) {
    return absl::ErrnoToStatus(errno,
                               absl::StrCat("bpf(PROG_LOAD) of the device filter: ", log.c_str()));
  }
  UniqueFd prog_fd(static_cast<int>(prog));
  // 3. Attach it; the cgroup keeps it alive after prog_fd closes.
  std::memset(&attr, 0, sizeof attr);
  attr.target_fd = static_cast<uint32_t>(cgroup->get());
  attr.attach_bpf_fd = static_cast<uint32_t>(prog_fd.get());
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (Bpf(BPF_PROG_ATTACH, &attr) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("bpf(PROG_ATTACH) to ", dir));
  }
  // 4. Detach the previous rule programs.
  for (uint32_t i = 0; i < old_count && i < 64; ++i) {
    std::memset(&attr, 0, sizeof attr);
    attr.prog_id = old_ids[i];
    long old = Bpf(BPF_PROG_GET_FD_BY_ID, &attr);
    if (old < 0) continue;  // already gone
    UniqueFd old_fd(static_cast<int>(old));
    std::memset(&attr, 0, sizeof attr);
    attr.target_fd = static_cast<uint32_t>(cgroup->get());
    attr.attach_bpf_fd = static_cast<uint32_t>(old_fd.get());
    attr.attach_type = BPF_CGROUP_DEVICE;
    if (Bpf(BPF_PROG_DETACH, &attr) != 0 && errno != ENOENT) {
      return absl::ErrnoToStatus(errno, absl::StrCat("bpf(PROG_DETACH) from ", dir));
    }
  }
  return absl::OkStatus();
}

}  // namespace peapod::cgroups
