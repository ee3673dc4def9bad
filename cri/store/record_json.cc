// PodRecord / ContainerRecord ↔ JSON, through peapod::json. Enums are written
// by name so records stay readable and stable if enum order changes.
#include <array>
#include <optional>
#include <utility>

#include "cri/store/records.h"
#include "cri/util/str.h"

namespace peapod::cri {
namespace {

constexpr int kRecordVersion = 1;

template <typename E, size_t N>
std::string_view EnumName(E e, const std::array<std::pair<E, std::string_view>, N>& names) {
  for (const auto& [v, n] : names) {
    if (v == e) return n;
  }
  return "UNKNOWN";
}

template <typename E, size_t N>
absl::Status EnumRead(const json::Reader& r, std::string_view key,
                      const std::array<std::pair<E, std::string_view>, N>& names, E& out) {
  std::optional<json::Reader> m = r.Get(key);
  if (!m) return absl::OkStatus();
  absl::StatusOr<std::string> s = m->String();
  if (!s.ok()) return s.status();
  for (const auto& [v, n] : names) {
    if (n == *s) {
      out = v;
      return absl::OkStatus();
    }
  }
  return m->Error(Cat("unknown value \"", *s, "\""));
}

constexpr std::array<std::pair<NamespaceMode, std::string_view>, 4> kModes = {{
    {NamespaceMode::kPod, "POD"},
    {NamespaceMode::kContainer, "CONTAINER"},
    {NamespaceMode::kNode, "NODE"},
    {NamespaceMode::kTarget, "TARGET"},
}};
constexpr std::array<std::pair<PodState, std::string_view>, 2> kPodStates = {{
    {PodState::kReady, "READY"},
    {PodState::kNotReady, "NOTREADY"},
}};
constexpr std::array<std::pair<ContainerState, std::string_view>, 4> kContainerStates = {{
    {ContainerState::kCreated, "CREATED"},
    {ContainerState::kRunning, "RUNNING"},
    {ContainerState::kExited, "EXITED"},
    {ContainerState::kUnknown, "UNKNOWN"},
}};

json::Value MapToJson(const StringMap& m) {
  json::Object o;
  for (const auto& [k, v] : m) o.emplace_back(k, v);
  return json::Value(std::move(o));
}

json::Value ListToJson(const std::vector<std::string>& l) {
  json::Array a;
  for (const std::string& s : l) a.emplace_back(s);
  return json::Value(std::move(a));
}

// Reads an optional member with one of Reader's typed getters.
template <typename T, typename Getter>
absl::Status Read(const json::Reader& r, std::string_view key, Getter get, T& out) {
  std::optional<json::Reader> m = r.Get(key);
  if (!m) return absl::OkStatus();
  auto v = ((*m).*get)();
  if (!v.ok()) return v.status();
  out = std::move(*v);
  return absl::OkStatus();
}

absl::Status ReadString(const json::Reader& r, std::string_view key, std::string& out) {
  return Read(r, key, &json::Reader::String, out);
}
absl::Status ReadInt64(const json::Reader& r, std::string_view key, int64_t& out) {
  return Read(r, key, &json::Reader::Int64, out);
}
absl::Status ReadMap(const json::Reader& r, std::string_view key, StringMap& out) {
  return Read(r, key, &json::Reader::StringMap, out);
}

absl::Status ReadHeader(const json::Reader& r, std::string& id) {
  if (absl::Status s = r.ExpectObject(); !s.ok()) return s;
  absl::StatusOr<json::Reader> version = r.Require("version");
  if (!version.ok()) return version.status();
  absl::StatusOr<int64_t> n = version->Int64();
  if (!n.ok()) return n.status();
  if (*n != kRecordVersion) return version->Error(Cat("unsupported record version ", *n));
  absl::StatusOr<json::Reader> idr = r.Require("id");
  if (!idr.ok()) return idr.status();
  absl::StatusOr<std::string> s = idr->String();
  if (!s.ok()) return s.status();
  id = *s;
  return absl::OkStatus();
}

json::Value PodMetadataToJson(const PodMetadata& m) {
  json::Value v{json::Object{}};
  v.Set("name", m.name);
  v.Set("uid", m.uid);
  v.Set("namespace", m.namespace_);
  v.Set("attempt", m.attempt);
  return v;
}

absl::Status PodMetadataFromJson(const json::Reader& r, PodMetadata& m) {
  absl::StatusOr<json::Reader> md = r.Require("metadata");
  if (!md.ok()) return md.status();
  for (absl::Status s : {ReadString(*md, "name", m.name), ReadString(*md, "uid", m.uid),
                         ReadString(*md, "namespace", m.namespace_),
                         Read(*md, "attempt", &json::Reader::Uint32, m.attempt)}) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

json::Value RecordToJson(const PodRecord& r) {
  json::Value v{json::Object{}};
  v.Set("version", kRecordVersion);
  v.Set("id", r.id);
  v.Set("metadata", PodMetadataToJson(r.metadata));
  v.Set("state", EnumName(r.state, kPodStates));
  v.Set("createdAt", r.created_at);
  v.Set("labels", MapToJson(r.labels));
  v.Set("annotations", MapToJson(r.annotations));
  v.Set("runtimeHandler", r.runtime_handler);
  v.Set("hostname", r.hostname);
  v.Set("logDirectory", r.log_directory);
  v.Set("networkMode", EnumName(r.network_mode, kModes));
  v.Set("pidMode", EnumName(r.pid_mode, kModes));
  v.Set("ipcMode", EnumName(r.ipc_mode, kModes));
  v.Set("ip", r.ip);
  v.Set("additionalIps", ListToJson(r.additional_ips));
  v.Set("infraPid", r.infra_pid);
  v.Set("shimAddress", r.shim_address);
  v.Set("netnsPath", r.netns_path);
  return v;
}

absl::Status RecordFromJson(const json::Value& v, PodRecord& out) {
  json::Reader r(v, "$");
  PodRecord p;
  for (absl::Status s : {
           ReadHeader(r, p.id),
           PodMetadataFromJson(r, p.metadata),
           EnumRead(r, "state", kPodStates, p.state),
           ReadInt64(r, "createdAt", p.created_at),
           ReadMap(r, "labels", p.labels),
           ReadMap(r, "annotations", p.annotations),
           ReadString(r, "runtimeHandler", p.runtime_handler),
           ReadString(r, "hostname", p.hostname),
           ReadString(r, "logDirectory", p.log_directory),
           EnumRead(r, "networkMode", kModes, p.network_mode),
           EnumRead(r, "pidMode", kModes, p.pid_mode),
           EnumRead(r, "ipcMode", kModes, p.ipc_mode),
           ReadString(r, "ip", p.ip),
           Read(r, "additionalIps", &json::Reader::StringArray, p.additional_ips),
           ReadInt64(r, "infraPid", p.infra_pid),
           ReadString(r, "shimAddress", p.shim_address),
           ReadString(r, "netnsPath", p.netns_path),
       }) {
    if (!s.ok()) return s;
  }
  out = std::move(p);
  return absl::OkStatus();
}

json::Value RecordToJson(const ContainerRecord& r) {
  json::Value v{json::Object{}};
  v.Set("version", kRecordVersion);
  v.Set("id", r.id);
  v.Set("podId", r.pod_id);
  v.Set("name", r.name);
  v.Set("attempt", r.attempt);
  v.Set("uniqueName", r.unique_name);
  v.Set("image", r.image);
  v.Set("imageRef", r.image_ref);
  v.Set("state", EnumName(r.state, kContainerStates));
  v.Set("createdAt", r.created_at);
  v.Set("startedAt", r.started_at);
  v.Set("finishedAt", r.finished_at);
  v.Set("exitCode", static_cast<int64_t>(r.exit_code));
  v.Set("reason", r.reason);
  v.Set("message", r.message);
  v.Set("labels", MapToJson(r.labels));
  v.Set("annotations", MapToJson(r.annotations));
  v.Set("logPath", r.log_path);
  v.Set("tty", r.tty);
  v.Set("stdin", r.stdin);
  v.Set("stdinOnce", r.stdin_once);
  v.Set("pid", r.pid);
  return v;
}

absl::Status RecordFromJson(const json::Value& v, ContainerRecord& out) {
  json::Reader r(v, "$");
  ContainerRecord c;
  for (absl::Status s : {
           ReadHeader(r, c.id),
           ReadString(r, "podId", c.pod_id),
           ReadString(r, "name", c.name),
           Read(r, "attempt", &json::Reader::Uint32, c.attempt),
           ReadString(r, "uniqueName", c.unique_name),
           ReadString(r, "image", c.image),
           ReadString(r, "imageRef", c.image_ref),
           EnumRead(r, "state", kContainerStates, c.state),
           ReadInt64(r, "createdAt", c.created_at),
           ReadInt64(r, "startedAt", c.started_at),
           ReadInt64(r, "finishedAt", c.finished_at),
           Read(r, "exitCode", &json::Reader::Int32, c.exit_code),
           ReadString(r, "reason", c.reason),
           ReadString(r, "message", c.message),
           ReadMap(r, "labels", c.labels),
           ReadMap(r, "annotations", c.annotations),
           ReadString(r, "logPath", c.log_path),
           Read(r, "tty", &json::Reader::Bool, c.tty),
           Read(r, "stdin", &json::Reader::Bool, c.stdin),
           Read(r, "stdinOnce", &json::Reader::Bool, c.stdin_once),
           ReadInt64(r, "pid", c.pid),
       }) {
    if (!s.ok()) return s;
  }
  out = std::move(c);
  return absl::OkStatus();
}

std::string PodUniqueName(const PodMetadata& m) {
  return Cat(m.name, "_", m.namespace_, "_", m.uid, "_", m.attempt);
}

std::string ContainerUniqueName(const PodMetadata& pod, std::string_view name, uint32_t attempt) {
  return Cat(name, "_", pod.name, "_", pod.namespace_, "_", pod.uid, "_", attempt);
}

std::string RecordName(const PodRecord& r) { return PodUniqueName(r.metadata); }
std::string RecordName(const ContainerRecord& r) { return r.unique_name; }

}  // namespace peapod::cri
