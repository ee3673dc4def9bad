// RunPodSandbox: a pod is a record, a directory holding the infra bundle, a
// shim, and the infra process the shim runs in the pod's new namespaces.
//
// Crash safety: the record is persisted NOTREADY before anything else exists
// and turns READY only once the infra runs, so a peapodd killed at any step
// comes back with a NOTREADY pod that Stop/Remove clean up (the shim's
// address sits in the pod dir from the moment the shim answers, and is put
// in the record with READY).
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <optional>

#include "absl/cleanup/cleanup.h"
#include "cri/server/handlers.h"
#include "cri/server/pod_network.h"
#include "cri/server/pod_ops.h"
#include "cri/server/translate.h"
#include "cri/shimclient/shim_client.h"
#include "cri/spec/container_spec.h"
#include "cri/spec/from_cri.h"
#include "cri/store/id.h"
#include "cri/store/record_file.h"
#include "cri/util/failpoint.h"
#include "cri/util/str.h"
#include "cri/util/time.h"
#include "oci/linux/file_util.h"
#include "oci/spec/spec.h"

namespace peapod::cri {
namespace {

namespace v1 = ::runtime::v1;
namespace fs = std::filesystem;

// An RFC 1123 host name the kernel accepts: at most 64 bytes of dot-separated
// labels of letters, digits and inner hyphens.
absl::Status CheckHostname(const std::string& h) {
  auto bad = [&h](std::string_view why) {
    return absl::InvalidArgumentError(Cat("hostname \"", h, "\": ", why));
  };
  if (h.size() > 64) return bad("longer than 64 bytes");
  size_t start = 0;
  while (start <= h.size()) {
    size_t end = h.find('.', start);
    if (end == std::string::npos) end = h.size();
    std::string_view label(h.data() + start, end - start);
    if (label.empty() || label.size() > 63) return bad("has an empty or over-long label");
    if (label.front() == '-' || label.back() == '-') return bad("a label starts or ends with '-'");
    for (char c : label) {
      if (!isalnum(static_cast<unsigned char>(c)) && c != '-') {
        return bad("may hold only letters, digits, '-' and '.'");
      }
    }
    start = end + 1;
  }
  return absl::OkStatus();
}

// Checks what the spec builder does not: metadata, handler, hostname, paths.
absl::Status CheckConfig(const v1::RunPodSandboxRequest& req) {
  if (!req.has_config()) return absl::InvalidArgumentError("config: missing");
  const v1::PodSandboxConfig& c = req.config();
  if (!c.has_metadata()) return absl::InvalidArgumentError("config.metadata: missing");
  for (auto [field, value] :
       {std::pair{"name", &c.metadata().name()}, std::pair{"namespace", &c.metadata().namespace_()},
        std::pair{"uid", &c.metadata().uid()}}) {
    if (value->empty())
      return absl::InvalidArgumentError(Cat("config.metadata.", field, ": empty"));
  }
  if (!req.runtime_handler().empty() && req.runtime_handler() != "peapod") {
    return absl::InvalidArgumentError(Cat("runtime_handler \"", req.runtime_handler(),
                                          "\": unknown (peapod serves \"\" and \"peapod\")"));
  }
  if (!c.hostname().empty()) {
    if (absl::Status s = CheckHostname(c.hostname()); !s.ok()) return s;
  }
  if (!c.log_directory().empty() && c.log_directory()[0] != '/') {
    return absl::InvalidArgumentError(
        Cat("config.log_directory \"", c.log_directory(), "\": not an absolute path"));
  }
  return absl::OkStatus();
}

PodRecord NewRecord(const v1::RunPodSandboxRequest& req, const spec::PodInfo& pod) {
  const v1::PodSandboxConfig& c = req.config();
  PodRecord r;
  r.id = pod.id;
  r.metadata = PodMetadataFromProto(c.metadata());
  r.state = PodState::kNotReady;
  r.created_at = NowNs();
  r.labels.insert(c.labels().begin(), c.labels().end());
  r.annotations.insert(c.annotations().begin(), c.annotations().end());
  r.runtime_handler = req.runtime_handler();
  r.hostname = c.hostname();
  r.log_directory = c.log_directory();
  const v1::NamespaceOption& ns = c.linux().security_context().namespace_options();
  r.network_mode = NamespaceModeFromProto(ns.network());
  r.pid_mode = NamespaceModeFromProto(ns.pid());
  r.ipc_mode = NamespaceModeFromProto(ns.ipc());
  return r;
}

// The infra bundle in the pod dir: config.json and a root holding only the
// mount points the spec needs (it is mounted read-only).
absl::Status WriteInfraBundle(const std::string& dir, const oci::Spec& spec) {
  std::error_code ec;
  for (const char* sub : {"/rootfs/proc", "/rootfs/dev"}) {
    fs::create_directories(dir + sub, ec);
    if (ec) return absl::InternalError(Cat("mkdir ", dir, sub, ": ", ec.message()));
  }
  int fd = open((dir + "/rootfs/peapod-infra").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0555);
  if (fd < 0) return absl::InternalError(Cat("create ", dir, "/rootfs/peapod-infra"));
  close(fd);
  // Runtime state (state_dir), gone at reboot like the pod: atomic, no fsync.
  return linux::ReplaceFile(dir + "/config.json", oci::SerializeSpec(spec));
}

// Milliseconds since the handler began at each named step, for the debug
// log ("runp <id>: plugin 0.2 record 0.3 bundle 0.6 ... ready 8.1").
class StepTimes {
 public:
  explicit StepTimes(bool on) : on_(on), t0_(std::chrono::steady_clock::now()) {}
  void Mark(std::string_view step) {
    if (!on_) return;
    std::chrono::duration<double, std::milli> ms = std::chrono::steady_clock::now() - t0_;
    char num[32];
    snprintf(num, sizeof num, " %.2f", ms.count());
    text_.append(" ").append(step).append(num);
  }
  const std::string& text() const { return text_; }

 private:
  bool on_;
  std::chrono::steady_clock::time_point t0_;
  std::string text_;
};

}  // namespace

absl::Status HandleRunPodSandbox(Daemon& d, const v1::RunPodSandboxRequest& req,
                                 v1::RunPodSandboxResponse& resp) {
  BusyGate::Busy busy(d.runp_gate);  // no spare is made meanwhile
  StepTimes steps(d.log.Enabled(LogLevel::kDebug));
  // 1. Validate everything before anything exists.
  if (absl::Status s = CheckConfig(req); !s.ok()) return s;
  if (absl::Status s = CheckPodNetworkConfig(req.config()); !s.ok()) return s;
  absl::StatusOr<spec::PodInfo> pod = spec::PodInfoFromCri(req.config());
  if (!pod.ok()) return pod.status();
  absl::StatusOr<std::string> infra = FindBinary(d.config.infra_binary, "cri/infra");
  if (!infra.ok()) return absl::FailedPreconditionError(Cat("infra: ", infra.status().message()));
  // A pod with its own network namespace: the namespace is made (or taken
  // ready) first, loopback up, and the infra joins it by path; with a CNI
  // network, ADD runs in it meanwhile (pod_network.h, EarlyPodNetwork).
  const NamespaceMode network =
      NamespaceModeFromProto(req.config().linux().security_context().namespace_options().network());
  absl::StatusOr<std::optional<CniNetwork>> cni = PodCniNetwork(d, network);
  if (!cni.ok()) return cni.status();
  // A warm attachment (warm_network.h) names the pod's id; it goes back if
  // this call fails before the rest of its ADD has it.
  std::optional<WarmNetwork::Taken> warm;
  if (cni->has_value() && d.warm_network) {
    absl::StatusOr<WarmNetwork::Taken> taken = d.warm_network->Take(**cni);
    if (taken.ok()) {
      warm = *std::move(taken);
    } else {
      d.log.Debug(Cat("runp: ", taken.status().message()));
    }
  }
  absl::Cleanup give_back = [&] {
    if (warm) d.warm_network->GiveBack(*std::move(warm), **cni);
  };
  pod->id = warm ? warm->id : NewId();
  const std::string dir = PodDir(d, pod->id);
  PodRecord r = NewRecord(req, *pod);
  // The ADD's first plugin starts before anything else (pod_network.h).
  CniAddStart first_plugin;
  if (cni->has_value()) {
    absl::StatusOr<CniAddStart> started =
        BeginPodNetwork(d, r, **cni, warm ? warm->head.plugins : 0);
    if (!started.ok()) return started.status();
    first_plugin = *std::move(started);
  }
  Failpoint("runp:plugin");
  steps.Mark("plugin");
  spec::SandboxSpecInput in;
  in.pod = *pod;
  if (network != NamespaceMode::kNode) in.netns_path = PodNetnsPath(d, pod->id);
  in.infra_binary = *infra;
  in.rootfs_path = dir + "/rootfs";
  absl::StatusOr<oci::Spec> infra_spec = spec::BuildSandboxSpec(in);
  if (!infra_spec.ok()) return infra_spec.status();

  // 2. The record, NOTREADY; it also reserves the pod's name. It is in place
  //    at once (a peapodd crash from here on finds the pod). With a CNI
  //    network it must also survive a power loss before CNI ADD, the first
  //    thing that outlives a reboot (the address the IPAM plugin leases):
  //    that wait for the disk overlaps the netns and shim work. A pod
  //    without CNI leaves nothing that a reboot keeps, so its record reaches
  //    the disk with its READY update, after the reply.
  Rollback undo(d.log);
  if (absl::Status s = d.pods->AddUnsynced(r); !s.ok()) return s;
  undo.Push("remove pod record", [&d, id = r.id] { return d.pods->Remove(id); });
  std::shared_future<absl::Status> record_synced;
  if (cni->has_value()) {
    record_synced =
        std::async(std::launch::async, [&d, id = r.id] { return d.pods->Sync(id); }).share();
  }
  Failpoint("runp:record");
  steps.Mark("record");

  // 3. The pod's network namespace, and CNI ADD in it (once the record is
  //    durable) while the rest goes on: first, as the ADD is the longest
  //    step of all. Without a CNI network, the namespace alone (loopback).
  std::optional<EarlyPodNetwork> early;
  if (cni->has_value()) {
    std::optional<WarmNetwork::Taken> mine;
    mine.swap(warm);  // from here on, the pod's
    absl::StatusOr<EarlyPodNetwork> started = StartPodNetwork(
        d, r, req.config(), **cni, std::move(first_plugin),
        [record_synced] { return record_synced.get(); }, undo, std::move(mine));
    if (!started.ok()) return started.status();
    early = *std::move(started);
  } else if (network != NamespaceMode::kNode) {
    absl::StatusOr<std::string> netns = PinPodNetns(d, r.id, undo);
    if (!netns.ok()) return netns.status();
    r.netns_path = *std::move(netns);
    d.log.Info(Cat("pod ", r.id, ": no CNI network: loopback only"));
  }

  // 4. The pod dir and the infra bundle. With a spare shim ready, its dir
  //    becomes the pod dir (it holds the shim's address, as a shim started
  //    for the pod would have written it there).
  if (absl::Status s = EnsureDir(Cat(d.config.state_dir, "/pods")); !s.ok()) return s;
  std::optional<ShimSpares::Taken> spare;
  if (d.spares) {
    absl::StatusOr<ShimSpares::Taken> taken = d.spares->Take(dir);
    if (taken.ok()) {
      spare = *std::move(taken);
    } else if (!absl::IsNotFound(taken.status())) {
      return taken.status();
    }
  }
  if (!spare && mkdir(dir.c_str(), 0700) != 0) {
    return absl::InternalError(Cat("mkdir ", dir, ": ", strerror(errno)));
  }
  undo.Push("remove pod dir", [dir] {
    std::error_code ec;
    fs::remove_all(dir, ec);
    return ec ? absl::InternalError(Cat("remove ", dir, ": ", ec.message())) : absl::OkStatus();
  });
  std::shared_ptr<ShimClient> client;  // shared with the undo steps
  if (spare) {
    r.shim_address = spare->address;
    client = std::move(spare->client);
    undo.Push("shut the shim down", [client, id = r.id] { return client->Shutdown(id, true); });
  }
  if (absl::Status s = WriteInfraBundle(dir, *infra_spec); !s.ok()) return s;
  Failpoint("runp:bundle");
  steps.Mark("bundle");

  // 5. The pod's shim (unless a spare is already in the pod dir).
  if (!client) {
    absl::StatusOr<std::string> address = ShimClient::StartShim(PodShimOptions(d), r.id, dir);
    if (!address.ok()) return address.status();
    r.shim_address = *address;
    absl::StatusOr<std::unique_ptr<ShimClient>> shim = ShimClient::Connect(*address);
    if (!shim.ok()) return shim.status();
    client = std::move(*shim);
    undo.Push("shut the shim down", [client, id = r.id] { return client->Shutdown(id, true); });
  }
  // Not persisted yet: the shim wrote its address into the pod dir before
  // it answered, and that is where PodShimAddress looks for a NOTREADY pod
  // whose record has none, so a crash from here on still finds the shim.
  Failpoint("runp:shim");
  steps.Mark("shim");

  // 6. The infra process: created in the pod's new namespaces, then started.
  task::CreateTaskRequest create;
  create.set_id(r.id);
  create.set_bundle(dir);
  absl::StatusOr<uint32_t> pid = client->Create(create);
  if (!pid.ok()) return pid.status();
  undo.Push("delete the infra task", [client, id = r.id] {
    (void)client->Kill(id, SIGKILL, true);
    (void)client->Wait(id, "", std::chrono::seconds(10));
    absl::StatusOr<ExitInfo> e = client->Delete(id);
    return e.ok() || absl::IsNotFound(e.status()) ? absl::OkStatus() : e.status();
  });
  Failpoint("runp:created");
  steps.Mark("created");
  if (absl::StatusOr<uint32_t> s = client->Start(r.id); !s.ok()) return s.status();
  Failpoint("runp:started");
  steps.Mark("started");

  // 7. Network and pod files (pod_network.h): with a CNI network, the
  //    result of the ADD started in step 3 (r.ip and r.additional_ips; DEL
  //    on `undo`); without one, the pod has its loopback only. Then /etc/hosts,
  //    /etc/resolv.conf and /etc/hostname in the pod dir, removed with it.
  if (early) {
    const absl::StatusOr<std::vector<std::string>>& ips = early->ips.get();
    if (!ips.ok()) return ips.status();
    r.netns_path = early->netns;
    if (!ips->empty()) {
      r.ip = (*ips)[0];
      r.additional_ips.assign(ips->begin() + 1, ips->end());
    }
  }
  steps.Mark("network");
  if (absl::Status s = WritePodFilesFor(r, req.config(), dir); !s.ok()) return s;
  steps.Mark("files");

  // 8. READY: from here on the pod is the caller's. In the state dir at
  //    once, on disk and fsynced just after (RecordStore::UpdateSoon): a
  //    reboot needs only the NOTREADY record, which is durable.
  r.infra_pid = *pid;
  r.state = PodState::kReady;
  if (absl::Status s = d.pods->UpdateSoon(r); !s.ok()) return s;
  Failpoint("runp:ready");
  steps.Mark("ready");
  undo.Dismiss();
  d.log.Info(Cat("pod ", r.id, " (", RecordName(r), ") ready, infra pid ", *pid));
  d.log.Debug(Cat("runp ", r.id, " (ms):", steps.text()));
  resp.set_pod_sandbox_id(r.id);
  return absl::OkStatus();
}

}  // namespace peapod::cri
