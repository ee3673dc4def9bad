// peactl: peapod's CRI client with crictl's verbs and config files. Each verb
// lives in a cmd_*.cc file and registers itself on the CLI11 app through a
// setup function listed in peactl_main.cc's table.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "CLI/CLI.hpp"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"
#include "proto/cri_api.h"

namespace peapod::cri::peactl {

namespace v1 = ::runtime::v1;

// Options shared by every verb, and the exit code the chosen verb sets.
struct Globals {
  std::string endpoint;  // unix:///path or a plain path.
  int timeout_seconds = 10;
  bool debug = false;
  int exit_code = 0;
};

// Stubs for both CRI services over one channel.
struct Client {
  std::unique_ptr<v1::RuntimeService::Stub> runtime;
  std::unique_ptr<v1::ImageService::Stub> images;
  int timeout_seconds = 10;

  // A context carrying the per-call deadline.
  std::unique_ptr<grpc::ClientContext> Context() const;
};

// The endpoint: --runtime-endpoint, else $CONTAINER_RUNTIME_ENDPOINT, else
// peapod's default socket.
std::string ResolveEndpoint(const std::string& flag);
// A client for g's endpoint (the connection is made lazily by gRPC).
Client Connect(const Globals& g);
// Prints "peactl: <what>: <code>: <message>" to stderr and returns 1.
int Fail(std::string_view what, const grpc::Status& s);
// Prints "peactl: <message>" to stderr and returns 1.
int Fail(std::string_view message);

// Verb registration, one per cmd_*.cc file.
void SetupVersion(CLI::App& app, Globals& g);
void SetupInfo(CLI::App& app, Globals& g);
void SetupPodVerbs(CLI::App& app, Globals& g);        // pods runp stopp rmp inspectp
void SetupContainerVerbs(CLI::App& app, Globals& g);  // ps create start stop rm inspect
void SetupImageVerbs(CLI::App& app, Globals& g);      // images pull inspecti rmi
void SetupExec(CLI::App& app, Globals& g);
void SetupLogs(CLI::App& app, Globals& g);

}  // namespace peapod::cri::peactl
