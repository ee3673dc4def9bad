// config.json → oci::Spec. Every member is read by its runtime-spec JSON
// name; unknown members are ignored for forward compatibility; errors name
// the JSON path of the offending member.
#include <set>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "oci/spec/spec.h"
#include "oci/spec/spec_json.h"

namespace peapod::oci {

using internal::List;
using internal::Opt;
using internal::OptObject;
using internal::Req;
using json::Reader;

namespace {

absl::Status ParseIdMapping(const Reader& r, IdMapping* m) {
  PEAPOD_SPEC_RETURN_IF_ERROR(r.ExpectObject());
  PEAPOD_SPEC_RETURN_IF_ERROR(Req(r, "containerID", &m->container_id));
  PEAPOD_SPEC_RETURN_IF_ERROR(Req(r, "hostID", &m->host_id));
  return Req(r, "size", &m->size);
}

absl::Status ParseUser(const Reader& r, User* u) {
  PEAPOD_SPEC_RETURN_IF_ERROR(r.ExpectObject());
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "uid", &u->uid));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "gid", &u->gid));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "umask", &u->umask));
  PEAPOD_SPEC_RETURN_IF_ERROR(
      List(r, "additionalGids", &u->additional_gids,
           [](const Reader& e, uint32_t* g) { return internal::ReadAs(e, g); }));
  return Opt(r, "username", &u->username);
}

absl::Status ParseRlimit(const Reader& r, Rlimit* l) {
  PEAPOD_SPEC_RETURN_IF_ERROR(r.ExpectObject());
  PEAPOD_SPEC_RETURN_IF_ERROR(Req(r, "type", &l->type));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "hard", &l->hard));
  return Opt(r, "soft", &l->soft);
}

absl::Status ParseCapabilities(const Reader& r, Capabilities* c) {
  PEAPOD_SPEC_RETURN_IF_ERROR(r.ExpectObject());
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "bounding", &c->bounding));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "effective", &c->effective));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "inheritable", &c->inheritable));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "permitted", &c->permitted));
  return Opt(r, "ambient", &c->ambient);
}

absl::Status ParseConsoleSize(const Reader& r, ConsoleSize* c) {
  PEAPOD_SPEC_RETURN_IF_ERROR(r.ExpectObject());
  PEAPOD_SPEC_RETURN_IF_ERROR(Req(r, "height", &c->height));
  return Req(r, "width", &c->width);
}

absl::Status ParseProcessObject(const Reader& r, Process* p) {
  PEAPOD_SPEC_RETURN_IF_ERROR(r.ExpectObject());
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "terminal", &p->terminal));
  PEAPOD_SPEC_RETURN_IF_ERROR(OptObject(r, "consoleSize", &p->console_size, ParseConsoleSize));
  if (std::optional<Reader> u = r.Get("user")) PEAPOD_SPEC_RETURN_IF_ERROR(ParseUser(*u, &p->user));
  PEAPOD_SPEC_RETURN_IF_ERROR(Req(r, "args", &p->args));
  if (p->args.empty()) return r.Get("args")->Error("must not be empty");
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "env", &p->env));
  PEAPOD_SPEC_RETURN_IF_ERROR(Req(r, "cwd", &p->cwd));
  if (!absl::StartsWith(p->cwd, "/")) {
    return r.Get("cwd")->Error(absl::StrCat("must be an absolute path, got \"", p->cwd, "\""));
  }
  PEAPOD_SPEC_RETURN_IF_ERROR(OptObject(r, "capabilities", &p->capabilities, ParseCapabilities));
  PEAPOD_SPEC_RETURN_IF_ERROR(List(r, "rlimits", &p->rlimits, ParseRlimit));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "noNewPrivileges", &p->no_new_privileges));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "apparmorProfile", &p->apparmor_profile));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "oomScoreAdj", &p->oom_score_adj));
  return Opt(r, "selinuxLabel", &p->selinux_label);
}

absl::Status ParseRoot(const Reader& r, Root* root) {
  PEAPOD_SPEC_RETURN_IF_ERROR(r.ExpectObject());
  PEAPOD_SPEC_RETURN_IF_ERROR(Req(r, "path", &root->path));
  if (root->path.empty()) return r.Get("path")->Error("must not be empty");
  return Opt(r, "readonly", &root->readonly);
}

absl::Status ParseMount(const Reader& r, Mount* m) {
  PEAPOD_SPEC_RETURN_IF_ERROR(r.ExpectObject());
  PEAPOD_SPEC_RETURN_IF_ERROR(Req(r, "destination", &m->destination));
  if (m->destination.empty()) return r.Get("destination")->Error("must not be empty");
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "type", &m->type));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "source", &m->source));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "options", &m->options));
  PEAPOD_SPEC_RETURN_IF_ERROR(List(r, "uidMappings", &m->uid_mappings, ParseIdMapping));
  return List(r, "gidMappings", &m->gid_mappings, ParseIdMapping);
}

absl::Status ParseHook(const Reader& r, Hook* h) {
  PEAPOD_SPEC_RETURN_IF_ERROR(r.ExpectObject());
  PEAPOD_SPEC_RETURN_IF_ERROR(Req(r, "path", &h->path));
  if (!absl::StartsWith(h->path, "/")) {
    return r.Get("path")->Error(absl::StrCat("must be an absolute path, got \"", h->path, "\""));
  }
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "args", &h->args));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "env", &h->env));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "timeout", &h->timeout));
  if (h->timeout && *h->timeout <= 0) return r.Get("timeout")->Error("must be greater than zero");
  return absl::OkStatus();
}

absl::Status ParseHooks(const Reader& r, Hooks* h) {
  PEAPOD_SPEC_RETURN_IF_ERROR(r.ExpectObject());
  PEAPOD_SPEC_RETURN_IF_ERROR(List(r, "prestart", &h->prestart, ParseHook));
  PEAPOD_SPEC_RETURN_IF_ERROR(List(r, "createRuntime", &h->create_runtime, ParseHook));
  PEAPOD_SPEC_RETURN_IF_ERROR(List(r, "createContainer", &h->create_container, ParseHook));
  PEAPOD_SPEC_RETURN_IF_ERROR(List(r, "startContainer", &h->start_container, ParseHook));
  PEAPOD_SPEC_RETURN_IF_ERROR(List(r, "poststart", &h->poststart, ParseHook));
  return List(r, "poststop", &h->poststop, ParseHook);
}

absl::Status ParseNamespace(const Reader& r, Namespace* ns) {
  static const std::set<std::string> kTypes = {"pid", "network", "mount",  "ipc",
                                               "uts", "user",    "cgroup", "time"};
  PEAPOD_SPEC_RETURN_IF_ERROR(r.ExpectObject());
  PEAPOD_SPEC_RETURN_IF_ERROR(Req(r, "type", &ns->type));
  if (!kTypes.contains(ns->type)) {
    return r.Get("type")->Error(absl::StrCat("unknown namespace type \"", ns->type, "\""));
  }
  return Opt(r, "path", &ns->path);
}

absl::Status ParseNamespaces(const Reader& linux, std::vector<Namespace>* out) {
  PEAPOD_SPEC_RETURN_IF_ERROR(List(linux, "namespaces", out, ParseNamespace));
  std::set<std::string> seen;
  for (size_t i = 0; i < out->size(); ++i) {
    if (!seen.insert((*out)[i].type).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          linux.path(), ".namespaces[", i, "].type: duplicate namespace \"", (*out)[i].type, "\""));
    }
  }
  return absl::OkStatus();
}

absl::Status ParseDevice(const Reader& r, Device* d) {
  PEAPOD_SPEC_RETURN_IF_ERROR(r.ExpectObject());
  PEAPOD_SPEC_RETURN_IF_ERROR(Req(r, "type", &d->type));
  if (d->type != "c" && d->type != "b" && d->type != "u" && d->type != "p") {
    return r.Get("type")->Error(absl::StrCat("unknown device type \"", d->type, "\""));
  }
  PEAPOD_SPEC_RETURN_IF_ERROR(Req(r, "path", &d->path));
  if (d->path.empty()) return r.Get("path")->Error("must not be empty");
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "major", &d->major));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "minor", &d->minor));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "fileMode", &d->file_mode));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "uid", &d->uid));
  return Opt(r, "gid", &d->gid);
}

absl::Status ParseTimeOffsets(const Reader& r, std::map<std::string, TimeOffset>* out) {
  absl::StatusOr<std::vector<std::pair<std::string, Reader>>> members = r.Members();
  if (!members.ok()) return members.status();
  for (const auto& [name, m] : *members) {
    PEAPOD_SPEC_RETURN_IF_ERROR(m.ExpectObject());
    TimeOffset t;
    PEAPOD_SPEC_RETURN_IF_ERROR(Opt(m, "secs", &t.secs));
    PEAPOD_SPEC_RETURN_IF_ERROR(Opt(m, "nanosecs", &t.nanosecs));
    (*out)[name] = t;
  }
  return absl::OkStatus();
}

absl::Status ParseSeccompArg(const Reader& r, SeccompArg* a) {
  PEAPOD_SPEC_RETURN_IF_ERROR(r.ExpectObject());
  PEAPOD_SPEC_RETURN_IF_ERROR(Req(r, "index", &a->index));
  PEAPOD_SPEC_RETURN_IF_ERROR(Req(r, "value", &a->value));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "valueTwo", &a->value_two));
  return Req(r, "op", &a->op);
}

absl::Status ParseSeccompSyscall(const Reader& r, SeccompSyscall* s) {
  PEAPOD_SPEC_RETURN_IF_ERROR(r.ExpectObject());
  PEAPOD_SPEC_RETURN_IF_ERROR(Req(r, "names", &s->names));
  PEAPOD_SPEC_RETURN_IF_ERROR(Req(r, "action", &s->action));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "errnoRet", &s->errno_ret));
  return List(r, "args", &s->args, ParseSeccompArg);
}

absl::Status ParseSeccomp(const Reader& r, Seccomp* s) {
  PEAPOD_SPEC_RETURN_IF_ERROR(r.ExpectObject());
  PEAPOD_SPEC_RETURN_IF_ERROR(Req(r, "defaultAction", &s->default_action));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "defaultErrnoRet", &s->default_errno_ret));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "architectures", &s->architectures));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "flags", &s->flags));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "listenerPath", &s->listener_path));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "listenerMetadata", &s->listener_metadata));
  return List(r, "syscalls", &s->syscalls, ParseSeccompSyscall);
}

absl::Status ParseLinux(const Reader& r, Linux* l) {
  PEAPOD_SPEC_RETURN_IF_ERROR(r.ExpectObject());
  PEAPOD_SPEC_RETURN_IF_ERROR(ParseNamespaces(r, &l->namespaces));
  PEAPOD_SPEC_RETURN_IF_ERROR(List(r, "uidMappings", &l->uid_mappings, ParseIdMapping));
  PEAPOD_SPEC_RETURN_IF_ERROR(List(r, "gidMappings", &l->gid_mappings, ParseIdMapping));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "sysctl", &l->sysctl));
  PEAPOD_SPEC_RETURN_IF_ERROR(
      OptObject(r, "resources", &l->resources, internal::ParseResourcesObject));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "cgroupsPath", &l->cgroups_path));
  PEAPOD_SPEC_RETURN_IF_ERROR(List(r, "devices", &l->devices, ParseDevice));
  PEAPOD_SPEC_RETURN_IF_ERROR(OptObject(r, "seccomp", &l->seccomp, ParseSeccomp));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "rootfsPropagation", &l->rootfs_propagation));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "maskedPaths", &l->masked_paths));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "readonlyPaths", &l->readonly_paths));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "mountLabel", &l->mount_label));
  if (std::optional<Reader> t = r.Get("timeOffsets")) {
    PEAPOD_SPEC_RETURN_IF_ERROR(ParseTimeOffsets(*t, &l->time_offsets));
  }
  return absl::OkStatus();
}

absl::Status ParseSpecObject(const Reader& r, Spec* s) {
  PEAPOD_SPEC_RETURN_IF_ERROR(r.ExpectObject());
  PEAPOD_SPEC_RETURN_IF_ERROR(Req(r, "ociVersion", &s->oci_version));
  PEAPOD_SPEC_RETURN_IF_ERROR(OptObject(r, "process", &s->process, ParseProcessObject));
  absl::StatusOr<Reader> root = r.Require("root");
  if (!root.ok()) return root.status();
  PEAPOD_SPEC_RETURN_IF_ERROR(ParseRoot(*root, &s->root));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "hostname", &s->hostname));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "domainname", &s->domainname));
  PEAPOD_SPEC_RETURN_IF_ERROR(List(r, "mounts", &s->mounts, ParseMount));
  if (std::optional<Reader> h = r.Get("hooks"))
    PEAPOD_SPEC_RETURN_IF_ERROR(ParseHooks(*h, &s->hooks));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "annotations", &s->annotations));
  return OptObject(r, "linux", &s->linux, ParseLinux);
}

absl::Status ParseStateObject(const Reader& r, State* s) {
  PEAPOD_SPEC_RETURN_IF_ERROR(r.ExpectObject());
  PEAPOD_SPEC_RETURN_IF_ERROR(Req(r, "ociVersion", &s->oci_version));
  PEAPOD_SPEC_RETURN_IF_ERROR(Req(r, "id", &s->id));
  PEAPOD_SPEC_RETURN_IF_ERROR(Req(r, "status", &s->status));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "pid", &s->pid));
  PEAPOD_SPEC_RETURN_IF_ERROR(Opt(r, "bundle", &s->bundle));
  return Opt(r, "annotations", &s->annotations);
}

// Parses a whole document with `parse` applied to its root ("$").
template <typename T, typename F>
absl::StatusOr<T> ParseDocument(std::string_view text, F parse) {
  absl::StatusOr<json::Value> doc = json::Parse(text);
  if (!doc.ok()) return doc.status();
  T out{};
  PEAPOD_SPEC_RETURN_IF_ERROR(parse(Reader(*doc, "$"), &out));
  return out;
}

}  // namespace

absl::StatusOr<Spec> ParseSpec(std::string_view json) {
  return ParseDocument<Spec>(json, ParseSpecObject);
}

absl::StatusOr<Spec> LoadSpec(const std::string& path) {
  absl::StatusOr<json::Value> doc = json::ParseFile(path);
  if (!doc.ok()) return doc.status();
  Spec out;
  if (absl::Status s = ParseSpecObject(Reader(*doc, "$"), &out); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.message()));
  }
  return out;
}

absl::StatusOr<Process> ParseProcess(std::string_view json) {
  return ParseDocument<Process>(json, ParseProcessObject);
}

absl::StatusOr<Resources> ParseResources(std::string_view json) {
  return ParseDocument<Resources>(json, internal::ParseResourcesObject);
}

absl::StatusOr<State> ParseState(std::string_view json) {
  return ParseDocument<State>(json, ParseStateObject);
}

}  // namespace peapod::oci
