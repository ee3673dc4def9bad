#include "cri/server/log.h"

#include <time.h>

namespace peapod::cri {

void Logger::Log(LogLevel level, std::string_view message) {
  if (!Enabled(level)) return;
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc;
  gmtime_r(&ts.tv_sec, &utc);
  char when[32];
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &utc);
  std::string_view name = LogLevelName(level);
  std::lock_guard lock(mu_);
  fprintf(out_, "%s.%06ldZ %.*s %.*s\n", when, ts.tv_nsec / 1000, static_cast<int>(name.size()),
          name.data(), static_cast<int>(message.size()), message.data());
  fflush(out_);
}

}  // namespace peapod::cri
