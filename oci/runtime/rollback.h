// Rollback as data: a LIFO stack of described undo steps. Run() undoes in
// reverse order and never lets a failed undo hide the first error; Dismiss()
// keeps everything once the operation succeeded.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace peapod::runtime {

class Rollback {
 public:
  Rollback() = default;
  Rollback(const Rollback&) = delete;
  Rollback& operator=(const Rollback&) = delete;
  ~Rollback() { Run(); }

  // Adds an undo step.
  void Push(std::string what, std::function<absl::Status()> undo) {
    steps_.emplace_back(std::move(what), std::move(undo));
  }
  // Forgets every step (success).
  void Dismiss() { steps_.clear(); }
  // Undoes everything, newest first; failures are reported on stderr only.
  void Run() {
    while (!steps_.empty()) {
      auto [what, undo] = std::move(steps_.back());
      steps_.pop_back();
      absl::Status st = undo();
      if (!st.ok()) {
        fprintf(stderr, "pea: rollback: %s: %s\n", what.c_str(), std::string(st.message()).c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::function<absl::Status()>>> steps_;
};

}  // namespace peapod::runtime
