// Per-process settings applied in the container process before exec:
// rlimits, user and groups, hostname, sysctls, oom_score_adj, fd hygiene.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "oci/linux/syscall.h"
#include "oci/spec/spec.h"

namespace peapod::linux {

// RLIMIT_* number for a name ("RLIMIT_NOFILE"); error naming unknown ones.
absl::StatusOr<int> RlimitNumber(const std::string& name);
// setrlimit for each process.rlimits entry; errors name the limit.
absl::Status ApplyRlimits(Syscall& sys, const std::vector<oci::Rlimit>& rlimits);

// Checks a process.user: ids fit (not -1), additional gids too.
absl::Status ValidateUser(const oci::User& user);
// setgroups(additionalGids) (skipped when setgroups is denied in a user
// namespace), setresgid, setresuid — in that order — then the umask
// (default 0022).
absl::Status ApplyUser(Syscall& sys, const oci::User& user, bool setgroups_allowed);

// sethostname / setdomainname (empty: left alone).
absl::Status ApplyHostname(Syscall& sys, const std::string& hostname,
                           const std::string& domainname);

// Writes each sysctl under /proc/sys, after checking /proc is a procfs
// (statfs magic). Keys are validated ("net.ipv4.ip_forward": no "..").
absl::Status ApplySysctls(const std::map<std::string, std::string>& sysctls);

// Writes /proc/<pid>/oom_score_adj; a negative value without
// CAP_SYS_RESOURCE is a PermissionDenied naming that.
absl::Status WriteOomScoreAdj(pid_t pid, int score);

// Fd hygiene before exec: fds 0-2 stay, fds 3..3+preserve_fds-1 stay
// (CLOEXEC cleared), every other fd is closed except `keep` (which are left
// CLOEXEC so exec closes them). Sets LISTEN_FDS/LISTEN_PID in `env` when
// fds are preserved.
absl::Status CloseExtraFds(int preserve_fds, const std::vector<int>& keep);
// Adds LISTEN_FDS=<n> and LISTEN_PID=<pid> to env (replacing old values).
void SetListenEnv(std::vector<std::string>* env, int preserve_fds, pid_t pid);
// Moves each fd in `fds` to a number >= min_fd (CLOEXEC), updating it.
absl::Status MoveFdsAbove(std::vector<int*> fds, int min_fd);

// The fds open in this process (from /proc/self/fd).
std::vector<int> OpenFds();

}  // namespace peapod::linux
