// ContainerStats / ListContainerStats: cpu and memory from the container's
// cgroup, the writable layer from its overlay upper directory.
#include <ftw.h>
#include <sys/stat.h>

#include <chrono>

#include "cri/server/container_ops.h"
#include "cri/server/handlers.h"
#include "cri/util/str.h"
#include "cri/util/time.h"
#include "oci/cgroups/manager.h"
#include "oci/spec/spec.h"

namespace peapod::cri {
namespace {

namespace v1 = ::runtime::v1;

// Bytes and inodes under `dir`, not crossing into other file systems.
struct DirUsage {
  uint64_t bytes = 0, inodes = 0;
};
thread_local DirUsage* walk_usage = nullptr;

DirUsage Usage(const std::string& dir) {
  DirUsage u;
  walk_usage = &u;
  nftw(
      dir.c_str(),
      [](const char*, const struct stat* st, int, struct FTW*) {
        walk_usage->bytes += static_cast<uint64_t>(st->st_blocks) * 512;
        walk_usage->inodes += 1;
        return 0;
      },
      16, FTW_PHYS | FTW_MOUNT);
  walk_usage = nullptr;
  return u;
}

uint64_t Raw(const cgroups::Stats& s, const char* key) {
  auto it = s.memory.raw.find(key);
  return it == s.memory.raw.end() ? 0 : it->second;
}

absl::Status FillStats(Daemon& d, const ContainerRecord& c, v1::ContainerStats& out) {
  v1::ContainerAttributes& a = *out.mutable_attributes();
  a.set_id(c.id);
  a.mutable_metadata()->set_name(c.name);
  a.mutable_metadata()->set_attempt(c.attempt);
  a.mutable_labels()->insert(c.labels.begin(), c.labels.end());
  a.mutable_annotations()->insert(c.annotations.begin(), c.annotations.end());
  int64_t now = NowNs();
  std::string upper = Cat(d.config.root, "/containers/", c.id, "/upper");
  DirUsage layer = Usage(upper);
  v1::FilesystemUsage& fs = *out.mutable_writable_layer();
  fs.set_timestamp(now);
  fs.mutable_fs_id()->set_mountpoint(upper);
  fs.mutable_used_bytes()->set_value(layer.bytes);
  fs.mutable_inodes_used()->set_value(layer.inodes);
  absl::StatusOr<oci::Spec> spec = oci::LoadSpec(Cat(ContainerBundleDir(d, c.id), "/config.json"));
  if (!spec.ok() || !spec->linux) return absl::OkStatus();
  absl::StatusOr<std::unique_ptr<cgroups::Manager>> cg =
      cgroups::Open(spec->linux->cgroups_path, c.id);
  if (!cg.ok() || !(*cg)->Exists()) return absl::OkStatus();  // not running: no cgroup
  absl::StatusOr<cgroups::Stats> st = (*cg)->GetStats();
  if (!st.ok()) return st.status();
  out.mutable_cpu()->set_timestamp(now);
  out.mutable_cpu()->mutable_usage_core_nano_seconds()->set_value(st->cpu.total_ns);
  v1::MemoryUsage& mem = *out.mutable_memory();
  mem.set_timestamp(now);
  // The working set, as the kubelet and cAdvisor count it: usage minus
  // inactive file pages. v1's memory.stat has both inactive_file and its
  // hierarchical total_inactive_file: take one, never their sum (that made
  // the working set 0 on v1 hosts).
  uint64_t inactive = st->memory.raw.count("total_inactive_file") != 0
                          ? Raw(*st, "total_inactive_file")
                          : Raw(*st, "inactive_file");
  uint64_t usage = st->memory.usage;
  mem.mutable_working_set_bytes()->set_value(usage > inactive ? usage - inactive : 0);
  mem.mutable_usage_bytes()->set_value(usage);
  mem.mutable_rss_bytes()->set_value(Raw(*st, "total_rss") + Raw(*st, "anon"));
  mem.mutable_page_faults()->set_value(Raw(*st, "total_pgfault") + Raw(*st, "pgfault"));
  mem.mutable_major_page_faults()->set_value(Raw(*st, "total_pgmajfault") + Raw(*st, "pgmajfault"));
  if (st->memory.limit > 0 && st->memory.limit < (uint64_t{1} << 62)) {
    uint64_t ws = mem.working_set_bytes().value();
    mem.mutable_available_bytes()->set_value(st->memory.limit > ws ? st->memory.limit - ws : 0);
  }
  return absl::OkStatus();
}

bool LabelsMatch(const ContainerRecord& c, const v1::ContainerStatsFilter& f) {
  for (const auto& [k, v] : f.label_selector()) {
    auto it = c.labels.find(k);
    if (it == c.labels.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace

absl::Status HandleContainerStats(Daemon& d, const v1::ContainerStatsRequest& req,
                                  v1::ContainerStatsResponse& resp) {
  absl::StatusOr<ContainerRecord> c = d.containers->Get(req.container_id());
  if (!c.ok()) return c.status();
  return FillStats(d, *c, *resp.mutable_stats());
}

absl::Status HandleListContainerStats(Daemon& d, const v1::ListContainerStatsRequest& req,
                                      v1::ListContainerStatsResponse& resp) {
  const v1::ContainerStatsFilter& f = req.filter();
  for (const ContainerRecord& c : d.containers->List()) {
    if (!f.id().empty() && !c.id.starts_with(f.id())) continue;
    if (!f.pod_sandbox_id().empty() && !c.pod_id.starts_with(f.pod_sandbox_id())) continue;
    if (!LabelsMatch(c, f)) continue;
    v1::ContainerStats stats;
    if (absl::Status s = FillStats(d, c, stats); !s.ok()) {
      d.log.Debug(Cat("stats of ", c.id, ": ", s.ToString()));
    }
    *resp.add_stats() = std::move(stats);
  }
  return absl::OkStatus();
}

}  // namespace peapod::cri
