#include "oci/pea/flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace peapod::pea {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr FlagSpec kSpecs[] = {
    {"bundle", "b", FlagKind::kValue, "bundle"},
    {"detach", "d", FlagKind::kBool, "detach"},
    {"env", "e", FlagKind::kRepeated, "env"},
    {"cpu-share", "cpu-shares", FlagKind::kValue, "shares"},
};

absl::StatusOr<ParsedFlags> Parse(std::vector<std::string> args, ParseMode mode = {}) {
  return ParseFlags(kSpecs, args, mode);
}

TEST(FlagsTest, GoSpellingsOfAValueFlag) {
  for (std::vector<std::string> args : {std::vector<std::string>{"--bundle", "/b", "id"},
                                        {"--bundle=/b", "id"},
                                        {"-bundle", "/b", "id"},
                                        {"-b", "/b", "id"},
                                        {"-b=/b", "id"}}) {
    absl::StatusOr<ParsedFlags> f = Parse(args);
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_EQ(f->Value("bundle"), "/b");
    EXPECT_THAT(f->positional, ElementsAre("id"));
  }
}

TEST(FlagsTest, BoolFlagsTakeNoValueUnlessInline) {
  absl::StatusOr<ParsedFlags> f = Parse({"-d", "id"});
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->Bool("detach"));
  f = Parse({"--detach=false", "id"});
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->Bool("detach"));
  EXPECT_TRUE(f->Has("detach"));
  EXPECT_FALSE(Parse({"--detach=maybe"}).ok());
}

TEST(FlagsTest, FlagsAfterPositionalsAreReordered) {
  absl::StatusOr<ParsedFlags> f = Parse({"id", "--detach", "-b", "x"});
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->Bool("detach"));
  EXPECT_EQ(f->Value("bundle"), "x");
  EXPECT_THAT(f->positional, ElementsAre("id"));
}

TEST(FlagsTest, StopAtPositionalKeepsTheProcessArgs) {
  absl::StatusOr<ParsedFlags> f = Parse({"-e", "A=1", "--env", "B=2", "id", "sh", "-c", "--detach"},
                                        {.stop_at_positional = true});
  ASSERT_TRUE(f.ok());
  EXPECT_THAT(f->Values("env"), ElementsAre("A=1", "B=2"));
  EXPECT_FALSE(f->Has("detach"));
  EXPECT_THAT(f->positional, ElementsAre("id", "sh", "-c", "--detach"));
}

TEST(FlagsTest, DoubleDashEndsFlags) {
  absl::StatusOr<ParsedFlags> f = Parse({"--", "-d"});
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->Has("detach"));
  EXPECT_THAT(f->positional, ElementsAre("-d"));
}

TEST(FlagsTest, ErrorsNameTheFlag) {
  absl::StatusOr<ParsedFlags> f = Parse({"--nope"});
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(f.status().message(), HasSubstr("flag provided but not defined: -nope"));
  f = Parse({"--bundle"});
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(f.status().message(), HasSubstr("flag needs an argument: -bundle"));
}

TEST(FlagsTest, LongAliasAndLastValueWins) {
  absl::StatusOr<ParsedFlags> f = Parse({"--cpu-shares", "10", "--cpu-share=20"});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->Value("cpu-share"), "20");
}

TEST(FlagsTest, HelpListsEveryFlag) {
  std::string help = FlagsHelp(kSpecs);
  EXPECT_THAT(help, HasSubstr("--bundle value, -b value"));
  EXPECT_THAT(help, HasSubstr("--detach, -d"));
  EXPECT_THAT(help, HasSubstr("--cpu-share value, --cpu-shares value"));
}

}  // namespace
}  // namespace peapod::pea
