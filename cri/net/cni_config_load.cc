// Network configurations: .conflist documents, single-plugin .conf/.json
// documents, and picking the default one from a directory.
#include <dirent.h>

#include <algorithm>

#include "cri/net/cni.h"
#include "cri/util/str.h"
#include "oci/linux/errno_status.h"
#include "oci/linux/file_util.h"

namespace peapod::cri {
namespace {

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() > suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

absl::Status CheckPlugin(const json::Reader& p) {
  PEAPOD_RETURN_IF_ERROR(p.ExpectObject());
  PEAPOD_ASSIGN_OR_RETURN(json::Reader type, p.Require("type"));
  PEAPOD_ASSIGN_OR_RETURN(std::string t, type.String());
  if (t.empty() || t.find('/') != std::string::npos) {
    return type.Error(Cat("invalid plugin type \"", t, "\""));
  }
  return absl::OkStatus();
}

absl::Status CheckNameAndVersion(const json::Reader& r, std::string& name, std::string& version) {
  PEAPOD_ASSIGN_OR_RETURN(json::Reader n, r.Require("name"));
  PEAPOD_ASSIGN_OR_RETURN(name, n.String());
  if (name.empty()) return n.Error("network name is empty");
  if (name.find('/') != std::string::npos) return n.Error("network name contains '/'");
  PEAPOD_ASSIGN_OR_RETURN(json::Reader v, r.Require("cniVersion"));
  PEAPOD_ASSIGN_OR_RETURN(version, v.String());
  if (!CniVersionSupported(version)) {
    return v.Error(
        Cat("unsupported cniVersion \"", version, "\" (supported: 0.3.0, 0.3.1, 0.4.0, 1.0.0)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CniNetwork> CniNetwork::FromConfList(std::string_view text, std::string origin) {
  auto parsed = json::Parse(text);
  if (!parsed.ok()) return linux::Annotate(parsed.status(), origin);
  json::Reader r(*parsed, "$");
  CniNetwork n;
  n.origin_ = origin;
  absl::Status st = [&]() -> absl::Status {
    PEAPOD_RETURN_IF_ERROR(r.ExpectObject());
    PEAPOD_RETURN_IF_ERROR(CheckNameAndVersion(r, n.name_, n.cni_version_));
    if (auto d = r.Get("disableCheck")) {
      PEAPOD_ASSIGN_OR_RETURN(n.disable_check_, d->Bool());
    }
    PEAPOD_ASSIGN_OR_RETURN(json::Reader plugins, r.Require("plugins"));
    PEAPOD_ASSIGN_OR_RETURN(auto elems, plugins.Elements());
    if (elems.empty()) return plugins.Error("no plugins in the list");
    for (const json::Reader& p : elems) {
      PEAPOD_RETURN_IF_ERROR(CheckPlugin(p));
      n.plugins_.push_back(p.value());
    }
    return absl::OkStatus();
  }();
  if (!st.ok()) return linux::Annotate(st, origin);
  return n;
}

absl::StatusOr<CniNetwork> CniNetwork::FromConf(std::string_view text, std::string origin) {
  auto parsed = json::Parse(text);
  if (!parsed.ok()) return linux::Annotate(parsed.status(), origin);
  json::Reader r(*parsed, "$");
  CniNetwork n;
  n.origin_ = origin;
  absl::Status st = [&]() -> absl::Status {
    PEAPOD_RETURN_IF_ERROR(r.ExpectObject());
    if (r.Get("plugins")) return r.Error("a configuration list needs the .conflist extension");
    PEAPOD_RETURN_IF_ERROR(CheckNameAndVersion(r, n.name_, n.cni_version_));
    PEAPOD_RETURN_IF_ERROR(CheckPlugin(r));
    n.plugins_.push_back(*parsed);
    return absl::OkStatus();
  }();
  if (!st.ok()) return linux::Annotate(st, origin);
  return n;
}

absl::StatusOr<CniNetwork> CniNetwork::LoadDefault(const std::string& conf_dir) {
  DIR* d = ::opendir(conf_dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) {
      return absl::NotFoundError(Cat("no CNI network config: ", conf_dir, " does not exist"));
    }
    return linux::ErrnoStatus(Cat("open CNI config dir ", conf_dir));
  }
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (EndsWith(name, ".conflist") || EndsWith(name, ".conf") || EndsWith(name, ".json")) {
      names.push_back(name);
    }
  }
  ::closedir(d);
  if (names.empty()) {
    return absl::NotFoundError(
        Cat("no CNI network config in ", conf_dir, " (*.conflist, *.conf, *.json)"));
  }
  std::sort(names.begin(), names.end());
  std::string path = Cat(conf_dir, "/", names.front());
  PEAPOD_ASSIGN_OR_RETURN(std::string text, linux::ReadWholeFile(path, 1 << 20));
  if (EndsWith(path, ".conflist")) return FromConfList(text, path);
  return FromConf(text, path);
}

std::vector<std::string> CniNetwork::PluginTypes() const {
  std::vector<std::string> out;
  for (const json::Value& p : plugins_) out.push_back(p.Find("type")->as_string());
  return out;
}

json::Value CniNetwork::ConfListJson() const {
  json::Value v = json::Object{};
  v.Set("cniVersion", cni_version_);
  v.Set("name", name_);
  if (disable_check_) v.Set("disableCheck", true);
  v.Set("plugins", json::Array(plugins_.begin(), plugins_.end()));
  return v;
}

absl::StatusOr<CniNetwork> CniNetwork::FromCachedAdd(const CniOptions& o,
                                                     const std::string& container_id,
                                                     const std::string& ifname) {
  const std::string suffix = Cat("-", container_id, "-", ifname, ".json");
  DIR* d = o.cache_dir.empty() ? nullptr : ::opendir(o.cache_dir.c_str());
  std::string found;
  if (d != nullptr) {
    while (struct dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name.size() > suffix.size() && EndsWith(name, suffix))
        found = Cat(o.cache_dir, "/", name);
    }
    ::closedir(d);
  }
  if (found.empty()) {
    return absl::NotFoundError(Cat("no cached CNI ADD of ", container_id, " (", ifname, ")"));
  }
  PEAPOD_ASSIGN_OR_RETURN(json::Value cache, json::ParseFile(found, 1 << 20));
  const json::Value* config = cache.Find("config");
  if (config == nullptr || !config->is_object()) {
    return absl::NotFoundError(Cat(found, ": no network config cached"));
  }
  return FromConfList(json::Write(*config), Cat(found, " (the config of its ADD)"));
}

bool CniNetwork::SameAs(const CniNetwork& other) const {
  return name_ == other.name_ && cni_version_ == other.cni_version_ &&
         disable_check_ == other.disable_check_ && plugins_ == other.plugins_;
}

size_t CniNetwork::WarmHeadLength() const {
  // Reference plugins (containernetworking/plugins) that take nothing from
  // CNI_ARGS but IgnoreUnknown, and IPAM plugins whose lease depends only on
  // the container id and the config; a pod's name, namespace or uid, which
  // a third-party plugin may read from CNI_ARGS, are not known yet.
  static constexpr std::string_view kMains[] = {"bridge", "ptp", "macvlan", "ipvlan"};
  static constexpr std::string_view kIpams[] = {"host-local", "static"};
  auto one_of = [](const json::Value* v, auto& names) {
    if (v == nullptr || !v->is_string()) return false;
    for (std::string_view n : names) {
      if (v->as_string() == n) return true;
    }
    return false;
  };
  size_t n = 0;
  for (const json::Value& p : plugins_) {
    if (!one_of(p.Find("type"), kMains)) break;
    const json::Value* ipam = p.Find("ipam");
    if (ipam == nullptr || !ipam->is_object() || !one_of(ipam->Find("type"), kIpams)) break;
    // Capabilities (ips, mac, ...) and runtimeConfig come from the pod.
    if (p.Find("capabilities") != nullptr || p.Find("runtimeConfig") != nullptr ||
        p.Find("args") != nullptr) {
      break;
    }
    ++n;
  }
  return n;
}

}  // namespace peapod::cri
