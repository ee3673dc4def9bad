// peapod-infra: the pod's infra process, built in so no pause image is
// pulled. It holds the pod's namespaces open by existing, reaps every child
// re-parented to it (it is PID 1 when the pod shares a PID namespace), and
// exits 0 on SIGTERM or SIGINT. Nothing else: it allocates nothing and never
// wakes up unless signalled.
//
// There is one per pod for the pod's whole life, so it is freestanding: no
// libc, only the five system calls below, entered from its own _start. A
// static glibc brought ~650 KiB of start-up code (IFUNC resolvers, TLS,
// locale, stdio), ~700 KiB resident per pod; this is one page of code.
// x86-64 Linux only, as the rest of peapod.
#include <asm/unistd.h>
#include <linux/signal.h>
#include <linux/wait.h>

#include <initializer_list>

namespace {

long Syscall(long n, long a = 0, long b = 0, long c = 0, long d = 0) {
  long ret;
  register long r10 asm("r10") = d;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
               : "rcx", "r11", "memory");
  return ret;
}

// The kernel's struct sigaction on x86-64 (not libc's).
struct KernelSigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)();
  unsigned long mask;
};

constexpr unsigned long kSaRestorer = 0x04000000;

void Ignore(int) {}

extern "C" void peapod_infra_restorer();
asm(".text\n"
    ".type peapod_infra_restorer, @function\n"
    "peapod_infra_restorer:\n"
    "  mov $15, %eax\n"  // rt_sigreturn
    "  syscall\n");

void ReapAll() {
  while (Syscall(__NR_wait4, -1, 0, WNOHANG, 0) > 0) {
  }
}

bool Equal(const char* a, const char* b) {
  while (*a != 0 && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}

[[noreturn]] void Exit(int code) {
  for (;;) Syscall(__NR_exit_group, code);
}

}  // namespace

extern "C" [[noreturn]] void peapod_infra_main(long* sp) {
  long argc = sp[0];
  char** argv = reinterpret_cast<char**>(sp + 1);
  if (argc > 1 && (Equal(argv[1], "--help") || Equal(argv[1], "-h"))) {
    static const char kUsage[] =
        "usage: peapod-infra\n"
        "Holds a pod's namespaces; reaps orphans; exits on SIGTERM or SIGINT.\n";
    Exit(Syscall(__NR_write, 1, reinterpret_cast<long>(kUsage), sizeof kUsage - 1) < 0 ? 1 : 0);
  }
  // As PID 1 of a namespace, signals without a handler are dropped by the
  // kernel: block them first, then install no-op handlers (which never run:
  // the signals stay blocked and are taken by rt_sigtimedwait).
  unsigned long set = 0;
  for (int sig : {SIGTERM, SIGINT, SIGCHLD}) set |= 1UL << (sig - 1);
  Syscall(__NR_rt_sigprocmask, SIG_BLOCK, reinterpret_cast<long>(&set), 0, sizeof set);
  KernelSigaction sa = {Ignore, kSaRestorer, peapod_infra_restorer, 0};
  for (int sig : {SIGTERM, SIGINT, SIGCHLD}) {
    Syscall(__NR_rt_sigaction, sig, reinterpret_cast<long>(&sa), 0, sizeof sa.mask);
  }
  ReapAll();  // Children inherited before the handlers were in place.
  for (;;) {
    long sig = Syscall(__NR_rt_sigtimedwait, reinterpret_cast<long>(&set), 0, 0, sizeof set);
    if (sig == SIGTERM || sig == SIGINT) Exit(0);
    if (sig == SIGCHLD) ReapAll();
  }
}

// The process entry: the stack holds argc, argv..., envp...; align it for
// the call as the ABI wants and never return.
asm(".text\n"
    ".globl _start\n"
    ".type _start, @function\n"
    "_start:\n"
    "  xor %ebp, %ebp\n"
    "  mov %rsp, %rdi\n"
    "  and $-16, %rsp\n"
    "  call peapod_infra_main\n"
    "  hlt\n");
