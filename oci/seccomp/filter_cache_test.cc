#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "oci/seccomp/default_profile.h"
#include "oci/seccomp/filter.h"
#include "oci/seccomp/testing.h"

namespace peapod::seccomp {
namespace {

// A temporary directory removed (with its files) at the end of the test.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/peapod_bpf_cache_XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() {
    for (const std::string& f : Files()) unlink((path_ + "/" + f).c_str());
    rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }
  std::vector<std::string> Files() const {
    std::vector<std::string> out;
    DIR* d = opendir(path_.c_str());
    if (d == nullptr) return out;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') out.push_back(e->d_name);
    }
    closedir(d);
    return out;
  }

 private:
  std::string path_;
};

bool SameProgram(const Filter& a, const Filter& b) {
  return a.size() == b.size() && a.flags() == b.flags() &&
         memcmp(a.program().data(), b.program().data(), a.size() * sizeof(sock_filter)) == 0;
}

TEST(FilterCache, SecondBuildReadsTheCache) {
  TempDir dir;
  oci::Seccomp profile = RuntimeDefaultProfile();
  absl::StatusOr<Filter> first = Filter::BuildCached(profile, dir.path());
  ASSERT_TRUE(first.ok()) << first.status();
  std::vector<std::string> files = dir.Files();
  ASSERT_EQ(files.size(), 1u);
  absl::StatusOr<Filter> second = Filter::BuildCached(profile, dir.path());
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(SameProgram(*first, *second));
  absl::StatusOr<Filter> direct = Filter::Build(profile);
  ASSERT_TRUE(direct.ok());
  EXPECT_TRUE(SameProgram(*first, *direct));
  // Prove the entry is what gets loaded: change the last instruction's
  // constant in the file and see it come back.
  {
    std::fstream f(dir.path() + "/" + files[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-1, std::ios::end);
    f.put('\x7f');
  }
  absl::StatusOr<Filter> third = Filter::BuildCached(profile, dir.path());
  ASSERT_TRUE(third.ok());
  EXPECT_FALSE(SameProgram(*third, *direct));
  // A different profile is a different entry.
  profile.default_errno_ret = EACCES;
  ASSERT_TRUE(Filter::BuildCached(profile, dir.path()).ok());
  EXPECT_EQ(dir.Files().size(), 2u);
}

TEST(FilterCache, CorruptEntryIsRebuilt) {
  TempDir dir;
  oci::Seccomp profile = RuntimeDefaultProfile();
  ASSERT_TRUE(Filter::BuildCached(profile, dir.path()).ok());
  std::string file = dir.path() + "/" + dir.Files().at(0);
  ASSERT_EQ(truncate(file.c_str(), 100), 0);
  absl::StatusOr<Filter> f = Filter::BuildCached(profile, dir.path());
  ASSERT_TRUE(f.ok()) << f.status();
  absl::StatusOr<Filter> direct = Filter::Build(profile);
  EXPECT_TRUE(SameProgram(*f, *direct));
  struct stat st;
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  EXPECT_GT(st.st_size, 100);  // rewritten
  // The cached program still filters.
  int status = testing::RunFiltered(*f, [] { return unshare(0) == -1 ? errno : 0; });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), EPERM);
}

TEST(FilterCache, WorldWritableDirIsNotUsed) {
  TempDir dir;
  ASSERT_EQ(chmod(dir.path().c_str(), 0777), 0);
  absl::StatusOr<Filter> f = Filter::BuildCached(RuntimeDefaultProfile(), dir.path());
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(dir.Files().empty());
}

TEST(FilterCache, InvalidProfileIsStillAnError) {
  TempDir dir;
  oci::Seccomp bad;
  bad.default_action = "SCMP_ACT_NOPE";
  absl::StatusOr<Filter> f = Filter::BuildCached(bad, dir.path());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(dir.Files().empty());
}

}  // namespace
}  // namespace peapod::seccomp
