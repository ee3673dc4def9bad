#include "integration/harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace peapod::integration {
namespace {

std::string Env(const char* name, const std::string& fallback) {
  const char* v = getenv(name);
  return v && *v ? v : fallback;
}

// An owned fd.
struct Fd {
  int fd = -1;
  ~Fd() { Close(); }
  void Close() {
    if (fd >= 0) close(fd);
    fd = -1;
  }
};

// A child that is killed and reaped if still running when this goes away.
class ChildGuard {
 public:
  explicit ChildGuard(pid_t pid) : pid_(pid) {}
  ~ChildGuard() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  // Reaps without blocking; true once the child ended (status in *status).
  bool TryReap(int* status) {
    if (pid_ <= 0) return true;
    if (waitpid(pid_, status, WNOHANG) == pid_) {
      pid_ = -1;
      return true;
    }
    return false;
  }
  int KillAndReap() {
    int status = 0;
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_;
};

// Appends what can be read from a non-blocking fd now.
void Drain(int fd, std::string* out) {
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out->append(buf, n);
}

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::string BuildDir() { return Env("PEAPOD_BUILD_DIR", "build"); }
std::string SourceDir() { return Env("PEAPOD_SOURCE_DIR", "."); }
std::string RuntimePath() { return Env("PEA_RUNTIME", BuildDir() + "/oci/pea/pea"); }
bool RuntimeIsRunc() { return std::filesystem::path(RuntimePath()).filename() == "runc"; }

ProcResult RunProcess(const std::vector<std::string>& argv, const std::string& input,
                      int timeout_s) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
    throw std::runtime_error("pipe2 failed");
  }
  Fd in_r{in[0]}, in_w{in[1]}, out_r{out[0]}, out_w{out[1]}, err_r{err[0]}, err_w{err[1]};
  fcntl(out_r.fd, F_SETFL, O_NONBLOCK);
  fcntl(err_r.fd, F_SETFL, O_NONBLOCK);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(in_r.fd, 0);
    dup2(out_w.fd, 1);
    dup2(err_w.fd, 2);
    execvp(args[0], args.data());
    _exit(127);
  }
  ChildGuard child(pid);
  in_r.Close();
  out_w.Close();
  err_w.Close();
  // Small inputs only (config snippets): the pipe buffer holds them.
  if (!input.empty() && write(in_w.fd, input.data(), input.size()) < 0) {
  }
  in_w.Close();
  ProcResult result;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  // Read until the child exits. A detached container (run -d, exec -d) may
  // keep the pipes open after that, so end-of-file is not waited for: once
  // the child is reaped, whatever is buffered is drained and that is all.
  int status = 0;
  bool exited = false;
  while (!exited) {
    if (std::chrono::steady_clock::now() > deadline) {
      result.status = DecodeStatus(child.KillAndReap());
      result.err += "\n[harness: timed out after " + std::to_string(timeout_s) + "s]";
      return result;
    }
    pollfd fds[2] = {{out_r.fd, POLLIN, 0}, {err_r.fd, POLLIN, 0}};
    poll(fds, 2, 20);
    Drain(out_r.fd, &result.out);
    Drain(err_r.fd, &result.err);
    exited = child.TryReap(&status);
  }
  Drain(out_r.fd, &result.out);
  Drain(err_r.fd, &result.err);
  result.status = DecodeStatus(status);
  return result;
}

std::vector<std::string> MountsUnder(const std::string& prefix) {
  std::vector<std::string> found;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string id, parent, dev, root, mount_point;
    words >> id >> parent >> dev >> root >> mount_point;
    if (mount_point.rfind(prefix, 0) == 0) found.push_back(mount_point);
  }
  return found;
}

TempDir::TempDir() {
  std::string tmpl = "/tmp/peapod-it-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::vector<std::string> mounts = MountsUnder(path_ + "/");
  std::sort(mounts.rbegin(), mounts.rend());  // deepest first
  for (const std::string& m : mounts) umount2(m.c_str(), MNT_DETACH);
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Bundle::Bundle(const std::vector<std::string>& args) {
  std::string probe = BuildDir() + "/oci/probe/peapod-probe";
  std::vector<std::string> argv = {SourceDir() + "/hack/make-bundle.sh", "--probe", probe,
                                   dir_.path()};
  ProcResult r = RunProcess(argv);
  if (r.status != 0) throw std::runtime_error("make-bundle.sh failed: " + r.err);
  absl::StatusOr<oci::Spec> loaded = oci::LoadSpec(path() + "/config.json");
  if (!loaded.ok()) throw std::runtime_error("bad generated config: " + loaded.status().ToString());
  spec = *std::move(loaded);
  spec.process->args = args;
  Save();
  // mkdtemp makes 0700; a user-namespaced container's root must traverse it.
  std::filesystem::permissions(path(), std::filesystem::perms(0755));
}

void Bundle::Save() const { SaveRaw(oci::SerializeSpec(spec, /*pretty=*/true)); }

void Bundle::SaveRaw(const std::string& text) const {
  std::ofstream out(path() + "/config.json", std::ios::trunc);
  out << text;
}

Runtime::Runtime() = default;

Runtime::~Runtime() {
  for (const std::string& id : RootEntries()) (*this)({"delete", "--force", id}, "", 20);
}

ProcResult Runtime::operator()(const std::vector<std::string>& args, const std::string& input,
                               int timeout_s) const {
  std::vector<std::string> argv = {RuntimePath(), "--root", root()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, input, timeout_s);
}

std::vector<std::string> Runtime::RootEntries() const {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(root(), ec)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

absl::StatusOr<json::Value> Runtime::State(const std::string& id) const {
  ProcResult r = (*this)({"state", id});
  if (r.status != 0) return absl::NotFoundError("state " + id + ": " + r.err);
  return json::Parse(r.out);
}

absl::StatusOr<json::Value> ProbeJson(const std::string& output) {
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    size_t start = line.find('{');
    size_t end = line.rfind('}');
    if (start != std::string::npos && end != std::string::npos && end > start) {
      return json::Parse(line.substr(start, end - start + 1));
    }
  }
  return absl::NotFoundError("no JSON object in probe output: " + output);
}

std::string WaitForStatus(const Runtime& rt, const std::string& id, const std::string& want,
                          int timeout_ms) {
  std::string last;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    absl::StatusOr<json::Value> state = rt.State(id);
    last = state.ok() && state->Find("status") ? state->Find("status")->as_string() : "(none)";
    if (last == want) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return last;
}

}  // namespace peapod::integration
