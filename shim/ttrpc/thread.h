// Detached threads with small stacks, counted so an owner can wait for all of
// them to finish. The shim runs one short-lived thread per in-flight request;
// small stacks keep its memory small (stack pages are only touched on use).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>

#include "absl/status/status.h"

namespace peapod::ttrpc {

inline constexpr size_t kSmallStack = 256 << 10;

// Starts fn on a detached thread with the given stack size.
absl::Status SpawnDetached(std::function<void()> fn, size_t stack_size = kSmallStack);

// Counts the detached threads it started; WaitIdle blocks until none runs.
class ThreadGroup {
 public:
  ThreadGroup() = default;
  ThreadGroup(const ThreadGroup&) = delete;
  ThreadGroup& operator=(const ThreadGroup&) = delete;

  // Starts fn on a counted detached thread.
  absl::Status Spawn(std::function<void()> fn, size_t stack_size = kSmallStack);
  // Blocks until every thread started by Spawn has returned.
  void WaitIdle();
  // How many threads are running now.
  int running() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable idle_;
  int running_ = 0;
};

}  // namespace peapod::ttrpc
