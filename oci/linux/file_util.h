// Small whole-file helpers with errno text in their errors.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace peapod::linux {

// Opens an existing file O_WRONLY and writes `text` in one write(2).
absl::Status WriteFileOnce(const std::string& path, absl::string_view text);
// Reads a whole file (at most max_bytes).
absl::StatusOr<std::string> ReadWholeFile(const std::string& path, size_t max_bytes = 1 << 20);
// Writes `text` to `path` atomically: temp file in the same dir, fsync,
// rename, fsync of the directory.
absl::Status WriteFileAtomic(const std::string& path, absl::string_view text, mode_t mode = 0600);
// Replaces `path` with `text` atomically (temp file in the same dir, rename)
// but without fsync: readers see the old or the new file, never a torn one,
// and nothing waits for the disk. For state that does not outlive a reboot,
// such as the launcher's records under --root (runc does not fsync them
// either).
absl::Status ReplaceFile(const std::string& path, absl::string_view text, mode_t mode = 0600);

// Process facts read from /proc/<pid>/stat.
struct ProcStat {
  char state = '?';         // R S D Z T ...
  uint64_t start_time = 0;  // field 22, clock ticks since boot
};
// Reads /proc/<pid>/stat; NotFound when the process is gone.
absl::StatusOr<ProcStat> ReadProcStat(pid_t pid);

}  // namespace peapod::linux
