#include "cri/peactl/output.h"

#include <time.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>

#include "google/protobuf/util/json_util.h"
#include "oci/spec/json.h"

namespace peapod::cri::peactl {
namespace {

void BlockStyle(YAML::Node node) {
  node.SetStyle(YAML::EmitterStyle::Block);
  if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) BlockStyle(it->second);
  } else if (node.IsSequence()) {
    for (auto it = node.begin(); it != node.end(); ++it) BlockStyle(*it);
  }
}

}  // namespace

std::string MessageJson(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions opts;
  opts.add_whitespace = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(m, &out, opts).ok()) return "{}";
  return out;
}

std::string InspectDocument(const google::protobuf::Message& status,
                            const google::protobuf::Map<std::string, std::string>& info) {
  json::Value doc{json::Object{}};
  absl::StatusOr<json::Value> parsed_status = json::Parse(MessageJson(status));
  doc.Set("status", parsed_status.ok() ? *parsed_status : json::Value());
  json::Value out_info{json::Object{}};
  std::map<std::string, std::string> sorted(info.begin(), info.end());
  for (const auto& [k, v] : sorted) {
    absl::StatusOr<json::Value> parsed = json::Parse(v);
    out_info.Set(k, parsed.ok() ? *parsed : json::Value(v));
  }
  doc.Set("info", std::move(out_info));
  return json::Write(doc, true);
}

std::string JsonToYaml(const std::string& json) {
  YAML::Node node = YAML::Load(json);
  BlockStyle(node);
  YAML::Emitter out;
  out << node;
  return std::string(out.c_str()) + "\n";
}

bool PrintDocument(const std::string& json, std::string_view format) {
  if (format == "json") {
    std::cout << json << (json.ends_with("\n") ? "" : "\n");
  } else if (format == "yaml") {
    std::cout << JsonToYaml(json);
  } else {
    return false;
  }
  return true;
}

void Table::Print() const {
  std::vector<size_t> widths;
  for (const auto& row : rows_) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows_) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 3, ' ');
    }
    std::cout << line << "\n";
  }
}

std::string ShortId(std::string_view id, bool no_trunc) {
  if (id.starts_with("sha256:")) id.remove_prefix(7);
  if (no_trunc) return std::string(id);
  return std::string(id.substr(0, 13));
}

std::string Ago(int64_t unix_nanos) {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  int64_t secs = now.tv_sec - unix_nanos / 1000000000;
  if (unix_nanos <= 0) return "Unknown";
  auto plural = [](int64_t n, const char* unit) {
    return std::to_string(n) + " " + unit + (n == 1 ? "" : "s") + " ago";
  };
  if (secs < 1) return "Less than a second ago";
  if (secs < 60) return plural(secs, "second");
  if (secs < 120) return "About a minute ago";
  if (secs < 3600) return plural(secs / 60, "minute");
  if (secs < 7200) return "About an hour ago";
  if (secs < 48 * 3600) return plural(secs / 3600, "hour");
  if (secs < 14 * 86400) return plural(secs / 86400, "day");
  return plural(secs / (7 * 86400), "week");
}

std::string HumanSize(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  double v = static_cast<double>(bytes);
  size_t u = 0;
  while (v >= 1000 && u + 1 < std::size(kUnits)) {
    v /= 1000;
    ++u;
  }
  char buf[32];
  snprintf(buf, sizeof buf, "%.4g%s", v, kUnits[u]);
  return buf;
}

bool ParseLabels(const std::vector<std::string>& in,
                 google::protobuf::Map<std::string, std::string>& out) {
  for (const std::string& kv : in) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) return false;
    out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return true;
}

}  // namespace peapod::cri::peactl
