// pea's entry point as a function, so tests can drive the whole CLI
// (parsing, dispatch, error reporting) in-process.
#pragma once

#include <cstdio>
#include <span>
#include <string>

namespace peapod::pea {

// Runs `pea <args...>` (args without argv[0]) and returns the exit status.
int Main(std::span<const std::string> args, FILE* out = stdout, FILE* err = stderr,
         FILE* in = stdin);

}  // namespace peapod::pea
