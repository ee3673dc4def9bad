// CRI container logs: what the kubelet reads (`kubectl logs`, `crictl logs`).
// One record per line in one file for both streams:
//   <time> <stdout|stderr> <F|P> <text>\n
// time: RFC3339Nano in UTC with all nine fraction digits
// ("2026-11-28T19:30:00.123456789Z"). A line longer than kMaxLine bytes is
// cut into P (partial) records of kMaxLine bytes and ends with an F (full)
// record; a last line without a newline is written as F when its stream
// ends. Stdio names such a log as stdout `crilog:///abs/path` (stderr the
// same URI or empty).
#pragma once

#include <time.h>

#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "oci/linux/unique_fd.h"

namespace peapod::shim {

inline constexpr char kCriLogScheme[] = "crilog://";
// A CRI container's stdin fifo, held open by the shim (stdio.h).
inline constexpr char kCriStdinScheme[] = "cristdin://";

enum class LogStream { kStdout = 0, kStderr = 1 };

// The pure part: bytes of two streams in, CRI records out. Keeps each
// stream's unterminated line between calls.
class CriLogFormatter {
 public:
  static constexpr size_t kMaxLine = 16 * 1024;

  // Appends to *out the records of every line `data` completes (and P
  // records for lines grown past kMaxLine), stamped `now`.
  void Feed(LogStream s, std::string_view data, const timespec& now, std::string* out);
  // The stream ended: its unterminated line (if any) becomes an F record.
  void Flush(LogStream s, const timespec& now, std::string* out);

 private:
  std::string pending_[2];
};

// "2026-11-28T19:30:00.123456789Z".
std::string FormatCriTime(const timespec& t);
// The same into buf (at least 31 bytes); returns its length.
int FormatCriTime(const timespec& t, char* buf, size_t size);

// The log file path of a crilog:// URI, checked: absolute, no "..", and the
// parent directory exists (the error names it).
absl::StatusOr<std::string> CriLogPath(const std::string& uri);

// A CRI log file fed by one process's streams; thread-safe.
class CriLog {
 public:
  // Opens (O_APPEND|O_CREAT, 0640) the file a crilog:// URI names.
  static absl::StatusOr<std::unique_ptr<CriLog>> Open(const std::string& uri);

  // Formats and appends; write errors (a full disk) drop the records.
  void Write(LogStream s, std::string_view data);
  // Writes a stream's last unterminated line.
  void Flush(LogStream s);
  // Closes the file and opens the path again: after a rotation (rename),
  // new records go to a new file.
  absl::Status Reopen();
  const std::string& path() const { return path_; }

 private:
  CriLog(std::string path, linux::UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  void Append(const std::string& records);

  const std::string path_;
  std::mutex mu_;
  linux::UniqueFd fd_;
  CriLogFormatter fmt_;
};

}  // namespace peapod::shim
