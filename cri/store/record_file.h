// Files for the record store: every write goes to a temp file and is renamed
// over the target, so a crash leaves either the old record or the new one,
// never a torn one; fsyncs (of the file, of the directory) make it durable.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace peapod::cri {

// Creates `dir` (and parents) with mode 0700 if missing.
absl::Status EnsureDir(const std::string& dir);
// Atomically replaces dir/name with `contents` (mode 0600), durably: the
// data and the directory entry are fsynced.
absl::Status WriteFileAtomic(const std::string& dir, const std::string& name,
                             const std::string& contents);

// The steps of WriteFileAtomic, for callers that keep slow disk waits out of
// their locks or overlap them with other work:
// WriteTempFile writes `contents` to a new, uniquely named temp file in `dir`
// (".<name>.<n>.tmp", so concurrent writers never share one) and, with
// `sync`, fsyncs it; it returns the temp file's path.
absl::StatusOr<std::string> WriteTempFile(const std::string& dir, const std::string& name,
                                          const std::string& contents, bool sync);
// Renames a WriteTempFile result over dir/name (the temp file is removed if
// that fails). A crash leaves the old file or the new one, never a mix.
absl::Status CommitTempFile(const std::string& tmp, const std::string& dir,
                            const std::string& name);
// fsyncs dir/name and `dir`: a file written without `sync` and just created
// becomes durable, name and content.
absl::Status SyncFileAndDir(const std::string& dir, const std::string& name);
// fsyncs dir/name only (its content reaches the disk; not its name).
absl::Status SyncFile(const std::string& dir, const std::string& name);
// fsyncs the directory `dir` (a rename or unlink in it becomes durable).
absl::Status SyncDir(const std::string& dir);

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
