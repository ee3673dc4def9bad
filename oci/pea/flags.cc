#include "oci/pea/flags.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace peapod::pea {
namespace {

const FlagSpec* Find(std::span<const FlagSpec> specs, std::string_view name) {
  for (const FlagSpec& s : specs) {
    if (s.name == name || (!s.alias.empty() && s.alias == name)) return &s;
  }
  return nullptr;
}

absl::StatusOr<bool> ParseBool(std::string_view flag, std::string_view v) {
  if (v == "true" || v == "1" || v == "t" || v == "T" || v == "TRUE" || v == "True") return true;
  if (v == "false" || v == "0" || v == "f" || v == "F" || v == "FALSE" || v == "False")
    return false;
  return absl::InvalidArgumentError(
      absl::StrCat("invalid boolean value \"", std::string(v), "\" for -", std::string(flag)));
}

}  // namespace

bool ParsedFlags::Has(std::string_view name) const { return values.find(name) != values.end(); }

bool ParsedFlags::Bool(std::string_view name) const {
  auto it = values.find(name);
  return it != values.end() && !it->second.empty() && it->second.back() == "true";
}

std::string ParsedFlags::Value(std::string_view name, std::string_view fallback) const {
  auto it = values.find(name);
  if (it == values.end() || it->second.empty()) return std::string(fallback);
  return it->second.back();
}

std::vector<std::string> ParsedFlags::Values(std::string_view name) const {
  auto it = values.find(name);
  return it == values.end() ? std::vector<std::string>{} : it->second;
}

absl::StatusOr<ParsedFlags> ParseFlags(std::span<const FlagSpec> specs,
                                       std::span<const std::string> args, ParseMode mode) {
  ParsedFlags out;
  size_t i = 0;
  auto rest_positional = [&](size_t from) {
    for (size_t j = from; j < args.size(); ++j) out.positional.push_back(args[j]);
  };
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      rest_positional(i + 1);
      return out;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      if (mode.stop_at_positional || mode.stop_at_unknown) {
        rest_positional(i);
        return out;
      }
      out.positional.push_back(arg);
      continue;
    }
    std::string_view body = std::string_view(arg).substr(arg[1] == '-' ? 2 : 1);
    std::optional<std::string> inline_value;
    if (size_t eq = body.find('='); eq != std::string_view::npos) {
      inline_value = std::string(body.substr(eq + 1));
      body = body.substr(0, eq);
    }
    const FlagSpec* spec = Find(specs, body);
    if (spec == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("flag provided but not defined: -", std::string(body)));
    }
    std::vector<std::string>& slot = out.values[std::string(spec->name)];
    if (spec->kind == FlagKind::kBool) {
      bool v = true;
      if (inline_value) {
        absl::StatusOr<bool> b = ParseBool(body, *inline_value);
        if (!b.ok()) return b.status();
        v = *b;
      }
      slot.push_back(v ? "true" : "false");
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("flag needs an argument: -", std::string(body)));
      }
      inline_value = args[++i];
    }
    if (spec->kind == FlagKind::kValue) slot.clear();
    slot.push_back(*inline_value);
  }
  return out;
}

std::string FlagsHelp(std::span<const FlagSpec> specs) {
  std::vector<std::string> left;
  size_t width = 0;
  for (const FlagSpec& s : specs) {
    std::string l = absl::StrCat("--", std::string(s.name));
    if (s.kind != FlagKind::kBool) l += " value";
    if (!s.alias.empty()) {
      absl::StrAppend(&l, ", ", s.alias.size() == 1 ? "-" : "--", std::string(s.alias));
      if (s.kind != FlagKind::kBool) l += " value";
    }
    width = std::max(width, l.size());
    left.push_back(std::move(l));
  }
  std::string out;
  for (size_t i = 0; i < specs.size(); ++i) {
    absl::StrAppend(&out, "   ", left[i], std::string(width - left[i].size() + 2, ' '),
                    std::string(specs[i].help));
    if (!specs[i].default_value.empty()) {
      absl::StrAppend(&out, " (default: ", std::string(specs[i].default_value), ")");
    }
    out += "\n";
  }
  return out;
}

}  // namespace peapod::pea
