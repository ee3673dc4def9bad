// The CRI log format (shim/crilog.h): records, partial lines, flushing,
// bad URIs, reopening after a rotation, and a Stdio feeding a log.
#include "shim/crilog.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "gtest/gtest.h"
#include "shim/stdio.h"

namespace peapod::shim {
namespace {

namespace fs = std::filesystem;

constexpr timespec kT{1764358200, 5000};  // 2025-11-28T19:30:00.000005000Z
constexpr char kStamp[] = "2025-11-28T19:30:00.000005000Z";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::string Slurp(const std::string& path) {
  std::ifstream f(path);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/peapod-crilog-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(CriLogFormatterTest, TimeIsRfc3339NanoUtcWithNineDigits) {
  EXPECT_EQ(FormatCriTime(kT), kStamp);
  EXPECT_EQ(FormatCriTime(timespec{0, 0}), "1970-01-01T00:00:00.000000000Z");
}

TEST(CriLogFormatterTest, OneRecordPerLineAcrossChunksAndStreams) {
  CriLogFormatter f;
  std::string out;
  f.Feed(LogStream::kStdout, "hel", kT, &out);
  EXPECT_EQ(out, "");  // no newline yet
  f.Feed(LogStream::kStderr, "oops\n", kT, &out);
  f.Feed(LogStream::kStdout, "lo\nworld\n\npart", kT, &out);
  std::string s = kStamp;
  EXPECT_EQ(Lines(out), (std::vector<std::string>{s + " stderr F oops", s + " stdout F hello",
                                                  s + " stdout F world", s + " stdout F "}));
  out.clear();
  f.Flush(LogStream::kStderr, kT, &out);
  EXPECT_EQ(out, "");  // nothing pending on stderr
  f.Flush(LogStream::kStdout, kT, &out);
  EXPECT_EQ(out, s + " stdout F part\n");
  out.clear();
  f.Flush(LogStream::kStdout, kT, &out);
  EXPECT_EQ(out, "");  // flushed once
}

TEST(CriLogFormatterTest, LongLinesSplitIntoPartialRecords) {
  const size_t max = CriLogFormatter::kMaxLine;
  CriLogFormatter f;
  std::string out;
  std::string line(2 * max + 10, 'x');
  // Fed in odd-sized chunks so splits fall inside chunks.
  std::string data = line + "\n";
  for (size_t i = 0; i < data.size(); i += 1000) {
    f.Feed(LogStream::kStdout, std::string_view(data).substr(i, 1000), kT, &out);
  }
  std::vector<std::string> lines = Lines(out);
  ASSERT_EQ(lines.size(), 3u);
  std::string p = std::string(kStamp) + " stdout P ";
  std::string full = std::string(kStamp) + " stdout F ";
  EXPECT_EQ(lines[0], p + std::string(max, 'x'));
  EXPECT_EQ(lines[1], p + std::string(max, 'x'));
  EXPECT_EQ(lines[2], full + std::string(10, 'x'));
  // Exactly kMaxLine bytes and a newline: one full record.
  out.clear();
  f.Feed(LogStream::kStderr, std::string(max, 'y') + "\n", kT, &out);
  EXPECT_EQ(out, std::string(kStamp) + " stderr F " + std::string(max, 'y') + "\n");
}

TEST(CriLogTest, BadUrisAreRefusedNamingTheProblem) {
  EXPECT_FALSE(CriLogPath("file:///tmp/x").ok());
  absl::StatusOr<std::string> rel = CriLogPath("crilog://relative/x.log");
  EXPECT_FALSE(rel.ok());
  EXPECT_NE(rel.status().message().find("absolute"), std::string::npos) << rel.status();
  EXPECT_FALSE(CriLogPath("crilog:///tmp/../etc/x.log").ok());
  EXPECT_FALSE(CriLogPath("crilog:///tmp/").ok());
  absl::StatusOr<std::string> missing = CriLogPath("crilog:///nonexistent-dir-peapod/0.log");
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent-dir-peapod"), std::string::npos)
      << missing.status();
  absl::StatusOr<std::string> ok = CriLogPath("crilog:///tmp/c.log");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(*ok, "/tmp/c.log");
}

TEST(CriLogTest, AppendsWithMode0640AndReopensAfterRename) {
  TempDir dir;
  std::string path = dir.path() + "/0.log";
  {
    std::ofstream(path) << "old\n";  // O_APPEND: kept
  }
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  absl::StatusOr<std::unique_ptr<CriLog>> log = CriLog::Open("crilog://" + path);
  ASSERT_TRUE(log.ok()) << log.status();
  (*log)->Write(LogStream::kStdout, "one\n");
  fs::rename(path, path + ".1");
  (*log)->Write(LogStream::kStdout, "two\n");  // still into the renamed file
  ASSERT_TRUE((*log)->Reopen().ok());
  (*log)->Write(LogStream::kStderr, "three");
  (*log)->Flush(LogStream::kStderr);
  std::vector<std::string> rotated = Lines(Slurp(path + ".1"));
  ASSERT_EQ(rotated.size(), 3u);
  EXPECT_EQ(rotated[0], "old");
  EXPECT_NE(rotated[1].find(" stdout F one"), std::string::npos) << rotated[1];
  EXPECT_NE(rotated[2].find(" stdout F two"), std::string::npos) << rotated[2];
  std::vector<std::string> fresh = Lines(Slurp(path));
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_NE(fresh[0].find(" stderr F three"), std::string::npos) << fresh[0];
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
}

TEST(CriLogTest, StdioCopiesBothStreamsOfAProcessIntoTheLog) {
  TempDir dir;
  std::string uri = "crilog://" + dir.path() + "/c.log";
  absl::StatusOr<std::unique_ptr<Stdio>> io = Stdio::Open(StdioPaths{"", uri, uri, false});
  ASSERT_TRUE(io.ok()) << io.status();
  ASSERT_GE((*io)->stdout_fd(), 0);
  ASSERT_GE((*io)->stderr_fd(), 0);
  // The "process": our writes on its fds, then its end of them closes.
  int out = dup((*io)->stdout_fd()), err = dup((*io)->stderr_fd());
  ASSERT_TRUE((*io)->AfterSpawn().ok());
  ASSERT_EQ(write(out, "a\nb", 3), 3);
  ASSERT_EQ(write(err, "e1\n", 3), 3);
  close(out);
  close(err);
  (*io)->WaitOutput(5000);
  std::string text = Slurp(dir.path() + "/c.log");
  EXPECT_NE(text.find(" stdout F a\n"), std::string::npos) << text;
  EXPECT_NE(text.find(" stdout F b\n"), std::string::npos) << text;  // flushed at EOF
  EXPECT_NE(text.find(" stderr F e1\n"), std::string::npos) << text;
  EXPECT_EQ(Lines(text).size(), 3u) << text;
}

TEST(CriLogTest, StdioRefusesAMismatchedStderr) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<Stdio>> io = Stdio::Open(
      StdioPaths{"", "crilog://" + dir.path() + "/a.log", dir.path() + "/b.log", false});
  ASSERT_FALSE(io.ok());
  EXPECT_NE(io.status().message().find("stderr"), std::string::npos) << io.status();
  io = Stdio::Open(StdioPaths{"", "crilog:///no-such-dir-peapod/a.log", "", false});
  ASSERT_FALSE(io.ok());
  EXPECT_NE(io.status().message().find("/no-such-dir-peapod"), std::string::npos) << io.status();
}

}  // namespace
}  // namespace peapod::shim
