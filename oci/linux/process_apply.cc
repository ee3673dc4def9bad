// rlimits, user, hostname, sysctls, oom_score_adj.
#include <linux/magic.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "oci/linux/errno_status.h"
#include "oci/linux/file_util.h"
#include "oci/linux/process_setup.h"

namespace peapod::linux {
namespace {

struct RlimitName {
  const char* name;
  int number;
};

constexpr RlimitName kRlimits[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},           {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},         {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},         {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},   {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},       {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},     {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

}  // namespace

absl::StatusOr<int> RlimitNumber(const std::string& name) {
  for (const RlimitName& r : kRlimits) {
    if (name == r.name) return r.number;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown rlimit \"", name, "\""));
}

absl::Status ApplyRlimits(Syscall& sys, const std::vector<oci::Rlimit>& rlimits) {
  for (const oci::Rlimit& r : rlimits) {
    PEAPOD_ASSIGN_OR_RETURN(int number, RlimitNumber(r.type));
    if (r.soft > r.hard) {
      return absl::InvalidArgumentError(
          absl::StrCat("rlimit ", r.type, ": soft ", r.soft, " above hard ", r.hard));
    }
    PEAPOD_RETURN_IF_ERROR(sys.Setrlimit(number, r.soft, r.hard, r.type));
  }
  return absl::OkStatus();
}

absl::Status ValidateUser(const oci::User& user) {
  if (user.uid == static_cast<uint32_t>(-1)) {
    return absl::InvalidArgumentError("process.user.uid: 4294967295 is not a valid uid");
  }
  if (user.gid == static_cast<uint32_t>(-1)) {
    return absl::InvalidArgumentError("process.user.gid: 4294967295 is not a valid gid");
  }
  for (uint32_t g : user.additional_gids) {
    if (g == static_cast<uint32_t>(-1)) {
      return absl::InvalidArgumentError(
          "process.user.additionalGids: 4294967295 is not a valid gid");
    }
  }
  if (user.umask && *user.umask > 0777) {
    return absl::InvalidArgumentError(
        absl::StrCat("process.user.umask: ", *user.umask, " is not a valid umask"));
  }
  return absl::OkStatus();
}

absl::Status ApplyUser(Syscall& sys, const oci::User& user, bool setgroups_allowed) {
  PEAPOD_RETURN_IF_ERROR(ValidateUser(user));
  if (setgroups_allowed) {
    std::vector<gid_t> gids(user.additional_gids.begin(), user.additional_gids.end());
    PEAPOD_RETURN_IF_ERROR(sys.Setgroups(gids));
  }
  PEAPOD_RETURN_IF_ERROR(sys.Setgid(user.gid));
  PEAPOD_RETURN_IF_ERROR(sys.Setuid(user.uid));
  ::umask(user.umask.value_or(022));
  return absl::OkStatus();
}

absl::Status ApplyHostname(Syscall& sys, const std::string& hostname,
                           const std::string& domainname) {
  if (!hostname.empty()) PEAPOD_RETURN_IF_ERROR(sys.Sethostname(hostname));
  if (!domainname.empty()) PEAPOD_RETURN_IF_ERROR(sys.Setdomainname(domainname));
  return absl::OkStatus();
}

absl::Status ApplySysctls(const std::map<std::string, std::string>& sysctls) {
  if (sysctls.empty()) return absl::OkStatus();
  struct statfs sfs;
  if (::statfs("/proc/sys", &sfs) != 0) return ErrnoStatus("statfs /proc/sys");
  if (sfs.f_type != PROC_SUPER_MAGIC) {
    return absl::FailedPreconditionError("/proc in the container is not a procfs: no sysctls");
  }
  for (const auto& [key, value] : sysctls) {
    if (key.empty() || key.find("..") != std::string::npos || key[0] == '.' || key[0] == '/') {
      return absl::InvalidArgumentError(absl::StrCat("sysctl \"", key, "\" is not a valid key"));
    }
    std::string path = "/proc/sys/" + absl::StrReplaceAll(key, {{".", "/"}});
    PEAPOD_RETURN_IF_ERROR(Annotate(WriteFileOnce(path, value), "sysctl " + key));
  }
  return absl::OkStatus();
}

absl::Status WriteOomScoreAdj(pid_t pid, int score) {
  if (score < -1000 || score > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("process.oomScoreAdj ", score, " outside [-1000, 1000]"));
  }
  absl::Status st =
      WriteFileOnce(absl::StrCat("/proc/", pid, "/oom_score_adj"), absl::StrCat(score));
  if (absl::IsPermissionDenied(st)) {
    return absl::PermissionDeniedError(
        absl::StrCat("process.oomScoreAdj ", score,
                     ": lowering oom_score_adj needs CAP_SYS_RESOURCE (", st.message(), ")"));
  }
  return st;
}

}  // namespace peapod::linux
