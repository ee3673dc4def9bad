// peactl: a CRI client with crictl's verbs, for hosts without crictl.
#include "cri/peactl/peactl.h"

namespace {

using peapod::cri::peactl::Globals;

// Every verb family, registered in help order.
constexpr void (*kVerbs[])(CLI::App&, Globals&) = {
    peapod::cri::peactl::SetupVersion,    peapod::cri::peactl::SetupInfo,
    peapod::cri::peactl::SetupPodVerbs,   peapod::cri::peactl::SetupContainerVerbs,
    peapod::cri::peactl::SetupImageVerbs, peapod::cri::peactl::SetupExec,
    peapod::cri::peactl::SetupLogs,
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"peactl: a client for the Kubernetes CRI (crictl's verbs) for peapod"};
  Globals g;
  app.add_option("-r,--runtime-endpoint", g.endpoint,
                 "CRI endpoint (default $CONTAINER_RUNTIME_ENDPOINT or "
                 "unix:///run/peapod/peapod.sock)");
  app.add_option("-i,--image-endpoint", g.endpoint, "Image endpoint (same as the runtime's)");
  app.add_option("-t,--timeout", g.timeout_seconds, "Per-call timeout in seconds (0: none)");
  app.add_flag("-D,--debug", g.debug, "Enable debug output");
  app.require_subcommand(1);
  for (auto setup : kVerbs) setup(app, g);
  CLI11_PARSE(app, argc, argv);
  return g.exit_code;
}
