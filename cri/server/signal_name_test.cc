// Unit tests of ParseSignal.
#include <signal.h>

#include "cri/server/signal_name.h"
#include "gtest/gtest.h"

namespace peapod::cri {
namespace {

TEST(ParseSignalTest, NamesNumbersAndRealtime) {
  EXPECT_EQ(*ParseSignal("SIGTERM"), SIGTERM);
  EXPECT_EQ(*ParseSignal("TERM"), SIGTERM);
  EXPECT_EQ(*ParseSignal("SIGQUIT"), SIGQUIT);
  EXPECT_EQ(*ParseSignal("USR1"), SIGUSR1);
  EXPECT_EQ(*ParseSignal("9"), SIGKILL);
  EXPECT_EQ(*ParseSignal("SIGRTMIN"), SIGRTMIN);
  EXPECT_EQ(*ParseSignal("SIGRTMIN+3"), SIGRTMIN + 3);
  EXPECT_EQ(*ParseSignal("RTMAX-1"), SIGRTMAX - 1);
  for (const char* bad : {"", "0", "65", "999", "SIGFOO", "sigterm", "RTMIN+99", "RTMINx", "-1"}) {
    absl::StatusOr<int> s = ParseSignal(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(s.status())) << bad;
  }
}

}  // namespace
}  // namespace peapod::cri
