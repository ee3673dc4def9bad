// peactl pods / runp / stopp / rmp / inspectp.
#include <iostream>

#include "cri/peactl/message_file.h"
#include "cri/peactl/output.h"
#include "cri/peactl/peactl.h"
#include "oci/spec/json.h"

namespace peapod::cri::peactl {
namespace {

struct PodsOptions {
  std::string id, name, namespace_, state, output = "table";
  std::vector<std::string> labels;
  bool quiet = false, no_trunc = false, latest = false;
};

std::string StateName(v1::PodSandboxState s) {
  return s == v1::SANDBOX_READY ? "Ready" : "NotReady";
}

int Pods(const Globals& g, const PodsOptions& o) {
  Client c = Connect(g);
  v1::ListPodSandboxRequest req;
  v1::PodSandboxFilter& f = *req.mutable_filter();
  f.set_id(o.id);
  if (!o.state.empty()) {
    bool ready = o.state == "ready" || o.state == "Ready";
    f.mutable_state()->set_state(ready ? v1::SANDBOX_READY : v1::SANDBOX_NOTREADY);
  }
  if (!ParseLabels(o.labels, *f.mutable_label_selector())) return Fail("--label wants key=value");
  v1::ListPodSandboxResponse resp;
  if (grpc::Status s = c.runtime->ListPodSandbox(c.Context().get(), req, &resp); !s.ok()) {
    return Fail("listing pods", s);
  }
  v1::ListPodSandboxResponse shown;
  for (const v1::PodSandbox& p : resp.items()) {
    if (!o.name.empty() && p.metadata().name().find(o.name) == std::string::npos) continue;
    if (!o.namespace_.empty() && p.metadata().namespace_() != o.namespace_) continue;
    *shown.add_items() = p;
  }
  if (o.output != "table") {
    return PrintDocument(MessageJson(shown), o.output) ? 0 : Fail("unknown output format");
  }
  Table t({"POD ID", "CREATED", "STATE", "NAME", "NAMESPACE", "ATTEMPT", "RUNTIME"});
  for (const v1::PodSandbox& p : shown.items()) {
    if (o.quiet) {
      std::cout << p.id() << "\n";
      continue;
    }
    t.Add({ShortId(p.id(), o.no_trunc), Ago(p.created_at()), StateName(p.state()),
           p.metadata().name(), p.metadata().namespace_(), std::to_string(p.metadata().attempt()),
           p.runtime_handler().empty() ? "(default)" : p.runtime_handler()});
  }
  if (!o.quiet) t.Print();
  return 0;
}

int RunPod(const Globals& g, const std::string& file, const std::string& handler) {
  v1::RunPodSandboxRequest req;
  if (absl::Status s = LoadMessageFile(file, *req.mutable_config()); !s.ok()) {
    return Fail(std::string(s.message()));
  }
  req.set_runtime_handler(handler);
  Client c = Connect(g);
  v1::RunPodSandboxResponse resp;
  if (grpc::Status s = c.runtime->RunPodSandbox(c.Context().get(), req, &resp); !s.ok()) {
    return Fail("run pod sandbox", s);
  }
  std::cout << resp.pod_sandbox_id() << "\n";
  return 0;
}

int StopOrRemovePods(const Globals& g, const std::vector<std::string>& ids, bool remove) {
  Client c = Connect(g);
  int rc = 0;
  for (const std::string& id : ids) {
    grpc::Status s;
    if (remove) {
      v1::RemovePodSandboxRequest req;
      req.set_pod_sandbox_id(id);
      v1::RemovePodSandboxResponse resp;
      s = c.runtime->RemovePodSandbox(c.Context().get(), req, &resp);
    } else {
      v1::StopPodSandboxRequest req;
      req.set_pod_sandbox_id(id);
      v1::StopPodSandboxResponse resp;
      s = c.runtime->StopPodSandbox(c.Context().get(), req, &resp);
    }
    if (!s.ok()) {
      rc = Fail((remove ? "removing pod " : "stopping pod ") + id, s);
      continue;
    }
    std::cout << (remove ? "Removed sandbox " : "Stopped sandbox ") << id << "\n";
  }
  return rc;
}

int InspectPods(const Globals& g, const std::vector<std::string>& ids, const std::string& format) {
  Client c = Connect(g);
  int rc = 0;
  for (const std::string& id : ids) {
    v1::PodSandboxStatusRequest req;
    req.set_pod_sandbox_id(id);
    req.set_verbose(true);
    v1::PodSandboxStatusResponse resp;
    if (grpc::Status s = c.runtime->PodSandboxStatus(c.Context().get(), req, &resp); !s.ok()) {
      rc = Fail("inspecting pod " + id, s);
      continue;
    }
    if (!PrintDocument(InspectDocument(resp.status(), resp.info()), format)) {
      return Fail("unknown output format");
    }
  }
  return rc;
}

}  // namespace

void SetupPodVerbs(CLI::App& app, Globals& g) {
  auto po = std::make_shared<PodsOptions>();
  CLI::App* pods = app.add_subcommand("pods", "List pods");
  pods->add_option("--id", po->id, "Filter by pod id");
  pods->add_option("--name", po->name, "Filter by pod name (substring)");
  pods->add_option("--namespace", po->namespace_, "Filter by pod namespace");
  pods->add_option("-s,--state", po->state, "Filter by state: ready or notready");
  pods->add_option("--label", po->labels, "Filter by key=value label");
  pods->add_option("-o,--output", po->output, "Output format: table, json or yaml");
  pods->add_flag("-q,--quiet", po->quiet, "Only display pod ids");
  pods->add_flag("--no-trunc", po->no_trunc, "Show full ids");
  pods->callback([&g, po] { g.exit_code = Pods(g, *po); });

  auto file = std::make_shared<std::string>();
  auto handler = std::make_shared<std::string>();
  CLI::App* runp = app.add_subcommand("runp", "Run a new pod");
  runp->add_option("pod-config", *file, "Pod config file (JSON or YAML)")->required();
  runp->add_option("-r,--runtime", *handler, "Runtime handler");
  runp->callback([&g, file, handler] { g.exit_code = RunPod(g, *file, *handler); });

  auto ids = std::make_shared<std::vector<std::string>>();
  CLI::App* stopp = app.add_subcommand("stopp", "Stop one or more running pods");
  stopp->add_option("POD-ID", *ids, "Pod ids")->required();
  stopp->callback([&g, ids] { g.exit_code = StopOrRemovePods(g, *ids, false); });
  CLI::App* rmp = app.add_subcommand("rmp", "Remove one or more pods");
  rmp->add_option("POD-ID", *ids, "Pod ids")->required();
  rmp->callback([&g, ids] { g.exit_code = StopOrRemovePods(g, *ids, true); });

  auto format = std::make_shared<std::string>("json");
  CLI::App* inspectp = app.add_subcommand("inspectp", "Display the status of one or more pods");
  inspectp->add_option("POD-ID", *ids, "Pod ids")->required();
  inspectp->add_option("-o,--output", *format, "Output format: json or yaml");
  inspectp->callback([&g, ids, format] { g.exit_code = InspectPods(g, *ids, *format); });
}

}  // namespace peapod::cri::peactl
