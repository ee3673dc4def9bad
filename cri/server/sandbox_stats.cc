// PodSandboxStats / ListPodSandboxStats: cpu, memory and process count of
// the pod's cgroup (its cgroup_parent when it has one, which holds the infra
// and every container; else the infra's own), network counters of the
// infra's network namespace, and each container's stats.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "cri/server/handlers.h"
#include "cri/server/pod_ops.h"
#include "cri/util/str.h"
#include "cri/util/time.h"
#include "oci/cgroups/manager.h"
#include "oci/spec/spec.h"

namespace peapod::cri {
namespace {

namespace v1 = ::runtime::v1;

uint64_t Raw(const cgroups::Stats& s, const char* key) {
  auto it = s.memory.raw.find(key);
  return it == s.memory.raw.end() ? 0 : it->second;
}

// The pod-level cgroup: the parent of the infra's cgroup when the pod was
// given a (cgroupfs) cgroup_parent, else the infra's own.
std::string PodCgroupPath(const std::string& infra_cgroup, const std::string& pod_id) {
  if (infra_cgroup == Cat("/peapod/", pod_id) || infra_cgroup.find(':') != std::string::npos) {
    return infra_cgroup;
  }
  std::string parent = std::filesystem::path(infra_cgroup).parent_path().string();
  return parent.empty() || parent == "/" ? infra_cgroup : parent;
}

void FillCgroup(const cgroups::Stats& st, int64_t now, v1::LinuxPodSandboxStats& out) {
  out.mutable_cpu()->set_timestamp(now);
  out.mutable_cpu()->mutable_usage_core_nano_seconds()->set_value(st.cpu.total_ns);
  v1::MemoryUsage& mem = *out.mutable_memory();
  mem.set_timestamp(now);
  // Working set as the kubelet counts it: usage minus inactive file pages.
  uint64_t inactive = Raw(st, "total_inactive_file") + Raw(st, "inactive_file");
  uint64_t usage = st.memory.usage;
  mem.mutable_working_set_bytes()->set_value(usage > inactive ? usage - inactive : 0);
  mem.mutable_usage_bytes()->set_value(usage);
  mem.mutable_rss_bytes()->set_value(Raw(st, "total_rss") + Raw(st, "anon"));
  mem.mutable_page_faults()->set_value(Raw(st, "total_pgfault") + Raw(st, "pgfault"));
  mem.mutable_major_page_faults()->set_value(Raw(st, "total_pgmajfault") + Raw(st, "pgmajfault"));
  out.mutable_process()->set_timestamp(now);
  out.mutable_process()->mutable_process_count()->set_value(st.pids.current);
}

// Interface counters of the infra's network namespace (/proc/<pid>/net/dev),
// loopback left out; eth0 (else the first) is the default interface.
void FillNetwork(int64_t infra_pid, int64_t now, v1::NetworkUsage& out) {
  std::ifstream dev(Cat("/proc/", infra_pid, "/net/dev"));
  std::vector<v1::NetworkInterfaceUsage> all;
  for (std::string line; std::getline(dev, line);) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;  // the two header lines
    std::string name = line.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    if (name == "lo") continue;
    std::istringstream in(line.substr(colon + 1));
    uint64_t f[16] = {};
    for (uint64_t& v : f) in >> v;
    v1::NetworkInterfaceUsage& is = all.emplace_back();
    is.set_name(name);
    is.mutable_rx_bytes()->set_value(f[0]);
    is.mutable_rx_errors()->set_value(f[2]);
    is.mutable_tx_bytes()->set_value(f[8]);
    is.mutable_tx_errors()->set_value(f[10]);
  }
  out.set_timestamp(now);
  size_t def = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i].name() == "eth0") def = i;
  }
  for (size_t i = 0; i < all.size(); ++i) {
    *(i == def ? out.mutable_default_interface() : out.add_interfaces()) = all[i];
  }
}

absl::Status FillPodStats(Daemon& d, const PodRecord& pod, v1::PodSandboxStats& out) {
  v1::PodSandboxAttributes& a = *out.mutable_attributes();
  a.set_id(pod.id);
  a.mutable_metadata()->set_name(pod.metadata.name);
  a.mutable_metadata()->set_uid(pod.metadata.uid);
  a.mutable_metadata()->set_namespace_(pod.metadata.namespace_);
  a.mutable_metadata()->set_attempt(pod.metadata.attempt);
  a.mutable_labels()->insert(pod.labels.begin(), pod.labels.end());
  a.mutable_annotations()->insert(pod.annotations.begin(), pod.annotations.end());
  int64_t now = NowNs();
  v1::LinuxPodSandboxStats& linux = *out.mutable_linux();
  // 1. The pod's cgroup (none once the pod is removed or was never built).
  absl::StatusOr<oci::Spec> spec = oci::LoadSpec(PodDir(d, pod.id) + "/config.json");
  if (spec.ok() && spec->linux) {
    absl::StatusOr<std::unique_ptr<cgroups::Manager>> cg =
        cgroups::Open(PodCgroupPath(spec->linux->cgroups_path, pod.id), "");
    if (cg.ok() && (*cg)->Exists()) {
      absl::StatusOr<cgroups::Stats> st = (*cg)->GetStats();
      if (!st.ok()) return st.status();
      FillCgroup(*st, now, linux);
    }
  }
  // 2. The network, while the infra holds it.
  if (pod.state == PodState::kReady && pod.network_mode != NamespaceMode::kNode) {
    FillNetwork(pod.infra_pid, now, *linux.mutable_network());
  }
  // 3. Each container of the pod.
  for (const ContainerRecord& c : d.containers->List()) {
    if (c.pod_id != pod.id) continue;
    v1::ContainerStatsRequest req;
    req.set_container_id(c.id);
    v1::ContainerStatsResponse resp;
    if (absl::Status s = HandleContainerStats(d, req, resp); !s.ok()) {
      d.log.Debug(Cat("stats of container ", c.id, ": ", s.ToString()));
      continue;
    }
    *linux.add_containers() = std::move(*resp.mutable_stats());
  }
  return absl::OkStatus();
}

bool LabelsMatch(const PodRecord& p, const v1::PodSandboxStatsFilter& f) {
  for (const auto& [k, v] : f.label_selector()) {
    auto it = p.labels.find(k);
    if (it == p.labels.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace

absl::Status HandlePodSandboxStats(Daemon& d, const v1::PodSandboxStatsRequest& req,
                                   v1::PodSandboxStatsResponse& resp) {
  absl::StatusOr<PodRecord> pod = d.pods->Get(req.pod_sandbox_id());
  if (!pod.ok()) return pod.status();
  return FillPodStats(d, RefreshPod(d, *pod), *resp.mutable_stats());
}

absl::Status HandleListPodSandboxStats(Daemon& d, const v1::ListPodSandboxStatsRequest& req,
                                       v1::ListPodSandboxStatsResponse& resp) {
  for (const PodRecord& p : d.pods->List()) {
    if (!req.filter().id().empty() && !p.id.starts_with(req.filter().id())) continue;
    if (!LabelsMatch(p, req.filter())) continue;
    v1::PodSandboxStats stats;
    if (absl::Status s = FillPodStats(d, RefreshPod(d, p), stats); !s.ok()) {
      d.log.Debug(Cat("stats of pod ", p.id, ": ", s.ToString()));
    }
    *resp.add_stats() = std::move(stats);
  }
  return absl::OkStatus();
}

}  // namespace peapod::cri
