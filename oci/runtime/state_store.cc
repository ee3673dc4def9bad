// State records on disk.
#include "oci/runtime/state_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <filesystem>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "oci/linux/errno_status.h"
#include "oci/linux/file_util.h"
#include "oci/spec/json.h"

namespace peapod::runtime {

using linux::ErrnoStatus;

absl::Status ValidateId(const std::string& id, absl::string_view what) {
  if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(what, " is empty"));
  if (id.size() > 1024) return absl::InvalidArgumentError(absl::StrCat(what, " is too long"));
  if (id == "." || id == "..") {
    return absl::InvalidArgumentError(absl::StrCat("invalid ", what, " \"", id, "\""));
  }
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '+' || c == '-' || c == '.';
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat("invalid ", what, " \"", absl::CHexEscape(id),
                                                     "\": only [a-zA-Z0-9_+.-] allowed"));
    }
  }
  return absl::OkStatus();
}

std::string StateDir(const Options& opts, const std::string& id) {
  return absl::StrCat(opts.root, "/", id);
}

std::string ExecFifoPath(const Options& opts, const std::string& id) {
  return StateDir(opts, id) + "/exec.fifo";
}

absl::Status MakeStateDir(const Options& opts, const std::string& id) {
  PEAPOD_RETURN_IF_ERROR(ValidateId(id));
  std::error_code ec;
  std::filesystem::create_directories(opts.root, ec);
  if (ec) return absl::InternalError(absl::StrCat("create ", opts.root, ": ", ec.message()));
  ::chmod(opts.root.c_str(), 0700);
  std::string dir = StateDir(opts, id);
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(absl::StrCat("container \"", id, "\" already exists"));
    }
    return ErrnoStatus("create state dir " + dir);
  }
  return absl::OkStatus();
}

absl::Status RemoveStateDir(const Options& opts, const std::string& id) {
  PEAPOD_RETURN_IF_ERROR(ValidateId(id));
  std::error_code ec;
  std::filesystem::remove_all(StateDir(opts, id), ec);
  if (ec) return absl::InternalError(absl::StrCat("remove state of ", id, ": ", ec.message()));
  return absl::OkStatus();
}

absl::Status SaveState(const Options& opts, const StateRecord& rec) {
  json::Value v = json::Object{};
  v.Set("id", rec.id);
  v.Set("init_pid", static_cast<int64_t>(rec.init_pid));
  v.Set("init_start_time", rec.init_start_time);
  v.Set("bundle", rec.bundle);
  v.Set("rootfs", rec.rootfs);
  v.Set("created", rec.created);
  v.Set("cgroup_path", rec.cgroup_path);
  v.Set("owner", rec.owner);
  v.Set("started", rec.started);
  v.Set("poststart_hooks", rec.poststart_hooks);
  json::Value ann = json::Object{};
  for (const auto& [k, val] : rec.annotations) ann.Set(k, val);
  v.Set("annotations", std::move(ann));
  return linux::ReplaceFile(StateDir(opts, rec.id) + "/state.json", json::Write(v));
}

absl::StatusOr<StateRecord> LoadState(const Options& opts, const std::string& id) {
  PEAPOD_RETURN_IF_ERROR(ValidateId(id));
  std::string path = StateDir(opts, id) + "/state.json";
  if (::access(path.c_str(), F_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("container \"", id, "\" does not exist"));
  }
  PEAPOD_ASSIGN_OR_RETURN(json::Value v, json::ParseFile(path));
  json::Reader r(v, "$");
  StateRecord rec;
  PEAPOD_ASSIGN_OR_RETURN(auto idr, r.Require("id"));
  PEAPOD_ASSIGN_OR_RETURN(rec.id, idr.String());
  PEAPOD_ASSIGN_OR_RETURN(auto pidr, r.Require("init_pid"));
  PEAPOD_ASSIGN_OR_RETURN(int64_t pid, pidr.Int64());
  rec.init_pid = static_cast<pid_t>(pid);
  PEAPOD_ASSIGN_OR_RETURN(auto str, r.Require("init_start_time"));
  PEAPOD_ASSIGN_OR_RETURN(rec.init_start_time, str.Uint64());
  auto get_string = [&](const char* key, std::string* out) -> absl::Status {
    if (auto m = r.Get(key)) {
      PEAPOD_ASSIGN_OR_RETURN(*out, m->String());
    }
    return absl::OkStatus();
  };
  PEAPOD_RETURN_IF_ERROR(get_string("bundle", &rec.bundle));
  PEAPOD_RETURN_IF_ERROR(get_string("rootfs", &rec.rootfs));
  PEAPOD_RETURN_IF_ERROR(get_string("created", &rec.created));
  PEAPOD_RETURN_IF_ERROR(get_string("cgroup_path", &rec.cgroup_path));
  PEAPOD_RETURN_IF_ERROR(get_string("owner", &rec.owner));
  if (auto s = r.Get("started")) {
    PEAPOD_ASSIGN_OR_RETURN(rec.started, s->Bool());
  }
  if (auto h = r.Get("poststart_hooks")) {
    PEAPOD_ASSIGN_OR_RETURN(rec.poststart_hooks, h->Bool());
  }
  if (auto a = r.Get("annotations")) {
    PEAPOD_ASSIGN_OR_RETURN(rec.annotations, a->StringMap());
  }
  return rec;
}

absl::Status SaveConfig(const Options& opts, const std::string& id, const oci::Spec& spec) {
  return linux::ReplaceFile(StateDir(opts, id) + "/config.json", oci::SerializeSpec(spec));
}

absl::StatusOr<oci::Spec> LoadConfig(const Options& opts, const std::string& id) {
  return oci::LoadSpec(StateDir(opts, id) + "/config.json");
}

std::string NowRfc3339Nano() {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  ::gmtime_r(&ts.tv_sec, &tm);
  return absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
}

const char* InitStatusName(InitStatus s) {
  switch (s) {
    case InitStatus::kCreated:
      return "created";
    case InitStatus::kRunning:
      return "running";
    case InitStatus::kPaused:
      return "paused";
    case InitStatus::kStopped:
      return "stopped";
  }
  return "unknown";
}

bool InitAlive(const StateRecord& rec) {
  if (rec.init_pid <= 0) return false;
  absl::StatusOr<linux::ProcStat> st = linux::ReadProcStat(rec.init_pid);
  if (!st.ok()) return false;
  return st->start_time == rec.init_start_time && st->state != 'Z' && st->state != 'X';
}

}  // namespace peapod::runtime
