#include "oci/pea/log.h"

#include "oci/runtime/log.h"

namespace peapod::pea {

std::string FormatLogRecord(bool json, std::string_view level, std::string_view message,
                            std::string_view time) {
  return runtime::FormatLogRecord(json, level, message, time);
}

void WriteLog(const LogTarget& log, std::string_view level, std::string_view message) {
  if (log.path.empty()) return;
  if (level == "debug" && !log.debug) return;
  runtime::AppendLogRecord(log.path, log.json, level, message);
}

}  // namespace peapod::pea
