// Run: Create + Start, then (unless detached) wait and clean up as runc.
#include "oci/runtime/process_util.h"
#include "oci/runtime/runtime.h"
#include "oci/runtime/state_store.h"

namespace peapod::runtime {

absl::StatusOr<int> Run(const Options& opts, const CreateOptions& create, bool detach) {
  PEAPOD_RETURN_IF_ERROR(Create(opts, create));
  if (absl::Status st = Start(opts, create.id); !st.ok()) {
    Delete(opts, create.id, true).IgnoreError();
    return st;
  }
  if (detach) return 0;
  // The init is our own child (cloned with CLONE_PARENT), so we can wait.
  PEAPOD_ASSIGN_OR_RETURN(StateRecord rec, LoadState(opts, create.id));
  absl::StatusOr<int> code = WaitChild(rec.init_pid);
  PEAPOD_RETURN_IF_ERROR(Delete(opts, create.id, true));
  return code;
}

}  // namespace peapod::runtime
