// The whole CLI in-process: parsing, dispatch, help, error reporting.
#include "oci/pea/pea.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "oci/spec/json.h"
#include "oci/spec/spec.h"

namespace peapod::pea {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Result {
  int status;
  std::string out, err;
};

std::string Slurp(FILE* f) {
  rewind(f);
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  fclose(f);
  return s;
}

Result Pea(std::vector<std::string> args) {
  FILE* out = tmpfile();
  FILE* err = tmpfile();
  int status = Main(args, out, err, stdin);
  return {status, Slurp(out), Slurp(err)};
}

class PeaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pea-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(PeaTest, SpecWritesAParsableDefaultOnce) {
  Result r = Pea({"spec", "--bundle", dir_});
  ASSERT_EQ(r.status, 0) << r.err;
  absl::StatusOr<oci::Spec> spec = oci::LoadSpec(dir_ + "/config.json");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->root.path, "rootfs");
  r = Pea({"spec", "-b", dir_});
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, HasSubstr("config.json exists"));
}

TEST_F(PeaTest, ErrorsGoToStderrAndTheJsonLog) {
  std::string log = dir_ + "/log.json";
  Result r =
      Pea({"--root", dir_ + "/root", "--log", log, "--log-format", "json", "state", "nosuch"});
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, StartsWith("pea state: "));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  std::ifstream in(log);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  absl::StatusOr<json::Value> v = json::Parse(line);
  ASSERT_TRUE(v.ok()) << line;
  EXPECT_EQ(v->Find("level")->as_string(), "error");
  EXPECT_FALSE(v->Find("msg")->as_string().empty());
  EXPECT_NE(v->Find("time"), nullptr);
}

TEST_F(PeaTest, TextLogLikeLogrus) {
  std::string log = dir_ + "/log.txt";
  Pea({"--log", log, "--root", dir_, "kill", "nosuch", "KILL"});
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_THAT(text.str(), HasSubstr(" level=error msg=\""));
}

TEST_F(PeaTest, UsageErrors) {
  Result r = Pea({"--root", dir_, "start"});
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, HasSubstr("requires exactly 1 argument"));
  r = Pea({"--root", dir_, "kill", "a", "b", "c"});
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, HasSubstr("maximum of 2"));
  r = Pea({"frobnicate"});
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, HasSubstr("no such command: frobnicate"));
  r = Pea({"create", "--bogus", "x"});
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, HasSubstr("flag provided but not defined: -bogus"));
  r = Pea({"--log-format", "xml", "list"});
  EXPECT_EQ(r.status, 1);
}

TEST_F(PeaTest, SystemdCgroupIsAClearError) {
  Result r = Pea({"--systemd-cgroup", "--root", dir_, "create", "-b", dir_, "x"});
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, HasSubstr("--systemd-cgroup is not supported"));
}

TEST_F(PeaTest, HelpForEveryVerb) {
  for (const char* verb : {"create", "start", "run", "state", "kill", "delete", "exec", "list",
                           "ps", "pause", "resume", "update", "events", "spec", "features"}) {
    Result r = Pea({verb, "--help"});
    EXPECT_EQ(r.status, 0) << verb;
    EXPECT_THAT(r.out, HasSubstr(std::string("pea ") + verb)) << verb;
  }
  Result r = Pea({"exec", "-h"});
  EXPECT_THAT(r.out, HasSubstr("--process value, -p value"));
  r = Pea({"--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_THAT(r.out, HasSubstr("GLOBAL OPTIONS"));
  EXPECT_THAT(r.out, HasSubstr("--root value"));
}

TEST_F(PeaTest, FeaturesAndVersion) {
  Result r = Pea({"features"});
  ASSERT_EQ(r.status, 0);
  absl::StatusOr<json::Value> features = json::Parse(r.out);
  ASSERT_TRUE(features.ok()) << features.status();
  // Every capability the launcher knows, in capability-number order.
  const json::Value* linux = features->Find("linux");
  ASSERT_NE(linux, nullptr);
  const json::Value* caps = linux->Find("capabilities");
  ASSERT_TRUE(caps != nullptr && caps->is_array());
  std::vector<std::string> names;
  for (const json::Value& c : caps->as_array()) names.push_back(c.as_string());
  ASSERT_EQ(names.size(), 41u);
  EXPECT_EQ(names[0], "CAP_CHOWN");
  EXPECT_EQ(names[21], "CAP_SYS_ADMIN");
  EXPECT_EQ(names[40], "CAP_CHECKPOINT_RESTORE");
  r = Pea({"--version"});
  EXPECT_EQ(r.status, 0);
  EXPECT_THAT(r.out, StartsWith("pea version "));
}

}  // namespace
}  // namespace peapod::pea
