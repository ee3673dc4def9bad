#include "shim/launcher.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "oci/spec/json.h"
#include "shim/stats.h"

namespace peapod::shim {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

absl::StatusOr<pid_t> ReadPidFile(const std::string& path) {
  std::string text = ReadFile(path);
  unlink(path.c_str());
  pid_t pid = atoi(text.c_str());
  if (pid <= 0) return absl::InternalError(absl::StrCat("bad pid file ", path, ": '", text, "'"));
  return pid;
}

// The last error message in a runc-style JSON log ("msg" of level error/fatal).
std::string LastLogError(const std::string& log) {
  std::string found;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    absl::StatusOr<json::Value> v = json::Parse(line);
    if (!v.ok()) continue;
    const json::Value* level = v->Find("level");
    const json::Value* msg = v->Find("msg");
    if (level && level->is_string() && msg && msg->is_string() &&
        (level->as_string() == "error" || level->as_string() == "fatal")) {
      found = msg->as_string();
    }
  }
  return found;
}

}  // namespace

Launcher::Launcher(Reaper* reaper, std::string binary, std::string root)
    : reaper_(reaper), binary_(std::move(binary)), root_(std::move(root)) {}

std::string Launcher::LogPath() const { return root_ + "/shim-runtime-log.json"; }

absl::Status Launcher::Run(std::vector<std::string> args, int in, int out, int err) {
  std::string log = absl::StrCat(LogPath(), ".", gettid());
  std::vector<std::string> argv = {binary_, "--root", root_, "--log", log, "--log-format", "json"};
  argv.insert(argv.end(), args.begin(), args.end());
  absl::StatusOr<Exit> exit = reaper_->Run(Command{argv, in, out, err});
  if (!exit.ok()) return exit.status();
  std::string text = ReadFile(log);
  unlink(log.c_str());
  if (exit->ExitCode() == 0) return absl::OkStatus();
  std::string msg = LastLogError(text);
  if (msg.empty()) msg = absl::StrCat("exit status ", exit->ExitCode());
  std::string what = absl::StrCat(binary_, " ", args.empty() ? "" : args[0], ": ", msg);
  if (msg.find("does not exist") != std::string::npos ||
      msg.find("not exist") != std::string::npos) {
    return absl::NotFoundError(what);
  }
  return absl::UnknownError(what);
}

absl::StatusOr<pid_t> Launcher::Create(const std::string& id, const std::string& bundle,
                                       const Stdio& io) {
  std::string pid_file = bundle + "/init.pid";
  std::vector<std::string> args = {"create", "--bundle", bundle, "--pid-file", pid_file};
  if (!io.console_socket().empty()) {
    args.insert(args.end(), {"--console-socket", io.console_socket()});
  }
  args.push_back(id);
  if (absl::Status s = Run(args, io.stdin_fd(), io.stdout_fd(), io.stderr_fd()); !s.ok()) return s;
  return ReadPidFile(pid_file);
}

absl::Status Launcher::Start(const std::string& id) { return Run({"start", id}); }

absl::StatusOr<pid_t> Launcher::Exec(const std::string& id, const std::string& bundle,
                                     const std::string& exec_id, const std::string& process_json,
                                     const Stdio& io) {
  std::string spec = absl::StrCat(bundle, "/.exec-", exec_id, ".json");
  std::string pid_file = absl::StrCat(bundle, "/.exec-", exec_id, ".pid");
  {
    std::ofstream f(spec, std::ios::trunc);
    f << process_json;
    if (!f.good()) return absl::InternalError("write " + spec);
  }
  std::vector<std::string> args = {"exec", "--detach", "--process", spec, "--pid-file", pid_file};
  if (!io.console_socket().empty()) {
    args.insert(args.end(), {"--console-socket", io.console_socket()});
  }
  args.push_back(id);
  absl::Status s = Run(args, io.stdin_fd(), io.stdout_fd(), io.stderr_fd());
  unlink(spec.c_str());
  if (!s.ok()) return s;
  return ReadPidFile(pid_file);
}

absl::Status Launcher::Kill(const std::string& id, int signal, bool all) {
  std::vector<std::string> args = {"kill"};
  if (all) args.push_back("--all");
  args.insert(args.end(), {id, std::to_string(signal)});
  return Run(args);
}

absl::Status Launcher::Delete(const std::string& id, bool force) {
  std::vector<std::string> args = {"delete"};
  if (force) args.push_back("--force");
  args.push_back(id);
  return Run(args);
}

absl::Status Launcher::Pause(const std::string& id) { return Run({"pause", id}); }

absl::Status Launcher::Resume(const std::string& id) { return Run({"resume", id}); }

absl::Status Launcher::Update(const std::string& id, const std::string& bundle,
                              const std::string& resources_json) {
  std::string path = bundle + "/.update.json";
  {
    std::ofstream f(path, std::ios::trunc);
    f << resources_json;
  }
  absl::Status s = Run({"update", "--resources", path, id});
  unlink(path.c_str());
  return s;
}

absl::StatusOr<std::string> Launcher::RunCapture(std::vector<std::string> args) {
  linux::UniqueFd out(memfd_create("runtime-out", MFD_CLOEXEC));
  if (absl::Status s = Run(std::move(args), -1, out.get()); !s.ok()) return s;
  std::string text;
  char buf[4096];
  lseek(out.get(), 0, SEEK_SET);
  for (ssize_t n; (n = read(out.get(), buf, sizeof(buf))) > 0;) text.append(buf, n);
  return text;
}

absl::StatusOr<std::vector<pid_t>> Launcher::Pids(const std::string& id) {
  absl::StatusOr<std::string> text = RunCapture({"ps", "--format", "json", id});
  if (!text.ok()) return text.status();
  absl::StatusOr<json::Value> v = json::Parse(*text);
  if (!v.ok()) return v.status();
  std::vector<pid_t> pids;
  if (!v->is_array()) return pids;  // runc prints null for none
  for (const json::Value& e : v->as_array()) {
    if (e.type() == json::Type::kUint) pids.push_back(static_cast<pid_t>(e.raw_uint()));
    if (e.type() == json::Type::kInt) pids.push_back(static_cast<pid_t>(e.raw_int()));
  }
  return pids;
}

absl::StatusOr<std::string> Launcher::Metrics(const std::string& id) {
  absl::StatusOr<std::string> raw = RunCapture({"events", "--stats", id});
  if (!raw.ok()) return raw.status();
  return MetricsFromRuntimeStats(*raw);
}

}  // namespace peapod::shim
