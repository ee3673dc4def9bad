#include "cri/images/test_tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>

namespace peapod::images::testing {

TarBuilder& TarBuilder::File(std::string path, std::string data, mode_t perm, uid_t uid,
                             gid_t gid) {
  return Add({.path = std::move(path),
              .type = S_IFREG,
              .perm = perm,
              .uid = uid,
              .gid = gid,
              .data = std::move(data)});
}

TarBuilder& TarBuilder::Dir(std::string path, mode_t perm, uid_t uid, gid_t gid) {
  return Add({.path = std::move(path), .type = S_IFDIR, .perm = perm, .uid = uid, .gid = gid});
}

TarBuilder& TarBuilder::Symlink(std::string path, std::string target) {
  return Add({.path = std::move(path), .type = S_IFLNK, .perm = 0777, .link = std::move(target)});
}

TarBuilder& TarBuilder::Hardlink(std::string path, std::string target) {
  return Add({.path = std::move(path), .type = S_IFREG, .hardlink = std::move(target)});
}

TarBuilder& TarBuilder::Node(std::string path, mode_t type, dev_t rdev, mode_t perm) {
  return Add({.path = std::move(path), .type = type, .perm = perm, .rdev = rdev});
}

TarBuilder& TarBuilder::Add(Entry e) {
  entries_.push_back(std::move(e));
  return *this;
}

static la_ssize_t AppendToString(archive*, void* client, const void* buf, size_t n) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

std::string TarBuilder::Build(Compression c) const {
  std::string out;
  archive* a = archive_write_new();
  archive_write_set_format_pax(a);
  if (c == Compression::kGzip) archive_write_add_filter_gzip(a);
  if (c == Compression::kZstd) archive_write_add_filter_zstd(a);
  archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open(a, &out, nullptr, AppendToString, nullptr);
  for (const Entry& e : entries_) {
    archive_entry* ae = archive_entry_new();
    archive_entry_set_pathname(ae, e.path.c_str());
    archive_entry_set_filetype(ae, e.type);
    archive_entry_set_perm(ae, e.perm);
    archive_entry_set_uid(ae, e.uid);
    archive_entry_set_gid(ae, e.gid);
    archive_entry_set_mtime(ae, 1700000000, 0);
    if (!e.link.empty()) archive_entry_set_symlink(ae, e.link.c_str());
    if (!e.hardlink.empty()) archive_entry_set_hardlink(ae, e.hardlink.c_str());
    if (e.rdev != 0) archive_entry_set_rdev(ae, e.rdev);
    for (const auto& [k, v] : e.xattrs)
      archive_entry_xattr_add_entry(ae, k.c_str(), v.data(), v.size());
    archive_entry_set_size(ae, e.hardlink.empty() ? e.data.size() : 0);
    if (archive_write_header(a, ae) != ARCHIVE_OK) {
      throw std::runtime_error(archive_error_string(a));
    }
    if (!e.data.empty()) archive_write_data(a, e.data.data(), e.data.size());
    archive_entry_free(ae);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

int TempFdWith(const std::string& data) {
  char name[] = "/tmp/peapod-tar-XXXXXX";
  int fd = mkstemp(name);
  if (fd < 0) throw std::runtime_error("mkstemp");
  unlink(name);
  if (write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
    throw std::runtime_error("write temp");
  }
  lseek(fd, 0, SEEK_SET);
  return fd;
}

std::string MakeTempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp");
  return tmpl;
}

}  // namespace peapod::images::testing
