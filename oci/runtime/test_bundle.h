// Test helpers: a busybox OCI bundle in a temp dir, pipes, and checks that
// a container left nothing behind.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "oci/linux/file_util.h"
#include "oci/spec/spec.h"

namespace peapod::runtime::testing {

// A bundle dir with rootfs/ (busybox + applet links) and a config.json
// written by Write(). Removed on destruction.
class TestBundle {
 public:
  TestBundle() {
    char tmpl[] = "/tmp/pea-bundle-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    ::chmod(dir_.c_str(), 0755);  // a mapped root (user ns) must reach the rootfs
    std::filesystem::create_directories(rootfs() + "/bin");
    for (const char* d : {"proc", "dev", "sys", "tmp", "etc", "root"}) {
      std::filesystem::create_directories(rootfs() + "/" + d);
    }
    std::filesystem::copy_file("/bin/busybox", rootfs() + "/bin/busybox");
    for (const char* app : {"sh",   "cat",  "ls",    "echo",  "hostname", "sleep", "id",
                            "grep", "true", "false", "touch", "readlink", "mount", "ps",
                            "wc",   "head", "pwd",   "test",  "kill",     "env"}) {
      std::filesystem::create_symlink("busybox", rootfs() + "/bin/" + app);
    }
    spec_ = oci::DefaultSpec();
    spec_.process->terminal = false;
    spec_.root.path = "rootfs";
    spec_.root.readonly = true;
  }
  ~TestBundle() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  const std::string& dir() const { return dir_; }
  std::string rootfs() const { return dir_ + "/rootfs"; }
  oci::Spec& spec() { return spec_; }
  // Writes config.json from spec().
  void Write() { std::ofstream(dir_ + "/config.json") << oci::SerializeSpec(spec_, true); }

 private:
  std::string dir_;
  oci::Spec spec_;
};

// A pipe whose read end collects what the container writes.
struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) == 0) {
      r = p[0];
      w = p[1];
    }
  }
  ~Pipe() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
  }
  void CloseWrite() {
    if (w >= 0) ::close(w);
    w = -1;
  }
  // Reads until EOF (close the write end first).
  std::string ReadAll() {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(r, buf, sizeof buf)) > 0) out.append(buf, n);
    return out;
  }
};

// Lines of /proc/self/mountinfo that mention `path`.
inline std::vector<std::string> MountsUnder(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(path) != std::string::npos) out.push_back(line);
  }
  return out;
}

}  // namespace peapod::runtime::testing
