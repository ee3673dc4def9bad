#include "cri/images/reference.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cri/images/digest.h"

namespace peapod::images {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// A path component: lowercase alphanumerics separated by ".", "_", "__" or dashes.
bool ValidComponent(std::string_view c) {
  if (c.empty() || !IsLowerAlnum(c.front()) || !IsLowerAlnum(c.back())) return false;
  for (size_t i = 0; i < c.size(); ++i) {
    char ch = c[i];
    if (IsLowerAlnum(ch) || ch == '-') continue;
    if (ch == '.' || ch == '_') {
      if (i + 1 < c.size() && !IsLowerAlnum(c[i + 1]) && !(ch == '_' && c[i + 1] == '_')) {
        return false;
      }
      continue;
    }
    return false;
  }
  return true;
}

bool ValidTag(std::string_view t) {
  if (t.empty() || t.size() > 128 || t.front() == '.' || t.front() == '-') return false;
  for (char c : t) {
    bool ok = IsLowerAlnum(c) || (c >= 'A' && c <= 'Z') || c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool ValidDomain(std::string_view d) {
  if (d.empty()) return false;
  for (char c : d) {
    bool ok = IsLowerAlnum(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '-' || c == ':' ||
              c == '[' || c == ']';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string Reference::String() const {
  std::string s = Name();
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

absl::StatusOr<Reference> ParseReference(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid image reference \"", std::string(text), "\": ", std::string(why)));
  };
  Reference ref;
  std::string_view rest = text;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    ref.digest = std::string(rest.substr(at + 1));
    if (!ValidateDigest(ref.digest).ok()) return bad("bad digest");
    rest = rest.substr(0, at);
  }
  size_t slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    ref.tag = std::string(rest.substr(colon + 1));
    if (!ValidTag(ref.tag)) return bad("bad tag");
    rest = rest.substr(0, colon);
  }
  size_t first = rest.find('/');
  std::string_view head = rest.substr(0, first);
  if (first != std::string_view::npos &&
      (head.find_first_of(".:") != std::string_view::npos || head == "localhost")) {
    ref.domain = std::string(head);
    rest = rest.substr(first + 1);
  } else {
    ref.domain = "docker.io";
  }
  if (ref.domain == "index.docker.io" || ref.domain == "registry-1.docker.io") {
    ref.domain = "docker.io";
  }
  if (!ValidDomain(ref.domain)) return bad("bad registry host");
  if (ref.domain == "docker.io" && rest.find('/') == std::string_view::npos) {
    ref.path = absl::StrCat("library/", std::string(rest));
  } else {
    ref.path = std::string(rest);
  }
  for (absl::string_view c : absl::StrSplit(ref.path, '/')) {
    if (!ValidComponent(std::string_view(c.data(), c.size()))) return bad("bad repository name");
  }
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

}  // namespace peapod::images
