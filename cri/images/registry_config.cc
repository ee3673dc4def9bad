#include "cri/images/registry_config.h"

#include <toml++/toml.h>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace peapod::images {
namespace {

absl::Status KeyError(const std::string& key, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("registry.", key, ": ", std::string(what)));
}

absl::StatusOr<RegistryHost> ParseHost(const std::string& host, const toml::table& t) {
  RegistryHost h;
  for (const auto& [k, v] : t) {
    std::string key(k.str());
    if (key == "insecure") {
      if (!v.is_boolean()) return KeyError(host + ".insecure", "expected a boolean");
      h.insecure = *v.value<bool>();
    } else if (key == "mirrors") {
      const toml::array* a = v.as_array();
      if (a == nullptr) return KeyError(host + ".mirrors", "expected an array of URLs");
      for (const toml::node& m : *a) {
        auto url = m.value<std::string>();
        if (!url || url->empty()) return KeyError(host + ".mirrors", "expected an array of URLs");
        std::string u = *url;
        while (absl::EndsWith(u, "/")) u.pop_back();
        h.mirrors.push_back(u);
      }
    } else {
      return KeyError(host + "." + key, "unknown key");
    }
  }
  return h;
}

absl::StatusOr<RegistryConfig> FromTable(const toml::table& table) {
  RegistryConfig c;
  for (const auto& [k, v] : table) {
    std::string host(k.str());
    const toml::table* t = v.as_table();
    if (t == nullptr) return KeyError(host, "expected a table");
    auto h = ParseHost(host, *t);
    if (!h.ok()) return h.status();
    c.hosts[host] = *std::move(h);
  }
  return c;
}

absl::StatusOr<toml::table> ParseToml(std::string_view text) {
  try {
    return toml::parse(text);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << "registry config: " << e.description() << " at " << e.source().begin;
    return absl::InvalidArgumentError(msg.str());
  }
}

bool IsLocal(const std::string& host) {
  std::string name = host;
  if (absl::StartsWith(name, "[")) {
    name = name.substr(1, name.find(']') - 1);
  } else if (size_t colon = name.rfind(':'); colon != std::string::npos) {
    name = name.substr(0, colon);
  }
  return name == "localhost" || name == "127.0.0.1" || name == "::1";
}

}  // namespace

absl::StatusOr<RegistryConfig> ParseRegistryConfig(std::string_view registry_table_toml) {
  auto t = ParseToml(registry_table_toml);
  if (!t.ok()) return t.status();
  return FromTable(*t);
}

absl::StatusOr<RegistryConfig> ParseRegistryConfigFromFile(std::string_view peapod_toml) {
  auto t = ParseToml(peapod_toml);
  if (!t.ok()) return t.status();
  const toml::node* reg = t->get("registry");
  if (reg == nullptr) return RegistryConfig{};
  if (!reg->is_table()) return absl::InvalidArgumentError("registry: expected a table");
  return FromTable(*reg->as_table());
}

std::vector<Endpoint> EndpointsFor(const RegistryConfig& config, const std::string& host) {
  std::vector<Endpoint> out;
  bool insecure = IsLocal(host);
  if (auto it = config.hosts.find(host); it != config.hosts.end()) {
    for (const std::string& m : it->second.mirrors) {
      bool has_scheme = absl::StrContains(m, "://");
      out.push_back({has_scheme ? m : (it->second.insecure ? "http://" : "https://") + m, true});
    }
    insecure = insecure || it->second.insecure;
  }
  std::string real = host == "docker.io" ? "registry-1.docker.io" : host;
  out.push_back({absl::StrCat(insecure ? "http://" : "https://", real), false});
  return out;
}

}  // namespace peapod::images
