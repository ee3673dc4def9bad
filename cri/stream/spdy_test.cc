// SPDY framing and sessions over a socketpair, with a client written here
// from the same codec; interop with a SPDY implementation of another
// project is cri/server's streaming test (node's spdy-transport).
#include "cri/stream/spdy.h"

#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "cri/stream/server.h"
#include "gtest/gtest.h"

namespace peapod::cri::stream {
namespace {

using namespace std::chrono_literals;

TEST(SpdyDictionaryTest, IsTheDraft3Dictionary) {
  const std::string& d = SpdyDictionary();
  EXPECT_EQ(d.size(), 1423u);
  EXPECT_EQ(d.substr(0, 11), std::string("\0\0\0\7options", 11));
  EXPECT_EQ(d.substr(d.size() - 6), "enq=0.");
  // zlib's Adler-32 of the dictionary is what a peer's inflate asks for.
  EXPECT_EQ(adler32(1, reinterpret_cast<const Bytef*>(d.data()), static_cast<uInt>(d.size())),
            0xe3c6a7c2u);
}

TEST(SpdyHeadersTest, BlocksRoundTripThroughOneContextPerDirection) {
  HeaderDeflater out;
  HeaderInflater in;
  for (int i = 0; i < 3; ++i) {
    Headers h = {{"streamtype", "stdout"}, {"port", std::to_string(8000 + i)}, {"x", ""}};
    std::string block = out.Encode(h);
    absl::StatusOr<Headers> back = in.Decode(block);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, h);
    EXPECT_EQ(HeaderValue(*back, "StreamType"), "stdout");
  }
  // A block out of its context's order (a fresh inflater) is refused.
  HeaderInflater fresh;
  EXPECT_FALSE(fresh.Decode(out.Encode({{"a", "b"}})).ok());
}

TEST(SpdyHeadersTest, MalformedBlocksAreRefused) {
  HeaderInflater in;
  EXPECT_FALSE(in.Decode("not zlib at all").ok());
  // A valid stream whose pairs claim more bytes than there are.
  HeaderDeflater out;
  std::string raw;
  PutU32(&raw, 1);
  PutU32(&raw, 100);  // name length past the end
  raw += "abc";
  z_stream z{};
  deflateInit(&z, Z_DEFAULT_COMPRESSION);
  const std::string& d = SpdyDictionary();
  deflateSetDictionary(&z, reinterpret_cast<const Bytef*>(d.data()), static_cast<uInt>(d.size()));
  char buf[256];
  z.next_in = reinterpret_cast<Bytef*>(raw.data());
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = reinterpret_cast<Bytef*>(buf);
  z.avail_out = sizeof buf;
  deflate(&z, Z_SYNC_FLUSH);
  std::string block(buf, sizeof buf - z.avail_out);
  deflateEnd(&z);
  HeaderInflater in2;
  absl::StatusOr<Headers> h = in2.Decode(block);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("truncated"), std::string::npos) << h.status();
}

TEST(SpdyFrameTest, ParsesWholeFramesOnly) {
  std::string data = DataFrame(5, kFlagFin, "hello");
  Frame f;
  for (size_t n = 0; n < data.size(); ++n) {
    absl::StatusOr<size_t> used = ParseFrame(std::string_view(data).substr(0, n), &f);
    ASSERT_TRUE(used.ok());
    EXPECT_EQ(*used, 0u) << n;
  }
  absl::StatusOr<size_t> used = ParseFrame(data + "extra", &f);
  ASSERT_TRUE(used.ok());
  EXPECT_EQ(*used, data.size());
  EXPECT_FALSE(f.control);
  EXPECT_EQ(f.stream_id, 5u);
  EXPECT_EQ(f.flags, kFlagFin);
  EXPECT_EQ(f.payload, "hello");
  std::string ping = ControlFrame(kPing, 0, std::string("\0\0\0\7", 4));
  ASSERT_EQ(*ParseFrame(ping, &f), ping.size());
  EXPECT_TRUE(f.control);
  EXPECT_EQ(f.version, 3);
  EXPECT_EQ(f.type, kPing);
  // A length over the limit is refused before its bytes arrive.
  std::string huge("\x80\x03\x00\x01\x00\xff\xff\xff", 8);
  EXPECT_FALSE(ParseFrame(huge, &f).ok());
}

// The client side of a session, by hand.
class Peer {
 public:
  explicit Peer(int fd) : fd_(fd) {}
  void Send(const std::string& frame) {
    ASSERT_EQ(write(fd_, frame.data(), frame.size()), static_cast<ssize_t>(frame.size()));
  }
  void Open(uint32_t id, const Headers& h, uint8_t flags = 0) {
    std::string p;
    PutU32(&p, id);
    PutU32(&p, 0);
    p += std::string(2, '\0');
    p += deflater_.Encode(h);
    Send(ControlFrame(kSynStream, flags, p));
  }
  // The next frame, or a frame with type 0xffff at EOF.
  Frame Next() {
    Frame f;
    for (;;) {
      absl::StatusOr<size_t> used = ParseFrame(buf_, &f);
      EXPECT_TRUE(used.ok());
      if (!used.ok()) break;
      if (*used > 0) {
        buf_.erase(0, *used);
        return f;
      }
      char chunk[4096];
      ssize_t n = read(fd_, chunk, sizeof chunk);
      if (n <= 0) break;
      buf_.append(chunk, static_cast<size_t>(n));
    }
    f.control = true;
    f.type = 0xffff;
    return f;
  }
  HeaderInflater inflater;

 private:
  int fd_;
  std::string buf_;
  HeaderDeflater deflater_;
};

class SpdySessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    peer_fd_.Reset(sv[0]);
    session_ = std::make_unique<SpdySession>(images::UniqueFd(sv[1]), "");
    session_->Start();
    peer_ = std::make_unique<Peer>(peer_fd_.get());
  }
  images::UniqueFd peer_fd_;
  std::unique_ptr<SpdySession> session_;
  std::unique_ptr<Peer> peer_;
};

TEST_F(SpdySessionTest, StreamsAreRepliedToAndCarryDataBothWays) {
  // As spdy-transport starts: its window settings, so it keeps flow control.
  std::string settings;
  PutU32(&settings, 0);
  peer_->Send(ControlFrame(kSettings, 0, settings));
  peer_->Open(1, {{"streamtype", "stdin"}});
  Frame reply = peer_->Next();
  ASSERT_TRUE(reply.control);
  ASSERT_EQ(reply.type, kSynReply);
  EXPECT_EQ(GetU32(reply.payload, 0), 1u);
  EXPECT_TRUE(peer_->inflater.Decode(std::string_view(reply.payload).substr(4)).ok());
  std::shared_ptr<SpdyStream> s = session_->NextStream(5s);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->Header("streamType"), "stdin");
  peer_->Send(DataFrame(1, 0, "abc"));
  EXPECT_EQ(s->Read(), "abc");
  // What was read is given back to the peer's windows: the stream's, then
  // the session's.
  for (uint32_t id : {1u, 0u}) {
    Frame wu = peer_->Next();
    ASSERT_EQ(wu.type, kWindowUpdate);
    EXPECT_EQ(GetU32(wu.payload, 0), id);
    EXPECT_EQ(GetU32(wu.payload, 4), 3u);
  }
  peer_->Send(DataFrame(1, kFlagFin, "def"));
  EXPECT_EQ(s->Read(), "def");
  EXPECT_EQ(s->Read(), "");  // FIN
  ASSERT_TRUE(s->Write("out").ok());
  ASSERT_TRUE(s->CloseWrite().ok());
  Frame d = peer_->Next();
  ASSERT_FALSE(d.control);
  EXPECT_EQ(d.stream_id, 1u);
  EXPECT_EQ(d.payload, "out");
  Frame fin = peer_->Next();
  EXPECT_EQ(fin.flags, kFlagFin);
  EXPECT_TRUE(fin.payload.empty());
  EXPECT_FALSE(s->Write("late").ok());
  EXPECT_TRUE(s->closed());
}

// client-go's spdystream keeps no flow control: it is sent no WINDOW_UPDATE,
// as Kubernetes' own server sends it none.
TEST_F(SpdySessionTest, APeerWithoutFlowControlGetsNoWindowUpdates) {
  peer_->Open(1, {{"streamtype", "stdin"}});
  ASSERT_EQ(peer_->Next().type, kSynReply);
  std::shared_ptr<SpdyStream> s = session_->NextStream(5s);
  ASSERT_NE(s, nullptr);
  std::string big(200 << 10, 'x');
  peer_->Send(DataFrame(1, 0, big));
  EXPECT_EQ(s->Read(), big);
  peer_->Send(ControlFrame(kPing, 0, std::string("\0\0\0\2", 4)));
  Frame next = peer_->Next();
  EXPECT_EQ(next.type, kPing) << "a frame before the PING's answer: type " << next.type;
}

TEST_F(SpdySessionTest, PingsAreAnsweredAndUnknownStreamsReset) {
  peer_->Send(ControlFrame(kPing, 0, std::string("\0\0\0\x2a", 4)));
  Frame pong = peer_->Next();
  ASSERT_EQ(pong.type, kPing);
  EXPECT_EQ(GetU32(pong.payload, 0), 42u);
  peer_->Send(DataFrame(7, 0, "nobody"));
  Frame rst = peer_->Next();
  ASSERT_EQ(rst.type, kRstStream);
  EXPECT_EQ(GetU32(rst.payload, 0), 7u);
  EXPECT_EQ(GetU32(rst.payload, 4), kInvalidStream);
  // Stream ids must grow: a reused one is refused.
  peer_->Open(3, {{"streamtype", "a"}});
  ASSERT_EQ(peer_->Next().type, kSynReply);
  peer_->Open(3, {{"streamtype", "b"}});
  rst = peer_->Next();
  ASSERT_EQ(rst.type, kRstStream);
  EXPECT_EQ(GetU32(rst.payload, 4), kProtocolError);
  ASSERT_NE(session_->NextStream(1s), nullptr);
  EXPECT_EQ(session_->NextStream(100ms), nullptr);
}

// Streams closed both ways are dropped, so a long session (port-forward)
// is not capped by the streams it had; open ones are capped.
TEST_F(SpdySessionTest, ClosedStreamsAreDroppedAndOpenOnesCapped) {
  uint32_t id = 1;
  for (int round = 0; round < 3; ++round) {
    std::vector<std::shared_ptr<SpdyStream>> open;
    for (size_t i = 0; i < SpdySession::kMaxStreams; ++i, id += 2) {
      peer_->Open(id, {{"streamtype", "data"}}, kFlagFin);  // the peer sends nothing
      ASSERT_EQ(peer_->Next().type, kSynReply) << id;
      open.push_back(session_->NextStream(5s));
      ASSERT_NE(open.back(), nullptr);
    }
    peer_->Open(id, {{"streamtype", "data"}}, kFlagFin);
    Frame rst = peer_->Next();
    ASSERT_EQ(rst.type, kRstStream);
    EXPECT_EQ(GetU32(rst.payload, 0), id);
    EXPECT_EQ(GetU32(rst.payload, 4), kRefusedStream);
    id += 2;
    for (auto& s : open) {
      ASSERT_TRUE(s->CloseWrite().ok());
      ASSERT_EQ(peer_->Next().flags, kFlagFin);
    }
  }
}

TEST_F(SpdySessionTest, PeerGoingAwayEndsReadsAndNextStream) {
  peer_->Open(1, {{"streamtype", "stdin"}});
  std::shared_ptr<SpdyStream> s = session_->NextStream(5s);
  ASSERT_NE(s, nullptr);
  peer_fd_.Reset();
  EXPECT_EQ(s->Read(), "");
  EXPECT_EQ(session_->NextStream(5s), nullptr);
  EXPECT_TRUE(session_->done());
}

TEST_F(SpdySessionTest, GarbageEndsTheConnection) {
  peer_->Send(std::string("\x80\x03\x00\x01\x00\x00\x00\x0c", 8) + std::string(12, 'x'));
  for (int i = 0; i < 50 && !session_->done(); ++i) std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(session_->done());
}

TEST(StreamProtocolTest, RequestHeadsParseAndMalformedOnesAreRefused) {
  absl::StatusOr<HttpRequest> r = ParseRequestHead(
      "POST /exec/abc?x=1 HTTP/1.1\r\nConnection: Upgrade\r\n"
      "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n"
      "x-stream-protocol-version:  v3.channel.k8s.io , channel.k8s.io\r\nEmpty:");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->path, "/exec/abc");
  EXPECT_EQ(r->Values("x-stream-protocol-version"),
            (std::vector<std::string>{"v4.channel.k8s.io", "v3.channel.k8s.io", "channel.k8s.io"}));
  EXPECT_EQ(r->Values("connection"), std::vector<std::string>{"Upgrade"});
  EXPECT_TRUE(r->Values("empty").empty());
  for (const char* bad : {"", "GET /x", "GET x HTTP/1.1", "GET /x SPDY/3", " /x HTTP/1.1",
                          "GET /x HTTP/1.1\r\nno colon", "GET /x HTTP/1.1\r\n: no name"}) {
    EXPECT_FALSE(ParseRequestHead(bad).ok()) << bad;
  }
}

TEST(StreamProtocolTest, ResizesArriveWholeAcrossChunksAndOversizedOnesAreDropped) {
  ResizeReader reader;
  std::vector<std::pair<uint32_t, uint32_t>> got;
  auto add = [&](uint32_t w, uint32_t h) { got.emplace_back(w, h); };
  reader.Feed("{\"Width\":80,\"Hei", add);
  EXPECT_TRUE(got.empty());
  reader.Feed("ght\":24}\n{\"Width\":70000,\"Height\":1}\n{\"Width\":-1,\"Height\":1}", add);
  reader.Feed("\n{\"Width\":100,\"Height\":40}\n", add);
  EXPECT_EQ(got, (std::vector<std::pair<uint32_t, uint32_t>>{{80, 24}, {100, 40}}));
}

TEST(StreamProtocolTest, NegotiationFollowsTheClientsOrder) {
  std::vector<std::string> server = {"v4.channel.k8s.io", "v3.channel.k8s.io", "channel.k8s.io"};
  EXPECT_EQ(
      NegotiateProtocol({"v5.channel.k8s.io", "v3.channel.k8s.io", "v4.channel.k8s.io"}, server),
      "v3.channel.k8s.io");
  EXPECT_EQ(NegotiateProtocol({"v5.channel.k8s.io"}, server), "");
}

TEST(StreamProtocolTest, ExitStatusDocumentsAreWhatClientGoDecodes) {
  EXPECT_EQ(ExitStatusJson(0), R"({"metadata":{},"status":"Success"})");
  EXPECT_EQ(
      ExitStatusJson(3),
      R"({"metadata":{},"status":"Failure","message":"command terminated with non-zero )"
      R"(exit code: exit status 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":)"
      R"("ExitCode","message":"3"}]}})");
  EXPECT_EQ(ErrorStatusJson("no \"such\" container"),
            R"({"metadata":{},"status":"Failure","message":"no \"such\" container",)"
            R"("reason":"InternalError","code":500})");
}

}  // namespace
}  // namespace peapod::cri::stream
