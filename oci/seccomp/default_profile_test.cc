#include "oci/seccomp/default_profile.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gtest/gtest.h"
#include "oci/seccomp/filter.h"
#include "oci/seccomp/testing.h"

namespace peapod::seccomp {
namespace {

using testing::RunFiltered;

Filter DefaultFilter(const std::vector<std::string>& caps = {}) {
  absl::StatusOr<Filter> f = Filter::Build(RuntimeDefaultProfile(caps));
  EXPECT_TRUE(f.ok()) << f.status();
  return f.ok() ? *std::move(f) : Filter();
}

TEST(RuntimeDefaultProfile, Shape) {
  oci::Seccomp p = RuntimeDefaultProfile();
  EXPECT_EQ(p.default_action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(p.default_errno_ret, EPERM);
  ASSERT_FALSE(p.syscalls.empty());
  EXPECT_EQ(p.syscalls[0].action, "SCMP_ACT_ALLOW");
  for (const oci::SeccompSyscall& s : p.syscalls) {
    for (const std::string& n : s.names) {
      EXPECT_NE(n, "kexec_load");
      EXPECT_NE(n, "mount");
      EXPECT_NE(n, "unshare");
    }
  }
}

TEST(RuntimeDefaultProfile, BusyboxWorkloadRuns) {
  if (access("/bin/busybox", X_OK) != 0) GTEST_SKIP() << "busybox-static not installed";
  Filter f = DefaultFilter();
  int status = RunFiltered(f, [] {
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (devnull < 0 || dup2(devnull, 1) < 0) return 201;
    const char* argv[] = {"sh", "-c",
                          "echo hello | cat && ls / && date && id && sleep 0 && mkdir -p /tmp && "
                          "x=$(echo sub) && test \"$x\" = sub && exit 7",
                          nullptr};
    execv("/bin/busybox", const_cast<char* const*>(argv));
    return 202;
  });
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 7);
}

TEST(RuntimeDefaultProfile, DeniesPrivilegedSyscalls) {
  Filter f = DefaultFilter();
  int status = RunFiltered(f, [] {
    errno = 0;
    if (syscall(SYS_kexec_load, 0, 0, nullptr, 0) != -1 || errno != EPERM) return 1;
    errno = 0;
    if (mount("none", "/nonexistent-peapod", "tmpfs", 0, nullptr) != -1 || errno != EPERM) {
      return 2;
    }
    errno = 0;
    if (unshare(0) != -1 || errno != EPERM) return 3;
    errno = 0;
    if (setns(0, 0) != -1 || errno != EPERM) return 4;
    errno = 0;
    if (personality(READ_IMPLIES_EXEC) != -1 || errno != EPERM) return 5;
    if (personality(0xffffffff) == -1) return 6;  // the query stays allowed
    return 0;
  });
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(RuntimeDefaultProfile, CloneOnlyWithoutNamespaceFlags) {
  Filter f = DefaultFilter();
  int status = RunFiltered(f, [] {
    errno = 0;
    long rc = syscall(SYS_clone, CLONE_NEWUTS | SIGCHLD, 0, 0, 0, 0);
    if (rc == 0) _exit(0);  // the filter let it through: the child leaves
    if (rc != -1 || errno != EPERM) return 1;
    errno = 0;
    if (syscall(SYS_clone3, nullptr, 0) != -1 || errno != ENOSYS) return 2;
    pid_t child = fork();
    if (child == 0) _exit(9);
    int st = 0;
    if (child < 0 || waitpid(child, &st, 0) != child) return 3;
    return WIFEXITED(st) && WEXITSTATUS(st) == 9 ? 0 : 4;
  });
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(RuntimeDefaultProfile, SysAdminCapabilityAllowsUnshare) {
  Filter f = DefaultFilter({"CAP_SYS_ADMIN"});
  int status = RunFiltered(f, [] { return unshare(0) == 0 ? 0 : errno; });
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace peapod::seccomp
