#include "oci/pea/format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace peapod::pea {
namespace {

using ::testing::HasSubstr;

runtime::ContainerState Sample() {
  runtime::ContainerState s;
  s.oci_version = "1.1.0";
  s.id = "web";
  s.pid = 4242;
  s.status = "running";
  s.bundle = "/b";
  s.rootfs = "/b/rootfs";
  s.created = "2024-01-02T03:04:05.000000006Z";
  return s;
}

TEST(FormatTest, StateHasRuncsMembers) {
  absl::StatusOr<json::Value> v = json::Parse(StateJson(Sample()));
  ASSERT_TRUE(v.ok()) << v.status();
  for (const char* key :
       {"ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner"}) {
    EXPECT_NE(v->Find(key), nullptr) << key;
  }
  EXPECT_EQ(v->Find("pid")->raw_uint(), 4242u);
  EXPECT_EQ(v->Find("annotations"), nullptr);  // omitted when empty, as runc does
  runtime::ContainerState s = Sample();
  s.annotations["a"] = "b";
  v = json::Parse(StateJson(s));
  ASSERT_TRUE(v.ok());
  ASSERT_NE(v->Find("annotations"), nullptr);
  EXPECT_EQ(v->Find("annotations")->Find("a")->as_string(), "b");
}

TEST(FormatTest, ListJsonIsNullWhenEmptyLikeRunc) {
  EXPECT_EQ(ListJson({}), "null");
  absl::StatusOr<json::Value> v = json::Parse(ListJson({Sample(), Sample()}));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->as_array().size(), 2u);
}

TEST(FormatTest, TableAlignsLikeGoTabwriter) {
  // runc's empty list header, byte for byte.
  EXPECT_EQ(ListTable({}), "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n");
  std::string table = ListTable({Sample()});
  EXPECT_THAT(table, HasSubstr("\nweb         4242        running     /b          2024-"));
}

TEST(FormatTest, EventsAndStats) {
  runtime::Stats stats;
  stats.memory.usage = 100;
  stats.memory.oom_kill_count = 1;
  stats.pids.current = 3;
  stats.cpu.percpu_ns = {1, 2};
  json::Value data = StatsValue(stats);
  absl::StatusOr<json::Value> v = json::Parse(EventJson("stats", "web", &data));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->Find("type")->as_string(), "stats");
  EXPECT_EQ(v->Find("data")->Find("memory")->Find("usage")->Find("usage")->raw_uint(), 100u);
  EXPECT_EQ(v->Find("data")->Find("pids")->Find("current")->raw_uint(), 3u);
  EXPECT_EQ(v->Find("data")->Find("cpu")->Find("usage")->Find("percpu")->as_array().size(), 2u);
  EXPECT_EQ(EventJson("oom", "web", nullptr), R"({"type":"oom","id":"web"})");
}

TEST(FormatTest, FeaturesParseAndNameTheSpecVersion) {
  absl::StatusOr<json::Value> v = json::Parse(FeaturesJson());
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->Find("ociVersionMax")->as_string(), "1.1.0");
  const json::Value* linux = v->Find("linux");
  ASSERT_NE(linux, nullptr);
  EXPECT_FALSE(linux->Find("cgroup")->Find("systemd")->as_bool());
  EXPECT_TRUE(linux->Find("seccomp")->Find("enabled")->as_bool());
  EXPECT_GE(linux->Find("namespaces")->as_array().size(), 7u);
}

}  // namespace
}  // namespace peapod::pea
