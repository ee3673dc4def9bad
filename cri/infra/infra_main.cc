// peapod-infra: the pod's infra process, built in so no pause image is
// pulled. It holds the pod's namespaces open by existing, reaps every child
// re-parented to it (it is PID 1 when the pod shares a PID namespace), and
// exits 0 on SIGTERM or SIGINT. Nothing else: it allocates nothing and never
// wakes up unless signalled.
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <initializer_list>

namespace {

void Ignore(int) {}

void ReapAll() {
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    static const char kUsage[] =
        "usage: peapod-infra\n"
        "Holds a pod's namespaces; reaps orphans; exits on SIGTERM or SIGINT.\n";
    return write(STDOUT_FILENO, kUsage, sizeof kUsage - 1) < 0 ? 1 : 0;
  }
  // As PID 1 of a namespace, signals without a handler are dropped by the
  // kernel; install no-op handlers, then block and wait for them.
  sigset_t set;
  sigemptyset(&set);
  struct sigaction sa = {};
  sa.sa_handler = Ignore;
  for (int sig : {SIGTERM, SIGINT, SIGCHLD}) {
    sigaction(sig, &sa, nullptr);
    sigaddset(&set, sig);
  }
  sigprocmask(SIG_BLOCK, &set, nullptr);
  ReapAll();  // Children inherited before the handlers were in place.
  for (;;) {
    int sig = sigwaitinfo(&set, nullptr);
    if (sig == SIGTERM || sig == SIGINT) return 0;
    if (sig == SIGCHLD) ReapAll();
  }
}
