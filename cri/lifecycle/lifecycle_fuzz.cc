// Fuzz target: the peapod.io/lifecycle annotation through ParseLifecycle.
// An accepted handler is exactly one of exec / httpGet; an httpGet's parts,
// which become an HTTP request line and headers, carry no CR, LF or other
// control character (no header injection; a header value may hold a tab),
// and its path starts with '/'.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cri/lifecycle/lifecycle.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

// No control character; `tab_ok`: but HTAB, which an HTTP field value may
// hold (RFC 9110 5.5).
void NoControl(const std::string& s, bool tab_ok = false) {
  for (unsigned char c : s) Check((c >= 0x20 && c != 0x7f) || (tab_ok && c == '\t'));
}

void CheckHandler(const peapod::cri::LifecycleHandler& h) {
  Check(h.exec.has_value() != h.http_get.has_value());
  if (h.exec) Check(!h.exec->command.empty());
  if (h.http_get) {
    const peapod::cri::HttpGetAction& g = *h.http_get;
    NoControl(g.host);
    NoControl(g.path);
    Check(!g.path.empty() && g.path[0] == '/');
    for (char c : g.path) Check(c != ' ');
    Check(g.scheme == "HTTP" || g.scheme == "HTTPS");
    for (const peapod::cri::HttpHeader& hd : g.headers) {
      Check(!hd.name.empty());
      NoControl(hd.name);
      NoControl(hd.value, /*tab_ok=*/true);
      for (char c : hd.name) Check(c != ':' && c != ' ');
    }
  }
  Check(!h.Describe().empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<peapod::cri::Lifecycle> l = peapod::cri::ParseLifecycle(text);
  if (!l.ok()) return 0;
  if (l->post_start) CheckHandler(*l->post_start);
  if (l->pre_stop) CheckHandler(*l->pre_stop);
  return 0;
}
