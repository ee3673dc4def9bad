#include "cri/peactl/message_file.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>

#include "google/protobuf/util/json_util.h"
#include "oci/spec/json.h"

namespace peapod::cri::peactl {
namespace {

json::Value ScalarToJson(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return json::Value(s);  // Quoted: always a string.
  static const std::regex kInt("[-+]?[0-9]+");
  static const std::regex kFloat("[-+]?([0-9]+\\.[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?");
  if (s == "true" || s == "True" || s == "TRUE") return json::Value(true);
  if (s == "false" || s == "False" || s == "FALSE") return json::Value(false);
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return json::Value();
  if (std::regex_match(s, kInt)) {
    try {
      return s[0] == '-' ? json::Value(static_cast<int64_t>(std::stoll(s)))
                         : json::Value(static_cast<uint64_t>(std::stoull(s)));
    } catch (const std::exception&) {
      return json::Value(s);
    }
  }
  if (std::regex_match(s, kFloat)) return json::Value(std::stod(s));
  return json::Value(s);
}

json::Value NodeToJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      json::Value obj{json::Object{}};
      for (auto it = n.begin(); it != n.end(); ++it) {
        obj.Set(it->first.as<std::string>(), NodeToJson(it->second));
      }
      return obj;
    }
    case YAML::NodeType::Sequence: {
      json::Value arr{json::Array{}};
      for (auto it = n.begin(); it != n.end(); ++it) arr.Push(NodeToJson(*it));
      return arr;
    }
    case YAML::NodeType::Scalar:
      return ScalarToJson(n);
    default:
      return json::Value();
  }
}

}  // namespace

absl::Status YamlToJson(const std::string& yaml, std::string& out) {
  try {
    out = json::Write(NodeToJson(YAML::Load(yaml)));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(std::string("YAML: ") + e.what());
  }
  return absl::OkStatus();
}

absl::Status ParseMessageText(const std::string& text, google::protobuf::Message& out) {
  size_t first = text.find_first_not_of(" \t\r\n");
  std::string json_text;
  if (first != std::string::npos && text[first] == '{') {
    json_text = text;
  } else if (absl::Status s = YamlToJson(text, json_text); !s.ok()) {
    return s;
  }
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = true;
  auto status = google::protobuf::util::JsonStringToMessage(json_text, &out, opts);
  if (!status.ok()) {
    return absl::InvalidArgumentError(status.ToString());
  }
  return absl::OkStatus();
}

absl::Status LoadMessageFile(const std::string& path, google::protobuf::Message& out) {
  std::stringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
  } else {
    std::ifstream in(path);
    if (!in) return absl::NotFoundError("cannot open " + path);
    text << in.rdbuf();
  }
  absl::Status s = ParseMessageText(text.str(), out);
  if (!s.ok()) return absl::InvalidArgumentError(path + ": " + std::string(s.message()));
  return absl::OkStatus();
}

}  // namespace peapod::cri::peactl
