// A pod's network and its own files, for RunPodSandbox and Stop/Remove:
// the infra's network namespace pinned under <state_dir>/netns/<pod id> (so
// CNI DEL works even after the infra died), CNI ADD/DEL through cri/net, and
// /etc/hosts, /etc/resolv.conf, /etc/hostname written by cri/podfiles.
#pragma once

#include <functional>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "cri/net/cni.h"
#include "cri/server/daemon.h"
#include "cri/spec/container_spec_input.h"
#include "cri/store/records.h"
#include "proto/cri_api.h"

namespace peapod::cri {

class Rollback;  // pod_ops.h

// Where pods' network namespaces are pinned.
std::string PodNetnsDir(const Daemon& d);
// The CNI options from the config (result cache under <root>/cni-cache).
CniOptions PodCniOptions(const Daemon& d);

// Checks what the pod's network and files need from the request before
// anything exists: the host-aliases annotation, DNS config, port mappings.
// InvalidArgument naming the bad entry.
absl::Status CheckPodNetworkConfig(const ::runtime::v1::PodSandboxConfig& c);

// The pod's CNI network: none for a pod on the node's network or when no
// CNI config exists; an error for a config that does not load.
absl::StatusOr<std::optional<CniNetwork>> PodCniNetwork(const Daemon& d, NamespaceMode network);

// Where a pod's network namespace is pinned: <PodNetnsDir>/<pod id>.
std::string PodNetnsPath(const Daemon& d, const std::string& pod_id);

// Netns first, as containerd and CRI-O do, for a pod with a CNI network:
// RunPodSandbox creates and pins the pod's namespace (loopback up) before
// the infra exists (the infra joins it by path), and CNI ADD runs in it on
// another thread while the shim and the infra start.
struct EarlyPodNetwork {
  std::string netns;  // the pinned namespace
  // CNI ADD's addresses (the first is the pod IP), or its error.
  std::shared_future<absl::StatusOr<std::vector<std::string>>> ips;
};

// Starts the first plugin of the pod's CNI ADD, first thing in
// RunPodSandbox: a Go plugin takes ~4 ms to start, which then overlaps the
// record and the namespace. It acts only once StartPodNetwork gives it its
// config; dropped unused, it is killed having done nothing.
// With a warm attachment (warm_network.h) of `head_plugins`, the plugin
// after its head.
absl::StatusOr<CniAddStart> BeginPodNetwork(const Daemon& d, const PodRecord& r,
                                            const CniNetwork& net, size_t head_plugins = 0);

// Pins a namespace (the spare one if ready) at PodNetnsPath(r.id) and runs
// CNI ADD of `net` in it on another thread, its first plugin `first`
// (BeginPodNetwork); no plugin gets its config before `before_add` returns
// OK (RunPodSandbox waits there for its record to be durable: CNI state
// outlives a reboot). Undo steps go on `undo`: DEL after ADD has finished,
// then the unpin.
// With `warm` (taken from d.warm_network for this pod id), its namespace is
// the pod's and ADD goes on from its head; once before_add returns OK the
// attachment is adopted (its intent goes).
absl::StatusOr<EarlyPodNetwork> StartPodNetwork(Daemon& d, const PodRecord& r,
                                                const ::runtime::v1::PodSandboxConfig& c,
                                                const CniNetwork& net, CniAddStart first,
                                                std::function<absl::Status()> before_add,
                                                Rollback& undo,
                                                std::optional<WarmNetwork::Taken> warm = {});

// The pod's network namespace, loopback up, pinned at PodNetnsPath(pod_id):
// the spare one if ready (netns_spare.h), else a new one. The unpin goes on
// `undo`. StartPodNetwork uses it; a pod with its own namespace and no CNI
// network gets just this (loopback only), before its infra, which joins it.
absl::StatusOr<std::string> PinPodNetns(Daemon& d, const std::string& pod_id, Rollback& undo);

// CNI DEL for the pod (when anything of its network may exist) and unpins its
// namespace. Idempotent; also right for pods left half-built by a crash.
absl::Status TearDownPodNetwork(Daemon& d, const PodRecord& pod);

// CNI CHECK of a pod's attachment, as CNI 0.4.0+ runtimes do for a pod they
// keep: OK when the network is intact (or its config sets disableCheck).
// Unimplemented when there is nothing
// to check (host network, no CNI network, a config older than 0.4.0, no
// cached ADD result); the plugin's error otherwise.
absl::Status CheckPodNetwork(Daemon& d, const PodRecord& pod);

// Writes the pod's hosts, resolv.conf and hostname into its directory.
absl::Status WritePodFilesFor(const PodRecord& r, const ::runtime::v1::PodSandboxConfig& c,
                              const std::string& pod_dir);

// Points a container's pod info at its pod's files (those that exist: pods
// from before they were written have none).
void SetPodFilePaths(const Daemon& d, const std::string& pod_id, spec::PodInfo* pod);

}  // namespace peapod::cri
