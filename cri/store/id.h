// Identifiers of pods and containers: 64 lowercase hex digits (256 random
// bits), as containerd and CRI-O hand out.
#pragma once

#include <string>
#include <string_view>

namespace peapod::cri {

// A fresh random id from getrandom(2).
std::string NewId();
// Whether `s` has the shape of a full id.
bool IsFullId(std::string_view s);

}  // namespace peapod::cri
