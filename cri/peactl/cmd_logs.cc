// peactl logs: like crictl, read the container's CRI log file (found through
// ContainerStatus) directly: "<time> <stdout|stderr> <F|P> <text>" lines.
#include <chrono>
#include <deque>
#include <fstream>
#include <iostream>
#include <thread>

#include "cri/peactl/peactl.h"

namespace peapod::cri::peactl {
namespace {

struct LogsOptions {
  std::string id;
  int64_t tail = -1;
  bool follow = false, timestamps = false;
};

// Writes one log record; partial ('P') records get no newline.
void Emit(const std::string& line, bool timestamps) {
  size_t a = line.find(' ');
  size_t b = a == std::string::npos ? a : line.find(' ', a + 1);
  size_t c = b == std::string::npos ? b : line.find(' ', b + 1);
  if (c == std::string::npos) return;  // Not a CRI log line.
  std::string_view stream(line.data() + a + 1, b - a - 1);
  bool partial = line.compare(b + 1, c - b - 1, "P") == 0;
  std::ostream& out = stream == "stderr" ? std::cerr : std::cout;
  if (timestamps) out << line.substr(0, a) << " ";
  out << line.substr(c + 1);
  if (!partial) out << "\n";
  out.flush();
}

bool Running(const Client& c, const std::string& id) {
  v1::ContainerStatusRequest req;
  req.set_container_id(id);
  v1::ContainerStatusResponse resp;
  grpc::Status s = c.runtime->ContainerStatus(c.Context().get(), req, &resp);
  return s.ok() && resp.status().state() == v1::CONTAINER_RUNNING;
}

int Logs(const Globals& g, const LogsOptions& o) {
  Client c = Connect(g);
  v1::ContainerStatusRequest req;
  req.set_container_id(o.id);
  v1::ContainerStatusResponse resp;
  if (grpc::Status s = c.runtime->ContainerStatus(c.Context().get(), req, &resp); !s.ok()) {
    return Fail("container " + o.id, s);
  }
  const std::string& path = resp.status().log_path();
  if (path.empty()) return Fail("container " + o.id + " has no log path");
  std::ifstream in(path);
  if (!in) return Fail("cannot open log file " + path);
  std::deque<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(line);
    if (o.tail >= 0 && lines.size() > static_cast<size_t>(o.tail)) lines.pop_front();
  }
  for (const std::string& l : lines) Emit(l, o.timestamps);
  if (!o.follow) return 0;
  // Follow: print what is appended until the container stops running.
  std::string pending;
  for (bool alive = true; alive;) {
    alive = Running(c, o.id);
    in.clear();
    while (std::getline(in, line)) {
      if (in.eof()) {  // No newline yet: keep the piece for the next round.
        pending += line;
        break;
      }
      Emit(pending + line, o.timestamps);
      pending.clear();
    }
    if (alive) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return 0;
}

}  // namespace

void SetupLogs(CLI::App& app, Globals& g) {
  auto o = std::make_shared<LogsOptions>();
  CLI::App* logs = app.add_subcommand("logs", "Fetch the logs of a container");
  logs->add_option("CONTAINER-ID", o->id, "Container id")->required();
  logs->add_option("--tail", o->tail, "Number of lines from the end (-1: all)");
  logs->add_flag("-f,--follow", o->follow, "Follow the log output");
  logs->add_flag("-t,--timestamps", o->timestamps, "Show timestamps");
  logs->callback([&g, o] { g.exit_code = Logs(g, *o); });
}

}  // namespace peapod::cri::peactl
