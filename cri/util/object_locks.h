// ObjectLocks: one lock per pod or container id, so RPCs that change the
// same object (Stop and Remove of one pod, Start and Remove of one
// container, a container created while its pod is removed) take turns,
// while RPCs on different objects never wait for each other.
//
// The locks are recursive: a handler holding a container's lock may call
// shared operations that take it again (RemoveOneContainer stops the
// container first). Order, to stay deadlock-free: a pod's lock before the
// locks of its containers. Entries exist only while someone holds or waits
// for them.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace peapod::cri {

class ObjectLocks {
  struct Entry {
    std::recursive_mutex mu;
    size_t users = 0;  // holders and waiters, under ObjectLocks::mu_
  };

 public:
  // A held lock (or none, after a failed TryLock); released on destruction.
  class Held {
   public:
    Held() = default;
    Held(Held&& o) noexcept : owner_(o.owner_), it_(o.it_) { o.owner_ = nullptr; }
    Held& operator=(Held&& o) noexcept {
      if (this != &o) {
        Release();
        owner_ = o.owner_;
        it_ = o.it_;
        o.owner_ = nullptr;
      }
      return *this;
    }
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;
    ~Held() { Release(); }

    explicit operator bool() const { return owner_ != nullptr; }

   private:
    friend class ObjectLocks;
    using Iter = std::map<std::string, std::unique_ptr<Entry>, std::less<>>::iterator;
    Held(ObjectLocks* owner, Iter it) : owner_(owner), it_(it) {}
    void Release() {
      if (owner_ == nullptr) return;
      it_->second->mu.unlock();
      owner_->Drop(it_);
      owner_ = nullptr;
    }
    ObjectLocks* owner_ = nullptr;
    Iter it_;
  };

  // Waits for and takes the lock of `id`.
  Held Lock(std::string_view id) {
    Held::Iter it = Join(id);
    it->second->mu.lock();
    return Held(this, it);
  }

  // Takes the lock of `id` if no other thread holds it; an empty Held if one
  // does (this thread's own holds do not count: the lock is recursive).
  Held TryLock(std::string_view id) {
    Held::Iter it = Join(id);
    if (it->second->mu.try_lock()) return Held(this, it);
    Drop(it);
    return Held();
  }

  // Ids with a holder or a waiter (for tests).
  size_t size() const {
    std::lock_guard lock(mu_);
    return entries_.size();
  }

 private:
  Held::Iter Join(std::string_view id) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) {
      it = entries_.emplace(std::string(id), std::make_unique<Entry>()).first;
    }
    ++it->second->users;
    return it;
  }

  void Drop(Held::Iter it) {
    std::lock_guard lock(mu_);
    if (--it->second->users == 0) entries_.erase(it);
  }

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Entry>, std::less<>> entries_;
};

}  // namespace peapod::cri
