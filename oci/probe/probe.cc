// peapod-probe: a tiny static program that integration tests run inside
// containers. With no arguments (or `facts`) it prints one JSON object of
// facts about the process it runs as; with an action it does one thing and
// prints one JSON object with the outcome. Tests assert on these facts rather
// than on shell output.
//
// Deliberately self-contained: libc and a few std:: containers, no abseil,
// linked with -static so it runs in a rootfs without a libc.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <vector>

extern char** environ;

namespace {

// Appends `s` as a JSON string literal.
void AppendQuoted(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

// A minimal JSON object writer: members are appended in call order.
class Obj {
 public:
  Obj& Str(const char* key, const std::string& v) {
    Key(key);
    AppendQuoted(out_, v);
    return *this;
  }
  Obj& Int(const char* key, long long v) {
    Key(key);
    out_ += std::to_string(v);
    return *this;
  }
  Obj& Bool(const char* key, bool v) {
    Key(key);
    out_ += v ? "true" : "false";
    return *this;
  }
  Obj& Raw(const char* key, const std::string& json) {
    Key(key);
    out_ += json;
    return *this;
  }
  std::string Done() const { return out_ + "}"; }

 private:
  void Key(const char* key) {
    out_ += first_ ? "" : ",";
    first_ = false;
    AppendQuoted(out_, key);
    out_ += ':';
  }
  std::string out_ = "{";
  bool first_ = true;
};

std::string StrArray(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    AppendQuoted(out, v[i]);
  }
  return out + "]";
}

template <typename T>
std::string IntArray(const std::vector<T>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(v[i]);
  }
  return out + "]";
}

// Reads a whole (small, possibly /proc) file; sets *err to errno on failure.
std::string ReadFile(const char* path, int* err = nullptr) {
  std::string out;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (err) *err = errno;
    return out;
  }
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, n);
  if (err) *err = n < 0 ? errno : 0;
  close(fd);
  return out;
}

std::vector<std::string> SplitLines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t nl = s.find('\n', start);
    if (nl == std::string::npos) nl = s.size();
    out.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

std::vector<std::string> SplitWords(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// Value of "Key:\tvalue" in /proc/self/status, "" if absent.
std::string StatusField(const std::string& status, const std::string& key) {
  for (const std::string& line : SplitLines(status)) {
    if (line.compare(0, key.size() + 1, key + ":") == 0) {
      size_t i = key.size() + 1;
      while (i < line.size() && (line[i] == '\t' || line[i] == ' ')) ++i;
      return line.substr(i);
    }
  }
  return "";
}

// Names of a directory's entries except "." and "..", sorted.
std::vector<std::string> ListDir(const char* path, int* err = nullptr) {
  std::vector<std::string> out;
  DIR* d = opendir(path);
  if (!d) {
    if (err) *err = errno;
    return out;
  }
  while (dirent* e = readdir(d)) {
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) out.push_back(e->d_name);
  }
  closedir(d);
  for (size_t i = 1; i < out.size(); ++i)  // insertion sort: lists are short
    for (size_t j = i; j > 0 && out[j] < out[j - 1]; --j) std::swap(out[j], out[j - 1]);
  if (err) *err = 0;
  return out;
}

// Open fds of this process, without the one used to list them.
std::vector<int> OpenFds() {
  std::vector<int> fds;
  DIR* d = opendir("/proc/self/fd");
  if (!d) return fds;
  int self = dirfd(d);
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    int fd = atoi(e->d_name);
    if (fd != self) fds.push_back(fd);
  }
  closedir(d);
  for (size_t i = 1; i < fds.size(); ++i)
    for (size_t j = i; j > 0 && fds[j] < fds[j - 1]; --j) std::swap(fds[j], fds[j - 1]);
  return fds;
}

// /proc/self/mountinfo as [{"mount_point","fstype","source","options","super_options"}].
std::string Mounts() {
  std::string out = "[";
  bool first = true;
  for (const std::string& line : SplitLines(ReadFile("/proc/self/mountinfo"))) {
    std::vector<std::string> w = SplitWords(line);
    size_t dash = 0;
    for (size_t i = 6; i < w.size(); ++i)
      if (w[i] == "-") {
        dash = i;
        break;
      }
    if (dash == 0 || w.size() < dash + 3) continue;
    Obj m;
    m.Str("mount_point", w[4]).Str("options", w[5]).Str("fstype", w[dash + 1]);
    m.Str("source", w[dash + 2]).Str("super_options", dash + 3 < w.size() ? w[dash + 3] : "");
    out += first ? "" : ",";
    first = false;
    out += m.Done();
  }
  return out + "]";
}

struct RlimitName {
  int resource;
  const char* name;
};
constexpr RlimitName kRlimits[] = {
    {RLIMIT_AS, "RLIMIT_AS"},
    {RLIMIT_CORE, "RLIMIT_CORE"},
    {RLIMIT_CPU, "RLIMIT_CPU"},
    {RLIMIT_DATA, "RLIMIT_DATA"},
    {RLIMIT_FSIZE, "RLIMIT_FSIZE"},
    {RLIMIT_LOCKS, "RLIMIT_LOCKS"},
    {RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK"},
    {RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE"},
    {RLIMIT_NICE, "RLIMIT_NICE"},
    {RLIMIT_NOFILE, "RLIMIT_NOFILE"},
    {RLIMIT_NPROC, "RLIMIT_NPROC"},
    {RLIMIT_RSS, "RLIMIT_RSS"},
    {RLIMIT_RTPRIO, "RLIMIT_RTPRIO"},
    {RLIMIT_RTTIME, "RLIMIT_RTTIME"},
    {RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING"},
    {RLIMIT_STACK, "RLIMIT_STACK"},
};

// {"RLIMIT_NOFILE":{"soft":1024,"hard":4096},...}; infinity is -1.
std::string Rlimits() {
  Obj all;
  for (const RlimitName& r : kRlimits) {
    struct rlimit lim;
    if (getrlimit(static_cast<__rlimit_resource_t>(r.resource), &lim) != 0) continue;
    auto v = [](rlim_t x) { return x == RLIM_INFINITY ? -1LL : static_cast<long long>(x); };
    all.Raw(r.name, Obj().Int("soft", v(lim.rlim_cur)).Int("hard", v(lim.rlim_max)).Done());
  }
  return all.Done();
}

// Whether a file can be created (and removed) in `dir`.
bool Writable(const char* dir) {
  std::string path = std::string(dir) + "/.peapod-probe-" + std::to_string(getpid());
  int fd = open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  close(fd);
  unlink(path.c_str());
  return true;
}

std::string Namespaces() {
  Obj ns;
  for (const char* n : {"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"}) {
    char buf[128] = {0};
    std::string link = std::string("/proc/self/ns/") + n;
    ssize_t len = readlink(link.c_str(), buf, sizeof buf - 1);
    if (len > 0) ns.Str(n, std::string(buf, len));
  }
  return ns.Done();
}

std::string Facts() {
  std::string status = ReadFile("/proc/self/status");
  Obj o;
  o.Int("pid", getpid()).Int("ppid", getppid());
  o.Int("uid", getuid()).Int("gid", getgid()).Int("euid", geteuid()).Int("egid", getegid());
  std::vector<gid_t> groups(NGROUPS_MAX);
  int n = getgroups(static_cast<int>(groups.size()), groups.data());
  groups.resize(n < 0 ? 0 : n);
  o.Raw("groups", IntArray(groups));
  struct utsname uts;
  uname(&uts);
  o.Str("hostname", uts.nodename).Str("domainname", uts.domainname);
  char cwd[PATH_MAX] = {0};
  o.Str("cwd", getcwd(cwd, sizeof cwd) ? cwd : "");
  mode_t mask = umask(0);
  umask(mask);
  o.Int("umask", mask);
  for (const char* k : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
    o.Str(k, StatusField(status, k));
  o.Int("no_new_privs", atoi(StatusField(status, "NoNewPrivs").c_str()));
  o.Int("seccomp", atoi(StatusField(status, "Seccomp").c_str()));
  o.Raw("rlimits", Rlimits());
  o.Raw("fds", IntArray(OpenFds()));
  o.Raw("mounts", Mounts());
  o.Raw("net", StrArray(ListDir("/sys/class/net")));
  o.Bool("root_writable", Writable("/"));
  o.Bool("stdin_tty", isatty(0)).Bool("stdout_tty", isatty(1)).Bool("stderr_tty", isatty(2));
  o.Raw("cgroup", StrArray(SplitLines(ReadFile("/proc/self/cgroup"))));
  o.Str("uid_map", ReadFile("/proc/self/uid_map")).Str("gid_map", ReadFile("/proc/self/gid_map"));
  o.Str("oom_score_adj", ReadFile("/proc/self/oom_score_adj"));
  o.Raw("namespaces", Namespaces());
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) env.push_back(*e);
  o.Raw("env", StrArray(env));
  return o.Done();
}

// An action's outcome: {"action":..., "errno":..., "error":...} plus extras.
Obj Outcome(const char* action, int err) {
  Obj o;
  o.Str("action", action).Int("errno", err).Str("error", err ? strerror(err) : "");
  return o;
}

int Print(const std::string& json) {
  std::string line = json + "\n";
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = write(1, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 1;
    p += n;
    left -= n;
  }
  return 0;
}

void OnSignal(int sig) {
  char buf[64];
  int len = snprintf(buf, sizeof buf, "{\"action\":\"signal\",\"signal\":%d}\n", sig);
  if (write(1, buf, len) < 0) _exit(128 + sig);
  _exit(128 + sig);
}

// Sleeps `seconds`; the usual termination signals are reported and exit
// 128+sig (as PID 1 of a pid namespace the default action would be ignored).
int Sleep(long seconds) {
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGQUIT}) signal(sig, OnSignal);
  Print(Outcome("sleep", 0).Int("seconds", seconds).Done());
  time_t end = time(nullptr) + seconds;
  while (time(nullptr) < end) sleep(static_cast<unsigned>(end - time(nullptr)));
  return 0;
}

// Touches `mib` MiB of anonymous memory page by page.
int Alloc(long mib) {
  size_t len = static_cast<size_t>(mib) << 20;
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return Print(Outcome("alloc", errno).Done()), 1;
  long page = sysconf(_SC_PAGESIZE);
  for (size_t off = 0; off < len; off += page) static_cast<volatile char*>(p)[off] = 1;
  Print(Outcome("alloc", 0).Int("mib", mib).Done());
  return 0;
}

// Forks up to `n` children that wait; reports how many forks succeeded and
// the errno of the first failure, then ends them all.
int Forks(long n) {
  std::vector<pid_t> kids;
  int err = 0;
  for (long i = 0; i < n; ++i) {
    pid_t pid = fork();
    if (pid == 0) {
      pause();
      _exit(0);
    }
    if (pid < 0) {
      err = errno;
      break;
    }
    kids.push_back(pid);
  }
  for (pid_t k : kids) kill(k, SIGKILL);
  for (pid_t k : kids) waitpid(k, nullptr, 0);
  Print(Outcome("forks", err).Int("forked", static_cast<long long>(kids.size())).Done());
  return 0;
}

int WriteFile(const char* path, const char* content) {
  int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  int err = 0;
  if (fd < 0) {
    err = errno;
  } else {
    size_t len = strlen(content);
    if (write(fd, content, len) != static_cast<ssize_t>(len)) err = errno ? errno : EIO;
    close(fd);
  }
  Print(Outcome("write", err).Str("path", path).Done());
  return err ? 1 : 0;
}

int ReadAction(const char* path) {
  int err = 0;
  std::string content = ReadFile(path, &err);
  Print(Outcome("read", err).Str("path", path).Str("content", content).Done());
  return err ? 1 : 0;
}

int LsAction(const char* path) {
  int err = 0;
  std::vector<std::string> names = ListDir(path, &err);
  Print(Outcome("ls", err).Str("path", path).Raw("entries", StrArray(names)).Done());
  return err ? 1 : 0;
}

int Usage() {
  fprintf(stderr,
          "usage: peapod-probe [facts | sethostname NAME | alloc MIB | forks N | sleep S |\n"
          "                     write PATH [TEXT] | read PATH | ls DIR | exit CODE]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string action = argc > 1 ? argv[1] : "facts";
  const char* arg = argc > 2 ? argv[2] : nullptr;
  if (action == "facts") return Print(Facts());
  if (action == "exit" && arg) return atoi(arg);
  if (action == "sleep" && arg) return Sleep(atol(arg));
  if (action == "alloc" && arg) return Alloc(atol(arg));
  if (action == "forks" && arg) return Forks(atol(arg));
  if (action == "write" && arg) return WriteFile(arg, argc > 3 ? argv[3] : "peapod\n");
  if (action == "read" && arg) return ReadAction(arg);
  if (action == "ls" && arg) return LsAction(arg);
  if (action == "sethostname" && arg) {
    int err = sethostname(arg, strlen(arg)) == 0 ? 0 : errno;
    Print(Outcome("sethostname", err).Done());
    return err ? 1 : 0;
  }
  return Usage();
}
