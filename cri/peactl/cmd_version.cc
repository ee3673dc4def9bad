// peactl version / info.
#include <cstdio>
#include <iostream>

#include "cri/peactl/output.h"
#include "cri/peactl/peactl.h"
#include "oci/spec/json.h"

namespace peapod::cri::peactl {
namespace {

int Version(const Globals& g) {
  Client c = Connect(g);
  v1::VersionRequest req;
  req.set_version("v1");
  v1::VersionResponse resp;
  if (grpc::Status s = c.runtime->Version(c.Context().get(), req, &resp); !s.ok()) {
    return Fail("version", s);
  }
  std::printf("Version:  %s\nRuntimeName:  %s\nRuntimeVersion:  %s\nRuntimeApiVersion:  %s\n",
              resp.version().c_str(), resp.runtime_name().c_str(), resp.runtime_version().c_str(),
              resp.runtime_api_version().c_str());
  return 0;
}

// {"status": <RuntimeStatus>, <info key>: <info value as JSON>, ...}
int Info(const Globals& g, const std::string& format) {
  Client c = Connect(g);
  v1::StatusRequest req;
  req.set_verbose(true);
  v1::StatusResponse resp;
  if (grpc::Status s = c.runtime->Status(c.Context().get(), req, &resp); !s.ok()) {
    return Fail("info", s);
  }
  absl::StatusOr<json::Value> status = json::Parse(MessageJson(resp.status()));
  json::Value doc{json::Object{}};
  doc.Set("status", status.ok() ? *status : json::Value());
  std::map<std::string, std::string> info(resp.info().begin(), resp.info().end());
  for (const auto& [key, value] : info) {
    absl::StatusOr<json::Value> parsed = json::Parse(value);
    doc.Set(key, parsed.ok() ? *parsed : json::Value(value));
  }
  if (!PrintDocument(json::Write(doc, true), format)) return Fail("unknown output format");
  return 0;
}

}  // namespace

void SetupVersion(CLI::App& app, Globals& g) {
  app.add_subcommand("version", "Display runtime version information")->callback([&g] {
    g.exit_code = Version(g);
  });
}

void SetupInfo(CLI::App& app, Globals& g) {
  CLI::App* sub = app.add_subcommand("info", "Display information of the container runtime");
  auto format = std::make_shared<std::string>("json");
  sub->add_option("-o,--output", *format, "Output format: json or yaml");
  sub->callback([&g, format] { g.exit_code = Info(g, *format); });
}

}  // namespace peapod::cri::peactl
