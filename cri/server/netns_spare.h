// One network namespace made ahead of the CNI pod that will use it.
//
// Making one (unshare, loopback up, pin) takes about a millisecond, and a
// CNI pod's ADD, the longest step of RunPodSandbox, can only start once it
// exists. Take() pins the ready namespace again under the pod's name (a bind
// mount, then the spare's pin is unmounted: ~0.1 ms, and unlike a mount
// move it works under a shared /run), and a thread makes the next one. The
// namespace is new and untouched but for its loopback, exactly what
// PinnedNetns::Create would have made at that moment.
//
// Spares are pinned as <dir>/spare-<random>; Start() removes any that a
// killed peapodd left, the destructor the unused one.
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "cri/net/netns.h"
#include "cri/server/log.h"
#include "cri/util/busy_gate.h"

namespace peapod::cri {

class NetnsSpare {
 public:
  // With `gate`, the next spare is made only when nothing is in it.
  NetnsSpare(std::string dir, Logger& log, BusyGate* gate = nullptr);
  ~NetnsSpare();
  NetnsSpare(const NetnsSpare&) = delete;
  NetnsSpare& operator=(const NetnsSpare&) = delete;

  // Removes leftover spares and starts the maker thread; with make_now (a
  // CNI network is configured) the first spare is made at once, otherwise
  // after the first Take.
  void Start(bool make_now);
  // The ready namespace, now pinned as <dir>/<name>; NotFound when none is
  // ready (the caller makes one itself). Asks for the next one either way.
  absl::StatusOr<PinnedNetns> Take(const std::string& name);
  // Whether a spare is ready (tests).
  bool Ready() const;

 private:
  void Fill();

  const std::string dir_;
  Logger& log_;
  BusyGate* gate_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<PinnedNetns> ready_;
  bool wanted_ = false;
  bool stopping_ = false;
  std::thread maker_;
};

}  // namespace peapod::cri
