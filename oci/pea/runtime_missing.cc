// Stand-in for the launcher library while oci/runtime is not built: every
// call fails with a named error, so `pea spec`, `pea features` and `--help`
// work and the CLI builds. Only linked when the peapod_runtime target is absent.
#include <csignal>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "oci/runtime/runtime.h"

namespace peapod::runtime {
namespace {

absl::Status Missing() {
  return absl::UnimplementedError("this pea was built without the launcher library (oci/runtime)");
}

}  // namespace

absl::Status Create(const Options&, const CreateOptions&) { return Missing(); }
absl::StatusOr<pid_t> CreateInit(const Options&, const CreateOptions&) { return Missing(); }
absl::Status Start(const Options&, const std::string&) { return Missing(); }
absl::StatusOr<int> Run(const Options&, const CreateOptions&, bool) { return Missing(); }
absl::StatusOr<ContainerState> State(const Options&, const std::string&) { return Missing(); }
absl::StatusOr<std::vector<ContainerState>> List(const Options&) { return Missing(); }
absl::Status Kill(const Options&, const std::string&, int, bool) { return Missing(); }
absl::Status Delete(const Options&, const std::string&, bool) { return Missing(); }
absl::StatusOr<int> Exec(const Options&, const std::string&, const ExecOptions&) {
  return Missing();
}
absl::StatusOr<std::vector<pid_t>> Pids(const Options&, const std::string&) { return Missing(); }
absl::Status Pause(const Options&, const std::string&) { return Missing(); }
absl::Status Resume(const Options&, const std::string&) { return Missing(); }
absl::Status Update(const Options&, const std::string&, const oci::Resources&) { return Missing(); }
absl::StatusOr<Stats> GetStats(const Options&, const std::string&) { return Missing(); }
absl::StatusOr<bool> OomKilled(const Options&, const std::string&) { return Missing(); }

absl::StatusOr<int> ParseSignal(const std::string& text) {
  int n = 0;
  if (absl::SimpleAtoi(text, &n) && n > 0 && n < NSIG) return n;
  std::string name = text.starts_with("SIG") ? text.substr(3) : text;
  for (int sig = 1; sig < NSIG; ++sig) {
    const char* abbrev = sigabbrev_np(sig);
    if (abbrev != nullptr && name == abbrev) return sig;
  }
  return absl::InvalidArgumentError(absl::StrCat("invalid signal: ", text));
}

}  // namespace peapod::runtime
