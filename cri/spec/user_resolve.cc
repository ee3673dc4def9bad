#include "cri/spec/user_resolve.h"
#include "cri/spec/errno_status.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace peapod::cri::spec {
namespace {

constexpr int64_t kMaxId = int64_t{1} << 31;  // ids at or above are refused

struct PasswdEntry {
  std::string name;
  int64_t uid = 0, gid = 0;
  std::string home;
};

struct GroupEntry {
  std::string name;
  int64_t gid = 0;
  std::vector<std::string> members;
};

// The lines of an /etc/passwd or /etc/group with at least `fields` fields;
// malformed lines and comments are skipped as libc does.
std::vector<std::vector<std::string>> Records(const std::string& text, size_t fields) {
  std::vector<std::vector<std::string>> out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f = absl::StrSplit(line, ':');
    if (f.size() >= fields) out.push_back(std::move(f));
  }
  return out;
}

std::vector<PasswdEntry> ParsePasswd(const std::string& text) {
  std::vector<PasswdEntry> out;
  for (auto& f : Records(text, 7)) {
    PasswdEntry e{f[0], 0, 0, f[5]};
    if (absl::SimpleAtoi(f[2], &e.uid) && absl::SimpleAtoi(f[3], &e.gid)) out.push_back(e);
  }
  return out;
}

std::vector<GroupEntry> ParseGroup(const std::string& text) {
  std::vector<GroupEntry> out;
  for (auto& f : Records(text, 4)) {
    GroupEntry e{f[0], 0, {}};
    if (!absl::SimpleAtoi(f[2], &e.gid)) continue;
    for (absl::string_view m : absl::StrSplit(f[3], ',', absl::SkipEmpty()))
      e.members.emplace_back(m);
    out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<uint32_t> CheckId(int64_t id, absl::string_view field) {
  if (id < 0 || id >= kMaxId) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": id ", id, " is outside [0, 2147483647]"));
  }
  return static_cast<uint32_t>(id);
}

bool IsNumeric(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

absl::StatusOr<uint32_t> NumericId(absl::string_view token, absl::string_view field) {
  int64_t id = kMaxId;
  if (token.size() <= 10 && !absl::SimpleAtoi(token, &id)) id = kMaxId;
  return CheckId(id, field);
}

// The image's user and group databases, read inside its rootfs.
struct Databases {
  std::vector<PasswdEntry> passwd;
  std::vector<GroupEntry> group;
};

absl::StatusOr<Databases> LoadDatabases(const std::string& rootfs) {
  Databases db;
  if (rootfs.empty()) return db;
  absl::StatusOr<std::optional<std::string>> passwd = ReadFileInRoot(rootfs, "/etc/passwd");
  if (!passwd.ok()) return passwd.status();
  if (*passwd) db.passwd = ParsePasswd(**passwd);
  absl::StatusOr<std::optional<std::string>> group = ReadFileInRoot(rootfs, "/etc/group");
  if (!group.ok()) return group.status();
  if (*group) db.group = ParseGroup(**group);
  return db;
}

const PasswdEntry* FindUser(const Databases& db, absl::string_view name, int64_t uid) {
  for (const PasswdEntry& e : db.passwd) {
    if (name.empty() ? e.uid == uid : e.name == name) return &e;
  }
  return nullptr;
}

absl::StatusOr<uint32_t> GroupId(const Databases& db, absl::string_view token,
                                 absl::string_view field) {
  if (IsNumeric(token)) return NumericId(token, field);
  for (const GroupEntry& e : db.group) {
    if (e.name == token) return CheckId(e.gid, field);
  }
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": no group \"", token, "\" in the image's /etc/group"));
}

// The user and group tokens to resolve, and the field they came from.
struct UserRequest {
  std::string user, group;
  std::string field;
};

absl::StatusOr<UserRequest> Request(const SecurityInput& sc, const std::string& image_user) {
  if (sc.run_as_group && !sc.run_as_user && sc.run_as_username.empty()) {
    return absl::InvalidArgumentError("run_as_group: set without run_as_user or run_as_username");
  }
  if (sc.run_as_user) {
    absl::StatusOr<uint32_t> uid = CheckId(*sc.run_as_user, "run_as_user");
    if (!uid.ok()) return uid.status();
    return UserRequest{absl::StrCat(*uid), "", "run_as_user"};
  }
  if (!sc.run_as_username.empty()) return UserRequest{sc.run_as_username, "", "run_as_username"};
  std::pair<std::string, std::string> parts = absl::StrSplit(image_user, absl::MaxSplits(':', 1));
  if (parts.first.empty() && !parts.second.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("image USER \"", image_user, "\": no user"));
  }
  UserRequest req{std::move(parts.first), std::move(parts.second), "image USER"};
  if (req.user.empty()) req.user.push_back('0');
  return req;
}

// Groups listing `name` as a member, then the requested ones; no repeats.
absl::StatusOr<std::vector<uint32_t>> Supplementary(const Databases& db, const std::string& name,
                                                    const std::vector<int64_t>& requested) {
  std::vector<uint32_t> out;
  auto add = [&out](uint32_t g) {
    if (std::find(out.begin(), out.end(), g) == out.end()) out.push_back(g);
  };
  if (!name.empty()) {
    for (const GroupEntry& e : db.group) {
      if (std::find(e.members.begin(), e.members.end(), name) == e.members.end()) continue;
      if (absl::StatusOr<uint32_t> g = CheckId(e.gid, "/etc/group"); g.ok()) add(*g);
    }
  }
  for (int64_t r : requested) {
    absl::StatusOr<uint32_t> g = CheckId(r, "supplemental_groups");
    if (!g.ok()) return g.status();
    add(*g);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::optional<std::string>> ReadFileInRoot(const std::string& root,
                                                          const std::string& path,
                                                          size_t max_bytes) {
  int dir = open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return ErrnoStatus(errno, absl::StrCat("open rootfs ", root));
  absl::Cleanup close_dir = [dir] { close(dir); };
  struct open_how how = {};
  how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  int fd = static_cast<int>(syscall(SYS_openat2, dir, path.c_str(), &how, sizeof how));
  if (fd < 0 && errno == ENOENT) return std::nullopt;
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("openat2 ", path, " in ", root));
  absl::Cleanup close_fd = [fd] { close(fd); };
  struct stat st;
  if (fstat(fd, &st) != 0) return ErrnoStatus(errno, absl::StrCat("fstat ", path));
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(path, " in ", root, " is not a regular file"));
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " in ", root, " is larger than ", max_bytes, " bytes"));
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, absl::StrCat("read ", path));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  return text;
}

absl::StatusOr<ResolvedUser> ResolveUser(const std::string& rootfs, const SecurityInput& security,
                                         const std::string& image_user) {
  absl::StatusOr<UserRequest> req = Request(security, image_user);
  if (!req.ok()) return req.status();
  absl::StatusOr<Databases> db = LoadDatabases(rootfs);
  if (!db.ok()) return db.status();
  ResolvedUser out;
  const PasswdEntry* entry = nullptr;
  if (IsNumeric(req->user)) {
    absl::StatusOr<uint32_t> uid = NumericId(req->user, req->field);
    if (!uid.ok()) return uid.status();
    out.uid = *uid;
    entry = FindUser(*db, "", out.uid);
  } else {
    entry = FindUser(*db, req->user, 0);
    if (entry == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(req->field, ": no user \"", req->user, "\" in the image's /etc/passwd"));
    }
    absl::StatusOr<uint32_t> uid = CheckId(entry->uid, req->field);
    if (!uid.ok()) return uid.status();
    out.uid = *uid;
  }
  if (entry != nullptr) {
    out.name = entry->name;
    out.home = entry->home;
  }
  if (!req->group.empty()) {
    absl::StatusOr<uint32_t> gid = GroupId(*db, req->group, req->field);
    if (!gid.ok()) return gid.status();
    out.gid = *gid;
  } else if (entry != nullptr) {
    absl::StatusOr<uint32_t> gid = CheckId(entry->gid, "/etc/passwd group");
    if (!gid.ok()) return gid.status();
    out.gid = *gid;
  }
  if (security.run_as_group) {
    absl::StatusOr<uint32_t> gid = CheckId(*security.run_as_group, "run_as_group");
    if (!gid.ok()) return gid.status();
    out.gid = *gid;
  }
  absl::StatusOr<std::vector<uint32_t>> groups =
      Supplementary(*db, out.name, security.supplemental_groups);
  if (!groups.ok()) return groups.status();
  out.additional_gids = *std::move(groups);
  return out;
}

}  // namespace peapod::cri::spec
