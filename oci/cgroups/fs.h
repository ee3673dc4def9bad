// File access inside cgroup directories.
//
// Every read and write goes through a directory fd of the cgroup opened with
// O_NOFOLLOW and then openat(O_NOFOLLOW) of a plain file name, so a symlink
// planted in a cgroup directory (or a key like "../cgroup.procs") is never
// followed. Errors keep errno text and name the file.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "oci/linux/unique_fd.h"

namespace peapod::cgroups {

// An owned file descriptor, closed on destruction.
using UniqueFd = linux::UniqueFd;

// Opens a directory (O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC) for openat() use.
absl::StatusOr<UniqueFd> OpenDir(const std::string& path);

// Opens <dir>/<file> with `flags` (plus O_NOFOLLOW|O_CLOEXEC).
absl::StatusOr<UniqueFd> OpenFileIn(const std::string& dir, absl::string_view file, int flags);

// True if `name` is one plain file name: non-empty, no '/', not "." or "..",
// no NUL or newline.
bool IsPlainFileName(absl::string_view name);

// Reads <dir>/<file> whole.
absl::StatusOr<std::string> ReadFile(const std::string& dir, absl::string_view file);
// Reads <dir>/<file> and strips the trailing newline.
absl::StatusOr<std::string> ReadTrimmed(const std::string& dir, absl::string_view file);
// Reads <dir>/<file> as one unsigned number; "max" reads as UINT64_MAX.
absl::StatusOr<uint64_t> ReadUint(const std::string& dir, absl::string_view file);
// Writes `value` to <dir>/<file> in one write(2) (files are not created).
absl::Status WriteFile(const std::string& dir, absl::string_view file, absl::string_view value);
// True if <dir>/<file> exists (without following a symlink).
bool FileExists(const std::string& dir, absl::string_view file);

// Parses "key value" lines (memory.stat, cpu.stat, memory.events ...).
// Lines that do not parse are skipped.
std::vector<std::pair<std::string, uint64_t>> ParseKeyValues(absl::string_view text);
// The value of `key` in a "key value" file, or 0 if absent.
uint64_t KeyValue(absl::string_view text, absl::string_view key);

// Creates `rel` (components joined by '/', already validated) below `root`,
// one mkdirat() per component. Returns the absolute paths of the
// directories this call created, parents first.
absl::StatusOr<std::vector<std::string>> MakeDirs(const std::string& root, const std::string& rel);

// The names of the sub-directories of `dir` (no "." or "..").
absl::StatusOr<std::vector<std::string>> ListSubdirs(const std::string& dir);
// The names of the regular files in `dir`.
absl::StatusOr<std::vector<std::string>> ListFiles(const std::string& dir);

// Removes `dir` and every cgroup below it, deepest first. A missing `dir`
// is success. EBUSY (tasks still exiting) is retried for about a second.
absl::Status RemoveTree(const std::string& dir);

// The pids listed in <dir>/cgroup.procs of `dir` and every cgroup below it.
absl::StatusOr<std::vector<pid_t>> ReadProcsRecursive(const std::string& dir);

}  // namespace peapod::cgroups
