// cri-bench: the pod lifecycle against one or more CRI endpoints, interleaved,
// with per-step medians and p90s and the ratio of each endpoint to the first.
//
//   cri-bench [--rounds N] [--image REF] [--hold PODS] [--host-network]
//             [--seccomp-default] [--exec | --pods-only | --burst K] NAME=unix:///path.sock [...]
//
// --seccomp-default gives every container the runtime's default seccomp
// profile, as a kubelet does since Kubernetes 1.27 (SeccompDefault).
//
// Each round runs, on every endpoint in turn (the order rotates per round):
//   runp     RunPodSandbox
//   create   CreateContainer (busybox `sleep 3600`) + StartContainer
//   exec     (with --exec) ExecSync of `true` in it, as a kubelet's exec probe
//            does, then ContainerStats and ContainerStatus
//   stop     StopContainer (timeout 0) + RemoveContainer
//   stopp    StopPodSandbox + RemovePodSandbox
// --pods-only runs just runp and stopp (pods with no container, no image).
// --burst K runs, per round and endpoint, K RunPodSandbox calls back to back
// (pods with no container), then removes those pods, untimed: `runp` is
// every call, `runp2+` those after the first of a burst (what a runtime that
// prepares between calls cannot have prepared).
// With --hold PODS it instead starts PODS pods with one container each on
// every endpoint, prints "held" and waits for a line on stdin (so the caller
// can measure memory), then removes them all.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "proto/cri_api.h"

namespace {

namespace v1 = ::runtime::v1;
using Clock = std::chrono::steady_clock;

struct Endpoint {
  std::string name;
  std::unique_ptr<v1::RuntimeService::Stub> rt;
  std::unique_ptr<v1::ImageService::Stub> img;
  std::map<std::string, std::vector<double>> ms;  // step -> samples
};

std::vector<std::string> steps = {"runp", "create", "stop", "stopp"};
bool with_exec = false;
// The pods' log directories: a temp dir of this run, removed at its end.
std::string log_root;
// --pods-only: pods without containers (no image needed).
bool pods_only = false;

[[noreturn]] void Die(const std::string& what, const grpc::Status& s) {
  fprintf(stderr, "cri-bench: %s: %s\n", what.c_str(), s.error_message().c_str());
  exit(1);
}

void Check(const std::string& ep, const std::string& what, const grpc::Status& s) {
  if (!s.ok()) Die(ep + ": " + what, s);
}

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  return c;
}

// --seccomp-default: the pod and its containers get the runtime's default
// seccomp profile, as a kubelet sends them with SeccompDefault.
bool seccomp_default = false;

// The namespace modes (and with --seccomp-default the profile) a kubelet
// sends, the same for the pod and its container.
template <typename SecurityContext>
void SetSecurity(SecurityContext& sc, bool host_network) {
  auto* ns = sc.mutable_namespace_options();
  ns->set_network(host_network ? v1::NODE : v1::POD);
  ns->set_pid(v1::CONTAINER);
  ns->set_ipc(v1::POD);
  if (seccomp_default) sc.mutable_seccomp()->set_profile_type(v1::SecurityProfile::RuntimeDefault);
}

v1::PodSandboxConfig PodConfig(const std::string& name, bool host_network) {
  v1::PodSandboxConfig c;
  c.mutable_metadata()->set_name(name);
  c.mutable_metadata()->set_namespace_("bench");
  c.mutable_metadata()->set_uid(name + "-uid");
  if (!host_network) c.set_hostname(name);  // a kubelet sets none with the host network
  c.set_log_directory(log_root + "/" + name);
  std::filesystem::create_directories(c.log_directory());
  SetSecurity(*c.mutable_linux()->mutable_security_context(), host_network);
  return c;
}

v1::ContainerConfig ContainerConfig(const std::string& image, bool host_network) {
  v1::ContainerConfig c;
  c.mutable_metadata()->set_name("sleep");
  c.mutable_image()->set_image(image);
  c.add_command("/bin/sleep");
  c.add_args("3600");
  c.set_log_path("sleep.log");
  SetSecurity(*c.mutable_linux()->mutable_security_context(), host_network);
  return c;
}

double Since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

struct Pod {
  std::string pod_id, ctr_id;
};

Pod StartPod(Endpoint& e, const std::string& name, const std::string& image, bool hostnet,
             bool record) {
  Pod p;
  v1::PodSandboxConfig pc = PodConfig(name, hostnet);
  auto t0 = Clock::now();
  v1::RunPodSandboxRequest rreq;
  *rreq.mutable_config() = pc;
  v1::RunPodSandboxResponse rresp;
  Check(e.name, "RunPodSandbox", e.rt->RunPodSandbox(Ctx().get(), rreq, &rresp));
  if (record) e.ms["runp"].push_back(Since(t0));
  p.pod_id = rresp.pod_sandbox_id();
  if (pods_only) return p;

  t0 = Clock::now();
  v1::CreateContainerRequest creq;
  creq.set_pod_sandbox_id(p.pod_id);
  *creq.mutable_config() = ContainerConfig(image, hostnet);
  *creq.mutable_sandbox_config() = pc;
  v1::CreateContainerResponse cresp;
  Check(e.name, "CreateContainer", e.rt->CreateContainer(Ctx().get(), creq, &cresp));
  p.ctr_id = cresp.container_id();
  v1::StartContainerRequest sreq;
  sreq.set_container_id(p.ctr_id);
  v1::StartContainerResponse sresp;
  Check(e.name, "StartContainer", e.rt->StartContainer(Ctx().get(), sreq, &sresp));
  if (record) e.ms["create"].push_back(Since(t0));
  if (with_exec) {
    t0 = Clock::now();
    v1::ExecSyncRequest ereq;
    ereq.set_container_id(p.ctr_id);
    ereq.add_cmd("/bin/true");
    ereq.set_timeout(10);
    v1::ExecSyncResponse eresp;
    Check(e.name, "ExecSync", e.rt->ExecSync(Ctx().get(), ereq, &eresp));
    if (eresp.exit_code() != 0) {
      fprintf(stderr, "cri-bench: %s: ExecSync true exited %d\n", e.name.c_str(),
              eresp.exit_code());
      exit(1);
    }
    v1::ContainerStatsRequest streq;
    streq.set_container_id(p.ctr_id);
    v1::ContainerStatsResponse stresp;
    Check(e.name, "ContainerStats", e.rt->ContainerStats(Ctx().get(), streq, &stresp));
    v1::ContainerStatusRequest csreq;
    csreq.set_container_id(p.ctr_id);
    v1::ContainerStatusResponse csresp;
    Check(e.name, "ContainerStatus", e.rt->ContainerStatus(Ctx().get(), csreq, &csresp));
    if (record) e.ms["exec"].push_back(Since(t0));
  }
  return p;
}

void StopContainer(Endpoint& e, const Pod& p, bool record) {
  auto t0 = Clock::now();
  v1::StopContainerRequest sreq;
  sreq.set_container_id(p.ctr_id);
  sreq.set_timeout(0);
  v1::StopContainerResponse sresp;
  Check(e.name, "StopContainer", e.rt->StopContainer(Ctx().get(), sreq, &sresp));
  v1::RemoveContainerRequest rreq;
  rreq.set_container_id(p.ctr_id);
  v1::RemoveContainerResponse rresp;
  Check(e.name, "RemoveContainer", e.rt->RemoveContainer(Ctx().get(), rreq, &rresp));
  if (record) e.ms["stop"].push_back(Since(t0));
}

void StopPod(Endpoint& e, const Pod& p, bool record) {
  if (!p.ctr_id.empty()) StopContainer(e, p, record);
  auto t0 = Clock::now();
  v1::StopPodSandboxRequest spreq;
  spreq.set_pod_sandbox_id(p.pod_id);
  v1::StopPodSandboxResponse spresp;
  Check(e.name, "StopPodSandbox", e.rt->StopPodSandbox(Ctx().get(), spreq, &spresp));
  v1::RemovePodSandboxRequest rpreq;
  rpreq.set_pod_sandbox_id(p.pod_id);
  v1::RemovePodSandboxResponse rpresp;
  Check(e.name, "RemovePodSandbox", e.rt->RemovePodSandbox(Ctx().get(), rpreq, &rpresp));
  if (record) e.ms["stopp"].push_back(Since(t0));
}

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

int Usage() {
  fprintf(stderr,
          "usage: cri-bench [--rounds N] [--image REF] [--hold PODS] [--host-network]\n"
          "                 [--seccomp-default] [--exec | --pods-only | --burst K]\n"
          "                 NAME=unix:///path.sock [NAME=unix:///path.sock ...]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 20, hold = 0, burst = 0;
  bool hostnet = false;
  std::string image = "127.0.0.1:5000/bench/busybox:latest";
  std::vector<Endpoint> eps;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--rounds" && i + 1 < argc) {
      rounds = std::stoi(argv[++i]);
    } else if (a == "--image" && i + 1 < argc) {
      image = argv[++i];
    } else if (a == "--hold" && i + 1 < argc) {
      hold = std::stoi(argv[++i]);
    } else if (a == "--host-network") {
      hostnet = true;
    } else if (a == "--seccomp-default") {
      seccomp_default = true;
    } else if (a == "--pods-only") {
      pods_only = true;
      steps = {"runp", "stopp"};
    } else if (a == "--burst" && i + 1 < argc) {
      burst = std::stoi(argv[++i]);
      pods_only = true;
      steps = {"runp", "runp2+"};
    } else if (a == "--exec") {
      with_exec = true;
      steps.insert(steps.begin() + 2, "exec");
    } else if (size_t eq = a.find('='); eq != std::string::npos && a[0] != '-') {
      auto ch = grpc::CreateChannel(a.substr(eq + 1), grpc::InsecureChannelCredentials());
      eps.push_back(
          {a.substr(0, eq), v1::RuntimeService::NewStub(ch), v1::ImageService::NewStub(ch), {}});
    } else {
      return Usage();
    }
  }
  if (eps.empty() || rounds < 1) return Usage();
  char tmpl[] = "/tmp/cri-bench-logs.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    perror("cri-bench: mkdtemp");
    return 1;
  }
  log_root = tmpl;
  std::atexit([] {  // also when Check exits on a failed call
    std::error_code ec;
    std::filesystem::remove_all(log_root, ec);
  });

  // The image must be present on every endpoint before any timing.
  for (Endpoint& e : eps) {
    if (pods_only) break;
    v1::PullImageRequest req;
    req.mutable_image()->set_image(image);
    v1::PullImageResponse resp;
    Check(e.name, "PullImage " + image, e.img->PullImage(Ctx().get(), req, &resp));
  }

  if (hold > 0) {
    std::map<std::string, std::vector<Pod>> pods;
    for (Endpoint& e : eps) {
      for (int i = 0; i < hold; ++i) {
        pods[e.name].push_back(
            StartPod(e, e.name + "-hold-" + std::to_string(i), image, hostnet, false));
      }
    }
    printf("held\n");
    fflush(stdout);
    std::string line;
    std::getline(std::cin, line);
    for (Endpoint& e : eps) {
      for (const Pod& p : pods[e.name]) StopPod(e, p, false);
    }
    return 0;
  }

  // One warm-up round per endpoint, not recorded.
  for (Endpoint& e : eps) StopPod(e, StartPod(e, e.name + "-warm", image, hostnet, false), false);
  for (int r = 0; r < rounds; ++r) {
    for (size_t k = 0; k < eps.size(); ++k) {
      Endpoint& e = eps[(k + static_cast<size_t>(r)) % eps.size()];
      if (burst > 0) {
        std::vector<Pod> ps;
        for (int i = 0; i < burst; ++i) {
          size_t before = e.ms["runp"].size();
          ps.push_back(StartPod(e, e.name + "-r" + std::to_string(r) + "-" + std::to_string(i),
                                image, hostnet, true));
          if (i > 0) e.ms["runp2+"].push_back(e.ms["runp"][before]);
        }
        for (const Pod& p : ps) StopPod(e, p, false);
        continue;
      }
      Pod p = StartPod(e, e.name + "-r" + std::to_string(r), image, hostnet, true);
      StopPod(e, p, true);
    }
  }

  printf("%-8s", "step");
  for (const Endpoint& e : eps) printf(" %14s %10s", (e.name + " p50").c_str(), "p90");
  if (eps.size() > 1) printf("  %s", "ratio(p50)");
  printf("\n");
  for (const std::string& step : steps) {
    printf("%-8s", step.c_str());
    for (const Endpoint& e : eps) {
      printf(" %11.1f ms %7.1f ms", Quantile(e.ms.at(step), 0.5), Quantile(e.ms.at(step), 0.9));
    }
    for (size_t k = 1; k < eps.size(); ++k) {
      printf("  %s/%s=%.2fx", eps[k].name.c_str(), eps[0].name.c_str(),
             Quantile(eps[k].ms.at(step), 0.5) / Quantile(eps[0].ms.at(step), 0.5));
    }
    printf("\n");
  }
  return 0;
}
