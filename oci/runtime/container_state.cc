// State and List.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "oci/cgroups/path.h"
#include "oci/runtime/container_status.h"
#include "oci/runtime/runtime.h"

namespace peapod::runtime {

absl::StatusOr<std::unique_ptr<cgroups::Manager>> OpenCgroup(const StateRecord& rec) {
  // cgroup_path is absolute, so it resolves to itself.
  return cgroups::Open(rec.cgroup_path, rec.id);
}

InitStatus StatusOf(const StateRecord& rec) {
  if (!InitAlive(rec)) return InitStatus::kStopped;
  if (!rec.started) return InitStatus::kCreated;
  absl::StatusOr<std::unique_ptr<cgroups::Manager>> cg = OpenCgroup(rec);
  if (cg.ok()) {
    absl::StatusOr<cgroups::FreezerState> fs = (*cg)->GetFreezerState();
    if (fs.ok() && *fs == cgroups::FreezerState::kFrozen) return InitStatus::kPaused;
  }
  return InitStatus::kRunning;
}

absl::StatusOr<ContainerState> State(const Options& opts, const std::string& id) {
  PEAPOD_ASSIGN_OR_RETURN(StateRecord rec, LoadState(opts, id));
  ContainerState s;
  s.oci_version = std::string(oci::kOciVersion);
  s.id = rec.id;
  InitStatus st = StatusOf(rec);
  s.status = InitStatusName(st);
  s.pid = st == InitStatus::kStopped ? 0 : rec.init_pid;
  s.bundle = rec.bundle;
  s.rootfs = rec.rootfs;
  s.created = rec.created;
  s.owner = rec.owner;
  s.annotations = rec.annotations;
  return s;
}

absl::StatusOr<std::vector<ContainerState>> List(const Options& opts) {
  std::vector<ContainerState> out;
  DIR* d = ::opendir(opts.root.c_str());
  if (d == nullptr) return out;  // no root yet: no containers
  std::vector<std::string> ids;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    ids.push_back(name);
  }
  ::closedir(d);
  std::sort(ids.begin(), ids.end());
  for (const std::string& id : ids) {
    absl::StatusOr<ContainerState> s = State(opts, id);
    if (s.ok()) out.push_back(*std::move(s));  // half-created dirs are skipped
  }
  return out;
}

}  // namespace peapod::runtime
