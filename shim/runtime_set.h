// The runtimes one shim uses: the default (the in-process launcher library,
// or the binary env PEAPOD_SHIM_RUNTIME names) and any runc-compatible binary
// a Create request's runc options name (BinaryName), made on first use.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "shim/reaper.h"
#include "shim/runtime.h"

namespace peapod::shim {

class RuntimeSet {
 public:
  // root: the runtimes' state root for this namespace; default_binary: ""
  // for the in-process library, else a runc-compatible binary.
  RuntimeSet(Reaper* reaper, std::string root, std::string default_binary);

  // The runtime for `binary` ("" = the default). Lives as long as the set.
  Runtime* Get(const std::string& binary);
  // The default runtime's binary ("" = in-process).
  const std::string& default_binary() const { return default_binary_; }

 private:
  Reaper* reaper_;
  const std::string root_, default_binary_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Runtime>> runtimes_;  // by binary, "" = library
};

}  // namespace peapod::shim
