#include "shim/cli.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "oci/spec/json.h"

namespace peapod::shim {
namespace {

uint64_t Fnv1a(const std::string& s, uint64_t h) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace

absl::StatusOr<Flags> ParseFlags(const std::vector<std::string>& args) {
  Flags f;
  std::vector<std::pair<const char*, std::string*>> strings = {
      {"namespace", &f.ns}, {"address", &f.address}, {"publish-binary", &f.publish_binary},
      {"id", &f.id},        {"bundle", &f.bundle},   {"socket", &f.socket}};
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    if (a.size() < 2 || a[0] != '-') {
      if (!f.action.empty()) return absl::InvalidArgumentError("more than one action: " + a);
      f.action = a;
      continue;
    }
    a = a.substr(a[1] == '-' ? 2 : 1);
    std::string value;
    bool has_value = false;
    if (size_t eq = a.find('='); eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
      has_value = true;
    }
    if (a == "debug" || a == "v") {
      (a == "debug" ? f.debug : f.version) = !has_value || value == "true" || value == "1";
      continue;
    }
    std::string* dst = nullptr;
    for (auto& [name, p] : strings) {
      if (a == name) dst = p;
    }
    if (dst == nullptr) return absl::InvalidArgumentError("unknown flag -" + a);
    if (!has_value) {
      if (++i >= args.size()) return absl::InvalidArgumentError("flag -" + a + " needs a value");
      value = args[i];
    }
    *dst = value;
  }
  return f;
}

std::string GroupSocketPath(const std::string& dir, const std::string& containerd_address,
                            const std::string& ns, const std::string& group) {
  std::string key = absl::StrCat(containerd_address, "/", ns, "/", group);
  char hex[33];
  snprintf(hex, sizeof(hex), "%016llx%016llx",
           static_cast<unsigned long long>(Fnv1a(key, 0xcbf29ce484222325ULL)),
           static_cast<unsigned long long>(Fnv1a(key, 0x84222325cbf29ce4ULL)));
  return absl::StrCat(dir, "/", hex);
}

std::string GroupOf(const std::string& bundle, const std::string& id) {
  absl::StatusOr<json::Value> config = json::ParseFile(bundle + "/config.json");
  if (!config.ok()) return id;
  const json::Value* ann = config->Find("annotations");
  const json::Value* sandbox = ann ? ann->Find("io.kubernetes.cri.sandbox-id") : nullptr;
  if (sandbox != nullptr && sandbox->is_string() && !sandbox->as_string().empty()) {
    return sandbox->as_string();
  }
  return id;
}

}  // namespace peapod::shim
