// Test helper: builds layer tars in memory (libarchive's write API), hostile
// ones included, optionally gzip- or zstd-compressed.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace peapod::images::testing {

enum class Compression { kNone, kGzip, kZstd };

class TarBuilder {
 public:
  struct Entry {
    std::string path;
    mode_t type = 0;  // S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO
    mode_t perm = 0644;
    uid_t uid = 0;
    gid_t gid = 0;
    std::string data;      // file contents
    std::string link;      // symlink target
    std::string hardlink;  // hardlink target
    dev_t rdev = 0;
    std::vector<std::pair<std::string, std::string>> xattrs;
  };

  // Adds a regular file.
  TarBuilder& File(std::string path, std::string data, mode_t perm = 0644, uid_t uid = 0,
                   gid_t gid = 0);
  // Adds a directory.
  TarBuilder& Dir(std::string path, mode_t perm = 0755, uid_t uid = 0, gid_t gid = 0);
  // Adds a symlink.
  TarBuilder& Symlink(std::string path, std::string target);
  // Adds a hardlink to an earlier entry.
  TarBuilder& Hardlink(std::string path, std::string target);
  // Adds a device node or FIFO.
  TarBuilder& Node(std::string path, mode_t type, dev_t rdev, mode_t perm = 0600);
  // Adds any entry.
  TarBuilder& Add(Entry e);

  // The archive bytes (pax format).
  std::string Build(Compression c = Compression::kNone) const;

 private:
  std::vector<Entry> entries_;
};

// Writes `data` to a new temp file and returns an fd open for reading at 0.
int TempFdWith(const std::string& data);

// Creates a fresh temp directory and returns its path.
std::string MakeTempDir(const std::string& prefix = "peapod-images-test");

}  // namespace peapod::images::testing
