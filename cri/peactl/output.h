// How peactl prints: protobuf messages as JSON or YAML, lists as tables, and
// crictl's short ids and "5 minutes ago" times.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "google/protobuf/map.h"
#include "google/protobuf/message.h"

namespace peapod::cri::peactl {

// A message as indented JSON (proto3 JSON mapping, lowerCamel names).
std::string MessageJson(const google::protobuf::Message& m);
// JSON text re-emitted as block-style YAML.
std::string JsonToYaml(const std::string& json);
// Prints JSON text as `format` ("json" or "yaml") to stdout; false if the
// format is unknown.
bool PrintDocument(const std::string& json, std::string_view format);
// crictl inspect's document as indented JSON: {"status": <status>, "info":
// {<key>: <value>}}, the keys sorted and each value parsed when it is JSON
// (the verbose info of a status response), kept as a string when not.
std::string InspectDocument(const google::protobuf::Message& status,
                            const google::protobuf::Map<std::string, std::string>& info);

// Columns padded to their widest cell, three spaces apart, like crictl.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  // Appends a row (as many cells as the header).
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  // Writes the table to stdout.
  void Print() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// The first 13 characters of an id (after any "sha256:"), as crictl shows.
std::string ShortId(std::string_view id, bool no_trunc = false);
// "3 minutes ago" for a timestamp in nanoseconds since the epoch.
std::string Ago(int64_t unix_nanos);
// "12.3MB"-style size.
std::string HumanSize(uint64_t bytes);
// Turns "key=value" strings into a map; false on a malformed entry.
bool ParseLabels(const std::vector<std::string>& in,
                 google::protobuf::Map<std::string, std::string>& out);

}  // namespace peapod::cri::peactl
