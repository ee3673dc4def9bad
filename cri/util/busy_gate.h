// BusyGate: counts operations in flight, so background work can wait for a
// moment when none is. peapodd's spare makers (a shim, a network namespace)
// start the next spare once no RunPodSandbox runs: made during one, they
// take CPU from the very call they are meant to speed up (and from its CNI
// plugins), on nodes with few cores.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace peapod::cri {

class BusyGate {
 public:
  using Clock = std::chrono::steady_clock;

  // RAII: the operation is in flight while a Busy lives.
  class Busy {
   public:
    explicit Busy(BusyGate& g) : g_(g) {
      std::lock_guard lock(g_.mu_);
      ++g_.busy_;
    }
    // No waiter is woken here: one woken by the operation's own thread is
    // queued on that thread's CPU (it preempts it, and its work, a spare
    // shim's fork and exec, held a RunPodSandbox's reply back ~1 ms). The
    // waiters look again on their own timer.
    ~Busy() {
      std::lock_guard lock(g_.mu_);
      --g_.busy_;
      g_.last_end_ = Clock::now();
    }
    Busy(const Busy&) = delete;
    Busy& operator=(const Busy&) = delete;

   private:
    BusyGate& g_;
  };

  // Returns once nothing has been in flight for `quiet` (so the last
  // operation's reply is out), or after `max` (so a steady stream of
  // operations cannot starve the caller). While operations run it looks
  // every `poll`.
  void WaitIdle(std::chrono::milliseconds max, std::chrono::milliseconds quiet = kQuiet,
                std::chrono::milliseconds poll = kPoll) {
    const Clock::time_point give_up = Clock::now() + max;
    std::unique_lock lock(mu_);
    for (;;) {
      Clock::time_point now = Clock::now();
      if (now >= give_up) return;
      Clock::time_point next;
      if (busy_ > 0) {
        next = now + poll;
      } else if (now - last_end_ >= quiet) {
        return;
      } else {
        next = last_end_ + quiet;
      }
      cv_.wait_until(lock, std::min(next, give_up));
    }
  }

  int busy() const {
    std::lock_guard lock(mu_);
    return busy_;
  }

  static constexpr std::chrono::milliseconds kQuiet{2};
  static constexpr std::chrono::milliseconds kPoll{5};

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;  // never notified: waits are timed
  int busy_ = 0;
  Clock::time_point last_end_{};
};

}  // namespace peapod::cri
