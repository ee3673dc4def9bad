// peapodd's life: load state, claim the socket, serve until SIGTERM/SIGINT.
#pragma once

#include "cri/config/config.h"

namespace peapod::cri {

// Runs the daemon with `config`; returns the process exit code.
int RunDaemon(Config config);

}  // namespace peapod::cri
