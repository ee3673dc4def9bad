// OCI hooks: each runs as its own process with the state JSON on stdin, its
// args and env, and its timeout (killed when exceeded).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "oci/linux/errno_status.h"
#include "oci/spec/spec.h"

namespace peapod::runtime {

// Runs one hook and waits for it. Errors name the hook's path and say how it
// failed (exit status, signal, timeout) with the tail of its stderr.
absl::Status RunHook(const oci::Hook& hook, const std::string& state_json);

// Runs hooks in order; stops at the first failure. `stage` names them in
// errors ("createRuntime hook").
absl::Status RunHooks(const std::vector<oci::Hook>& hooks, const std::string& state_json,
                      const std::string& stage);

// True if the spec has prestart or createRuntime hooks: the launcher runs
// them while the init waits after its mounts.
inline bool HasRuntimeHooks(const oci::Spec& spec) {
  return !spec.hooks.prestart.empty() || !spec.hooks.create_runtime.empty();
}

// The OCI state JSON given to hooks.
std::string HookState(const std::string& id, const std::string& status, int pid,
                      const std::string& bundle,
                      const std::map<std::string, std::string>& annotations);

}  // namespace peapod::runtime
