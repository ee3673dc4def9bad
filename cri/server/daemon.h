// Everything an RPC handler may use, owned by peapodd's main and handed to
// the services by reference (no globals).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "cri/config/config.h"
#include "cri/images/image_store.h"
#include "cri/images/registry_config.h"
#include "cri/server/log.h"
#include "cri/server/netns_spare.h"
#include "cri/server/shim_spares.h"
#include "cri/server/warm_network.h"
#include "cri/store/record_store.h"
#include "cri/stream/server.h"
#include "cri/util/busy_gate.h"
#include "cri/util/object_locks.h"

namespace peapod::cri {

struct Daemon {
  // Holds the config and logger; stores are opened by RunDaemon.
  Daemon(Config c, Logger& l) : config(std::move(c)), log(l) {}

  Config config;
  Logger& log;
  std::unique_ptr<PodStore> pods;
  std::unique_ptr<ContainerStore> containers;
  // Images under config.root (blobs/, layers/, images/, tmp/ ...).
  std::unique_ptr<images::ImageStore> images;
  // Mirrors and insecure hosts, parsed from config.registry_toml.
  images::RegistryConfig registry;
  // One lock per pod and per container id for the RPCs that change them
  // (object_locks.h; a pod's before its containers').
  ObjectLocks pod_locks;
  ObjectLocks container_locks;
  // Pod shims started ahead of RunPodSandbox; null when shim_spares is 0.
  std::unique_ptr<ShimSpares> spares;
  // A network namespace made ahead of the next CNI pod (null in tests that
  // run no daemon).
  std::unique_ptr<NetnsSpare> netns_spare;
  // The next CNI pod's attachment, made ahead of it (null when [cni] warm
  // is off, and in tests that run no daemon).
  std::unique_ptr<WarmNetwork> warm_network;
  // The streaming server behind Exec and PortForward URLs (null in tests
  // that run no daemon).
  std::unique_ptr<stream::Server> streams;
  // RunPodSandbox calls in flight: the spare makers wait for none.
  BusyGate runp_gate;
  // True once state is recovered; RpcEdge gates RPCs on it.
  std::atomic<bool> ready = false;
};

// peapod's version, from the CMake project version.
std::string_view PeapodVersion();

}  // namespace peapod::cri
