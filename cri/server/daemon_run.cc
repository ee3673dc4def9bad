#include "cri/server/daemon_run.h"

#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <memory>

#include "cri/server/container_ops.h"
#include "cri/server/daemon.h"
#include "cri/server/pod_network.h"
#include "cri/server/pod_ops.h"
#include "cri/server/rpc_edge.h"
#include "cri/server/services.h"
#include "cri/server/socket_claim.h"
#include "cri/server/stream_runtime.h"
#include "cri/store/record_file.h"
#include "cri/util/str.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"

namespace peapod::cri {
namespace {

// Creates the directories and loads the pod/container records.
absl::Status LoadState(Daemon& d) {
  for (const std::string* dir : {&d.config.root, &d.config.state_dir}) {
    if (absl::Status s = EnsureDir(*dir); !s.ok()) return s;
  }
  // Pod records are synced: a pod lost in a power cut would leak its CNI
  // address. Container records need not wait for the disk: a container's
  // only lasting leftover, its rootfs dir, is removed at start when its
  // record is missing or unreadable (RecoverContainers), and everything else
  // a record says dies with the boot. That is 2 ms of create + start.
  // Both stores put UpdateSoon's records (READY, RUNNING) in the state dir
  // first, where they die with the boot as the processes they describe do.
  absl::StatusOr<std::unique_ptr<PodStore>> pods =
      PodStore::Open(d.config.root + "/pods", "pod sandbox", Durability::kSynced,
                     d.config.state_dir + "/records/pods");
  if (!pods.ok()) return pods.status();
  absl::StatusOr<std::unique_ptr<ContainerStore>> containers =
      ContainerStore::Open(d.config.root + "/containers", "container", Durability::kRenameOnly,
                           d.config.state_dir + "/records/containers");
  if (!containers.ok()) return containers.status();
  d.pods = std::move(*pods);
  d.containers = std::move(*containers);
  absl::StatusOr<images::RegistryConfig> registry =
      images::ParseRegistryConfig(d.config.registry_toml);
  if (!registry.ok()) return registry.status();
  d.registry = *std::move(registry);
  // Opening removes the temp files of dead sessions (interrupted pulls).
  absl::StatusOr<std::unique_ptr<images::ImageStore>> image_store =
      images::ImageStore::Open(d.config.root);
  if (!image_store.ok()) return image_store.status();
  d.images = std::move(*image_store);
  for (const auto* errors : {&d.pods->load_errors(), &d.containers->load_errors()}) {
    for (const std::string& e : *errors) d.log.Warn(Cat("skipping unreadable record ", e));
  }
  d.log.Info(Cat("loaded ", d.pods->List().size(), " pods and ", d.containers->List().size(),
                 " containers"));
  return absl::OkStatus();
}

// Blocks the stop signals in this (and every later) thread; returns the set.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

}  // namespace

int RunDaemon(Config config) {
  Logger log(config.log_level);
  Daemon d(std::move(config), log);
  sigset_t stop = BlockStopSignals();  // Before gRPC starts its threads.

  // 1. The socket first: it is also the one-daemon-per-state lock, so a
  // second peapodd never touches the records the first one is writing.
  absl::StatusOr<SocketClaim> claim = SocketClaim::Acquire(d.config.socket_path);
  if (!claim.ok()) {
    log.Error(Cat("cannot claim the CRI socket: ", claim.status().ToString()));
    return 1;
  }
  // 2. Directories and records.
  if (absl::Status s = LoadState(d); !s.ok()) {
    log.Error(Cat("cannot load state: ", s.ToString()));
    return 1;
  }
  // The streaming server, so Exec, Attach and PortForward have somewhere to
  // point.
  stream::Runtime streaming;
  streaming.exec = [&d](const stream::ExecRequest& r, const stream::ExecStreams& s) {
    return RunStreamExec(d, r, s);
  };
  streaming.attach = [&d](const stream::ExecRequest& r, const stream::ExecStreams& s) {
    return RunStreamAttach(d, r, s);
  };
  streaming.port_forward = [&d](const std::string& pod_id, int port, stream::SpdyStream& data) {
    return RunPortForward(d, pod_id, port, data);
  };
  d.streams = std::make_unique<stream::Server>(std::move(streaming));
  if (absl::Status s = d.streams->Start(d.config.stream_address, d.config.stream_port); !s.ok()) {
    log.Error(s.ToString());
    return 1;
  }
  log.Info(Cat("streaming server on ", d.streams->base_url()));
  // 3. gRPC server with both CRI services behind the one edge.
  RpcEdge edge(log, d.ready);
  RuntimeService runtime(d, edge);
  ImageService images(d, edge);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix://" + d.config.socket_path, grpc::InsecureServerCredentials());
  builder.RegisterService(&runtime);
  builder.RegisterService(&images);
  builder.SetMaxReceiveMessageSize(16 << 20);
  mode_t old_umask = umask(0117);  // The socket is born 0660, never wider.
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  umask(old_umask);
  if (!server) {
    log.Error(Cat("cannot listen on ", d.config.socket_path));
    return 1;
  }
  if (absl::Status s = claim->RestrictSocket(); !s.ok()) {
    log.Error(s.ToString());
    server->Shutdown();
    return 1;
  }
  // 4. Pods: each READY pod's shim and infra are checked (peapodd is not
  // their parent: they ran on while it was down); gone ones turn NOTREADY.
  if (absl::Status s = RecoverPods(d); !s.ok()) log.Warn(s.ToString());
  // Containers: state from their shims; leftovers of an interrupted create go.
  if (absl::Status s = RecoverContainers(d); !s.ok()) log.Warn(s.ToString());
  // Spare shims for the next pods (shim_spares.h), after any a killed
  // peapodd left are gone.
  if (d.config.shim_spares > 0) {
    d.spares = std::make_unique<ShimSpares>(PodShimOptions(d), Cat(d.config.state_dir, "/spares"),
                                            d.config.shim_spares, log, &d.runp_gate);
    d.spares->Start();
  } else {
    ShimSpares(PodShimOptions(d), Cat(d.config.state_dir, "/spares"), 0, log).Start();
  }
  // A network namespace for the next CNI pod, made now if CNI is set up.
  d.netns_spare = std::make_unique<NetnsSpare>(PodNetnsDir(d), log, &d.runp_gate);
  d.netns_spare->Start(CniNetwork::LoadDefault(d.config.cni_conf_dir).ok());
  // The next CNI pod's attachment, after those a killed peapodd left are
  // torn down (warm_network.h).
  if (d.config.cni_warm) {
    d.warm_network = std::make_unique<WarmNetwork>(d);
    d.warm_network->Recover();
    d.warm_network->Start();
  } else {
    WarmNetwork(d).Recover();
  }
  // 5. Serve.
  d.ready = true;
  log.Info(Cat("peapodd ", PeapodVersion(), " serving CRI on unix://", d.config.socket_path));
  int sig = 0;
  sigwait(&stop, &sig);
  log.Info(Cat("received signal ", sig, ", shutting down"));
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server->Wait();
  d.streams.reset();  // ends exec and port-forward connections
  d.spares.reset();   // shuts the spare shims down
  d.netns_spare.reset();
  d.warm_network.reset();  // its unused attachment: DEL, unpin
  claim->RemoveSocket();
  return 0;
}

}  // namespace peapod::cri
