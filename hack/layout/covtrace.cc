// covtrace: function coverage of a static binary, for hack/layout/profile.sh.
//
//   covtrace SYMBOLS OUT BINARY [ARG...]
//
// Runs BINARY under ptrace with a one-shot breakpoint (int3) on the entry of
// every function listed in SYMBOLS (lines "<hex vaddr> <name>", from nm), in
// every process of the tree that runs BINARY: forks and threads are followed,
// a process that execs something else is let go. Each first hit of a function
// in a process appends "<pid> <name>" to OUT (O_APPEND, so several covtraces
// may share it). The caller's process exits with BINARY's exit status as soon
// as BINARY exits, while a forked tracer keeps following BINARY's daemonized
// children until the last one exits: a daemon that forks and returns (as a
// containerd shim's `start` does) is traced for its whole life.
#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

struct Breakpoint {
  std::string name;
  unsigned char orig = 0;
};

std::string target;                                // realpath of BINARY
std::map<unsigned long, Breakpoint> breakpoints;   // by vaddr (link-time)
std::unordered_map<pid_t, unsigned long> base_of;  // tgid -> load base
std::set<std::pair<pid_t, std::string>> seen;
int out_fd = -1;

pid_t TgidOf(pid_t tid) {
  std::ifstream f("/proc/" + std::to_string(tid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("Tgid:", 0) == 0) return static_cast<pid_t>(std::stol(line.substr(5)));
  return tid;
}

// Load base of the target in tid's address space, or 0 if it does not run it.
unsigned long BaseOf(pid_t tid) {
  std::ifstream f("/proc/" + std::to_string(tid) + "/maps");
  std::string line;
  while (std::getline(f, line)) {
    unsigned long lo, hi, off;
    char perms[8], path[4096] = "";
    if (sscanf(line.c_str(), "%lx-%lx %7s %lx %*s %*s %4095s", &lo, &hi, perms, &off, path) >= 4 &&
        target == path && off == 0)
      return lo;
  }
  return 0;
}

bool PokeByte(pid_t tid, unsigned long addr, unsigned char byte) {
  int fd = open(("/proc/" + std::to_string(tid) + "/mem").c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = pwrite(fd, &byte, 1, static_cast<off_t>(addr)) == 1;
  close(fd);
  return ok;
}

int PeekByte(pid_t tid, unsigned long addr) {
  int fd = open(("/proc/" + std::to_string(tid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  unsigned char b;
  int r = pread(fd, &b, 1, static_cast<off_t>(addr)) == 1 ? b : -1;
  close(fd);
  return r;
}

// Arms every breakpoint in a process that has just exec'd the target.
void Arm(pid_t tid) {
  unsigned long base = BaseOf(tid);
  if (base == 0) return;
  base_of[TgidOf(tid)] = base;
  std::string mem = "/proc/" + std::to_string(tid) + "/mem";
  int fd = open(mem.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return;
  for (auto& [vaddr, bp] : breakpoints) {
    unsigned char cc = 0xcc;
    if (pread(fd, &bp.orig, 1, static_cast<off_t>(base + vaddr)) != 1) continue;
    if (pwrite(fd, &cc, 1, static_cast<off_t>(base + vaddr)) != 1) continue;
  }
  close(fd);
}

void Record(pid_t tgid, const std::string& name) {
  if (!seen.insert({tgid, name}).second) return;
  std::string line = std::to_string(tgid) + " " + name + "\n";
  if (write(out_fd, line.data(), line.size()) < 0) {
  }
}

// A SIGTRAP: ours if the instruction before rip is one of our breakpoints.
bool HandleTrap(pid_t tid) {
  pid_t tgid = TgidOf(tid);
  auto b = base_of.find(tgid);
  if (b == base_of.end()) {
    unsigned long base = BaseOf(tid);
    if (base == 0) return false;
    b = base_of.emplace(tgid, base).first;
  }
  user_regs_struct regs;
  if (ptrace(PTRACE_GETREGS, tid, nullptr, &regs) != 0) return false;
  unsigned long vaddr = regs.rip - 1 - b->second;
  auto it = breakpoints.find(vaddr);
  if (it == breakpoints.end()) return false;
  if (PeekByte(tid, regs.rip - 1) == 0xcc) PokeByte(tid, regs.rip - 1, it->second.orig);
  regs.rip -= 1;
  ptrace(PTRACE_SETREGS, tid, nullptr, &regs);
  Record(tgid, it->second.name);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: covtrace SYMBOLS OUT BINARY [ARG...]\n");
    return 2;
  }
  char real[4096];
  if (!realpath(argv[3], real)) {
    perror(argv[3]);
    return 2;
  }
  target = real;
  std::ifstream syms(argv[1]);
  std::string line;
  while (std::getline(syms, line)) {
    auto sp = line.find(' ');
    if (sp == std::string::npos) continue;
    breakpoints[std::stoul(line.substr(0, sp), nullptr, 16)].name = line.substr(sp + 1);
  }
  out_fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out_fd < 0) {
    perror(argv[2]);
    return 2;
  }
  int status_pipe[2];
  if (pipe2(status_pipe, O_CLOEXEC) != 0) return 2;
  pid_t tracer = fork();
  if (tracer < 0) return 2;
  if (tracer > 0) {
    // The caller's process: BINARY's exit status, as soon as BINARY exits.
    // Callers that read BINARY's output to EOF (containerd does) must not
    // wait for the tracer, which outlives BINARY: only BINARY holds them.
    close(status_pipe[1]);
    close(STDOUT_FILENO);
    close(STDERR_FILENO);
    int code = 1;
    if (read(status_pipe[0], &code, sizeof code) != sizeof code) code = 1;
    return code;
  }
  close(status_pipe[0]);
  pid_t root = fork();
  if (root == 0) {
    ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    execv(argv[3], argv + 3);
    _exit(127);
  }
  int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  dup2(null_fd, STDOUT_FILENO);  // only BINARY's output reaches the caller
  dup2(null_fd, STDERR_FILENO);
  dup2(null_fd, STDIN_FILENO);
  std::set<pid_t> known;
  bool root_started = false;
  for (;;) {
    int st;
    pid_t tid = waitpid(-1, &st, __WALL);
    if (tid < 0) {
      if (errno == EINTR) continue;
      break;  // ECHILD: nothing left to trace
    }
    if (WIFEXITED(st) || WIFSIGNALED(st)) {
      if (tid == root) {
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (write(status_pipe[1], &code, sizeof code) < 0) {
        }
        close(status_pipe[1]);
      }
      known.erase(tid);
      continue;
    }
    if (!WIFSTOPPED(st)) continue;
    int sig = WSTOPSIG(st);
    int event = st >> 16;
    if (!known.count(tid)) {
      known.insert(tid);
      if (tid == root && !root_started) {
        root_started = true;  // stopped after its execve: arm, follow its children
        ptrace(PTRACE_SETOPTIONS, tid, nullptr,
               PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC);
        Arm(tid);
        ptrace(PTRACE_CONT, tid, nullptr, nullptr);
        continue;
      }
      if (sig == SIGSTOP && event == 0) {  // a new child's first stop
        ptrace(PTRACE_CONT, tid, nullptr, nullptr);
        continue;
      }
    }
    if (event == PTRACE_EVENT_EXEC) {
      base_of.erase(TgidOf(tid));
      if (BaseOf(tid) != 0) {
        Arm(tid);
        ptrace(PTRACE_CONT, tid, nullptr, nullptr);
      } else {
        ptrace(PTRACE_DETACH, tid, nullptr, nullptr);  // not ours any more
        known.erase(tid);
      }
      continue;
    }
    if (event != 0) {
      ptrace(PTRACE_CONT, tid, nullptr, nullptr);
      continue;
    }
    if (sig == SIGTRAP && HandleTrap(tid)) {
      ptrace(PTRACE_CONT, tid, nullptr, nullptr);
      continue;
    }
    ptrace(PTRACE_CONT, tid, nullptr, reinterpret_cast<void*>(static_cast<long>(sig)));
  }
  return 0;
}
