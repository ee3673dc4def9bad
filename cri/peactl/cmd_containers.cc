// peactl ps / create / start / stop / rm / inspect.
#include <iostream>

#include "cri/peactl/message_file.h"
#include "cri/peactl/output.h"
#include "cri/peactl/peactl.h"
#include "oci/spec/json.h"

namespace peapod::cri::peactl {
namespace {

struct PsOptions {
  std::string id, pod, name, state, output = "table";
  std::vector<std::string> labels;
  bool all = false, quiet = false, no_trunc = false;
};

std::string StateName(v1::ContainerState s) {
  switch (s) {
    case v1::CONTAINER_CREATED:
      return "Created";
    case v1::CONTAINER_RUNNING:
      return "Running";
    case v1::CONTAINER_EXITED:
      return "Exited";
    default:
      return "Unknown";
  }
}

// Sets the filter's state from a crictl state name; false if unknown.
bool SetStateFilter(const std::string& name, v1::ContainerFilter& f) {
  std::string upper = "CONTAINER_";
  for (char ch : name) upper.push_back(static_cast<char>(toupper(ch)));
  v1::ContainerState s = v1::CONTAINER_UNKNOWN;
  if (!v1::ContainerState_Parse(upper, &s)) return false;
  f.mutable_state()->set_state(s);
  return true;
}

int Ps(const Globals& g, const PsOptions& o) {
  v1::ListContainersRequest req;
  v1::ContainerFilter& f = *req.mutable_filter();
  f.set_id(o.id);
  f.set_pod_sandbox_id(o.pod);
  if (!o.state.empty() && !SetStateFilter(o.state, f)) return Fail("unknown state " + o.state);
  if (o.state.empty() && !o.all) f.mutable_state()->set_state(v1::CONTAINER_RUNNING);
  if (!ParseLabels(o.labels, *f.mutable_label_selector())) return Fail("--label wants key=value");
  Client c = Connect(g);
  v1::ListContainersResponse resp;
  if (grpc::Status s = c.runtime->ListContainers(c.Context().get(), req, &resp); !s.ok()) {
    return Fail("listing containers", s);
  }
  v1::ListContainersResponse shown;
  for (const v1::Container& ctr : resp.containers()) {
    if (!o.name.empty() && ctr.metadata().name().find(o.name) == std::string::npos) continue;
    *shown.add_containers() = ctr;
  }
  if (o.output != "table") {
    return PrintDocument(MessageJson(shown), o.output) ? 0 : Fail("unknown output format");
  }
  Table t({"CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD ID"});
  for (const v1::Container& ctr : shown.containers()) {
    if (o.quiet) {
      std::cout << ctr.id() << "\n";
      continue;
    }
    std::string image = ctr.image_ref().empty() ? ctr.image().image() : ctr.image_ref();
    t.Add({ShortId(ctr.id(), o.no_trunc), ShortId(image, o.no_trunc), Ago(ctr.created_at()),
           StateName(ctr.state()), ctr.metadata().name(), std::to_string(ctr.metadata().attempt()),
           ShortId(ctr.pod_sandbox_id(), o.no_trunc)});
  }
  if (!o.quiet) t.Print();
  return 0;
}

int Create(const Globals& g, const std::vector<std::string>& args, bool pull) {
  v1::CreateContainerRequest req;
  req.set_pod_sandbox_id(args[0]);
  if (absl::Status s = LoadMessageFile(args[1], *req.mutable_config()); !s.ok()) {
    return Fail(std::string(s.message()));
  }
  if (absl::Status s = LoadMessageFile(args[2], *req.mutable_sandbox_config()); !s.ok()) {
    return Fail(std::string(s.message()));
  }
  Client c = Connect(g);
  if (pull) {
    v1::PullImageRequest preq;
    *preq.mutable_image() = req.config().image();
    *preq.mutable_sandbox_config() = req.sandbox_config();
    v1::PullImageResponse presp;
    if (grpc::Status s = c.images->PullImage(c.Context().get(), preq, &presp); !s.ok()) {
      return Fail("pulling image " + preq.image().image(), s);
    }
  }
  v1::CreateContainerResponse resp;
  if (grpc::Status s = c.runtime->CreateContainer(c.Context().get(), req, &resp); !s.ok()) {
    return Fail("creating container", s);
  }
  std::cout << resp.container_id() << "\n";
  return 0;
}

enum class Action { kStart, kStop, kRemove };

grpc::Status Apply(const Client& c, Action a, const std::string& id, int64_t timeout) {
  switch (a) {
    case Action::kStart: {
      v1::StartContainerRequest req;
      req.set_container_id(id);
      v1::StartContainerResponse resp;
      return c.runtime->StartContainer(c.Context().get(), req, &resp);
    }
    case Action::kStop: {
      v1::StopContainerRequest req;
      req.set_container_id(id);
      req.set_timeout(timeout);
      v1::StopContainerResponse resp;
      auto ctx = c.Context();
      if (c.timeout_seconds > 0) {  // Leave the container its grace period.
        ctx->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(c.timeout_seconds + timeout));
      }
      return c.runtime->StopContainer(ctx.get(), req, &resp);
    }
    case Action::kRemove: {
      v1::RemoveContainerRequest req;
      req.set_container_id(id);
      v1::RemoveContainerResponse resp;
      return c.runtime->RemoveContainer(c.Context().get(), req, &resp);
    }
  }
  return grpc::Status::OK;
}

int ForEach(const Globals& g, Action a, const std::vector<std::string>& ids, int64_t timeout,
            bool force) {
  Client c = Connect(g);
  int rc = 0;
  for (const std::string& id : ids) {
    if (a == Action::kRemove && force) Apply(c, Action::kStop, id, 0);  // Best effort.
    if (grpc::Status s = Apply(c, a, id, timeout); !s.ok()) {
      rc = Fail("container " + id, s);
      continue;
    }
    std::cout << id << "\n";
  }
  return rc;
}

int Inspect(const Globals& g, const std::vector<std::string>& ids, const std::string& format) {
  Client c = Connect(g);
  int rc = 0;
  for (const std::string& id : ids) {
    v1::ContainerStatusRequest req;
    req.set_container_id(id);
    req.set_verbose(true);
    v1::ContainerStatusResponse resp;
    if (grpc::Status s = c.runtime->ContainerStatus(c.Context().get(), req, &resp); !s.ok()) {
      rc = Fail("inspecting container " + id, s);
      continue;
    }
    if (!PrintDocument(InspectDocument(resp.status(), resp.info()), format)) {
      return Fail("unknown output format");
    }
  }
  return rc;
}

}  // namespace

void SetupContainerVerbs(CLI::App& app, Globals& g) {
  auto po = std::make_shared<PsOptions>();
  CLI::App* ps = app.add_subcommand("ps", "List containers");
  ps->add_flag("-a,--all", po->all, "Show all containers, not only running ones");
  ps->add_option("--id", po->id, "Filter by container id");
  ps->add_option("-p,--pod", po->pod, "Filter by pod id");
  ps->add_option("--name", po->name, "Filter by container name (substring)");
  ps->add_option("-s,--state", po->state, "Filter by state: created, running, exited, unknown");
  ps->add_option("--label", po->labels, "Filter by key=value label");
  ps->add_option("-o,--output", po->output, "Output format: table, json or yaml");
  ps->add_flag("-q,--quiet", po->quiet, "Only display container ids");
  ps->add_flag("--no-trunc", po->no_trunc, "Show full ids");
  ps->callback([&g, po] { g.exit_code = Ps(g, *po); });

  auto args = std::make_shared<std::vector<std::string>>();
  auto pull = std::make_shared<bool>(false);
  CLI::App* create = app.add_subcommand("create", "Create a new container in a pod");
  create->add_option("args", *args, "POD-ID container-config pod-config")->expected(3)->required();
  create->add_flag("--with-pull", *pull, "Pull the image first");
  create->callback([&g, args, pull] { g.exit_code = Create(g, *args, *pull); });

  auto ids = std::make_shared<std::vector<std::string>>();
  auto timeout = std::make_shared<int64_t>(0);
  auto force = std::make_shared<bool>(false);
  CLI::App* start = app.add_subcommand("start", "Start one or more created containers");
  start->add_option("CONTAINER-ID", *ids, "Container ids")->required();
  start->callback([&g, ids] { g.exit_code = ForEach(g, Action::kStart, *ids, 0, false); });
  CLI::App* stop = app.add_subcommand("stop", "Stop one or more running containers");
  stop->add_option("CONTAINER-ID", *ids, "Container ids")->required();
  stop->add_option("-t,--timeout", *timeout, "Seconds to wait before killing");
  stop->callback(
      [&g, ids, timeout] { g.exit_code = ForEach(g, Action::kStop, *ids, *timeout, false); });
  CLI::App* rm = app.add_subcommand("rm", "Remove one or more containers");
  rm->add_option("CONTAINER-ID", *ids, "Container ids")->required();
  rm->add_flag("-f,--force", *force, "Stop a running container first");
  rm->callback([&g, ids, force] { g.exit_code = ForEach(g, Action::kRemove, *ids, 0, *force); });

  auto format = std::make_shared<std::string>("json");
  CLI::App* inspect = app.add_subcommand("inspect", "Display the status of containers");
  inspect->add_option("CONTAINER-ID", *ids, "Container ids")->required();
  inspect->add_option("-o,--output", *format, "Output format: json or yaml");
  inspect->callback([&g, ids, format] { g.exit_code = Inspect(g, *ids, *format); });
}

}  // namespace peapod::cri::peactl
