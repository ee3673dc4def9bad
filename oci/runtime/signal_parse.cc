// Signal names and numbers.
#include <signal.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "oci/runtime/runtime.h"

namespace peapod::runtime {
namespace {

struct SignalName {
  const char* name;
  int number;
};

constexpr SignalName kSignals[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},     {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},
    {"FPE", SIGFPE},       {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},     {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
    {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH},   {"IO", SIGIO},     {"POLL", SIGPOLL},     {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};

}  // namespace

absl::StatusOr<int> ParseSignal(const std::string& text) {
  int n = 0;
  if (absl::SimpleAtoi(text, &n)) {
    if (n <= 0 || n > SIGRTMAX) return absl::InvalidArgumentError("invalid signal " + text);
    return n;
  }
  std::string name = absl::AsciiStrToUpper(text);
  if (name.rfind("SIG", 0) == 0) name = name.substr(3);
  for (const SignalName& s : kSignals) {
    if (name == s.name) return s.number;
  }
  // RTMIN, RTMIN+n, RTMAX-n.
  if (name.rfind("RTMIN", 0) == 0 || name.rfind("RTMAX", 0) == 0) {
    int base = name[2] == 'M' && name[3] == 'I' ? SIGRTMIN : SIGRTMAX;
    std::string rest = name.substr(5);
    int off = 0;
    if (rest.empty() ||
        ((rest[0] == '+' || rest[0] == '-') && absl::SimpleAtoi(rest.substr(1), &off))) {
      int sig = rest.empty() ? base : rest[0] == '+' ? base + off : base - off;
      if (sig >= SIGRTMIN && sig <= SIGRTMAX) return sig;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("invalid signal \"", text, "\""));
}

}  // namespace peapod::runtime
