// The launcher library's log: warnings that do not fail a call (a poststart
// or poststop hook that failed) go to Options::log in runc's format, the
// file containerd's runc shim reads, or to stderr when no log is set. pea's
// own --log records use the same format.
#pragma once

#include <string>
#include <string_view>

#include "absl/strings/string_view.h"
#include "oci/runtime/runtime.h"

namespace peapod::runtime {

// One record as runc (logrus) writes it, newline-terminated: JSON
// {"level","msg","time"} or text `time="..." level=... msg="..."`.
std::string FormatLogRecord(bool json, std::string_view level, std::string_view message,
                            std::string_view time);

// Appends one record at `level`, stamped now, to `path` in a single
// O_APPEND write, so concurrent writers never interleave a line. A log that
// cannot be written is not an error of the caller.
void AppendLogRecord(const std::string& path, bool json, std::string_view level,
                     std::string_view message);

// A warning: a "warning" record in opts.log if set, else "pea: <message>"
// on stderr.
void LogWarning(const Options& opts, absl::string_view message);

}  // namespace peapod::runtime
