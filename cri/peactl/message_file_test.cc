#include "cri/peactl/message_file.h"

#include "cri/peactl/output.h"
#include "gtest/gtest.h"
#include "proto/cri_api.h"

namespace peapod::cri::peactl {
namespace {

// crictl's documented pod config, as JSON (snake_case proto names).
TEST(MessageFileTest, CrictlPodConfigJson) {
  runtime::v1::PodSandboxConfig c;
  absl::Status s = ParseMessageText(R"({
    "metadata": {"name": "nginx-sandbox", "namespace": "default", "attempt": 1,
                 "uid": "hdishd83djaidwnduwk28bcsb"},
    "log_directory": "/tmp",
    "linux": {"security_context": {"namespace_options": {"pid": 0}}},
    "some_future_field": true
  })",
                                    c);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(c.metadata().name(), "nginx-sandbox");
  EXPECT_EQ(c.metadata().uid(), "hdishd83djaidwnduwk28bcsb");
  EXPECT_EQ(c.metadata().attempt(), 1u);
  EXPECT_EQ(c.log_directory(), "/tmp");
  EXPECT_TRUE(c.linux().security_context().has_namespace_options());
}

TEST(MessageFileTest, CrictlContainerConfigYaml) {
  runtime::v1::ContainerConfig c;
  absl::Status s = ParseMessageText(R"(
metadata:
  name: busybox
  attempt: 2
image:
  image: "busybox:1.36"
command: [sleep, "3600"]
envs:
  - key: A
    value: "1"
tty: true
log_path: busybox.log
linux:
  security_context:
    namespace_options:
      pid: CONTAINER
    run_as_user:
      value: 1000
)",
                                    c);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(c.metadata().name(), "busybox");
  EXPECT_EQ(c.metadata().attempt(), 2u);
  EXPECT_EQ(c.image().image(), "busybox:1.36");
  ASSERT_EQ(c.command_size(), 2);
  EXPECT_EQ(c.command(1), "3600");
  ASSERT_EQ(c.envs_size(), 1);
  EXPECT_EQ(c.envs(0).value(), "1");
  EXPECT_TRUE(c.tty());
  EXPECT_EQ(c.log_path(), "busybox.log");
  EXPECT_EQ(c.linux().security_context().namespace_options().pid(), runtime::v1::CONTAINER);
  EXPECT_EQ(c.linux().security_context().run_as_user().value(), 1000);
}

TEST(MessageFileTest, ErrorsAreReported) {
  runtime::v1::PodSandboxConfig c;
  EXPECT_FALSE(ParseMessageText("{\"metadata\": {\"attempt\": \"many\"}}", c).ok());
  EXPECT_FALSE(ParseMessageText("metadata: [unclosed", c).ok());
  EXPECT_EQ(LoadMessageFile("/nonexistent/pod.json", c).code(), absl::StatusCode::kNotFound);
}

TEST(OutputTest, ShortIdsAndYaml) {
  EXPECT_EQ(ShortId("sha256:0123456789abcdef"), "0123456789abc");
  EXPECT_EQ(ShortId("0123456789abcdef", true), "0123456789abcdef");
  std::string yaml = JsonToYaml(R"({"a": {"b": [1, 2]}, "c": "d"})");
  EXPECT_NE(yaml.find("a:\n  b:\n    - 1\n    - 2\nc: d"), std::string::npos) << yaml;
  EXPECT_EQ(HumanSize(1500000), "1.5MB");
}

// inspect/inspectp/inspecti: the status, then the info keys sorted, a value
// that is JSON nested as JSON and one that is not kept as a string.
TEST(OutputTest, InspectDocument) {
  runtime::v1::PodSandboxStatus status;
  status.set_id("abc");
  status.set_state(runtime::v1::SANDBOX_NOTREADY);
  google::protobuf::Map<std::string, std::string> info;
  info["runtimeSpec"] = R"({"ociVersion": "1.0.2"})";
  info["pid"] = "42";
  info["note"] = "not json {";
  EXPECT_EQ(InspectDocument(status, info), R"({
  "status": {
    "id": "abc",
    "state": "SANDBOX_NOTREADY"
  },
  "info": {
    "note": "not json {",
    "pid": 42,
    "runtimeSpec": {
      "ociVersion": "1.0.2"
    }
  }
}
)");
}

}  // namespace
}  // namespace peapod::cri::peactl
