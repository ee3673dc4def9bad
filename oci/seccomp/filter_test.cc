#include "oci/seccomp/filter.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "oci/seccomp/testing.h"

namespace peapod::seccomp {
namespace {

using ::testing::HasSubstr;
using testing::RunFiltered;

// errno of a raw syscall returning -1, 0 on success, 255 for other values.
int Errno(long rc) { return rc == -1 ? errno : (rc == 0 ? 0 : 255); }

oci::SeccompSyscall Rule(std::vector<std::string> names, std::string action,
                         std::vector<oci::SeccompArg> args = {},
                         std::optional<uint32_t> errno_ret = std::nullopt) {
  return oci::SeccompSyscall{std::move(names), std::move(action), errno_ret, std::move(args)};
}

oci::Seccomp Profile(std::string default_action, std::vector<oci::SeccompSyscall> rules) {
  oci::Seccomp s;
  s.default_action = std::move(default_action);
  s.syscalls = std::move(rules);
  return s;
}

Filter MustBuild(const oci::Seccomp& s) {
  absl::StatusOr<Filter> f = Filter::Build(s);
  EXPECT_TRUE(f.ok()) << f.status();
  return f.ok() ? *std::move(f) : Filter();
}

// getpriority(which, who) is harmless and fails with ESRCH for a missing
// process, so a filter's EPERM is easy to tell apart.
int GetPriorityErrno(int which, int who) {
  errno = 0;
  long rc = syscall(SYS_getpriority, which, who);
  return rc == -1 ? errno : 0;
}

constexpr int kNoSuchPid = 0x3fffff0;

TEST(SeccompFilter, DeniesSethostnameWithEperm) {
  Filter f = MustBuild(Profile("SCMP_ACT_ALLOW", {Rule({"sethostname"}, "SCMP_ACT_ERRNO")}));
  EXPECT_GT(f.size(), 0u);
  int status = RunFiltered(f, [] {
    // A private UTS namespace first, so a filter that failed to deny cannot
    // rename the host.
    if (unshare(CLONE_NEWUTS) != 0) return 200;
    return Errno(sethostname("x", 1));
  });
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), EPERM);
}

TEST(SeccompFilter, ErrnoRetValues) {
  Filter f =
      MustBuild(Profile("SCMP_ACT_ALLOW", {Rule({"sethostname"}, "SCMP_ACT_ERRNO", {}, ENOSYS),
                                           Rule({"setdomainname"}, "SCMP_ACT_ERRNO", {}, EACCES)}));
  int status = RunFiltered(f, [] {
    if (unshare(CLONE_NEWUTS) != 0) return 200;
    if (Errno(sethostname("x", 1)) != ENOSYS) return 1;
    return Errno(setdomainname("x", 1));
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), EACCES);
}

TEST(SeccompFilter, DefaultErrnoWithAllowList) {
  oci::Seccomp s =
      Profile("SCMP_ACT_ERRNO",
              // Beyond getpid and exit: what the sanitizer runtime calls around syscall().
              {Rule({"exit_group", "exit", "getpid", "not_a_real_syscall", "sigaltstack", "gettid",
                     "mmap", "munmap", "madvise", "rt_sigprocmask", "write"},
                    "SCMP_ACT_ALLOW")});
  s.default_errno_ret = EXDEV;
  Filter f = MustBuild(s);
  int status = RunFiltered(f, [] {
    if (syscall(SYS_getpid) <= 0) return 1;
    return Errno(syscall(SYS_getppid));
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), EXDEV);
}

TEST(SeccompFilter, SyscallsNewerThanProfileGetEnosys) {
#if !defined(__x86_64__)
  GTEST_SKIP() << "syscall numbers below are x86_64's";
#endif
  // The profile's highest syscall is exit_group (231 on x86_64): getppid
  // (110) gets the default action, fanotify_init (300) ENOSYS.
  oci::Seccomp s =
      Profile("SCMP_ACT_ERRNO", {Rule({"exit_group", "getpid", "sigaltstack", "gettid", "mmap",
                                       "munmap", "madvise", "rt_sigprocmask", "write"},
                                      "SCMP_ACT_ALLOW")});
  s.default_errno_ret = EXDEV;
  Filter f = MustBuild(s);
  int status = RunFiltered(f, [] {
    if (Errno(syscall(SYS_getppid)) != EXDEV) return 1;
    if (Errno(syscall(SYS_fanotify_init, 0, 0)) != ENOSYS) return 2;
    if (Errno(syscall(SYS_exit_group + 1000)) != ENOSYS) return 3;
    return 0;
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(SeccompFilter, ArgFilterDeniesOnlyMatchingValue) {
  Filter f = MustBuild(Profile("SCMP_ACT_ALLOW", {Rule({"personality"}, "SCMP_ACT_ERRNO",
                                                       {{0, 0xffffffffu, 0, "SCMP_CMP_EQ"}})}));
  int status = RunFiltered(f, [] {
    errno = 0;
    if (personality(0xffffffff) != -1 || errno != EPERM) return 1;
    if (personality(PER_LINUX) == -1) return 2;  // other personas pass
    return 0;
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(SeccompFilter, ConditionsOnDifferentArgsAreAnd) {
  Filter f = MustBuild(Profile("SCMP_ACT_ALLOW", {Rule({"getpriority"}, "SCMP_ACT_ERRNO",
                                                       {{0, PRIO_PROCESS, 0, "SCMP_CMP_EQ"},
                                                        {1, kNoSuchPid, 0, "SCMP_CMP_EQ"}})}));
  int status = RunFiltered(f, [] {
    if (GetPriorityErrno(PRIO_PROCESS, kNoSuchPid) != EPERM) return 1;
    if (GetPriorityErrno(PRIO_PGRP, kNoSuchPid) != ESRCH) return 2;
    if (GetPriorityErrno(PRIO_PROCESS, kNoSuchPid + 1) != ESRCH) return 3;
    return 0;
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(SeccompFilter, ConditionsOnSameArgAreSeparateRules) {
  // runc adds one rule per condition when an index repeats, i.e. an OR.
  Filter f = MustBuild(Profile("SCMP_ACT_ALLOW", {Rule({"getpriority"}, "SCMP_ACT_ERRNO",
                                                       {{1, kNoSuchPid, 0, "SCMP_CMP_EQ"},
                                                        {1, kNoSuchPid + 1, 0, "SCMP_CMP_EQ"}})}));
  int status = RunFiltered(f, [] {
    if (GetPriorityErrno(PRIO_PROCESS, kNoSuchPid) != EPERM) return 1;
    if (GetPriorityErrno(PRIO_PROCESS, kNoSuchPid + 1) != EPERM) return 2;
    if (GetPriorityErrno(PRIO_PROCESS, kNoSuchPid + 2) != ESRCH) return 3;
    return 0;
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(SeccompFilter, RangeAndMaskedOperators) {
  Filter f = MustBuild(Profile(
      "SCMP_ACT_ALLOW",
      {Rule({"getpriority"}, "SCMP_ACT_ERRNO", {{1, kNoSuchPid + 10, 0, "SCMP_CMP_GE"}}),
       Rule({"getpriority"}, "SCMP_ACT_ERRNO", {{1, 0xf, 0x5, "SCMP_CMP_MASKED_EQ"}}, EACCES)}));
  int status = RunFiltered(f, [] {
    if (GetPriorityErrno(PRIO_PROCESS, kNoSuchPid + 11) != EPERM) return 1;
    if (GetPriorityErrno(PRIO_PROCESS, kNoSuchPid + 9) != ESRCH) return 2;
    if (GetPriorityErrno(PRIO_PROCESS, 0x3fffff5) != EACCES) return 3;  // low nibble 5
    return 0;
  });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(SeccompFilter, KillAndTrapActionsSendSigsys) {
  for (const char* action : {"SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP"}) {
    Filter f = MustBuild(Profile("SCMP_ACT_ALLOW", {Rule({"getppid"}, action)}));
    int status = RunFiltered(f, [] {
      syscall(SYS_getppid);
      return 0;
    });
    ASSERT_TRUE(WIFSIGNALED(status)) << action << " status " << status;
    EXPECT_EQ(WTERMSIG(status), SIGSYS) << action;
  }
}

TEST(SeccompFilter, LogAndFlagsAllow) {
  oci::Seccomp s = Profile("SCMP_ACT_ALLOW", {Rule({"getppid"}, "SCMP_ACT_LOG")});
  s.flags = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
             "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};
  s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  Filter f = MustBuild(s);
  EXPECT_EQ(f.flags(), 7u);
  int status = RunFiltered(f, [] { return syscall(SYS_getppid) > 0 ? 0 : 1; });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(SeccompFilter, RuleWithDefaultActionIsSkipped) {
  Filter f = MustBuild(Profile("SCMP_ACT_ALLOW", {Rule({"read"}, "SCMP_ACT_ALLOW")}));
  int status = RunFiltered(f, [] { return 0; });
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// Builds `s`, expects failure with `code` and a message containing `text`.
void ExpectBuildError(const oci::Seccomp& s, absl::StatusCode code, const std::string& text) {
  absl::StatusOr<Filter> f = Filter::Build(s);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), code) << f.status();
  EXPECT_THAT(f.status().message(), HasSubstr(text));
}

TEST(SeccompFilter, BadInput) {
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  ExpectBuildError(Profile("SCMP_ACT_FOO", {}), kInvalid,
                   "linux.seccomp.defaultAction: unknown action SCMP_ACT_FOO");
  ExpectBuildError(Profile("SCMP_ACT_ALLOW",
                           {Rule({"read"}, "SCMP_ACT_ERRNO"), Rule({"write"}, "SCMP_ACT_BAR")}),
                   kInvalid, "linux.seccomp.syscalls[1].action: unknown action SCMP_ACT_BAR");
  ExpectBuildError(
      Profile("SCMP_ACT_ALLOW", {Rule({"read"}, "SCMP_ACT_ERRNO", {{0, 1, 0, "SCMP_CMP_XX"}})}),
      kInvalid, "linux.seccomp.syscalls[0].args[0].op: unknown operator SCMP_CMP_XX");
  ExpectBuildError(
      Profile("SCMP_ACT_ALLOW", {Rule({"read"}, "SCMP_ACT_ERRNO", {{6, 1, 0, "SCMP_CMP_EQ"}})}),
      kInvalid, "linux.seccomp.syscalls[0].args[0].index");
  oci::Seccomp arch = Profile("SCMP_ACT_ALLOW", {});
  arch.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"};
  ExpectBuildError(arch, kInvalid, "linux.seccomp.architectures[1]: unknown architecture");
  oci::Seccomp flag = Profile("SCMP_ACT_ALLOW", {});
  flag.flags = {"SECCOMP_FILTER_FLAG_NOPE"};
  ExpectBuildError(flag, kInvalid, "linux.seccomp.flags[0]: unknown flag");
  ExpectBuildError(Profile("SCMP_ACT_ALLOW", {Rule({"read"}, "SCMP_ACT_NOTIFY")}),
                   absl::StatusCode::kUnimplemented, "syscalls[0].action: SCMP_ACT_NOTIFY");
  oci::Seccomp listener = Profile("SCMP_ACT_ALLOW", {});
  listener.listener_path = "/run/agent.sock";
  ExpectBuildError(listener, absl::StatusCode::kUnimplemented, "listenerPath");
}

TEST(SeccompFilter, ActionValueMapsNames) {
  EXPECT_EQ(*ActionValue("SCMP_ACT_ERRNO", std::nullopt, "x"), SCMP_ACT_ERRNO(EPERM));
  EXPECT_EQ(*ActionValue("SCMP_ACT_ERRNO", 38, "x"), SCMP_ACT_ERRNO(38));
  EXPECT_EQ(*ActionValue("SCMP_ACT_TRACE", std::nullopt, "x"), SCMP_ACT_TRACE(EPERM));
  EXPECT_EQ(*ActionValue("SCMP_ACT_KILL", std::nullopt, "x"), SCMP_ACT_KILL_THREAD);
  EXPECT_EQ(*ActionValue("SCMP_ACT_LOG", std::nullopt, "x"), SCMP_ACT_LOG);
  EXPECT_EQ(*ArchToken("SCMP_ARCH_AARCH64", "x"), SCMP_ARCH_AARCH64);
}

}  // namespace
}  // namespace peapod::seccomp
