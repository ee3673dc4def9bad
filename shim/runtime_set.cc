#include "shim/runtime_set.h"

#include "shim/launcher.h"
#include "shim/lib_runtime.h"

namespace peapod::shim {

RuntimeSet::RuntimeSet(Reaper* reaper, std::string root, std::string default_binary)
    : reaper_(reaper), root_(std::move(root)), default_binary_(std::move(default_binary)) {}

Runtime* RuntimeSet::Get(const std::string& binary) {
  const std::string& key = binary.empty() ? default_binary_ : binary;
  std::lock_guard lock(mu_);
  std::unique_ptr<Runtime>& r = runtimes_[key];
  if (r == nullptr) {
    if (key.empty()) {
      r = std::make_unique<LibRuntime>(reaper_, root_);
    } else {
      r = std::make_unique<Launcher>(reaper_, key, root_);
    }
  }
  return r.get();
}

}  // namespace peapod::shim
