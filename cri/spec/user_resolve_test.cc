#include "cri/spec/user_resolve.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace peapod::cri::spec {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;

class UserResolveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/crispec-user-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    fs::create_directories(root_ + "/etc");
    Write("/etc/passwd",
          "root:x:0:0:root:/root:/bin/sh\n"
          "# a comment\n"
          "app:x:1000:1000::/home/app:/bin/sh\n"
          "huge:x:2147483648:1::/:/bin/sh\n"
          "broken line\n");
    Write("/etc/group",
          "root:x:0:\n"
          "wheel:x:10:root,app\n"
          "audio:x:29:app\n"
          "app:x:1000:\n"
          "other:x:50:someoneelse\n");
  }
  void TearDown() override { fs::remove_all(root_); }

  void Write(const std::string& rel, const std::string& text) {
    std::ofstream(root_ + rel) << text;
  }

  std::string root_;
};

TEST_F(UserResolveTest, UsernameResolvesUidGidAndMemberships) {
  SecurityInput sc;
  sc.run_as_username = "app";
  sc.supplemental_groups = {4242, 10};
  absl::StatusOr<ResolvedUser> u = ResolveUser(root_, sc, "");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->uid, 1000u);
  EXPECT_EQ(u->gid, 1000u);
  EXPECT_EQ(u->home, "/home/app");
  EXPECT_THAT(u->additional_gids, ElementsAre(10u, 29u, 4242u));
}

TEST_F(UserResolveTest, ImageUserNameAndGroupName) {
  absl::StatusOr<ResolvedUser> u = ResolveUser(root_, SecurityInput{}, "app:wheel");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->uid, 1000u);
  EXPECT_EQ(u->gid, 10u);
}

TEST_F(UserResolveTest, NumericUserTakesGidFromPasswd) {
  absl::StatusOr<ResolvedUser> u = ResolveUser(root_, SecurityInput{}, "1000");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->gid, 1000u);
  EXPECT_THAT(u->additional_gids, ElementsAre(10u, 29u));
  // A uid the image does not know runs with gid 0 and no memberships.
  u = ResolveUser(root_, SecurityInput{}, "4000:7");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->uid, 4000u);
  EXPECT_EQ(u->gid, 7u);
  EXPECT_TRUE(u->additional_gids.empty());
}

TEST_F(UserResolveTest, RunAsUserOverridesImageAndRunAsGroupOverridesGid) {
  SecurityInput sc;
  sc.run_as_user = 1000;
  sc.run_as_group = 77;
  absl::StatusOr<ResolvedUser> u = ResolveUser(root_, sc, "root");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->uid, 1000u);
  EXPECT_EQ(u->gid, 77u);
}

TEST_F(UserResolveTest, EmptyEverythingIsRoot) {
  absl::StatusOr<ResolvedUser> u = ResolveUser(root_, SecurityInput{}, "");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->uid, 0u);
  EXPECT_EQ(u->gid, 0u);
  EXPECT_THAT(u->additional_gids, ElementsAre(10u));  // root is in wheel
}

TEST_F(UserResolveTest, UnknownNamesAreInvalidNotRoot) {
  SecurityInput sc;
  sc.run_as_username = "nobody-here";
  EXPECT_EQ(ResolveUser(root_, sc, "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveUser(root_, SecurityInput{}, "app:nogroup").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveUser(root_, SecurityInput{}, ":wheel").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(UserResolveTest, IdsAtOrAbove2To31AreRejected) {
  SecurityInput sc;
  sc.run_as_user = int64_t{1} << 31;
  EXPECT_EQ(ResolveUser(root_, sc, "").status().code(), absl::StatusCode::kInvalidArgument);
  sc.run_as_user = -1;
  EXPECT_EQ(ResolveUser(root_, sc, "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveUser(root_, SecurityInput{}, "2147483648").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveUser(root_, SecurityInput{}, "99999999999999999999").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveUser(root_, SecurityInput{}, "huge").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveUser(root_, SecurityInput{}, "0:2147483648").status().code(),
            absl::StatusCode::kInvalidArgument);
  SecurityInput groups;
  groups.supplemental_groups = {int64_t{1} << 31};
  EXPECT_EQ(ResolveUser(root_, groups, "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ResolveUser(root_, SecurityInput{}, "2147483647").ok());
}

TEST_F(UserResolveTest, GroupWithoutUserIsRejected) {
  SecurityInput sc;
  sc.run_as_group = 10;
  absl::Status s = ResolveUser(root_, sc, "app").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), ::testing::HasSubstr("run_as_group"));
}

// A symlinked /etc/passwd resolves inside the rootfs, never on the host.
TEST_F(UserResolveTest, PasswdSymlinkStaysInsideRootfs) {
  // The host's own /etc/passwd knows "daemon"; the image's does not.
  fs::remove(root_ + "/etc/passwd");
  fs::create_symlink("/etc/passwd", root_ + "/etc/passwd");
  SecurityInput sc;
  sc.run_as_username = "daemon";
  EXPECT_FALSE(ResolveUser(root_, sc, "").ok());
  fs::remove(root_ + "/etc/passwd");
  fs::create_symlink("../../../../../../../../etc/passwd", root_ + "/etc/passwd");
  EXPECT_FALSE(ResolveUser(root_, sc, "").ok());
  // A link to a host file that exists (here: this test's own host file) is
  // looked up under the rootfs, where it does not exist.
  std::string host_file = root_ + "-host-passwd";
  std::ofstream(host_file) << "daemon:x:1:1::/:/bin/sh\n";
  fs::remove(root_ + "/etc/passwd");
  fs::create_symlink(host_file, root_ + "/etc/passwd");
  absl::Status s = ResolveUser(root_, sc, "").status();
  fs::remove(host_file);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  // A link within the rootfs is followed there.
  fs::create_directories(root_ + "/data");
  Write("/data/passwd", "daemon:x:77:78::/:/bin/sh\n");
  fs::remove(root_ + "/etc/passwd");
  fs::create_symlink("/data/passwd", root_ + "/etc/passwd");
  absl::StatusOr<ResolvedUser> u = ResolveUser(root_, sc, "");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->uid, 77u);
  EXPECT_EQ(u->gid, 78u);
}

TEST_F(UserResolveTest, ReadFileInRootRefusesNonRegularFiles) {
  fs::create_directories(root_ + "/etc/dir");
  EXPECT_EQ(ReadFileInRoot(root_, "/etc/dir").status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_EQ(mkfifo((root_ + "/etc/fifo").c_str(), 0600), 0);
  EXPECT_EQ(ReadFileInRoot(root_, "/etc/fifo").status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::optional<std::string>> missing = ReadFileInRoot(root_, "/etc/none");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

}  // namespace
}  // namespace peapod::cri::spec
