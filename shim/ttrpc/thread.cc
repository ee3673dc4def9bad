#include "shim/ttrpc/thread.h"

#include <pthread.h>
#include <string.h>

#include <memory>

#include "absl/strings/str_cat.h"

namespace peapod::ttrpc {
namespace {

void* Trampoline(void* arg) {
  std::unique_ptr<std::function<void()>> fn(static_cast<std::function<void()>*>(arg));
  (*fn)();
  return nullptr;
}

}  // namespace

absl::Status SpawnDetached(std::function<void()> fn, size_t stack_size) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, stack_size);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  auto* heap_fn = new std::function<void()>(std::move(fn));
  pthread_t tid;
  int err = pthread_create(&tid, &attr, Trampoline, heap_fn);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    delete heap_fn;
    return absl::ResourceExhaustedError(absl::StrCat("pthread_create: ", strerror(err)));
  }
  return absl::OkStatus();
}

absl::Status ThreadGroup::Spawn(std::function<void()> fn, size_t stack_size) {
  {
    std::lock_guard lock(mu_);
    ++running_;
  }
  absl::Status s = SpawnDetached(
      [this, fn = std::move(fn)]() mutable {
        fn();
        fn = nullptr;  // captured state dies before the group counts as idle
        std::lock_guard lock(mu_);
        if (--running_ == 0) idle_.notify_all();
      },
      stack_size);
  if (!s.ok()) {
    std::lock_guard lock(mu_);
    if (--running_ == 0) idle_.notify_all();
  }
  return s;
}

void ThreadGroup::WaitIdle() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [this] { return running_ == 0; });
}

int ThreadGroup::running() const {
  std::lock_guard lock(mu_);
  return running_;
}

}  // namespace peapod::ttrpc
