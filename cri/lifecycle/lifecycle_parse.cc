// The peapod.io/lifecycle annotation.
#include "cri/lifecycle/lifecycle.h"
#include "cri/util/str.h"
#include "oci/linux/errno_status.h"
#include "oci/spec/json.h"

namespace peapod::cri {
namespace {

absl::Status CheckMembers(const json::Reader& r, std::initializer_list<std::string_view> allowed) {
  PEAPOD_ASSIGN_OR_RETURN(auto members, r.Members());
  for (const auto& [key, _] : members) {
    bool ok = false;
    for (std::string_view a : allowed) ok |= key == a;
    if (!ok) {
      std::string list;
      for (std::string_view a : allowed) list += Cat(list.empty() ? "" : ", ", a);
      return r.Error(Cat("unknown member \"", key, "\" (want ", list, ")"));
    }
  }
  return absl::OkStatus();
}

bool HasCtlOrNewline(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

bool IsTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

absl::StatusOr<HttpGetAction> ParseHttpGet(const json::Reader& r) {
  PEAPOD_RETURN_IF_ERROR(CheckMembers(r, {"host", "port", "path", "scheme", "httpHeaders"}));
  HttpGetAction a;
  if (auto h = r.Get("host")) {
    PEAPOD_ASSIGN_OR_RETURN(a.host, h->String());
    if (a.host.find_first_of(" /?#@[]\\") != std::string::npos || HasCtlOrNewline(a.host)) {
      return h->Error(Cat("invalid host \"", a.host, "\""));
    }
  }
  PEAPOD_ASSIGN_OR_RETURN(json::Reader port, r.Require("port"));
  if (port.value().is_string()) {
    return port.Error("named ports are not supported here; give the port number");
  }
  PEAPOD_ASSIGN_OR_RETURN(a.port, port.Uint16());
  if (a.port == 0) return port.Error("port must be 1-65535");
  if (auto p = r.Get("path")) {
    PEAPOD_ASSIGN_OR_RETURN(std::string path, p->String());
    // Built by appending: assigning a literal here trips GCC 12's -Wrestrict.
    a.path.clear();
    if (path.empty() || path[0] != '/') a.path.push_back('/');
    a.path.append(path);
    if (a.path.find(' ') != std::string::npos || HasCtlOrNewline(a.path)) {
      return p->Error("path contains whitespace or control characters");
    }
  }
  if (auto s = r.Get("scheme")) {
    PEAPOD_ASSIGN_OR_RETURN(a.scheme, s->String());
    if (a.scheme != "HTTP" && a.scheme != "HTTPS") {
      return s->Error(Cat("scheme \"", a.scheme, "\" is not HTTP or HTTPS"));
    }
  }
  if (auto hs = r.Get("httpHeaders")) {
    PEAPOD_ASSIGN_OR_RETURN(auto elems, hs->Elements());
    for (const json::Reader& e : elems) {
      PEAPOD_RETURN_IF_ERROR(CheckMembers(e, {"name", "value"}));
      HttpHeader h;
      PEAPOD_ASSIGN_OR_RETURN(json::Reader n, e.Require("name"));
      PEAPOD_ASSIGN_OR_RETURN(h.name, n.String());
      if (h.name.empty()) return n.Error("empty header name");
      for (char c : h.name) {
        if (!IsTokenChar(c)) return n.Error(Cat("invalid header name \"", h.name, "\""));
      }
      PEAPOD_ASSIGN_OR_RETURN(json::Reader v, e.Require("value"));
      PEAPOD_ASSIGN_OR_RETURN(h.value, v.String());
      for (unsigned char c : h.value) {
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
          return v.Error("header value contains control characters");
        }
      }
      a.headers.push_back(std::move(h));
    }
  }
  return a;
}

absl::StatusOr<LifecycleHandler> ParseHandler(const json::Reader& r) {
  PEAPOD_RETURN_IF_ERROR(CheckMembers(r, {"exec", "httpGet"}));
  LifecycleHandler h;
  if (auto e = r.Get("exec")) {
    PEAPOD_RETURN_IF_ERROR(CheckMembers(*e, {"command"}));
    PEAPOD_ASSIGN_OR_RETURN(json::Reader cmd, e->Require("command"));
    ExecAction x;
    PEAPOD_ASSIGN_OR_RETURN(x.command, cmd.StringArray());
    if (x.command.empty() || x.command[0].empty()) return cmd.Error("command is empty");
    h.exec = std::move(x);
  }
  if (auto g = r.Get("httpGet")) {
    PEAPOD_ASSIGN_OR_RETURN(HttpGetAction a, ParseHttpGet(*g));
    h.http_get = std::move(a);
  }
  if (h.exec.has_value() == h.http_get.has_value()) {
    return r.Error("a handler needs exactly one of exec, httpGet");
  }
  return h;
}

}  // namespace

std::string LifecycleHandler::Describe() const {
  if (exec) {
    std::string s = "exec [";
    for (size_t i = 0; i < exec->command.size(); ++i) s += Cat(i ? " " : "", exec->command[i]);
    return s + "]";
  }
  if (http_get) {
    return Cat("httpGet ", http_get->scheme, "://",
               http_get->host.empty() ? "<pod IP>" : http_get->host, ":", http_get->port,
               http_get->path);
  }
  return "none";
}

absl::StatusOr<Lifecycle> ParseLifecycle(std::string_view json_text) {
  const std::string origin = Cat("annotation ", kLifecycleAnnotation);
  auto v = json::Parse(json_text);
  if (!v.ok()) return absl::InvalidArgumentError(Cat(origin, ": ", v.status().message()));
  json::Reader r(*v, "$");
  Lifecycle out;
  absl::Status st = [&]() -> absl::Status {
    PEAPOD_RETURN_IF_ERROR(CheckMembers(r, {"postStart", "preStop"}));
    if (auto p = r.Get("postStart")) {
      PEAPOD_ASSIGN_OR_RETURN(LifecycleHandler h, ParseHandler(*p));
      out.post_start = std::move(h);
    }
    if (auto p = r.Get("preStop")) {
      PEAPOD_ASSIGN_OR_RETURN(LifecycleHandler h, ParseHandler(*p));
      out.pre_stop = std::move(h);
    }
    return absl::OkStatus();
  }();
  if (!st.ok()) return absl::InvalidArgumentError(Cat(origin, ": ", st.message()));
  return out;
}

}  // namespace peapod::cri
