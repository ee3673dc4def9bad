// pea's log: runc writes its errors to --log in --log-format (text or json),
// and containerd's runc shim reads the last {"level":"error","msg":...} line
// from that file to explain a failure. pea does the same.
#pragma once

#include <string>
#include <string_view>

namespace peapod::pea {

struct LogTarget {
  std::string path;   // "" = no log file
  bool json = false;  // --log-format json
  bool debug = false;
};

// Appends one record at `level` ("error", "debug", ...) to the log file.
// A log that cannot be written is not an error of the command itself.
void WriteLog(const LogTarget& log, std::string_view level, std::string_view message);

// One record in the given format, with a trailing newline.
std::string FormatLogRecord(bool json, std::string_view level, std::string_view message,
                            std::string_view time);

}  // namespace peapod::pea
