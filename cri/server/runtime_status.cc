// Status: is the runtime able to run pods (RuntimeReady), and is pod
// networking configured (NetworkReady: a CNI config exists).
#include <unistd.h>

#include "cri/server/handlers.h"
#include "cri/server/runtime_checks.h"
#include "cri/util/str.h"

namespace peapod::cri {
namespace {

void AddCondition(::runtime::v1::RuntimeStatus& status, std::string type, const absl::Status& check,
                  std::string reason) {
  ::runtime::v1::RuntimeCondition* c = status.add_conditions();
  c->set_type(std::move(type));
  c->set_status(check.ok());
  if (!check.ok()) {
    c->set_reason(std::move(reason));
    c->set_message(std::string(check.message()));
  }
}

}  // namespace

absl::Status HandleStatus(Daemon& d, const ::runtime::v1::StatusRequest& req,
                          ::runtime::v1::StatusResponse& resp) {
  ::runtime::v1::RuntimeStatus& status = *resp.mutable_status();
  AddCondition(status, "RuntimeReady", CheckRuntimeReady(d.config), "RuntimeNotReady");
  AddCondition(status, "NetworkReady", CheckNetworkReady(d.config), "NetworkPluginNotReady");
  ::runtime::v1::RuntimeHandler* handler = resp.add_runtime_handlers();
  handler->set_name("");
  handler->mutable_features()->set_recursive_read_only_mounts(false);
  handler->mutable_features()->set_user_namespaces(false);
  resp.mutable_features()->set_supplemental_groups_policy(false);
  if (req.verbose()) {
    (*resp.mutable_info())["config"] = ConfigInfoJson(d.config);
  }
  return absl::OkStatus();
}

}  // namespace peapod::cri
