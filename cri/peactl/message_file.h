// crictl's config files (pod-config.json, container-config.yaml ...) into
// protobuf messages: JSON is read with protobuf's JSON mapping (proto field
// names and lowerCamel both work, enums by name or number, unknown fields
// ignored as crictl does); YAML is first turned into the same JSON.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace peapod::cri::peactl {

// Parses JSON or YAML text (YAML if it does not start with '{') into `out`.
absl::Status ParseMessageText(const std::string& text, google::protobuf::Message& out);
// Reads a file (or stdin for "-") and parses it with ParseMessageText.
absl::Status LoadMessageFile(const std::string& path, google::protobuf::Message& out);
// YAML text as equivalent JSON text (scalars typed as YAML 1.2 core schema).
absl::Status YamlToJson(const std::string& yaml, std::string& json);

}  // namespace peapod::cri::peactl
