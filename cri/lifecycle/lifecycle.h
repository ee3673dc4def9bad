// Container lifecycle hooks (postStart / preStop) from the container
// annotation peapod.io/lifecycle, JSON like a Kubernetes `Lifecycle`, and
// running them: httpGet from inside the pod's network namespace, exec through
// a callback the caller provides (peapodd runs it as an exec in the
// container).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace peapod::cri {

inline constexpr std::string_view kLifecycleAnnotation = "peapod.io/lifecycle";

struct HttpHeader {
  std::string name, value;
};

struct HttpGetAction {
  std::string host;  // empty: the pod IP (127.0.0.1 when the pod has none)
  uint16_t port = 0;
  std::string path = "/";
  std::string scheme = "HTTP";  // HTTP or HTTPS (certificate not verified, as the kubelet)
  std::vector<HttpHeader> headers;
};

struct ExecAction {
  std::vector<std::string> command;
};

// Exactly one of exec / http_get is set.
struct LifecycleHandler {
  std::optional<ExecAction> exec;
  std::optional<HttpGetAction> http_get;
  // "exec [a b]" or "httpGet HTTP://host:port/path", for messages.
  std::string Describe() const;
};

struct Lifecycle {
  std::optional<LifecycleHandler> post_start;
  std::optional<LifecycleHandler> pre_stop;
};

// Parses and validates the annotation. InvalidArgument naming the member.
absl::StatusOr<Lifecycle> ParseLifecycle(std::string_view json_text);

// What an exec hook printed and how it ended.
struct ExecHookResult {
  int exit_code = 0;
  std::string output;
};
// Runs `command` in the container, giving up after `timeout`.
using ExecHookFn = std::function<absl::StatusOr<ExecHookResult>(
    const std::vector<std::string>& command, std::chrono::milliseconds timeout)>;

struct HookContext {
  std::string netns_path;  // the pod's network namespace; empty: the caller's
  std::string pod_ip;
  std::chrono::steady_clock::time_point deadline;
  ExecHookFn exec;
};

// Runs one hook. `name` is "PostStart" or "PreStop". The error names the
// hook, what it ran and its output: "PostStart hook (exec [false]) failed:
// exit code 1: <output>". DeadlineExceeded when the deadline passes.
absl::Status RunLifecycleHook(std::string_view name, const LifecycleHandler& h,
                              const HookContext& ctx);

// The HTTP GET itself, in the caller's network namespace: OK for status
// 200-399, else an error with the status and the start of the body.
absl::Status HttpGetOnce(const HttpGetAction& a, const std::string& host,
                         std::chrono::steady_clock::time_point deadline);

}  // namespace peapod::cri
