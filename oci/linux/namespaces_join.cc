// Namespace planning, checked joins, id maps and time offsets.
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "oci/linux/errno_status.h"
#include "oci/linux/file_util.h"
#include "oci/linux/namespaces.h"

namespace peapod::linux {
namespace {

struct NsName {
  const char* oci;
  const char* proc;
  int flag;
};

// Join order: user first (it grants the rights for the others), mount last
// (after it, host paths no longer resolve).
constexpr NsName kNamespaces[] = {
    {"user", "user", CLONE_NEWUSER},  {"pid", "pid", CLONE_NEWPID},
    {"network", "net", CLONE_NEWNET}, {"ipc", "ipc", CLONE_NEWIPC},
    {"uts", "uts", CLONE_NEWUTS},     {"cgroup", "cgroup", CLONE_NEWCGROUP},
    {"time", "time", CLONE_NEWTIME},  {"mount", "mnt", CLONE_NEWNS},
};

int JoinRank(int flag) {
  for (size_t i = 0; i < std::size(kNamespaces); ++i) {
    if (kNamespaces[i].flag == flag) return static_cast<int>(i);
  }
  return 100;
}

}  // namespace

absl::StatusOr<int> NamespaceFlag(const std::string& type) {
  for (const NsName& n : kNamespaces) {
    if (type == n.oci) return n.flag;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown namespace type \"", type, "\""));
}

const char* NamespaceProcName(int flag) {
  for (const NsName& n : kNamespaces) {
    if (n.flag == flag) return n.proc;
  }
  return "?";
}

absl::StatusOr<UniqueFd> OpenNamespace(const std::string& path, int type) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return ErrnoStatus("open namespace " + path);
  int actual = ::ioctl(fd.get(), NS_GET_NSTYPE);
  if (actual < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("namespace path ", path, " is not a namespace: ", std::strerror(errno)));
  }
  if (actual != type) {
    return absl::InvalidArgumentError(absl::StrCat("namespace path ", path, " is a ",
                                                   NamespaceProcName(actual), " namespace, not ",
                                                   NamespaceProcName(type)));
  }
  return fd;
}

absl::StatusOr<NamespacePlan> PlanNamespaces(const std::vector<oci::Namespace>& namespaces) {
  NamespacePlan plan;
  int seen = 0;
  for (const oci::Namespace& ns : namespaces) {
    PEAPOD_ASSIGN_OR_RETURN(int flag, NamespaceFlag(ns.type));
    if (seen & flag) {
      return absl::InvalidArgumentError(absl::StrCat("namespace \"", ns.type, "\" given twice"));
    }
    seen |= flag;
    if (ns.path.empty()) {
      plan.new_flags |= flag;
      continue;
    }
    PEAPOD_ASSIGN_OR_RETURN(UniqueFd fd, OpenNamespace(ns.path, flag));
    plan.joins.push_back(NamespaceJoin{flag, ns.path, std::move(fd)});
  }
  std::stable_sort(plan.joins.begin(), plan.joins.end(),
                   [](const NamespaceJoin& a, const NamespaceJoin& b) {
                     return JoinRank(a.type) < JoinRank(b.type);
                   });
  return plan;
}

absl::Status JoinNamespaces(Syscall& sys, const std::vector<NamespaceJoin>& joins) {
  for (const NamespaceJoin& j : joins) {
    if (absl::Status st = sys.Setns(j.fd.get(), j.type); !st.ok()) {
      return Annotate(st, absl::StrCat("join ", NamespaceProcName(j.type), " namespace ", j.path));
    }
  }
  return absl::OkStatus();
}

std::string FormatIdMap(const std::vector<oci::IdMapping>& maps) {
  std::string out;
  for (const oci::IdMapping& m : maps) {
    absl::StrAppend(&out, m.container_id, " ", m.host_id, " ", m.size, "\n");
  }
  return out;
}

absl::Status WriteIdMaps(pid_t pid, const std::vector<oci::IdMapping>& uid_maps,
                         const std::vector<oci::IdMapping>& gid_maps) {
  std::string base = absl::StrCat("/proc/", pid, "/");
  if (!uid_maps.empty()) {
    PEAPOD_RETURN_IF_ERROR(WriteFileOnce(base + "uid_map", FormatIdMap(uid_maps)));
  }
  if (!gid_maps.empty()) {
    PEAPOD_RETURN_IF_ERROR(WriteFileOnce(base + "gid_map", FormatIdMap(gid_maps)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> FormatTimeOffsets(
    const std::map<std::string, oci::TimeOffset>& offsets) {
  std::string out;
  for (const auto& [clock, off] : offsets) {
    if (clock != "monotonic" && clock != "boottime") {
      return absl::InvalidArgumentError(
          absl::StrCat("linux.timeOffsets: unknown clock \"", clock, "\""));
    }
    absl::StrAppend(&out, clock, " ", off.secs, " ", off.nanosecs, "\n");
  }
  return out;
}

absl::Status UnshareTime(Syscall& sys, const std::map<std::string, oci::TimeOffset>& offsets) {
  PEAPOD_ASSIGN_OR_RETURN(std::string text, FormatTimeOffsets(offsets));
  PEAPOD_RETURN_IF_ERROR(sys.Unshare(CLONE_NEWTIME));
  if (text.empty()) return absl::OkStatus();
  return WriteFileOnce("/proc/self/timens_offsets", text);
}

}  // namespace peapod::linux
