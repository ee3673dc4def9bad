// Turning parsed flags into the launcher's option structs: pure functions,
// so the CLI's meaning of every flag is unit-tested without containers.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "oci/pea/flags.h"
#include "oci/runtime/runtime.h"
#include "oci/spec/spec.h"

namespace peapod::pea {

// Flags shared by create and run (run adds --detach and friends).
std::span<const FlagSpec> CreateFlags();
// create/run flags + the container id → CreateOptions (paths made absolute).
absl::StatusOr<runtime::CreateOptions> BuildCreateOptions(const ParsedFlags& flags);

// exec without --process: the container's own process (from its config.json)
// with args from the command line and --cwd/--env/--tty/--user/--cap/...
// applied, as runc does.
absl::StatusOr<oci::Process> BuildExecProcess(const oci::Process& base, const ParsedFlags& flags);

// update's flags → Resources (only the members given are set).
absl::StatusOr<oci::Resources> BuildResources(const ParsedFlags& flags);

// A byte count with an optional unit as runc/docker accept: 1024, 10k,
// 512m, 1g, 2GiB, "-1" (unlimited, for swap).
absl::StatusOr<int64_t> ParseBytes(std::string_view text);
// A Go duration: "5s", "500ms", "1m30s", "2h".
absl::StatusOr<std::chrono::nanoseconds> ParseDuration(std::string_view text);
// Makes a path absolute against the current directory ("" stays "").
std::string Absolute(const std::string& path);

}  // namespace peapod::pea
