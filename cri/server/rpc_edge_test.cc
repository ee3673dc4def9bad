#include "cri/server/rpc_edge.h"

#include <cstdio>

#include "gtest/gtest.h"

namespace peapod::cri {
namespace {

TEST(ToGrpcStatusTest, KeepsCodeAndMessage) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  grpc::Status s = ToGrpcStatus(absl::NotFoundError("pod x not found"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "pod x not found");
  EXPECT_EQ(ToGrpcStatus(absl::InvalidArgumentError("")).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ToGrpcStatus(absl::UnimplementedError("")).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(ToGrpcStatus(absl::AlreadyExistsError("")).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(ToGrpcStatus(absl::DeadlineExceededError("")).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
}

class RpcEdgeTest : public ::testing::Test {
 protected:
  RpcEdgeTest() : out_(tmpfile()), log_(LogLevel::kDebug, out_), edge_(log_, ready_) {}
  ~RpcEdgeTest() override { fclose(out_); }

  std::string Logged() {
    fflush(out_);
    rewind(out_);
    std::string text;
    char buf[512];
    while (size_t n = fread(buf, 1, sizeof buf, out_)) text.append(buf, n);
    return text;
  }

  std::FILE* out_;
  Logger log_;
  std::atomic<bool> ready_ = false;
  RpcEdge edge_;
};

TEST_F(RpcEdgeTest, GatesOnReadiness) {
  int calls = 0;
  auto handler = [&] {
    ++calls;
    return absl::OkStatus();
  };
  EXPECT_EQ(edge_.Run("/x/Gated", RpcEdge::Gate::kWhenReady, handler).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(edge_.Run("/x/Always", RpcEdge::Gate::kAlways, handler).ok());
  EXPECT_EQ(calls, 1);
  ready_ = true;
  EXPECT_TRUE(edge_.Run("/x/Gated", RpcEdge::Gate::kWhenReady, handler).ok());
  EXPECT_EQ(calls, 2);
}

TEST_F(RpcEdgeTest, LogsFailuresOnceAndConvertsExceptions) {
  ready_ = true;
  grpc::Status s = edge_.Run("/x/Broken", RpcEdge::Gate::kAlways,
                             [] { return absl::FailedPreconditionError("disk on fire"); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  s = edge_.Run("/x/Throws", RpcEdge::Gate::kAlways,
                []() -> absl::Status { throw std::runtime_error("boom"); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL);
  std::string logged = Logged();
  EXPECT_NE(logged.find("error /x/Broken failed"), std::string::npos) << logged;
  EXPECT_NE(logged.find("disk on fire"), std::string::npos) << logged;
  EXPECT_NE(logged.find("boom"), std::string::npos) << logged;
}

}  // namespace
}  // namespace peapod::cri
