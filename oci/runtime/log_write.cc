// Log records in runc's format.
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "oci/runtime/log.h"
#include "oci/spec/json.h"

namespace peapod::runtime {
namespace {

std::string NowRfc3339() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc;
  gmtime_r(&ts.tv_sec, &utc);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

// logrus quotes text values that are not plain words.
std::string QuoteText(std::string_view s) { return json::Write(json::Value(std::string(s))); }

}  // namespace

std::string FormatLogRecord(bool json, std::string_view level, std::string_view message,
                            std::string_view time) {
  if (json) {
    json::Object o = {
        {"level", json::Value(level)}, {"msg", json::Value(message)}, {"time", json::Value(time)}};
    return json::Write(json::Value(std::move(o))) + "\n";
  }
  return absl::StrCat("time=\"", std::string(time), "\" level=", std::string(level),
                      " msg=", QuoteText(message), "\n");
}

void AppendLogRecord(const std::string& path, bool json, std::string_view level,
                     std::string_view message) {
  int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  std::string record = FormatLogRecord(json, level, message, NowRfc3339());
  ssize_t n = write(fd, record.data(), record.size());
  (void)n;
  close(fd);
}

void LogWarning(const Options& opts, absl::string_view message) {
  if (opts.log.empty()) {
    fprintf(stderr, "pea: %s\n", std::string(message).c_str());
    return;
  }
  AppendLogRecord(opts.log, opts.log_json, "warning",
                  std::string_view(message.data(), message.size()));
}

}  // namespace peapod::runtime
