// Test harness for end-to-end tests of the launcher: runs the runtime binary
// (pea, or any runc-compatible runtime named by $PEA_RUNTIME, so every test
// can be checked against runc) on bundles made from busybox-static and the
// peapod probe, and reads the probe's JSON facts.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "oci/spec/json.h"
#include "oci/spec/spec.h"

namespace peapod::integration {

// $PEAPOD_BUILD_DIR / $PEAPOD_SOURCE_DIR (set by ctest).
std::string BuildDir();
std::string SourceDir();
// The runtime under test: $PEA_RUNTIME, default the built pea.
std::string RuntimePath();
// True when the runtime under test is runc (for runc-only skips).
bool RuntimeIsRunc();

// A finished child: exit code, or 128+signal.
struct ProcResult {
  int status = -1;
  std::string out, err;
};

// Runs argv (PATH lookup) with `input` on stdin, collecting stdout/stderr.
// The child is killed (SIGKILL) after timeout_s seconds.
ProcResult RunProcess(const std::vector<std::string>& argv, const std::string& input = "",
                      int timeout_s = 60);

// A private temporary directory, removed with everything in it (mounts
// below it are detached first, so a leaked bind mount never deletes through).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// An OCI bundle: rootfs from hack/make-bundle.sh (busybox + probe) and a
// config.json the test edits through `spec` before Save().
class Bundle {
 public:
  // Makes the bundle with process.args = args.
  explicit Bundle(const std::vector<std::string>& args = {"peapod-probe"});
  const std::string& path() const { return dir_.path(); }
  std::string rootfs() const { return dir_.path() + "/rootfs"; }
  // Writes `spec` to config.json.
  void Save() const;
  // Writes raw text to config.json (for malformed-input tests).
  void SaveRaw(const std::string& text) const;

  oci::Spec spec;

 private:
  TempDir dir_;
};

// The runtime binary with a private --root; deletes (with --force) every
// container still listed there when destroyed.
class Runtime {
 public:
  Runtime();
  ~Runtime();
  // Runs `<runtime> --root <root> args...`.
  ProcResult operator()(const std::vector<std::string>& args, const std::string& input = "",
                        int timeout_s = 60) const;
  const std::string& root() const { return root_.path(); }
  // Entries left in the root directory.
  std::vector<std::string> RootEntries() const;
  // `state <id>` parsed; error if the runtime fails.
  absl::StatusOr<json::Value> State(const std::string& id) const;

 private:
  TempDir root_;
};

// The first JSON object line of a probe's output.
absl::StatusOr<json::Value> ProbeJson(const std::string& output);
// Polls `state` until status == want or timeout; returns the last status seen.
std::string WaitForStatus(const Runtime& rt, const std::string& id, const std::string& want,
                          int timeout_ms = 10000);
// Mount points (from /proc/self/mountinfo) whose path starts with prefix.
std::vector<std::string> MountsUnder(const std::string& prefix);

}  // namespace peapod::integration
