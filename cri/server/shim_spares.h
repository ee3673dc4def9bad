// ShimSpares: pod shims started before the pods that will use them.
//
// Starting a pod's shim (spawn, daemonize, listen, `start` returns, connect)
// is ~2 ms of every RunPodSandbox. A spare is a shim started the same way
// ahead of time, with its own dir under <state_dir>/spares/<spare id> as its
// bundle dir: its `address` file (and stderr log, if one is there) live in
// it. Take() renames that dir to the new pod's dir, so the pod dir holds the
// shim's address exactly as if the shim had been started for the pod (a
// restart finds a NOTREADY pod's shim there), and hands over a connected
// client. A filler thread keeps `count` spares ready; with none ready the
// caller starts a shim itself.
//
// A spare is an idle shim: no task, ~1.8 MiB RSS of which ~0.4 MiB is its
// own. Nothing of one outlives peapodd: the destructor shuts spares down and
// removes their dirs, and Start() does the same for any a killed peapodd
// left behind before it starts new ones.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "cri/server/log.h"
#include "cri/shimclient/shim_client.h"
#include "cri/util/busy_gate.h"

namespace peapod::cri {

class ShimSpares {
 public:
  // `dir` holds one subdir per spare; it must be on the same filesystem as
  // the pod dirs (Take renames). count 0 disables spares.
  // With `gate`, a new spare is started only when nothing is in it (see
  // busy_gate.h).
  ShimSpares(ShimOptions opts, std::string dir, int count, Logger& log, BusyGate* gate = nullptr);
  ~ShimSpares();
  ShimSpares(const ShimSpares&) = delete;
  ShimSpares& operator=(const ShimSpares&) = delete;

  // Removes what a previous peapodd left in `dir` (its shims shut down),
  // then starts the filler.
  void Start();

  struct Taken {
    std::string address;  // "unix://..."
    std::unique_ptr<ShimClient> client;
  };
  // Moves a ready spare's dir to `pod_dir` (which must not exist) and
  // returns its shim, connected. NotFound when no spare is ready (or none
  // answers); the caller then starts a shim itself.
  absl::StatusOr<Taken> Take(const std::string& pod_dir);

  // Spares ready now (for tests and logs).
  size_t Ready() const;

 private:
  struct Spare {
    std::string id;
    std::string dir;
    std::string address;
    std::unique_ptr<ShimClient> client;  // connected when started, not in Take
  };
  void Fill();
  absl::StatusOr<Spare> StartOne();
  // Shuts the shim whose address is in `spare_dir`/address down, waits for
  // its socket to go, and removes the dir.
  void Discard(const std::string& spare_dir, const std::string& id);

  const ShimOptions opts_;
  const std::string dir_;
  const size_t count_;
  Logger& log_;
  BusyGate* gate_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Spare> ready_;
  bool stopping_ = false;
  std::thread filler_;
};

}  // namespace peapod::cri
