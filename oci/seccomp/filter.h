// Seccomp filters from the OCI linux.seccomp section.
//
// Build() compiles the profile with libseccomp into a BPF program in the
// launcher (where allocating and failing are cheap); Load() installs that
// program with a single seccomp(2) call, so the container's init can call it
// last thing before execve without allocating.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "oci/spec/spec.h"

namespace peapod::seccomp {

class Filter {
 public:
  // Compiles `config` (runc semantics: unknown syscall names are skipped,
  // rules whose action equals the default are dropped, several conditions on
  // one argument become one rule each; when the default action denies,
  // native syscalls numbered above every syscall the profile names fail with
  // ENOSYS, so a libc falls back instead of seeing EPERM). Errors are InvalidArgument naming the
  // member ("linux.seccomp.syscalls[3].action: unknown action SCMP_ACT_FOO"),
  // or Unimplemented for SCMP_ACT_NOTIFY.
  static absl::StatusOr<Filter> Build(const oci::Seccomp& config);

  // Build() with a cache of compiled programs in cache_dir (created 0700 if
  // missing; ignored unless owned by us and not writable by others), keyed by
  // the profile, the libseccomp version and the kernel API level.
  static absl::StatusOr<Filter> BuildCached(const oci::Seccomp& config,
                                            const std::string& cache_dir);

  // Installs the filter on the calling thread (every thread with
  // SECCOMP_FILTER_FLAG_TSYNC). Needs no_new_privs set or CAP_SYS_ADMIN;
  // does not set no_new_privs itself (the launcher decides that).
  absl::Status Load() const;

  // The SECCOMP_FILTER_FLAG_* bits passed to seccomp(2).
  unsigned flags() const { return flags_; }
  // The compiled program's length in BPF instructions.
  size_t size() const { return program_.size(); }
  // The compiled program.
  const std::vector<sock_filter>& program() const { return program_; }

 private:
  std::vector<sock_filter> program_;
  unsigned flags_ = 0;
};

// Translates an OCI action name (SCMP_ACT_ERRNO ...) with its errnoRet into
// a libseccomp action value; `where` prefixes errors.
absl::StatusOr<uint32_t> ActionValue(const std::string& name, std::optional<uint32_t> errno_ret,
                                     const std::string& where);

// Translates an OCI architecture name (SCMP_ARCH_X86_64 ...) into libseccomp's
// arch token; `where` prefixes errors.
absl::StatusOr<uint32_t> ArchToken(const std::string& name, const std::string& where);

}  // namespace peapod::seccomp
