// Bad input: every case fails with a non-empty error, a non-zero exit, and
// leaves nothing in --root (no state, no mounts under the bundle).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "integration/harness.h"

namespace peapod::integration {
namespace {

using ::testing::IsEmpty;

// A mutable member of a JSON object (created as null if absent).
json::Value& Member(json::Value& v, const std::string& key) {
  json::Object& o = v.as_object();
  for (auto& [k, m] : o) {
    if (k == key) return m;
  }
  o.emplace_back(key, json::Value());
  return o.back().second;
}

void Erase(json::Value& v, const std::string& key) {
  json::Object& o = v.as_object();
  std::erase_if(o, [&](const auto& kv) { return kv.first == key; });
}

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!std::filesystem::exists(BuildDir() + "/oci/probe/peapod-probe")) {
      GTEST_SKIP() << "peapod-probe not built";
    }
    absl::StatusOr<json::Value> doc = json::ParseFile(bundle_.path() + "/config.json");
    ASSERT_TRUE(doc.ok()) << doc.status();
    doc_ = *doc;
  }

  // `create` must fail cleanly with the current document (or raw text).
  void ExpectCleanFailure(const std::string& raw = "") {
    bundle_.SaveRaw(raw.empty() ? json::Write(doc_, true) : raw);
    ProcResult r = rt_({"create", "--bundle", bundle_.path(), "bad"});
    EXPECT_NE(r.status, 0) << r.out;
    EXPECT_NE(r.err, "");
    if (!RuntimeIsRunc()) {  // runc prints a logrus line and the message
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
    EXPECT_THAT(rt_.RootEntries(), IsEmpty()) << r.err;
    EXPECT_THAT(MountsUnder(bundle_.path()), IsEmpty());
  }

  Bundle bundle_;
  json::Value doc_;
  Runtime rt_;
};

TEST_F(BadInputTest, MalformedJson) {
  ExpectCleanFailure("{\"ociVersion\": \"1.0.2\", \"process\": ");
}

TEST_F(BadInputTest, WrongType) {
  Member(Member(Member(doc_, "process"), "user"), "uid") = json::Value("zero");
  ExpectCleanFailure();
}

TEST_F(BadInputTest, MissingRoot) {
  Erase(doc_, "root");
  ExpectCleanFailure();
}

TEST_F(BadInputTest, EmptyArgs) {
  Member(Member(doc_, "process"), "args") = json::Value(json::Array{});
  ExpectCleanFailure();
}

TEST_F(BadInputTest, MissingRootfs) {
  Member(Member(doc_, "root"), "path") = json::Value("no-such-rootfs");
  ExpectCleanFailure();
}

TEST_F(BadInputTest, CgroupKeyEscapingTheCgroup) {
  json::Value& resources = Member(Member(doc_, "linux"), "resources");
  Member(resources, "unified") = json::Value(json::Object{{"../cgroup.procs", json::Value("1")}});
  ExpectCleanFailure();
}

TEST_F(BadInputTest, NoConfigAtAll) {
  std::filesystem::remove(bundle_.path() + "/config.json");
  ProcResult r = rt_({"create", "--bundle", bundle_.path(), "bad"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err, "");
  EXPECT_THAT(rt_.RootEntries(), IsEmpty());
}

TEST_F(BadInputTest, UnknownContainer) {
  for (const char* verb : {"start", "state", "kill", "delete", "pause", "resume"}) {
    ProcResult r = rt_({verb, "nosuch"});
    EXPECT_NE(r.status, 0) << verb;
    EXPECT_NE(r.err, "") << verb;
  }
}

}  // namespace
}  // namespace peapod::integration
