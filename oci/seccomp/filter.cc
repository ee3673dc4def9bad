// Filter::Build compiles an OCI seccomp profile with libseccomp and exports
// the BPF program; Filter::Load installs it with seccomp(2).
#include "oci/seccomp/filter.h"
#include "oci/linux/unique_fd.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <map>
#include <memory>

#include "absl/strings/str_cat.h"

namespace peapod::seccomp {
namespace {

constexpr char kRoot[] = "linux.seccomp";

absl::Status Invalid(const std::string& where, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", what));
}

// libseccomp returns -errno; keep the errno text.
absl::Status LibError(int rc, const std::string& what) {
  return absl::ErrnoToStatus(-rc, absl::StrCat("libseccomp: ", what));
}

struct CtxDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

using Fd = linux::UniqueFd;

absl::StatusOr<scmp_compare> CompareOp(const std::string& op, const std::string& where) {
  static const std::map<std::string, scmp_compare> kOps = {
      {"SCMP_CMP_NE", SCMP_CMP_NE},
      {"SCMP_CMP_LT", SCMP_CMP_LT},
      {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ},
      {"SCMP_CMP_GE", SCMP_CMP_GE},
      {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
  };
  auto it = kOps.find(op);
  if (it == kOps.end()) return Invalid(where, absl::StrCat("unknown operator ", op));
  return it->second;
}

absl::StatusOr<unsigned> FlagBits(const std::vector<std::string>& flags) {
  static const std::map<std::string, unsigned> kFlags = {
      {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
      {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
      {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
  };
  unsigned bits = 0;
  for (size_t i = 0; i < flags.size(); ++i) {
    auto it = kFlags.find(flags[i]);
    if (it == kFlags.end()) {
      return Invalid(absl::StrCat(kRoot, ".flags[", i, "]"),
                     absl::StrCat("unknown flag ", flags[i]));
    }
    bits |= it->second;
  }
  return bits;
}

absl::Status AddArches(void* ctx, const std::vector<std::string>& arches) {
  for (size_t i = 0; i < arches.size(); ++i) {
    absl::StatusOr<uint32_t> token =
        ArchToken(arches[i], absl::StrCat(kRoot, ".architectures[", i, "]"));
    if (!token.ok()) return token.status();
    int rc = seccomp_arch_add(ctx, *token);
    if (rc != 0 && rc != -EEXIST) return LibError(rc, absl::StrCat("add arch ", arches[i]));
  }
  return absl::OkStatus();
}

// The conditions of one OCI rule, grouped as runc does: all in one rule (an
// AND) unless some argument index appears twice, then one rule per condition.
absl::StatusOr<std::vector<std::vector<scmp_arg_cmp>>> RuleConditions(
    const oci::SeccompSyscall& call, const std::string& where) {
  std::vector<scmp_arg_cmp> conds;
  std::array<int, 6> per_index{};
  bool repeated = false;
  for (size_t i = 0; i < call.args.size(); ++i) {
    const oci::SeccompArg& a = call.args[i];
    std::string at = absl::StrCat(where, ".args[", i, "]");
    if (a.index >= per_index.size()) {
      return Invalid(at + ".index", absl::StrCat("argument index ", a.index, " out of range 0-5"));
    }
    absl::StatusOr<scmp_compare> op = CompareOp(a.op, at + ".op");
    if (!op.ok()) return op.status();
    repeated |= ++per_index[a.index] > 1;
    conds.push_back(scmp_arg_cmp{a.index, *op, a.value, a.value_two});
  }
  std::vector<std::vector<scmp_arg_cmp>> rules;
  if (repeated) {
    for (const scmp_arg_cmp& c : conds) rules.push_back({c});
  } else {
    rules.push_back(std::move(conds));
  }
  return rules;
}

absl::Status AddSyscallRule(void* ctx, uint32_t default_action, const oci::SeccompSyscall& call,
                            const std::string& where) {
  absl::StatusOr<uint32_t> action = ActionValue(call.action, call.errno_ret, where + ".action");
  if (!action.ok()) return action.status();
  absl::StatusOr<std::vector<std::vector<scmp_arg_cmp>>> rules = RuleConditions(call, where);
  if (!rules.ok()) return rules.status();
  // libseccomp refuses rules that repeat the default action; runc skips them.
  if (*action == default_action) return absl::OkStatus();
  for (const std::string& name : call.names) {
    int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR) continue;  // not a syscall on this arch: skipped, as runc does
    for (const std::vector<scmp_arg_cmp>& conds : *rules) {
      int rc = seccomp_rule_add_array(ctx, *action, nr, conds.size(), conds.data());
      if (rc != 0) return LibError(rc, absl::StrCat(where, ": add rule for ", name));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<sock_filter>> ExportBpf(void* ctx) {
  Fd fd(memfd_create("peapod-seccomp", MFD_CLOEXEC));
  if (fd.get() < 0) return absl::ErrnoToStatus(errno, "memfd_create");
  int rc = seccomp_export_bpf(ctx, fd.get());
  if (rc != 0) return LibError(rc, "export BPF");
  off_t len = lseek(fd.get(), 0, SEEK_END);
  if (len < 0) return absl::ErrnoToStatus(errno, "lseek");
  std::vector<sock_filter> program(static_cast<size_t>(len) / sizeof(sock_filter));
  ssize_t n = pread(fd.get(), program.data(), program.size() * sizeof(sock_filter), 0);
  if (n != static_cast<ssize_t>(program.size() * sizeof(sock_filter))) {
    return absl::ErrnoToStatus(n < 0 ? errno : EIO, "read BPF program");
  }
  return program;
}

// The highest native syscall number any rule of `config` names, -1 if none.
int MaxNativeSyscall(const oci::Seccomp& config) {
  int max_nr = -1;
  for (const oci::SeccompSyscall& call : config.syscalls) {
    for (const std::string& name : call.names) {
      max_nr = std::max(max_nr, seccomp_syscall_resolve_name_arch(SCMP_ARCH_NATIVE, name.c_str()));
    }
  }
  return max_nr;
}

// As runc does: a syscall newer than every syscall the profile names fails
// with ENOSYS instead of the default action, so libcs fall back to older
// syscalls instead of seeing EPERM. Only the native arch is patched; x32
// numbers (bit 30) are left to the libseccomp program.
std::vector<sock_filter> EnosysPrefix(uint32_t native_arch, int max_nr) {
  constexpr uint32_t kX32Bit = 0x40000000;
  return {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, native_arch, 0, 4),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, kX32Bit, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, static_cast<uint32_t>(max_nr), 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
  };
}

bool DeniesByDefault(uint32_t default_action) {
  return default_action != SCMP_ACT_ALLOW && default_action != SCMP_ACT_LOG;
}

}  // namespace

absl::StatusOr<uint32_t> ActionValue(const std::string& name, std::optional<uint32_t> errno_ret,
                                     const std::string& where) {
  uint32_t ret = errno_ret.value_or(EPERM);
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(ret);
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(ret);
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (name == "SCMP_ACT_NOTIFY") {
    return absl::UnimplementedError(
        absl::StrCat(where, ": SCMP_ACT_NOTIFY (seccomp user notification) is not supported"));
  }
  return Invalid(where, absl::StrCat("unknown action ", name));
}

absl::StatusOr<uint32_t> ArchToken(const std::string& name, const std::string& where) {
  static const std::map<std::string, uint32_t> kArches = {
      {"SCMP_ARCH_X86", SCMP_ARCH_X86},
      {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
      {"SCMP_ARCH_X32", SCMP_ARCH_X32},
      {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
      {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
      {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
      {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
      {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
      {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
      {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
      {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
      {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
      {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
      {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
      {"SCMP_ARCH_S390", SCMP_ARCH_S390},
      {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
      {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
      {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
      {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
  };
  auto it = kArches.find(name);
  if (it == kArches.end()) return Invalid(where, absl::StrCat("unknown architecture ", name));
  return it->second;
}

absl::StatusOr<Filter> Filter::Build(const oci::Seccomp& config) {
  // 1. Default action and load flags.
  absl::StatusOr<uint32_t> default_action = ActionValue(
      config.default_action, config.default_errno_ret, absl::StrCat(kRoot, ".defaultAction"));
  if (!default_action.ok()) return default_action.status();
  absl::StatusOr<unsigned> flags = FlagBits(config.flags);
  if (!flags.ok()) return flags.status();
  if (!config.listener_path.empty()) {
    return absl::UnimplementedError(
        absl::StrCat(kRoot, ".listenerPath: seccomp user notification is not supported"));
  }
  Ctx ctx(seccomp_init(*default_action));
  if (!ctx) return absl::InternalError("libseccomp: seccomp_init failed");
  // 2. Architectures (the native one is always present).
  if (absl::Status s = AddArches(ctx.get(), config.architectures); !s.ok()) return s;
  // 3. Rules.
  for (size_t i = 0; i < config.syscalls.size(); ++i) {
    absl::Status s = AddSyscallRule(ctx.get(), *default_action, config.syscalls[i],
                                    absl::StrCat(kRoot, ".syscalls[", i, "]"));
    if (!s.ok()) return s;
  }
  // 4. Compile to BPF now, so Load() is one syscall.
  absl::StatusOr<std::vector<sock_filter>> program = ExportBpf(ctx.get());
  if (!program.ok()) return program.status();
  // 5. Syscalls newer than the profile: ENOSYS.
  int max_nr = MaxNativeSyscall(config);
  if (DeniesByDefault(*default_action) && max_nr >= 0) {
    std::vector<sock_filter> patched = EnosysPrefix(seccomp_arch_native(), max_nr);
    patched.insert(patched.end(), program->begin(), program->end());
    *program = std::move(patched);
  }
  if (program->size() > BPF_MAXINSNS) {
    return Invalid(kRoot, absl::StrCat("compiled filter has ", program->size(),
                                       " instructions, more than the kernel's ", BPF_MAXINSNS));
  }
  Filter f;
  f.program_ = *std::move(program);
  f.flags_ = *flags;
  return f;
}

absl::Status Filter::Load() const {
  sock_fprog prog{static_cast<unsigned short>(program_.size()),
                  const_cast<sock_filter*>(program_.data())};
  long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags_, &prog);
  if (rc == 0) return absl::OkStatus();
  if (rc > 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("seccomp: TSYNC failed, thread ", rc, " cannot be synchronized"));
  }
  return absl::ErrnoToStatus(errno, "seccomp(SECCOMP_SET_MODE_FILTER)");
}

}  // namespace peapod::seccomp
