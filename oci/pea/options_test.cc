#include "oci/pea/options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "oci/pea/command.h"

namespace peapod::pea {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

ParsedFlags MustParse(const Command& c, std::vector<std::string> args) {
  absl::StatusOr<ParsedFlags> f = ParseFlags(c.flags, args, c.mode);
  EXPECT_TRUE(f.ok()) << f.status();
  return f.ok() ? *f : ParsedFlags{};
}

TEST(OptionsTest, CreateAsContainerdsShimCallsIt) {
  ParsedFlags f =
      MustParse(kCreateCommand,
                {"--bundle", "/b", "--pid-file", "rel/pid", "--console-socket", "/s.sock",
                 "--no-pivot", "--no-new-keyring", "--detach", "--preserve-fds", "2", "ctr1"});
  absl::StatusOr<runtime::CreateOptions> c = BuildCreateOptions(f);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->id, "ctr1");
  EXPECT_EQ(c->bundle, "/b");
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
  EXPECT_EQ(c->pid_file, std::string(cwd) + "/rel/pid");
  EXPECT_EQ(c->console_socket, "/s.sock");
  EXPECT_TRUE(c->no_pivot);
  EXPECT_EQ(c->preserve_fds, 2);
}

TEST(OptionsTest, CreateDefaultsBundleToCwdAndRejectsBadCounts) {
  absl::StatusOr<runtime::CreateOptions> c = BuildCreateOptions(MustParse(kCreateCommand, {"x"}));
  ASSERT_TRUE(c.ok());
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
  EXPECT_EQ(c->bundle, cwd);
  EXPECT_FALSE(BuildCreateOptions(MustParse(kCreateCommand, {"--preserve-fds", "-1", "x"})).ok());
}

TEST(OptionsTest, ExecAppliesFlagsToTheContainersProcess) {
  oci::Process base;
  base.args = {"init"};
  base.env = {"PATH=/bin"};
  base.cwd = "/";
  base.user.uid = 5;
  base.capabilities.emplace().bounding = {"CAP_KILL"};
  ParsedFlags f = MustParse(
      kExecCommand, {"-t", "--cwd", "/tmp", "-e", "A=1", "--user", "7:8", "--cap", "net_raw",
                     "--no-new-privs", "-g", "9", "id", "sh", "-c", "echo hi"});
  absl::StatusOr<oci::Process> p = BuildExecProcess(base, f);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(p->args, ElementsAre("sh", "-c", "echo hi"));
  EXPECT_THAT(p->env, ElementsAre("PATH=/bin", "A=1"));
  EXPECT_EQ(p->cwd, "/tmp");
  EXPECT_TRUE(p->terminal);
  EXPECT_EQ(p->user.uid, 7u);
  EXPECT_EQ(p->user.gid, 8u);
  EXPECT_THAT(p->user.additional_gids, ElementsAre(9u));
  EXPECT_TRUE(p->no_new_privileges);
  EXPECT_THAT(p->capabilities->bounding, ElementsAre("CAP_KILL", "CAP_NET_RAW"));
  EXPECT_THAT(p->capabilities->effective, ElementsAre("CAP_NET_RAW"));
}

TEST(OptionsTest, ExecRejectsEmptyArgsAndBadUsers) {
  oci::Process base;
  EXPECT_FALSE(BuildExecProcess(base, MustParse(kExecCommand, {"id"})).ok());
  absl::StatusOr<oci::Process> p =
      BuildExecProcess(base, MustParse(kExecCommand, {"-u", "root", "id", "true"}));
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), HasSubstr("<uid>[:<gid>]"));
  EXPECT_FALSE(BuildExecProcess(base, MustParse(kExecCommand, {"-e", "NOEQ", "id", "x"})).ok());
}

TEST(OptionsTest, UpdateFlagsSetOnlyWhatIsGiven) {
  ParsedFlags f =
      MustParse(kUpdateCommand, {"--memory", "512m", "--memory-swap", "-1", "--cpu-shares", "512",
                                 "--cpuset-cpus", "0-1", "--pids-limit", "42", "id"});
  absl::StatusOr<oci::Resources> r = BuildResources(f);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->memory.has_value());
  EXPECT_EQ(r->memory->limit, 512 << 20);
  EXPECT_EQ(r->memory->swap, -1);
  EXPECT_FALSE(r->memory->reservation.has_value());
  ASSERT_TRUE(r->cpu.has_value());
  EXPECT_EQ(r->cpu->shares, 512u);
  EXPECT_EQ(r->cpu->cpus, "0-1");
  EXPECT_FALSE(r->cpu->quota.has_value());
  ASSERT_TRUE(r->pids.has_value());
  EXPECT_EQ(r->pids->limit, 42);
  EXPECT_FALSE(r->block_io.has_value());
  EXPECT_FALSE(BuildResources(MustParse(kUpdateCommand, {"--cpu-quota", "lots", "id"})).ok());
}

TEST(OptionsTest, ParseBytesUnits) {
  EXPECT_EQ(*ParseBytes("1024"), 1024);
  EXPECT_EQ(*ParseBytes("10k"), 10240);
  EXPECT_EQ(*ParseBytes("2MiB"), 2 << 20);
  EXPECT_EQ(*ParseBytes("1g"), int64_t{1} << 30);
  EXPECT_EQ(*ParseBytes("-1"), -1);
  EXPECT_FALSE(ParseBytes("ten").ok());
  EXPECT_FALSE(ParseBytes("5q").ok());
}

TEST(OptionsTest, ParseDurationGoSyntax) {
  using std::chrono::milliseconds;
  EXPECT_EQ(*ParseDuration("5s"), milliseconds(5000));
  EXPECT_EQ(*ParseDuration("250ms"), milliseconds(250));
  EXPECT_EQ(*ParseDuration("1m30s"), milliseconds(90000));
  EXPECT_FALSE(ParseDuration("5").ok());
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_FALSE(ParseDuration("s").ok());
}

}  // namespace
}  // namespace peapod::pea
