#include "shim/crilog.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace peapod::shim {
namespace {

// "<time> <stream> <F|P> <text>\n".
void AppendRecord(LogStream s, const timespec& now, bool full, std::string_view text,
                  std::string* out) {
  char head[80];
  int n = FormatCriTime(now, head, sizeof(head));
  n += snprintf(head + n, sizeof(head) - n, " %s %c ",
                s == LogStream::kStdout ? "stdout" : "stderr", full ? 'F' : 'P');
  out->append(head, n);
  out->append(text.data(), text.size());
  out->push_back('\n');
}

}  // namespace

int FormatCriTime(const timespec& t, char* buf, size_t size) {
  struct tm tm;
  gmtime_r(&t.tv_sec, &tm);
  return snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, t.tv_nsec);
}

std::string FormatCriTime(const timespec& t) {
  char buf[64];
  int n = FormatCriTime(t, buf, sizeof(buf));
  return std::string(buf, n);
}

void CriLogFormatter::Feed(LogStream s, std::string_view data, const timespec& now,
                           std::string* out) {
  std::string& line = pending_[static_cast<int>(s)];
  while (!data.empty()) {
    size_t nl = data.find('\n');
    std::string_view piece = data.substr(0, nl);
    // Fill the line up to kMaxLine; a full line without its newline is a P.
    size_t room = kMaxLine - line.size();
    if (piece.size() >= room && (nl == std::string_view::npos || piece.size() > room)) {
      line.append(piece.substr(0, room));
      AppendRecord(s, now, false, line, out);
      line.clear();
      data.remove_prefix(room);
      continue;
    }
    line.append(piece);
    if (nl == std::string_view::npos) return;
    AppendRecord(s, now, true, line, out);
    line.clear();
    data.remove_prefix(nl + 1);
  }
}

void CriLogFormatter::Flush(LogStream s, const timespec& now, std::string* out) {
  std::string& line = pending_[static_cast<int>(s)];
  if (line.empty()) return;
  AppendRecord(s, now, true, line, out);
  line.clear();
}

absl::StatusOr<std::string> CriLogPath(const std::string& uri) {
  if (!absl::StartsWith(uri, kCriLogScheme)) {
    return absl::InvalidArgumentError(absl::StrCat("log URI \"", uri, "\" is not crilog://"));
  }
  std::string path = uri.substr(strlen(kCriLogScheme));
  if (path.empty() || path[0] != '/' || path.back() == '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("log URI \"", uri, "\": the path must be an absolute file path"));
  }
  if (absl::StrContains(absl::StrCat(path, "/"), "/../")) {
    return absl::InvalidArgumentError(absl::StrCat("log URI \"", uri, "\": \"..\" not allowed"));
  }
  size_t slash = path.rfind('/');
  std::string dir = path.substr(0, slash == 0 ? 1 : slash);
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("log directory ", dir, " of ", path, " does not exist"));
  }
  return path;
}

absl::StatusOr<std::unique_ptr<CriLog>> CriLog::Open(const std::string& uri) {
  absl::StatusOr<std::string> path = CriLogPath(uri);
  if (!path.ok()) return path.status();
  linux::UniqueFd fd(open(path->c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  if (!fd) return absl::InternalError(absl::StrCat("open log ", *path, ": ", strerror(errno)));
  return std::unique_ptr<CriLog>(new CriLog(*std::move(path), std::move(fd)));
}

void CriLog::Append(const std::string& records) {
  const char* p = records.data();
  size_t n = records.size();
  while (n > 0 && fd_) {
    ssize_t w = write(fd_.get(), p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    n -= w;
  }
}

void CriLog::Write(LogStream s, std::string_view data) {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  std::string out;
  std::lock_guard lock(mu_);
  fmt_.Feed(s, data, now, &out);
  Append(out);
}

void CriLog::Flush(LogStream s) {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  std::string out;
  std::lock_guard lock(mu_);
  fmt_.Flush(s, now, &out);
  Append(out);
}

absl::Status CriLog::Reopen() {
  linux::UniqueFd fd(open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  if (!fd) return absl::InternalError(absl::StrCat("reopen log ", path_, ": ", strerror(errno)));
  std::lock_guard lock(mu_);
  fd_ = std::move(fd);
  return absl::OkStatus();
}

}  // namespace peapod::shim
