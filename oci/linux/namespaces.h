// Namespaces: which to create (clone flags) and which to join (setns by
// path), uid/gid maps written by the parent, time namespace offsets.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "oci/linux/syscall.h"
#include "oci/linux/unique_fd.h"
#include "oci/spec/spec.h"

namespace peapod::linux {

// A namespace to join: its CLONE_NEW* type and an open fd of it.
struct NamespaceJoin {
  int type = 0;
  std::string path;
  UniqueFd fd;
};

// The namespace part of a container's setup.
struct NamespacePlan {
  int new_flags = 0;                 // CLONE_NEW* to create (CLONE_NEWTIME included)
  std::vector<NamespaceJoin> joins;  // user first, mount last
};

// CLONE_NEW* for an OCI namespace type ("pid", "network", ...).
absl::StatusOr<int> NamespaceFlag(const std::string& type);
// The /proc/<pid>/ns/<name> name of a CLONE_NEW* type ("net", "mnt", ...).
const char* NamespaceProcName(int flag);

// Builds the plan from linux.namespaces: rejects unknown or duplicate types
// and opens every path, checking (NS_GET_NSTYPE) that it is a namespace of
// the type it claims.
absl::StatusOr<NamespacePlan> PlanNamespaces(const std::vector<oci::Namespace>& namespaces);

// Opens a namespace file and checks it is a namespace of `type`.
absl::StatusOr<UniqueFd> OpenNamespace(const std::string& path, int type);

// setns() into every joined namespace, in the plan's order (user first).
absl::Status JoinNamespaces(Syscall& sys, const std::vector<NamespaceJoin>& joins);

// Writes /proc/<pid>/{uid,gid}_map (done by the parent for a new user ns).
absl::Status WriteIdMaps(pid_t pid, const std::vector<oci::IdMapping>& uid_maps,
                         const std::vector<oci::IdMapping>& gid_maps);

// The text of an id map file ("0 1000 1\n...").
std::string FormatIdMap(const std::vector<oci::IdMapping>& maps);

// The text of /proc/<pid>/timens_offsets for linux.timeOffsets; unknown
// clocks are an error.
absl::StatusOr<std::string> FormatTimeOffsets(const std::map<std::string, oci::TimeOffset>& offs);

// unshare(CLONE_NEWTIME) and writes the offsets: children created after
// this call live in the new time namespace.
absl::Status UnshareTime(Syscall& sys, const std::map<std::string, oci::TimeOffset>& offsets);

}  // namespace peapod::linux
