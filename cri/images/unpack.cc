#include "cri/images/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cri/images/digest.h"
#include "cri/images/fs_util.h"
#include "cri/util/failpoint.h"

namespace peapod::images {
namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

// Splits an archive path into components; "" and "." dropped, leading "/"
// ignored, ".." rejected.
absl::StatusOr<std::vector<std::string>> SplitEntryPath(const char* raw) {
  if (raw == nullptr) return absl::InvalidArgumentError("archive entry without a path");
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(raw, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("layer entry \"", raw, "\" escapes the layer"));
    }
    out.emplace_back(part);
  }
  return out;
}

// The decompressing reader in front of the tar reader: hashes the
// uncompressed stream (the layer's diff ID) as the tar reader pulls it.
struct TarSource {
  archive* raw = nullptr;
  Sha256 hash;
  std::vector<char> buf = std::vector<char>(256 * 1024);
  bool failed = false;
  std::string error;
};

la_ssize_t ReadDecompressed(archive* outer, void* client, const void** out) {
  auto* src = static_cast<TarSource*>(client);
  la_ssize_t n = archive_read_data(src->raw, src->buf.data(), src->buf.size());
  if (n < 0) {
    src->failed = true;
    src->error = archive_error_string(src->raw) ? archive_error_string(src->raw) : "read error";
    archive_set_error(outer, EIO, "%s", src->error.c_str());
    return -1;
  }
  src->hash.Update(src->buf.data(), n);
  *out = src->buf.data();
  return n;
}

class Unpacker {
 public:
  explicit Unpacker(int root_fd) : root_(root_fd) {}
  absl::Status Entry(archive* a, archive_entry* e);
  absl::Status Finish();
  uint64_t entries() const { return entries_; }

 private:
  absl::StatusOr<int> Parent(const std::vector<std::string>& comps);
  absl::Status ClearSlot(int pfd, const std::string& name, bool keep_dir);
  absl::Status RegularFile(archive* a, archive_entry* e, int pfd, const std::string& name);
  absl::Status Directory(archive_entry* e, int pfd, const std::string& name,
                         const std::string& path);
  absl::Status Hardlink(archive_entry* e, int pfd, const std::string& name);
  absl::Status Special(archive_entry* e, int pfd, const std::string& name);
  absl::Status Whiteout(int pfd, const std::string& name);

  int root_;
  std::string cached_path_;
  UniqueFd cached_fd_;
  struct DirTimes {
    std::string path;
    struct timespec ts[2];
  };
  std::vector<DirTimes> dir_times_;
  uint64_t entries_ = 0;
};

// Opens (creating as needed) the directory holding an entry, in the root.
absl::StatusOr<int> Unpacker::Parent(const std::vector<std::string>& comps) {
  std::string path = absl::StrJoin(comps.begin(), comps.end() - 1, "/");
  if (cached_fd_.valid() && cached_path_ == path) return cached_fd_.get();
  cached_fd_.Reset();
  int fd = OpenInRoot(root_, path, O_RDONLY | O_DIRECTORY);
  for (size_t i = 1; fd < 0 && errno == ENOENT && i < comps.size(); ++i) {
    // Walk down, creating each missing directory inside its resolved parent.
    std::string up = absl::StrJoin(comps.begin(), comps.begin() + i - 1, "/");
    UniqueFd upfd(OpenInRoot(root_, up, O_RDONLY | O_DIRECTORY));
    if (!upfd.valid()) return ErrnoStatus("open " + up, errno);
    if (mkdirat(upfd.get(), comps[i - 1].c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoStatus("mkdir " + comps[i - 1], errno);
    }
    fd = OpenInRoot(root_, path, O_RDONLY | O_DIRECTORY);
  }
  if (fd < 0) return ErrnoStatus(absl::StrCat("open parent \"", path, "\""), errno);
  cached_fd_.Reset(fd);
  cached_path_ = path;
  return fd;
}

// Makes room for a new entry `name`: removes what is there (never following
// it), except an existing directory when a directory is wanted.
absl::Status Unpacker::ClearSlot(int pfd, const std::string& name, bool keep_dir) {
  struct stat st;
  if (fstatat(pfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoStatus("stat " + name, errno);
  }
  if (keep_dir && S_ISDIR(st.st_mode)) return absl::OkStatus();
  bool was_dir = S_ISDIR(st.st_mode);
  absl::Status s = RemoveAt(pfd, name);
  if (was_dir) {
    // The removed tree may hold the cached parent; drop it (pfd stays open
    // because the caller holds it through cached_fd_ until Entry returns).
    cached_path_ = "\x01invalid";
  }
  return s;
}

absl::Status ApplyXattrs(int fd, archive_entry* e) {
  const char* name;
  const void* value;
  size_t size;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    std::string_view n(name);
    // Overlay's own attributes (redirect, metacopy, origin...) would let a
    // layer steer overlayfs; only the unpacker sets them.
    if (n.starts_with("trusted.overlay.") || n.starts_with("user.overlay.")) continue;
    if (fsetxattr(fd, name, value, size, 0) != 0) {
      return ErrnoStatus(absl::StrCat("setxattr ", name), errno);
    }
  }
  return absl::OkStatus();
}

// Ownership, then mode (chown clears setuid bits), then xattrs (chown also
// clears security.capability).
absl::Status ApplyMeta(int fd, archive_entry* e) {
  if (fchown(fd, archive_entry_uid(e), archive_entry_gid(e)) != 0) {
    return ErrnoStatus("chown", errno);
  }
  if (fchmod(fd, archive_entry_perm(e) & 07777) != 0) return ErrnoStatus("chmod", errno);
  return ApplyXattrs(fd, e);
}

void EntryTimes(archive_entry* e, struct timespec ts[2]) {
  ts[0].tv_sec = archive_entry_atime_is_set(e) ? archive_entry_atime(e) : archive_entry_mtime(e);
  ts[0].tv_nsec = archive_entry_atime_is_set(e) ? archive_entry_atime_nsec(e) : 0;
  ts[1].tv_sec = archive_entry_mtime(e);
  ts[1].tv_nsec = archive_entry_mtime_nsec(e);
}

absl::Status Unpacker::RegularFile(archive* a, archive_entry* e, int pfd, const std::string& name) {
  if (absl::Status s = ClearSlot(pfd, name, false); !s.ok()) return s;
  UniqueFd fd(
      openat(pfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return ErrnoStatus("create " + name, errno);
  const void* buf;
  size_t size;
  la_int64_t offset;
  int r;
  while ((r = archive_read_data_block(a, &buf, &size, &offset)) == ARCHIVE_OK) {
    const char* p = static_cast<const char*>(buf);
    while (size > 0) {
      ssize_t n = pwrite(fd.get(), p, size, offset);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus("write " + name, errno);
      p += n;
      offset += n;
      size -= n;
    }
  }
  if (r != ARCHIVE_EOF) {
    return absl::DataLossError(absl::StrCat("reading ", name, ": ", archive_error_string(a)));
  }
  if (ftruncate(fd.get(), archive_entry_size(e)) != 0) return ErrnoStatus("truncate", errno);
  if (absl::Status s = ApplyMeta(fd.get(), e); !s.ok()) return s;
  struct timespec ts[2];
  EntryTimes(e, ts);
  futimens(fd.get(), ts);
  return absl::OkStatus();
}

absl::Status Unpacker::Directory(archive_entry* e, int pfd, const std::string& name,
                                 const std::string& path) {
  UniqueFd fd;
  if (name.empty()) {  // the layer root itself ("./")
    fd.Reset(dup(root_));
  } else {
    if (absl::Status s = ClearSlot(pfd, name, true); !s.ok()) return s;
    if (mkdirat(pfd, name.c_str(), 0700) != 0 && errno != EEXIST) {
      return ErrnoStatus("mkdir " + name, errno);
    }
    fd.Reset(openat(pfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  }
  if (!fd.valid()) return ErrnoStatus("open dir " + name, errno);
  if (absl::Status s = ApplyMeta(fd.get(), e); !s.ok()) return s;
  DirTimes t{path, {}};
  EntryTimes(e, t.ts);
  dir_times_.push_back(std::move(t));
  return absl::OkStatus();
}

absl::Status Unpacker::Hardlink(archive_entry* e, int pfd, const std::string& name) {
  auto target = SplitEntryPath(archive_entry_hardlink(e));
  if (!target.ok()) return target.status();
  std::string tpath = absl::StrJoin(*target, "/");
  // O_PATH|O_NOFOLLOW: the link is to the entry itself, even a symlink.
  UniqueFd tfd(OpenInRoot(root_, tpath, O_PATH | O_NOFOLLOW));
  if (!tfd.valid()) return ErrnoStatus(absl::StrCat("hardlink target \"", tpath, "\""), errno);
  if (absl::Status s = ClearSlot(pfd, name, false); !s.ok()) return s;
  if (linkat(tfd.get(), "", pfd, name.c_str(), AT_EMPTY_PATH) != 0) {
    return ErrnoStatus(absl::StrCat("link ", name, " to ", tpath), errno);
  }
  return absl::OkStatus();
}

// Symlinks, device nodes and FIFOs.
absl::Status Unpacker::Special(archive_entry* e, int pfd, const std::string& name) {
  if (absl::Status s = ClearSlot(pfd, name, false); !s.ok()) return s;
  mode_t type = archive_entry_filetype(e);
  mode_t perm = archive_entry_perm(e) & 07777;
  if (type == AE_IFLNK) {
    const char* target = archive_entry_symlink(e);
    if (target == nullptr) return absl::InvalidArgumentError("symlink without target: " + name);
    if (symlinkat(target, pfd, name.c_str()) != 0) return ErrnoStatus("symlink " + name, errno);
    cached_path_ = "\x01invalid";  // a symlink may now shadow a cached path
  } else {
    if (mknodat(pfd, name.c_str(), type | perm, archive_entry_rdev(e)) != 0) {
      return ErrnoStatus("mknod " + name, errno);
    }
  }
  if (fchownat(pfd, name.c_str(), archive_entry_uid(e), archive_entry_gid(e),
               AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus("chown " + name, errno);
  }
  if (type != AE_IFLNK && fchmodat(pfd, name.c_str(), perm, 0) != 0) {
    return ErrnoStatus("chmod " + name, errno);
  }
  struct timespec ts[2];
  EntryTimes(e, ts);
  utimensat(pfd, name.c_str(), ts, AT_SYMLINK_NOFOLLOW);
  return absl::OkStatus();
}

absl::Status Unpacker::Whiteout(int pfd, const std::string& name) {
  if (name == kOpaqueMarker) {
    if (fsetxattr(pfd, "trusted.overlay.opaque", "y", 1, 0) != 0) {
      return ErrnoStatus("set opaque xattr", errno);
    }
    return absl::OkStatus();
  }
  std::string hidden = name.substr(kWhiteoutPrefix.size());
  // ".wh.." and ".wh..." would "hide" the directory itself or its parent:
  // removing that would empty the layer or whatever holds it.
  if (hidden == "." || hidden == "..") {
    return absl::InvalidArgumentError(
        absl::StrCat("layer whiteout \"", name, "\" would remove \"", hidden, "\""));
  }
  if (hidden.empty() || hidden.starts_with(kWhiteoutPrefix)) {
    return absl::OkStatus();  // other ".wh..wh." markers (hardlink dirs) carry nothing
  }
  if (absl::Status s = ClearSlot(pfd, hidden, false); !s.ok()) return s;
  if (mknodat(pfd, hidden.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0) {
    return ErrnoStatus("whiteout " + hidden, errno);
  }
  return absl::OkStatus();
}

absl::Status Unpacker::Entry(archive* a, archive_entry* e) {
  ++entries_;
  auto comps = SplitEntryPath(archive_entry_pathname(e));
  if (!comps.ok()) return comps.status();
  mode_t type = archive_entry_filetype(e);
  if (comps->empty()) {
    if (type != AE_IFDIR) return absl::InvalidArgumentError("layer root entry is not a directory");
    return Directory(e, root_, "", "");
  }
  auto pfd = Parent(*comps);
  if (!pfd.ok()) return pfd.status();
  const std::string& name = comps->back();
  if (name.starts_with(kWhiteoutPrefix)) return Whiteout(*pfd, name);
  if (archive_entry_hardlink(e) != nullptr) return Hardlink(e, *pfd, name);
  switch (type) {
    case AE_IFREG:
      return RegularFile(a, e, *pfd, name);
    case AE_IFDIR:
      return Directory(e, *pfd, name, absl::StrJoin(*comps, "/"));
    case AE_IFLNK:
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
      return Special(e, *pfd, name);
    default:
      return absl::OkStatus();  // sockets and unknown types are skipped
  }
}

// Directory times last: creating children changed them.
absl::Status Unpacker::Finish() {
  for (auto it = dir_times_.rbegin(); it != dir_times_.rend(); ++it) {
    UniqueFd fd(OpenInRoot(root_, it->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
    if (fd.valid()) futimens(fd.get(), it->ts);
  }
  return absl::OkStatus();
}

absl::StatusOr<ArchivePtr> OpenDecompressor(int in_fd) {
  ArchivePtr raw(archive_read_new());
  archive_read_support_filter_gzip(raw.get());
  archive_read_support_filter_zstd(raw.get());
  archive_read_support_format_raw(raw.get());
  archive_entry* entry;
  if (archive_read_open_fd(raw.get(), in_fd, 256 * 1024) != ARCHIVE_OK ||
      archive_read_next_header(raw.get(), &entry) != ARCHIVE_OK) {
    const char* err = archive_error_string(raw.get());
    return absl::DataLossError(absl::StrCat("layer stream: ", err ? err : "empty stream"));
  }
  return raw;
}

}  // namespace

absl::StatusOr<UnpackResult> UnpackLayer(int in_fd, int dir_fd) {
  auto raw = OpenDecompressor(in_fd);
  if (!raw.ok()) return raw.status();
  TarSource src;
  src.raw = raw->get();
  ArchivePtr tar(archive_read_new());
  archive_read_support_format_tar(tar.get());
  if (archive_read_open(tar.get(), &src, nullptr, ReadDecompressed, nullptr) != ARCHIVE_OK) {
    return absl::DataLossError(absl::StrCat("layer tar: ", archive_error_string(tar.get())));
  }
  Unpacker unpacker(dir_fd);
  archive_entry* entry;
  int r;
  while ((r = archive_read_next_header(tar.get(), &entry)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
    if (absl::Status s = unpacker.Entry(tar.get(), entry); !s.ok()) return s;
    if (unpacker.entries() == 2) cri::Failpoint("unpack:mid-layer");
  }
  if (r != ARCHIVE_EOF) {
    const char* err = archive_error_string(tar.get());
    return absl::DataLossError(absl::StrCat("layer tar: ", err ? err : "truncated"));
  }
  // The diff ID covers the whole stream, including padding after the tar end.
  const void* out;
  la_ssize_t n;
  while ((n = ReadDecompressed(tar.get(), &src, &out)) > 0) {
  }
  if (n < 0 || src.failed) return absl::DataLossError("layer stream: " + src.error);
  if (absl::Status s = unpacker.Finish(); !s.ok()) return s;
  UnpackResult result;
  result.tar_bytes = src.hash.size();
  result.diff_id = src.hash.Digest();
  result.entries = unpacker.entries();
  return result;
}

}  // namespace peapod::images
