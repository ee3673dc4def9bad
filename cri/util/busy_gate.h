// BusyGate: counts operations in flight, so background work can wait for a
// moment when none is. peapodd's spare makers (a shim, a network namespace)
// start the next spare once no RunPodSandbox runs: made during one, they
// take CPU from the very call they are meant to speed up (and from its CNI
// plugins), on nodes with few cores.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace peapod::cri {

class BusyGate {
 public:
  // RAII: the operation is in flight while a Busy lives.
  class Busy {
   public:
    explicit Busy(BusyGate& g) : g_(g) {
      std::lock_guard lock(g_.mu_);
      ++g_.busy_;
    }
    ~Busy() {
      {
        std::lock_guard lock(g_.mu_);
        --g_.busy_;
      }
      g_.cv_.notify_all();
    }
    Busy(const Busy&) = delete;
    Busy& operator=(const Busy&) = delete;

   private:
    BusyGate& g_;
  };

  // Returns once nothing is in flight, or after `max` (so a steady stream
  // of operations cannot starve the caller).
  void WaitIdle(std::chrono::milliseconds max) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, max, [&] { return busy_ == 0; });
  }

  int busy() const {
    std::lock_guard lock(mu_);
    return busy_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int busy_ = 0;
};

}  // namespace peapod::cri
