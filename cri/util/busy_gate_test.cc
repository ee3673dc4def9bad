#include "cri/util/busy_gate.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "gtest/gtest.h"

namespace peapod::cri {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(BusyGateTest, WaitIdleReturnsWhenTheLastBusyEnds) {
  BusyGate gate;
  auto t0 = Clock::now();
  gate.WaitIdle(5s);  // idle: at once
  EXPECT_LT(Clock::now() - t0, 1s);
  auto a = std::make_unique<BusyGate::Busy>(gate);
  auto b = std::make_unique<BusyGate::Busy>(gate);
  EXPECT_EQ(gate.busy(), 2);
  std::atomic<bool> returned = false;
  std::thread waiter([&] {
    gate.WaitIdle(10s);
    returned = true;
  });
  a.reset();
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(returned) << "one operation is still in flight";
  b.reset();
  waiter.join();
  EXPECT_TRUE(returned);
  EXPECT_EQ(gate.busy(), 0);
}

// An operation's end is not enough: its reply must be out, so WaitIdle
// returns only once nothing has run for `quiet`.
TEST(BusyGateTest, WaitIdleWaitsForAQuietMoment) {
  BusyGate gate;
  Clock::time_point ended;
  {
    BusyGate::Busy op(gate);
    std::this_thread::sleep_for(20ms);
    ended = Clock::now();
  }
  gate.WaitIdle(10s, 300ms, 5ms);
  EXPECT_GE(Clock::now() - ended, 300ms);
  // Long quiet already: at once.
  auto t0 = Clock::now();
  gate.WaitIdle(10s, 100ms, 5ms);
  EXPECT_LT(Clock::now() - t0, 100ms);
}

TEST(BusyGateTest, WaitIdleGivesUpAfterItsLimit) {
  BusyGate gate;
  BusyGate::Busy forever(gate);
  auto t0 = Clock::now();
  gate.WaitIdle(100ms);
  auto waited = Clock::now() - t0;
  EXPECT_GE(waited, 100ms);
  EXPECT_LT(waited, 5s);
}

}  // namespace
}  // namespace peapod::cri
