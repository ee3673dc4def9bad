// peactl exec -s: run a command in a container synchronously (ExecSync).
#include <iostream>

#include "cri/peactl/peactl.h"

namespace peapod::cri::peactl {
namespace {

struct ExecOptions {
  bool sync = false, interactive = false, tty = false;
  int64_t timeout = 0;
  std::vector<std::string> args;  // CONTAINER-ID COMMAND [ARG...]
};

int Exec(const Globals& g, const ExecOptions& o) {
  if (o.args.size() < 2) return Fail("exec needs a container id and a command");
  if (!o.sync || o.interactive || o.tty) {
    return Fail("only synchronous exec (exec -s) is supported by peactl");
  }
  v1::ExecSyncRequest req;
  req.set_container_id(o.args[0]);
  for (size_t i = 1; i < o.args.size(); ++i) req.add_cmd(o.args[i]);
  req.set_timeout(o.timeout);
  Client c = Connect(g);
  auto ctx = c.Context();
  if (c.timeout_seconds > 0) {  // The command's own timeout comes on top.
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::seconds(c.timeout_seconds + o.timeout));
  }
  if (o.timeout == 0) ctx = std::make_unique<grpc::ClientContext>();
  v1::ExecSyncResponse resp;
  if (grpc::Status s = c.runtime->ExecSync(ctx.get(), req, &resp); !s.ok()) {
    return Fail("exec in " + o.args[0], s);
  }
  std::cout << resp.stdout() << std::flush;
  std::cerr << resp.stderr() << std::flush;
  return resp.exit_code();
}

}  // namespace

void SetupExec(CLI::App& app, Globals& g) {
  auto o = std::make_shared<ExecOptions>();
  CLI::App* exec = app.add_subcommand("exec", "Run a command in a running container");
  exec->add_flag("-s,--sync", o->sync, "Run the command synchronously");
  exec->add_flag("-i,--interactive", o->interactive, "Keep stdin open (not supported)");
  exec->add_flag("-t,--tty", o->tty, "Allocate a TTY (not supported)");
  exec->add_option("--timeout", o->timeout, "Timeout in seconds (with -s)");
  exec->add_option("args", o->args, "CONTAINER-ID COMMAND [ARG...]")->required();
  exec->prefix_command();  // Flags after the container id belong to the command.
  exec->callback([&g, o] { g.exit_code = Exec(g, *o); });
}

}  // namespace peapod::cri::peactl
