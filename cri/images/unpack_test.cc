#include "cri/images/unpack.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "cri/images/digest.h"
#include "cri/images/fs_util.h"
#include "cri/images/test_tar.h"
#include "gtest/gtest.h"

namespace peapod::images {
namespace {

using testing::Compression;
using testing::TarBuilder;
namespace fs = std::filesystem;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Xattr(const std::string& path, const char* name) {
  char buf[256];
  ssize_t n = lgetxattr(path.c_str(), name, buf, sizeof buf);
  return n < 0 ? "" : std::string(buf, n);
}

// Everything observable about a tree: one line per entry.
std::map<std::string, std::string> Snapshot(const std::string& root, const std::string& skip = "") {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    std::string p = it->path().string();
    if (!skip.empty() && p == skip) {
      it.disable_recursion_pending();
      continue;
    }
    struct stat st;
    lstat(p.c_str(), &st);
    std::ostringstream line;
    line << st.st_mode << " " << st.st_uid << ":" << st.st_gid << " n" << st.st_nlink << " s"
         << st.st_size << " m" << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec << " x"
         << Xattr(p, "trusted.overlay.opaque") << " u" << Xattr(p, "user.test");
    if (S_ISREG(st.st_mode)) line << " " << ReadAll(p);
    out[p] = line.str();
  }
  return out;
}

class UnpackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = testing::MakeTempDir();
    layer_ = base_ + "/layer";
    outside_ = base_ + "/outside";
    fs::create_directories(layer_);
    fs::create_directories(outside_ + "/dir");
    std::ofstream(outside_ + "/secret") << "do not touch";
    before_ = Snapshot(base_, layer_);
  }
  void TearDown() override { fs::remove_all(base_); }

  absl::StatusOr<UnpackResult> Unpack(const std::string& tar) {
    UniqueFd in(testing::TempFdWith(tar));
    auto dir = OpenDir(layer_);
    EXPECT_TRUE(dir.ok());
    return UnpackLayer(in.get(), dir->get());
  }
  void ExpectOutsideUnchanged() { EXPECT_EQ(Snapshot(base_, layer_), before_); }

  std::string base_, layer_, outside_;
  std::map<std::string, std::string> before_;
};

TEST_F(UnpackTest, KeepsTypesOwnershipModesAndXattrs) {
  TarBuilder t;
  t.Dir("./", 0755).Dir("bin", 0711, 0, 0).File("bin/su", "suid", 04755, 0, 0);
  t.File("home/u/f", "hello", 0640, 1000, 1001);
  t.Add({.path = "cap",
         .type = S_IFREG,
         .perm = 0755,
         .data = "x",
         .xattrs = {{"user.test", "v1"}, {"trusted.overlay.redirect", "/evil"}}});
  t.Symlink("bin/sh", "/bin/busybox").Hardlink("bin/su2", "bin/su");
  t.Node("dev/null", S_IFCHR, makedev(1, 3), 0666).Node("fifo", S_IFIFO, 0, 0600);
  std::string tar = t.Build();
  auto r = Unpack(tar);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->diff_id, DigestOf(tar));
  EXPECT_EQ(r->tar_bytes, tar.size());

  struct stat st;
  ASSERT_EQ(lstat((layer_ + "/bin/su").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  EXPECT_EQ(st.st_nlink, 2u);
  EXPECT_EQ(ReadAll(layer_ + "/bin/su2"), "suid");
  ASSERT_EQ(lstat((layer_ + "/bin").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0711u);
  EXPECT_EQ(st.st_mtime, 1700000000);
  ASSERT_EQ(lstat((layer_ + "/home/u/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 1001u);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(fs::read_symlink(layer_ + "/bin/sh"), "/bin/busybox");
  ASSERT_EQ(lstat((layer_ + "/dev/null").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  ASSERT_EQ(lstat((layer_ + "/fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(Xattr(layer_ + "/cap", "user.test"), "v1");
  EXPECT_EQ(Xattr(layer_ + "/cap", "trusted.overlay.redirect"), "");
  ExpectOutsideUnchanged();
}

TEST_F(UnpackTest, CompressedStreamsHaveTheUncompressedDiffId) {
  TarBuilder t;
  t.File("a", std::string(100000, 'a')).Dir("d").File("d/b", "b");
  std::string plain = t.Build();
  for (Compression c : {Compression::kGzip, Compression::kZstd}) {
    fs::remove_all(layer_);
    fs::create_directories(layer_);
    std::string packed = t.Build(c);
    EXPECT_NE(packed, plain);
    auto r = Unpack(packed);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->diff_id, DigestOf(plain));
    EXPECT_EQ(ReadAll(layer_ + "/a"), std::string(100000, 'a'));
  }
}

TEST_F(UnpackTest, WhiteoutsBecomeOverlayFormat) {
  TarBuilder t;
  t.Dir("etc").File("etc/.wh.passwd", "").Dir("var").File("var/.wh..wh..opq", "");
  t.File("var/kept", "k").File(".wh.gone", "");
  auto r = Unpack(t.Build());
  ASSERT_TRUE(r.ok()) << r.status();
  struct stat st;
  ASSERT_EQ(lstat((layer_ + "/etc/passwd").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  ASSERT_EQ(lstat((layer_ + "/gone").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_FALSE(fs::exists(layer_ + "/etc/.wh.passwd"));
  EXPECT_FALSE(fs::exists(layer_ + "/var/.wh..wh..opq"));
  EXPECT_EQ(Xattr(layer_ + "/var", "trusted.overlay.opaque"), "y");
  EXPECT_EQ(ReadAll(layer_ + "/var/kept"), "k");
}

TEST_F(UnpackTest, RejectsDotDotPaths) {
  TarBuilder t;
  t.File("../outside/secret", "pwned");
  EXPECT_FALSE(Unpack(t.Build()).ok());
  TarBuilder t2;
  t2.File("a/../../outside/new", "pwned");
  EXPECT_FALSE(Unpack(t2.Build()).ok());
  ExpectOutsideUnchanged();
}

TEST_F(UnpackTest, AbsolutePathsStayInside) {
  TarBuilder t;
  t.File(outside_ + "/secret", "pwned").File("/abs", "inside");
  ASSERT_TRUE(Unpack(t.Build()).ok());
  EXPECT_EQ(ReadAll(layer_ + outside_ + "/secret"), "pwned");
  EXPECT_EQ(ReadAll(layer_ + "/abs"), "inside");
  ExpectOutsideUnchanged();
}

// Every way of writing through a symlink the archive planted: the result
// may land inside the layer or fail, but never touch anything outside.
TEST_F(UnpackTest, PlantedSymlinksCannotReachOutside) {
  std::vector<TarBuilder> cases;
  for (std::string target :
       {std::string("../outside"), outside_, std::string("../../../..") + outside_}) {
    TarBuilder t;
    t.Symlink("evil", target).File("evil/secret", "pwned").File("evil/new", "pwned");
    cases.push_back(t);
    TarBuilder dirs;
    dirs.Symlink("evil", target).Dir("evil/dir/sub").Node("evil/dev", S_IFCHR, makedev(1, 3));
    cases.push_back(dirs);
    TarBuilder wh;
    wh.Symlink("evil", target).File("evil/.wh.secret", "").File("evil/dir/.wh..wh..opq", "");
    cases.push_back(wh);
    TarBuilder hl;
    hl.Symlink("evil", target).Hardlink("stolen", "evil/secret");
    cases.push_back(hl);
    TarBuilder chain;
    chain.Symlink("a", "b").Symlink("b", target).File("a/secret", "pwned");
    cases.push_back(chain);
    TarBuilder meta;  // entries that only change what exists: mode, owner, xattrs, times
    meta.Symlink("evil", target).Dir("evil/dir", 0777, 1234, 1234);
    meta.Add({.path = "evil/secret",
              .type = S_IFREG,
              .perm = 04777,
              .uid = 1234,
              .xattrs = {{"user.test", "pwned"}}});
    cases.push_back(meta);
    TarBuilder hl_into;  // a hardlink whose new name is through the link
    hl_into.File("inside", "x").Symlink("evil", target).Hardlink("evil/linked", "inside");
    cases.push_back(hl_into);
  }
  TarBuilder over;  // a regular file replacing a symlink must replace the link
  over.Symlink("link", "../outside/secret").File("link", "replaced");
  cases.push_back(over);
  TarBuilder hl_out;
  hl_out.Hardlink("stolen", "../outside/secret");
  cases.push_back(hl_out);
  TarBuilder abs_hl;
  abs_hl.Hardlink("stolen", outside_ + "/secret");
  cases.push_back(abs_hl);

  for (size_t i = 0; i < cases.size(); ++i) {
    fs::remove_all(layer_);
    fs::create_directories(layer_);
    (void)Unpack(cases[i].Build());  // may succeed (landing inside) or fail
    ExpectOutsideUnchanged();
    if (HasFailure()) FAIL() << "case " << i;
  }
  EXPECT_EQ(ReadAll(layer_ + "/../outside/secret"), "do not touch");
}

// A whiteout names a sibling to hide: ".wh.." and ".wh..." would name the
// directory itself or its parent, so removing "them" would wipe the layer
// or the directory the layer lives in.
TEST_F(UnpackTest, WhiteoutsOfDotAndDotDotAreRejected) {
  for (std::string path : {".wh...", ".wh..", "d/.wh...", "d/.wh.."}) {
    fs::remove_all(layer_);
    fs::create_directories(layer_);
    TarBuilder t;
    t.File("kept", "k").Dir("d").File("d/kept", "k").File(path, "");
    auto r = Unpack(t.Build());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << path << ": " << r.status();
    ExpectOutsideUnchanged();
    EXPECT_EQ(ReadAll(layer_ + "/kept"), "k") << path;
    EXPECT_EQ(ReadAll(layer_ + "/d/kept"), "k") << path;
  }
}

// Links the archive planted, used as a hardlink target or as the parent of
// a later entry, never reach the file they point at outside.
TEST_F(UnpackTest, HardlinksToPlantedSymlinksStayInside) {
  for (std::string target : {outside_ + "/secret", std::string("../outside/secret")}) {
    fs::remove_all(layer_);
    fs::create_directories(layer_);
    TarBuilder t;
    t.Symlink("s", target).Hardlink("h", "s").File("h", "replaced");
    ASSERT_TRUE(Unpack(t.Build()).ok()) << target;
    EXPECT_EQ(ReadAll(layer_ + "/h"), "replaced");
    EXPECT_EQ(fs::read_symlink(layer_ + "/s"), target);
    ExpectOutsideUnchanged();
    fs::remove_all(layer_);
    fs::create_directories(layer_);
    TarBuilder up;  // a hardlink through a symlinked parent that climbs out
    up.Symlink("up", "../../../..").Hardlink("stolen", "up" + outside_ + "/secret");
    auto r = Unpack(up.Build());
    EXPECT_FALSE(r.ok()) << "the target resolves inside the layer, where it does not exist";
    EXPECT_FALSE(fs::exists(layer_ + "/stolen"));
    ExpectOutsideUnchanged();
  }
}

// Block devices, setgid and sticky bits, file capabilities (which chown
// clears, so they must be applied after it) and ownership of every type.
TEST_F(UnpackTest, KeepsDevicesSpecialBitsCapabilitiesAndOwnership) {
  // security.capability v2: CAP_NET_BIND_SERVICE (10) permitted, effective.
  std::string cap(20, '\0');
  uint32_t words[5] = {0x02000001, 1u << 10, 0, 0, 0};
  memcpy(cap.data(), words, sizeof words);
  TarBuilder t;
  t.Node("dev/sda", S_IFBLK, makedev(8, 0), 0660).Dir("tmp", 01777).Dir("shared", 02775, 0, 50);
  t.File("bin/sg", "sg", 02755, 0, 50).File("bin/both", "b", 06711, 3, 4);
  t.Add({.path = "bin/ping",
         .type = S_IFREG,
         .perm = 0755,
         .uid = 0,
         .gid = 0,
         .data = "ping",
         .xattrs = {{"security.capability", cap}}});
  t.Add({.path = "lnk", .type = S_IFLNK, .perm = 0777, .uid = 7, .gid = 8, .link = "/nowhere"});
  t.Add({.path = "dev/tty9",
         .type = S_IFCHR,
         .perm = 0620,
         .uid = 0,
         .gid = 5,
         .rdev = makedev(4, 9)});
  t.Add({.path = "pipe", .type = S_IFIFO, .perm = 0640, .uid = 11, .gid = 12});
  auto r = Unpack(t.Build());
  ASSERT_TRUE(r.ok()) << r.status();
  struct stat st;
  ASSERT_EQ(lstat((layer_ + "/dev/sda").c_str(), &st), 0);
  EXPECT_TRUE(S_ISBLK(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(8, 0));
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  ASSERT_EQ(lstat((layer_ + "/tmp").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777u);
  ASSERT_EQ(lstat((layer_ + "/shared").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 02775u);
  EXPECT_EQ(st.st_gid, 50u);
  ASSERT_EQ(lstat((layer_ + "/bin/sg").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 02755u);
  EXPECT_EQ(st.st_gid, 50u);
  ASSERT_EQ(lstat((layer_ + "/bin/both").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 06711u);
  EXPECT_EQ(st.st_uid, 3u);
  EXPECT_EQ(st.st_gid, 4u);
  char got[64];
  ssize_t n = lgetxattr((layer_ + "/bin/ping").c_str(), "security.capability", got, sizeof got);
  ASSERT_GT(n, 0) << strerror(errno);
  EXPECT_EQ(std::string(got, n), cap);
  ASSERT_EQ(lstat((layer_ + "/lnk").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(st.st_uid, 7u);
  EXPECT_EQ(st.st_gid, 8u);
  ASSERT_EQ(lstat((layer_ + "/dev/tty9").c_str(), &st), 0);
  EXPECT_EQ(st.st_rdev, makedev(4, 9));
  EXPECT_EQ(st.st_gid, 5u);
  EXPECT_EQ(st.st_mode & 07777, 0620u);
  ASSERT_EQ(lstat((layer_ + "/pipe").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 11u);
  EXPECT_EQ(st.st_gid, 12u);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  ExpectOutsideUnchanged();
}

TEST_F(UnpackTest, SymlinkEscapeLandsInsideTheLayer) {
  TarBuilder t;
  t.Dir(outside_).Symlink("evil", outside_).File("evil/new", "inside");
  ASSERT_TRUE(Unpack(t.Build()).ok());
  EXPECT_EQ(ReadAll(layer_ + outside_ + "/new"), "inside");
  EXPECT_FALSE(fs::exists(outside_ + "/new"));
}

TEST_F(UnpackTest, ReplacesFileWithDirectoryAndBack) {
  TarBuilder t;
  t.File("x", "file").Dir("x").File("x/y", "y").File("x", "file again");
  ASSERT_TRUE(Unpack(t.Build()).ok());
  EXPECT_EQ(ReadAll(layer_ + "/x"), "file again");
}

TEST_F(UnpackTest, CorruptStreamIsDataLoss) {
  TarBuilder t;
  t.File("a", std::string(50000, 'z'));
  std::string gz = t.Build(Compression::kGzip);
  gz.resize(gz.size() / 2);
  auto r = Unpack(gz);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
}

}  // namespace
}  // namespace peapod::images
