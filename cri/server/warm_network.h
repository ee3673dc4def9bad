// The next CNI pod's attachment, made ahead of its RunPodSandbox.
//
// With a CNI network, ADD is nearly all of RunPodSandbox's time, and most of
// ADD is the chain's head: the bridge plugin's veth, its IPAM lease and its
// iptables rules (~40 ms), none of which depends on what the pod asks for.
// So a thread picks the next pod's id, pins a namespace at that pod's netns
// path, and runs ADD of the chain's head there (CniNetwork::WarmHeadLength:
// only reference plugins that read nothing of the pod). RunPodSandbox takes
// it, becomes that pod id, and runs the rest of the chain (portmap with the
// pod's port mappings) on the head's result. Only when nothing else is
// happening (the runp gate) is the next one made.
//
// Nothing is lost to a crash: before the namespace is pinned, an intent file
// <root>/cni-warm/<id> reaches the disk; it goes once the pod that took the
// attachment has a durable record. Recover() tears down (CNI DEL, unpin) every
// attachment whose intent has no pod record: a killed peapodd's unused one,
// or one taken by a pod that never got a record. A clean stop tears down the
// unused one. An attachment made for a network config that has changed since
// is torn down instead of taken.
//
// Costs: one address of the pool, one veth and its rules held by no pod.
// [cni] warm = false in peapod.toml turns it off.
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "cri/net/cni.h"

namespace peapod::cri {

struct Daemon;

class WarmNetwork {
 public:
  // What RunPodSandbox takes: the pod id the attachment was made for, its
  // namespace (pinned at PodNetnsPath(id)) and the head's ADD.
  struct Taken {
    std::string id;
    std::string netns;
    CniHead head;
  };

  explicit WarmNetwork(Daemon& d);
  // Stops the maker and tears the unused attachment down.
  ~WarmNetwork();
  WarmNetwork(const WarmNetwork&) = delete;
  WarmNetwork& operator=(const WarmNetwork&) = delete;

  // Tears down what intents without a pod record name (d.pods loaded).
  void Recover();
  // Starts the maker.
  void Start();
  // The ready attachment if it was made for `net` (the same config);
  // NotFound otherwise. Waits for one being made. Asks for the next one.
  absl::StatusOr<Taken> Take(const CniNetwork& net);
  // An attachment taken but not used by a pod (its RunPodSandbox failed
  // before the rest of ADD), for `net`: ready again if none is, else torn
  // down.
  void GiveBack(Taken t, const CniNetwork& net);
  // The pod with this id has a durable record: its attachment is its own
  // now (TearDownPodNetwork undoes it), and the intent goes.
  void Adopted(const std::string& id);
  // Where intents are kept.
  std::string IntentDir() const;

 private:
  struct Made {
    Taken taken;
    CniNetwork net;
  };
  void Fill();
  absl::StatusOr<Made> Make();
  void TearDown(const Made& m);

  Daemon& d_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Made> ready_;
  std::vector<Made> stale_;  // to tear down, on the maker's thread
  bool making_ = false;
  bool wanted_ = true;
  bool stopping_ = false;
  std::thread maker_;
};

}  // namespace peapod::cri
