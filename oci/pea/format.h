// What pea prints, in runc's formats: state JSON, list table/JSON, stats
// events, features. Pure functions of the launcher's structs.
#pragma once

#include <string>
#include <vector>

#include "oci/runtime/runtime.h"
#include "oci/spec/json.h"

namespace peapod::pea {

// One container's state as a JSON object (runc's `state` members).
json::Value StateValue(const runtime::ContainerState& state);
// `pea state`: the state object, indented.
std::string StateJson(const runtime::ContainerState& state);
// `pea list -f json`: a compact array ("null" when empty, as runc prints).
std::string ListJson(const std::vector<runtime::ContainerState>& states);
// `pea list`: runc's tab-aligned table (ID PID STATUS BUNDLE CREATED OWNER).
std::string ListTable(const std::vector<runtime::ContainerState>& states);
// Aligns rows of cells like Go's tabwriter(minwidth 12, padding 3).
std::string Tabulate(const std::vector<std::vector<std::string>>& rows);
// An event line of `pea events`: {"type":type,"id":id[,"data":data]}.
std::string EventJson(const std::string& type, const std::string& id, const json::Value* data);
// runc's stats event data (cpu, memory, pids, hugetlb).
json::Value StatsValue(const runtime::Stats& stats);
// `pea features`: what this build supports, in runc's features JSON.
std::string FeaturesJson();

}  // namespace peapod::pea
