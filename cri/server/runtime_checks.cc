#include "cri/server/runtime_checks.h"

#include <sys/stat.h>
#include <unistd.h>

#include "cri/store/record_file.h"
#include "cri/util/str.h"
#include "oci/spec/json.h"

namespace peapod::cri {
namespace {

absl::Status CheckWritableDir(std::string_view what, const std::string& dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) return absl::ErrnoToStatus(errno, Cat(what, " ", dir));
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(Cat(what, " ", dir, " is not a directory"));
  }
  if (access(dir.c_str(), W_OK | X_OK) != 0) {
    return absl::ErrnoToStatus(errno, Cat(what, " ", dir, " is not writable"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckRuntimeReady(const Config& c) {
  if (absl::Status s = CheckWritableDir("root directory", c.root); !s.ok()) {
    return absl::FailedPreconditionError(s.message());
  }
  if (absl::Status s = CheckWritableDir("state directory", c.state_dir); !s.ok()) {
    return absl::FailedPreconditionError(s.message());
  }
  return absl::OkStatus();
}

absl::Status CheckNetworkReady(const Config& c) {
  for (const char* suffix : {".conflist", ".conf", ".json"}) {
    absl::StatusOr<std::vector<std::string>> files = ListFiles(c.cni_conf_dir, suffix);
    if (files.ok() && !files->empty()) return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      Cat("cni config uninitialized: no network config found in ", c.cni_conf_dir));
}

std::string ConfigInfoJson(const Config& c) {
  json::Value v{json::Object{}};
  v.Set("socket", c.socket_path);
  v.Set("root", c.root);
  v.Set("stateDir", c.state_dir);
  v.Set("logLevel", LogLevelName(c.log_level));
  v.Set("shimBinary", c.shim_binary);
  v.Set("infraBinary", c.infra_binary);
  json::Array dirs;
  for (const std::string& d : c.cni_plugin_dirs) dirs.emplace_back(d);
  json::Value cni{json::Object{}};
  cni.Set("pluginDirs", json::Value(std::move(dirs)));
  cni.Set("confDir", c.cni_conf_dir);
  v.Set("cni", std::move(cni));
  return json::Write(v);
}

}  // namespace peapod::cri
