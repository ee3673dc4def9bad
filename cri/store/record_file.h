// Durable files for the record store: every write goes to a temp file, is
// fsynced, renamed over the target, and the directory is fsynced, so a crash
// leaves either the old record or the new one, never a torn one.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace peapod::cri {

// Creates `dir` (and parents) with mode 0700 if missing.
absl::Status EnsureDir(const std::string& dir);
// Atomically replaces dir/name with `contents` (mode 0600).
absl::Status WriteFileAtomic(const std::string& dir, const std::string& name,
                             const std::string& contents);
// Removes dir/name and fsyncs dir; a missing file is not an error.
absl::Status RemoveFileDurable(const std::string& dir, const std::string& name);
// Names of regular files in `dir` ending in `suffix`, sorted.
absl::StatusOr<std::vector<std::string>> ListFiles(const std::string& dir,
                                                   const std::string& suffix);
// Deletes temp files (".*.tmp") a crash may have left in `dir`.
absl::Status RemoveTempFiles(const std::string& dir);
// The whole content of a (small) file.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path);

}  // namespace peapod::cri
