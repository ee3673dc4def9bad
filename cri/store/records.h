// The project's own view of pods and containers: what peapodd remembers about
// each, persisted as one JSON record per object. CRI protobuf messages are
// translated to and from these at the RPC boundary only.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "oci/spec/json.h"

namespace peapod::cri {

using StringMap = std::map<std::string, std::string>;

// Mirrors CRI's NamespaceMode.
enum class NamespaceMode { kPod, kContainer, kNode, kTarget };

enum class PodState { kReady, kNotReady };

struct PodMetadata {
  std::string name;
  std::string uid;
  std::string namespace_;
  uint32_t attempt = 0;
};

struct PodRecord {
  std::string id;
  PodMetadata metadata;
  PodState state = PodState::kNotReady;
  int64_t created_at = 0;  // Nanoseconds since the epoch.
  StringMap labels;
  StringMap annotations;
  std::string runtime_handler;
  std::string hostname;
  std::string log_directory;
  NamespaceMode network_mode = NamespaceMode::kPod;
  NamespaceMode pid_mode = NamespaceMode::kContainer;
  NamespaceMode ipc_mode = NamespaceMode::kPod;
  std::string ip;  // Empty for host-network pods.
  std::vector<std::string> additional_ips;
  int64_t infra_pid = 0;
  std::string shim_address;
  std::string netns_path;
};

enum class ContainerState { kCreated, kRunning, kExited, kUnknown };

struct ContainerRecord {
  std::string id;
  std::string pod_id;
  std::string name;  // ContainerMetadata.name
  uint32_t attempt = 0;
  std::string unique_name;  // See ContainerUniqueName.
  std::string image;        // ImageSpec.image as requested.
  std::string image_ref;    // The resolved image id.
  ContainerState state = ContainerState::kCreated;
  int64_t created_at = 0;  // Nanoseconds since the epoch, like the next two.
  int64_t started_at = 0;
  int64_t finished_at = 0;
  int32_t exit_code = 0;
  std::string reason;
  std::string message;
  StringMap labels;
  StringMap annotations;
  std::string log_path;  // Absolute path of the CRI log file, or empty.
  bool tty = false;
  bool stdin = false;       // a stdin fifo (<bundle>/stdin) clients attach to
  bool stdin_once = false;  // the first attach's end of input is the process's EOF
  int64_t pid = 0;
};

// The pod's unique name, "<name>_<namespace>_<uid>_<attempt>": CRI requires
// at most one pod per metadata tuple.
std::string PodUniqueName(const PodMetadata& m);
// The container's unique name, "<name>_<pod name>_<pod ns>_<pod uid>_<attempt>":
// (name, attempt) is unique within a pod.
std::string ContainerUniqueName(const PodMetadata& pod, std::string_view name, uint32_t attempt);

// Store hooks: the unique name of a record.
std::string RecordName(const PodRecord& r);
std::string RecordName(const ContainerRecord& r);

// Record ↔ JSON. Parsing errors name the member ("$.metadata.uid: ...").
json::Value RecordToJson(const PodRecord& r);
json::Value RecordToJson(const ContainerRecord& r);
absl::Status RecordFromJson(const json::Value& v, PodRecord& out);
absl::Status RecordFromJson(const json::Value& v, ContainerRecord& out);

}  // namespace peapod::cri
