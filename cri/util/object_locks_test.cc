#include "cri/util/object_locks.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "gtest/gtest.h"

namespace peapod::cri {
namespace {

using namespace std::chrono_literals;

TEST(ObjectLocksTest, SameIdWaitsOtherIdsDoNot) {
  ObjectLocks locks;
  ObjectLocks::Held a = locks.Lock("pod-a");
  ASSERT_TRUE(a);
  std::atomic<bool> b_taken = false, a_taken = false;
  std::thread other_id([&] {
    ObjectLocks::Held b = locks.Lock("pod-b");
    b_taken = true;
  });
  other_id.join();
  EXPECT_TRUE(b_taken);
  std::thread same_id([&] {
    EXPECT_FALSE(locks.TryLock("pod-a"));  // held by the main thread
    ObjectLocks::Held again = locks.Lock("pod-a");
    a_taken = true;
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(a_taken) << "a second thread took a held lock";
  a = ObjectLocks::Held();  // release
  same_id.join();
  EXPECT_TRUE(a_taken);
  EXPECT_EQ(locks.size(), 0u) << "entries outlive their holders";
}

TEST(ObjectLocksTest, RecursiveForTheHoldingThread) {
  ObjectLocks locks;
  ObjectLocks::Held outer = locks.Lock("c1");
  ObjectLocks::Held inner = locks.Lock("c1");
  ObjectLocks::Held tried = locks.TryLock("c1");
  EXPECT_TRUE(inner);
  EXPECT_TRUE(tried);
  EXPECT_EQ(locks.size(), 1u);
  inner = ObjectLocks::Held();
  tried = ObjectLocks::Held();
  std::thread other([&] { EXPECT_FALSE(locks.TryLock("c1")) << "still held by outer"; });
  other.join();
  outer = ObjectLocks::Held();
  std::thread after([&] { EXPECT_TRUE(locks.TryLock("c1")); });
  after.join();
  EXPECT_EQ(locks.size(), 0u);
}

// Many threads incrementing a plain counter under one id's lock lose no
// increment.
TEST(ObjectLocksTest, ExcludesUnderContention) {
  ObjectLocks locks;
  int counter = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        ObjectLocks::Held h = locks.Lock("x");
        ++counter;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(counter, 8000);
  EXPECT_EQ(locks.size(), 0u);
}

}  // namespace
}  // namespace peapod::cri
