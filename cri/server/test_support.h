// What the CRI integration tests share: where the build is, reading a file,
// and sweeping up after a SIGKILLed peapodd (its shims, spare ones among
// them, run on as they do on a node until the next peapodd cleans up; a
// test that does not start peapodd again sweeps them itself).
#pragma once

#include <dirent.h>
#include <signal.h>
#include <sys/mount.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace peapod::cri {

// The build tree (PEAPOD_BUILD_DIR, which CTest sets), else ".".
inline std::string BuildDir() {
  const char* b = std::getenv("PEAPOD_BUILD_DIR");
  return b ? b : ".";
}

// A whole file ("" if it cannot be read).
inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// SIGKILLs every containerd-shim-peapod-v2 whose command line mentions
// `dir` (the test's private state dir); returns how many.
inline int KillShimsMentioning(const std::string& dir) {
  int n = 0;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return 0;
  while (dirent* e = readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    std::ifstream in(std::string("/proc/") + e->d_name + "/cmdline");
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::string argv0 = cmd.substr(0, cmd.find('\0'));
    if (argv0.ends_with("containerd-shim-peapod-v2") && cmd.find(dir) != std::string::npos) {
      if (kill(static_cast<pid_t>(pid), SIGKILL) == 0) ++n;
    }
  }
  closedir(proc);
  return n;
}

// Unmounts (lazily) everything mounted under `dir`/: what a failed test left
// (rootfs mounts), or what a SIGKILLed peapodd leaves until the next one
// starts (its spare network namespace's pin: NetnsSpare).
inline void UnmountUnder(const std::string& dir) {
  for (int i = 0; i < 3; ++i) {  // stacked mounts come off one per pass
    std::ifstream mi("/proc/self/mountinfo");
    for (std::string line; std::getline(mi, line);) {
      std::istringstream f(line);
      std::string a, b, c, d, mnt;
      f >> a >> b >> c >> d >> mnt;
      if (mnt.starts_with(dir + "/")) umount2(mnt.c_str(), MNT_DETACH);
    }
  }
}

}  // namespace peapod::cri
