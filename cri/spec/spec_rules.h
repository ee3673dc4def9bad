// The single rules the container and sandbox spec builders combine: process
// args, environment, capabilities, seccomp, sysctls and annotations. Each is
// a pure function of its inputs (seccomp's Localhost reads one file).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "cri/spec/container_spec_input.h"
#include "oci/spec/spec.h"

namespace peapod::cri::spec {

inline constexpr char kDefaultPath[] =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// containerd's default capability set for unprivileged containers.
const std::vector<std::string>& DefaultCapabilities();
// Every capability this kernel knows (cap_last_cap) and this process may
// grant (its bounding set), CAP_CHOWN first.
std::vector<std::string> AllCapabilities();
// containerd's default linux.maskedPaths and linux.readonlyPaths.
const std::vector<std::string>& DefaultMaskedPaths();
const std::vector<std::string>& DefaultReadonlyPaths();

// Kubernetes rules: command replaces the image's entrypoint and drops its
// cmd; args replace cmd. InvalidArgument when nothing is left to run.
absl::StatusOr<std::vector<std::string>> ProcessArgs(const std::vector<std::string>& command,
                                                     const std::vector<std::string>& args,
                                                     const ImageConfigInput& image);

// "K=V" list: `base` entries, then `overrides` replacing equal keys in place
// or appending; PATH defaulted when absent. InvalidArgument for an empty key
// or one holding '='.
absl::StatusOr<std::vector<std::string>> MergeEnv(
    const std::vector<std::string>& base,
    const std::vector<std::pair<std::string, std::string>>& overrides);

// The capability list after add/drop ("ALL" allowed in both) over the
// defaults; names with or without "CAP_", any case. Unknown names are
// InvalidArgument.
absl::StatusOr<std::vector<std::string>> ApplyCapabilities(const CapabilityInput& caps);

// An OCI seccomp section for a choice: nullopt for unconfined, the runtime
// default profile (given the process's capabilities), or the JSON file of a
// Localhost profile (an absolute path; OCI or Docker shape).
absl::StatusOr<std::optional<oci::Seccomp>> ResolveSeccomp(const SeccompChoice& choice,
                                                           const std::vector<std::string>& caps);

// Parses a legacy CRI seccomp_profile_path ("runtime/default",
// "docker/default", "unconfined", "", "localhost/<absolute path>").
absl::StatusOr<SeccompChoice> ParseLegacySeccompPath(const std::string& path);

// Checks pod sysctls: only namespaced keys (kernel.shm*, kernel.msg*,
// kernel.sem, fs.mqueue.*, net.*), net.* not with the host's network, IPC
// keys not with the host's IPC; no newline or NUL in keys or values.
absl::Status ValidateSysctls(const std::map<std::string, std::string>& sysctls,
                             NamespaceMode network, NamespaceMode ipc);

// Whether an annotation key may never reach config.json because a runtime
// acts on it (run.oci.*, org.systemd.property.*, io.containerd.*, ...).
bool IsDeniedAnnotation(const std::string& key);
// The keys of `annotations` matched by `allowlist` (exact keys or prefixes
// ending in '*') and not denied.
std::map<std::string, std::string> FilterAnnotations(
    const std::map<std::string, std::string>& annotations,
    const std::vector<std::string>& allowlist);

}  // namespace peapod::cri::spec
