// linux.resources → oci::Resources (also the `pea update -r` document).
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "oci/spec/spec.h"
#include "oci/spec/spec_json.h"

namespace peapod::oci::internal {
namespace {

absl::Status ParseDeviceRule(const Reader& r, DeviceCgroupRule* d) {
  PEAPOD_SPEC_RETURN_IF_ERROR(r.ExpectObject());
  PEAPOD_SPEC_RETURN_IF_ERROR(Req(r, "allow", &d->allow));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "type", &d->type));
  if (!d->type.empty() && d->type != "a" && d->type != "c" && d->type != "b") {
    return r.Get("type")->Error(absl::StrCat("unknown device type \"", d->type, "\""));
  }
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "major", &d->major));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "minor", &d->minor));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "access", &d->access));
  if (d->access.find_first_not_of("rwm") != std::string::npos) {
    return r.Get("access")->Error(absl::StrCat("invalid access \"", d->access, "\""));
  }
  return absl::OkStatus();
}

absl::Status ParseMemory(const Reader& r, Memory* m) {
  PEAPOD_SPEC_RETURN_IF_ERROR(r.ExpectObject());
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "limit", &m->limit));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "reservation", &m->reservation));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "swap", &m->swap));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "kernel", &m->kernel));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "kernelTCP", &m->kernel_tcp));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "swappiness", &m->swappiness));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "disableOOMKiller", &m->disable_oom_killer));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "useHierarchy", &m->use_hierarchy));
  return Opt(r, "checkBeforeUpdate", &m->check_before_update);
}

absl::Status ParseCpu(const Reader& r, Cpu* c) {
  PEAPOD_SPEC_RETURN_IF_ERROR(r.ExpectObject());
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "shares", &c->shares));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "quota", &c->quota));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "period", &c->period));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "realtimeRuntime", &c->realtime_runtime));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "realtimePeriod", &c->realtime_period));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "cpus", &c->cpus));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "mems", &c->mems));
  return Opt(r, "idle", &c->idle);
}

absl::Status ParsePids(const Reader& r, Pids* p) {
  PEAPOD_SPEC_RETURN_IF_ERROR(r.ExpectObject());
  return Req(r, "limit", &p->limit);
}

absl::Status ParseWeightDevice(const Reader& r, WeightDevice* d) {
  PEAPOD_SPEC_RETURN_IF_ERROR(r.ExpectObject());
  PEAPOD_SPEC_RETURN_IF_ERROR(Req(r, "major", &d->major));
  PEAPOD_SPEC_RETURN_IF_ERROR(Req(r, "minor", &d->minor));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "weight", &d->weight));
  return Opt(r, "leafWeight", &d->leaf_weight);
}

absl::Status ParseThrottleDevice(const Reader& r, ThrottleDevice* d) {
  PEAPOD_SPEC_RETURN_IF_ERROR(r.ExpectObject());
  PEAPOD_SPEC_RETURN_IF_ERROR(Req(r, "major", &d->major));
  PEAPOD_SPEC_RETURN_IF_ERROR(Req(r, "minor", &d->minor));
  return Req(r, "rate", &d->rate);
}

absl::Status ParseBlockIo(const Reader& r, BlockIo* b) {
  PEAPOD_SPEC_RETURN_IF_ERROR(r.ExpectObject());
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "weight", &b->weight));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "leafWeight", &b->leaf_weight));
  PEAPOD_SPEC_RETURN_IF_ERROR(List(r, "weightDevice", &b->weight_device, ParseWeightDevice));
  PEAPOD_SPEC_RETURN_IF_ERROR(
      List(r, "throttleReadBpsDevice", &b->throttle_read_bps, ParseThrottleDevice));
  PEAPOD_SPEC_RETURN_IF_ERROR(
      List(r, "throttleWriteBpsDevice", &b->throttle_write_bps, ParseThrottleDevice));
  PEAPOD_SPEC_RETURN_IF_ERROR(
      List(r, "throttleReadIOPSDevice", &b->throttle_read_iops, ParseThrottleDevice));
  return List(r, "throttleWriteIOPSDevice", &b->throttle_write_iops, ParseThrottleDevice);
}

absl::Status ParseHugepageLimit(const Reader& r, HugepageLimit* h) {
  PEAPOD_SPEC_RETURN_IF_ERROR(r.ExpectObject());
  PEAPOD_SPEC_RETURN_IF_ERROR(Req(r, "pageSize", &h->page_size));
  return Req(r, "limit", &h->limit);
}

}  // namespace

absl::Status ParseResourcesObject(const Reader& r, Resources* res) {
  PEAPOD_SPEC_RETURN_IF_ERROR(r.ExpectObject());
  PEAPOD_SPEC_RETURN_IF_ERROR(List(r, "devices", &res->devices, ParseDeviceRule));
  PEAPOD_SPEC_RETURN_IF_ERROR(OptObject(r, "memory", &res->memory, ParseMemory));
  PEAPOD_SPEC_RETURN_IF_ERROR(OptObject(r, "cpu", &res->cpu, ParseCpu));
  PEAPOD_SPEC_RETURN_IF_ERROR(OptObject(r, "pids", &res->pids, ParsePids));
  PEAPOD_SPEC_RETURN_IF_ERROR(OptObject(r, "blockIO", &res->block_io, ParseBlockIo));
  PEAPOD_SPEC_RETURN_IF_ERROR(List(r, "hugepageLimits", &res->hugepage_limits, ParseHugepageLimit));
  return Opt(r, "unified", &res->unified);
}

}  // namespace peapod::oci::internal
