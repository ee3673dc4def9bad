// peapodd's logger: one line per event on stderr (journald adds the rest),
// "<RFC3339 time> <level> <message>". Passed by reference, never global.
#pragma once

#include <cstdio>
#include <mutex>
#include <string_view>

#include "cri/config/config.h"

namespace peapod::cri {

class Logger {
 public:
  // Logs at `min` and above to `out`.
  explicit Logger(LogLevel min, std::FILE* out = stderr) : min_(min), out_(out) {}

  // Writes one line if `level` is enabled.
  void Log(LogLevel level, std::string_view message);
  // Whether messages at `level` are written.
  bool Enabled(LogLevel level) const { return level >= min_; }

  // Shorthands for Log at one level.
  void Debug(std::string_view m) { Log(LogLevel::kDebug, m); }
  void Info(std::string_view m) { Log(LogLevel::kInfo, m); }
  void Warn(std::string_view m) { Log(LogLevel::kWarn, m); }
  void Error(std::string_view m) { Log(LogLevel::kError, m); }

 private:
  const LogLevel min_;
  std::FILE* const out_;
  std::mutex mu_;
};

}  // namespace peapod::cri
