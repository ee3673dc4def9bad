// The CRI "runtime/default" seccomp profile.
#pragma once

#include <string>
#include <vector>

#include "oci/spec/spec.h"

namespace peapod::seccomp {

// The profile CRI's "runtime/default" (and an unset seccompProfile under
// kubelet's SeccompDefault) selects: deny by default with EPERM, allow the
// syscalls Docker's and containerd's default profile allow, plus the extra
// syscalls the process's capabilities (CAP_SYS_ADMIN, CAP_SYS_PTRACE, ...)
// make sensible. With no capabilities given, the profile is the one for a
// process without any (mount, unshare, setns ... are denied; clone is allowed
// only without namespace flags; clone3 fails with ENOSYS so libcs fall back).
oci::Seccomp RuntimeDefaultProfile(const std::vector<std::string>& capabilities = {});

}  // namespace peapod::seccomp
