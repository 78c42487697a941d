#include "core/settings.h"

#include <cmath>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace hpo {

Settings::Settings(std::map<std::string, std::string> values, std::string field)
    : values_(std::move(values)), field_(std::move(field)) {}

bool Settings::Has(absl::string_view key) const {
  return values_.count(std::string(key)) > 0;
}

Settings Settings::Scoped(absl::string_view prefix,
                          const std::vector<std::string>& shared) {
  const std::string head = absl::StrCat(prefix, ".");
  std::map<std::string, std::string> scoped;
  for (const auto& [key, value] : values_) {
    if (absl::StartsWith(key, head)) {
      scoped[key.substr(head.size())] = value;
      delegated_.insert(key);
    }
  }
  for (const std::string& key : shared) {
    auto it = values_.find(key);
    if (it == values_.end()) continue;
    read_.insert(key);
    scoped.emplace(key, it->second);
  }
  return Settings(std::move(scoped), absl::StrCat(field_, ".", prefix));
}

void Settings::SetDefault(absl::string_view key, std::string value) {
  values_.emplace(std::string(key), std::move(value));
}

absl::Status Settings::Invalid(absl::string_view key,
                               absl::string_view problem) const {
  return absl::InvalidArgumentError(
      absl::StrCat(field_, ".", key, ": ", problem));
}

absl::StatusOr<int64_t> Settings::GetInt(absl::string_view key,
                                         int64_t fallback) {
  read_.insert(std::string(key));
  auto it = values_.find(std::string(key));
  if (it == values_.end()) return fallback;
  int64_t v;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(it->second), &v)) {
    return Invalid(
        key, absl::StrCat("must be an integer, got \"", it->second, "\""));
  }
  return v;
}

absl::StatusOr<double> Settings::GetDouble(absl::string_view key,
                                           double fallback) {
  read_.insert(std::string(key));
  auto it = values_.find(std::string(key));
  if (it == values_.end()) return fallback;
  double v;
  if (!absl::SimpleAtod(absl::StripAsciiWhitespace(it->second), &v) ||
      !std::isfinite(v)) {
    return Invalid(
        key, absl::StrCat("must be a finite number, got \"", it->second, "\""));
  }
  return v;
}

absl::StatusOr<bool> Settings::GetBool(absl::string_view key, bool fallback) {
  read_.insert(std::string(key));
  auto it = values_.find(std::string(key));
  if (it == values_.end()) return fallback;
  bool v;
  if (!absl::SimpleAtob(absl::StripAsciiWhitespace(it->second), &v)) {
    return Invalid(
        key, absl::StrCat("must be true or false, got \"", it->second, "\""));
  }
  return v;
}

absl::StatusOr<std::string> Settings::GetString(absl::string_view key,
                                                std::string fallback) {
  read_.insert(std::string(key));
  auto it = values_.find(std::string(key));
  if (it == values_.end()) return fallback;
  return it->second;
}

absl::Status Settings::CheckAllRead(absl::string_view owner) const {
  for (const auto& [key, value] : values_) {
    if (read_.count(key) == 0 && delegated_.count(key) == 0) {
      std::vector<std::string> known(read_.begin(), read_.end());
      return Invalid(
          key, absl::StrCat("unknown setting for ", owner, " (known: ",
                            known.empty() ? "none" : absl::StrJoin(known, ", "),
                            ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace hpo
