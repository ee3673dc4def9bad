#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "shim/ttrpc/client.h"
#include "shim/ttrpc/frame.h"
#include "shim/ttrpc/server.h"
#include "shim/ttrpc/ttrpc.pb.h"

namespace peapod::ttrpc {
namespace {

using namespace std::chrono_literals;

// A latch the slow handlers wait on; tests open it before the server stops.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  int waiting = 0;
  // Waits until opened (or 10 s); false on timeout.
  bool Wait() {
    std::unique_lock lock(mu);
    ++waiting;
    cv.notify_all();
    return cv.wait_for(lock, 10s, [&] { return open; });
  }
  void Open() {
    std::lock_guard lock(mu);
    open = true;
    cv.notify_all();
  }
  bool AwaitWaiting(int n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 10s, [&] { return waiting >= n; });
  }
};

class TtrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ttrpc-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/s.sock";
    server_.Register("test.Echo", "Echo", [](std::string_view p) -> absl::StatusOr<std::string> {
      return std::string(p.rbegin(), p.rend());
    });
    server_.Register("test.Echo", "Fail", [](std::string_view) -> absl::StatusOr<std::string> {
      return absl::NotFoundError("no such thing");
    });
    server_.Register(
        "test.Echo", "Slow",
        [this](const CallContext& ctx, std::string_view) -> absl::StatusOr<std::string> {
          slow_had_deadline_ = ctx.deadline != std::chrono::steady_clock::time_point::max();
          if (!gate_.Wait()) return absl::DeadlineExceededError("gate never opened");
          return std::string("late");
        });
    ASSERT_TRUE(server_.Listen(path_).ok());
  }
  void TearDown() override {
    gate_.Open();
    server_.Stop();
    std::filesystem::remove_all(dir_);
  }

  // A raw connection for sending hand-made bytes.
  linux::UniqueFd RawConnect() {
    linux::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    return fd;
  }
  // Reads one response frame from a raw connection and decodes it.
  absl::Status RawResponse(int fd, uint32_t* stream, wire::Response* resp) {
    Frame f;
    if (absl::Status s = ReadFrame(fd, -1, &f); !s.ok()) return s;
    *stream = f.header.stream_id;
    EXPECT_EQ(f.header.type, kTypeResponse);
    if (!resp->ParseFromString(f.payload)) return absl::DataLossError("bad response");
    return absl::OkStatus();
  }
  // The server still answers a well-formed call.
  void ExpectServerHealthy() {
    auto c = Client::Dial("unix://" + path_);
    ASSERT_TRUE(c.ok()) << c.status();
    auto r = (*c)->Call("test.Echo", "Echo", "abc", 5s);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*r, "cba");
  }

  std::string dir_, path_;
  Server server_;
  Gate gate_;
  std::atomic<bool> slow_had_deadline_{false};
};

TEST_F(TtrpcTest, RoundTrip) { ExpectServerHealthy(); }

TEST_F(TtrpcTest, HeaderEncodingIsBigEndian) {
  uint8_t b[kHeaderSize];
  EncodeHeader({0x01020304, 0x05060708, 2, 9}, b);
  const uint8_t want[] = {1, 2, 3, 4, 5, 6, 7, 8, 2, 9};
  EXPECT_EQ(memcmp(b, want, kHeaderSize), 0);
  FrameHeader h = DecodeHeader(b);
  EXPECT_EQ(h.length, 0x01020304u);
  EXPECT_EQ(h.stream_id, 0x05060708u);
}

TEST_F(TtrpcTest, ErrorStatusCarriesCodeAndMessage) {
  auto c = Client::Dial(path_);
  ASSERT_TRUE(c.ok());
  auto r = (*c)->Call("test.Echo", "Fail", "", 5s);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "no such thing");
}

TEST_F(TtrpcTest, UnknownServiceOrMethodIsUnimplemented) {
  auto c = Client::Dial(path_);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->Call("test.Echo", "Nope", "", 5s).status().code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_EQ((*c)->Call("test.Other", "Echo", "", 5s).status().code(),
            absl::StatusCode::kUnimplemented);
}

TEST_F(TtrpcTest, ConcurrentStreamsOnOneConnection) {
  auto c = Client::Dial(path_);
  ASSERT_TRUE(c.ok());
  constexpr int kSlow = 4;
  std::vector<std::thread> callers;
  std::atomic<int> ok{0};
  for (int i = 0; i < kSlow; ++i) {
    callers.emplace_back([&] {
      auto r = (*c)->Call("test.Echo", "Slow", "", 20s);
      if (r.ok() && *r == "late") ++ok;
    });
  }
  // All slow calls are in their handlers at once, and a fast call still passes.
  ASSERT_TRUE(gate_.AwaitWaiting(kSlow));
  auto fast = (*c)->Call("test.Echo", "Echo", "xy", 5s);
  ASSERT_TRUE(fast.ok());
  EXPECT_EQ(*fast, "yx");
  gate_.Open();
  for (auto& t : callers) t.join();
  EXPECT_EQ(ok.load(), kSlow);
}

TEST_F(TtrpcTest, ClientTimeoutIsDeadlineExceededAndSentToServer) {
  auto c = Client::Dial(path_);
  ASSERT_TRUE(c.ok());
  auto start = std::chrono::steady_clock::now();
  auto r = (*c)->Call("test.Echo", "Slow", "", 200ms);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  ASSERT_TRUE(gate_.AwaitWaiting(1));
  EXPECT_TRUE(slow_had_deadline_);
  gate_.Open();
  // The late response is dropped and the connection keeps working.
  auto again = (*c)->Call("test.Echo", "Echo", "ab", 5s);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, "ba");
}

TEST_F(TtrpcTest, OversizedFrameGetsResourceExhaustedAndClose) {
  linux::UniqueFd fd = RawConnect();
  uint8_t h[kHeaderSize];
  EncodeHeader({kMaxMessage + 1, 7, kTypeRequest, 0}, h);
  ASSERT_EQ(::write(fd.get(), h, sizeof(h)), static_cast<ssize_t>(sizeof(h)));
  uint32_t stream = 0;
  wire::Response resp;
  ASSERT_TRUE(RawResponse(fd.get(), &stream, &resp).ok());
  EXPECT_EQ(stream, 7u);
  EXPECT_EQ(resp.status().code(), static_cast<int>(absl::StatusCode::kResourceExhausted));
  char c;
  EXPECT_EQ(::read(fd.get(), &c, 1), 0);  // closed by the server
  ExpectServerHealthy();
}

TEST_F(TtrpcTest, UndecodablePayloadWrongTypeAndEvenStreamGetErrors) {
  linux::UniqueFd fd = RawConnect();
  ASSERT_TRUE(WriteFrame(fd.get(), 1, kTypeRequest, "\xff\xff\xff\xff\x0f").ok());
  uint32_t stream = 0;
  wire::Response resp;
  ASSERT_TRUE(RawResponse(fd.get(), &stream, &resp).ok());
  EXPECT_EQ(stream, 1u);
  EXPECT_EQ(resp.status().code(), static_cast<int>(absl::StatusCode::kInvalidArgument));

  ASSERT_TRUE(WriteFrame(fd.get(), 3, 7, "whatever").ok());
  ASSERT_TRUE(RawResponse(fd.get(), &stream, &resp).ok());
  EXPECT_EQ(stream, 3u);
  EXPECT_EQ(resp.status().code(), static_cast<int>(absl::StatusCode::kInvalidArgument));

  wire::Request req;
  req.set_service("test.Echo");
  req.set_method("Echo");
  ASSERT_TRUE(WriteFrame(fd.get(), 4, kTypeRequest, req.SerializeAsString()).ok());
  ASSERT_TRUE(RawResponse(fd.get(), &stream, &resp).ok());
  EXPECT_EQ(stream, 4u);
  EXPECT_EQ(resp.status().code(), static_cast<int>(absl::StatusCode::kInvalidArgument));

  // The same connection still serves a good request.
  req.set_payload("ok");
  ASSERT_TRUE(WriteFrame(fd.get(), 5, kTypeRequest, req.SerializeAsString()).ok());
  ASSERT_TRUE(RawResponse(fd.get(), &stream, &resp).ok());
  EXPECT_EQ(stream, 5u);
  EXPECT_EQ(resp.payload(), "ko");
}

TEST_F(TtrpcTest, TruncatedFramesAndGarbageDoNotHurtTheServer) {
  {
    linux::UniqueFd fd = RawConnect();
    ASSERT_EQ(::write(fd.get(), "\x00\x00", 2), 2);  // half a header, then close
  }
  {
    linux::UniqueFd fd = RawConnect();
    uint8_t h[kHeaderSize];
    EncodeHeader({100, 1, kTypeRequest, 0}, h);
    ASSERT_EQ(::write(fd.get(), h, sizeof(h)), static_cast<ssize_t>(sizeof(h)));
    ASSERT_EQ(::write(fd.get(), "short", 5), 5);  // 5 of 100 payload bytes, then close
  }
  {
    linux::UniqueFd fd = RawConnect();
    std::string junk(4096, '\x5a');
    (void)!::write(fd.get(), junk.data(), junk.size());
  }
  ExpectServerHealthy();
  for (int i = 0; i < 100 && server_.connections() > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server_.connections(), 0);
}

TEST_F(TtrpcTest, PeerDisconnectMidRequest) {
  {
    linux::UniqueFd fd = RawConnect();
    wire::Request req;
    req.set_service("test.Echo");
    req.set_method("Slow");
    ASSERT_TRUE(WriteFrame(fd.get(), 1, kTypeRequest, req.SerializeAsString()).ok());
    ASSERT_TRUE(gate_.AwaitWaiting(1));
  }              // the peer goes away while its request runs
  gate_.Open();  // the handler finishes and answers a closed connection
  ExpectServerHealthy();
  for (int i = 0; i < 100 && server_.connections() > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server_.connections(), 0);
}

TEST_F(TtrpcTest, RequestFloodIsRefusedNotThreaded) {
  linux::UniqueFd fd = RawConnect();
  wire::Request req;
  req.set_service("test.Echo");
  req.set_method("Slow");
  std::string bytes = req.SerializeAsString();
  constexpr int kFlood = 600;
  for (int i = 0; i < kFlood; ++i) {
    ASSERT_TRUE(WriteFrame(fd.get(), 2 * i + 1, kTypeRequest, bytes).ok());
  }
  // Requests over the limit are answered at once while the rest still wait.
  uint32_t stream = 0;
  wire::Response resp;
  ASSERT_TRUE(RawResponse(fd.get(), &stream, &resp).ok());
  EXPECT_EQ(resp.status().code(), static_cast<int>(absl::StatusCode::kResourceExhausted));
  gate_.Open();
  int answered = 1;
  while (answered < kFlood && RawResponse(fd.get(), &stream, &resp).ok()) ++answered;
  EXPECT_EQ(answered, kFlood);
}

TEST_F(TtrpcTest, ServerGoingAwayFailsPendingCalls) {
  auto c = Client::Dial(path_);
  ASSERT_TRUE(c.ok());
  std::atomic<bool> done{false};
  absl::Status got;
  std::thread t([&] {
    got = (*c)->Call("test.Echo", "Slow", "", 20s).status();
    done = true;
  });
  ASSERT_TRUE(gate_.AwaitWaiting(1));
  std::thread stopper([&] { server_.Stop(); });
  for (int i = 0; i < 500 && !done; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(done.load());
  EXPECT_EQ(got.code(), absl::StatusCode::kUnavailable);
  gate_.Open();
  t.join();
  stopper.join();
  EXPECT_FALSE((*c)->connected());
}

// A client is destroyed without waiting for its reader thread, which ends
// on its own: the server sees the connection closed at once, and the
// client's socket and eventfd are closed soon after (none is left open).
TEST_F(TtrpcTest, DestroyedClientClosesItsConnectionAndLeavesNoFd) {
  auto count_fds = [] {
    int n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
    return n;
  };
  ExpectServerHealthy();  // the server's threads exist before the count
  const int before = count_fds();
  for (int i = 0; i < 20; ++i) {
    auto c = Client::Dial(path_);
    ASSERT_TRUE(c.ok()) << c.status();
    auto r = (*c)->Call("test.Echo", "Echo", "x", 5s);
    ASSERT_TRUE(r.ok()) << r.status();
  }
  int after = count_fds();
  for (int i = 0; i < 200 && after > before; ++i) {
    std::this_thread::sleep_for(10ms);
    after = count_fds();
  }
  EXPECT_LE(after, before) << "fds left open by destroyed clients";
  ExpectServerHealthy();
}

}  // namespace
}  // namespace peapod::ttrpc
