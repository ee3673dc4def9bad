// Runs the real peapod-infra: as a plain process and as PID 1 of a new PID
// namespace, where it must reap orphans and still stop on SIGTERM.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

extern char** environ;

namespace {

std::string InfraPath() {
  const char* b = getenv("PEAPOD_BUILD_DIR");
  return std::string(b ? b : ".") + "/cri/infra/peapod-infra";
}

pid_t Spawn(std::vector<std::string> argv) {
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), environ) != 0) return -1;
  return pid;
}

// Waits up to `timeout` for pid to exit; returns its wait status or -1.
int WaitFor(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The first child pid of `pid`, from /proc; 0 if none yet.
pid_t FirstChild(pid_t pid) {
  std::string kids =
      ReadFile("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  return kids.empty() ? 0 : std::atoi(kids.c_str());
}

TEST(InfraTest, ExitsZeroOnSigterm) {
  pid_t pid = Spawn({InfraPath()});
  ASSERT_GT(pid, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(WaitFor(pid, std::chrono::milliseconds(0)), -1) << "infra exited on its own";
  kill(pid, SIGTERM);
  int status = WaitFor(pid, std::chrono::seconds(5));
  ASSERT_NE(status, -1);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(InfraTest, ExitsZeroOnSigintAndIgnoresSigchld) {
  pid_t pid = Spawn({InfraPath()});
  ASSERT_GT(pid, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  kill(pid, SIGCHLD);  // no child of its own: it must just go on waiting
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(WaitFor(pid, std::chrono::milliseconds(0)), -1) << "infra exited on SIGCHLD";
  kill(pid, SIGINT);
  int status = WaitFor(pid, std::chrono::seconds(5));
  ASSERT_NE(status, -1);
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(InfraTest, HelpPrintsUsage) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    std::string path = InfraPath();
    execl(path.c_str(), path.c_str(), "--help", nullptr);
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buf[256];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = WaitFor(pid, std::chrono::seconds(5));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(out.rfind("usage: peapod-infra\n", 0), 0u) << out;
}

TEST(InfraTest, ReapsOrphansAsPidOne) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for a PID namespace";
  pid_t unshare = Spawn({"unshare", "--pid", "--fork", "--kill-child", InfraPath()});
  ASSERT_GT(unshare, 0);
  pid_t infra = 0;
  for (int i = 0; i < 200 && infra == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    infra = FirstChild(unshare);
  }
  ASSERT_GT(infra, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // Let it exec.
  // An orphan inside the namespace: sh exits at once, its sleep is
  // re-parented to the infra process and must be reaped when it ends.
  pid_t enter = Spawn(
      {"nsenter", "-t", std::to_string(infra), "-p", "--", "/bin/sh", "-c", "sleep 0.3 & exit 0"});
  ASSERT_GT(enter, 0);
  int st = WaitFor(enter, std::chrono::seconds(5));
  ASSERT_NE(st, -1);
  EXPECT_NE(FirstChild(infra), 0) << "the orphan was not re-parented to the infra process";
  std::string status_path =
      "/proc/" + std::to_string(infra) + "/task/" + std::to_string(infra) + "/children";
  bool reaped = false;
  for (int i = 0; i < 300 && !reaped; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    reaped = ReadFile(status_path).empty();
  }
  EXPECT_TRUE(reaped) << "children left: " << ReadFile(status_path);

  kill(infra, SIGTERM);
  int status = WaitFor(unshare, std::chrono::seconds(5));
  ASSERT_NE(status, -1) << "infra did not stop on SIGTERM as PID 1";
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
