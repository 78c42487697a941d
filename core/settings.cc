#include "core/settings.h"

#include <cmath>
#include <optional>
#include <string>
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

namespace {

template <typename T, typename Get>
absl::StatusOr<Aliased<T>> GetAliased(
    const Settings& settings, std::initializer_list<absl::string_view> keys,
    T fallback, Get get) {
  Aliased<T> out{fallback, std::string(*keys.begin()), false};
  for (absl::string_view key : keys) {
    const bool given = settings.Has(key);
    absl::StatusOr<T> value = get(key, fallback);
    if (!value.ok()) return value.status();
    if (!given) continue;
    if (out.given) {
      return settings.Invalid(key, absl::StrCat("is an alias of ", out.key,
                                                "; give only one of them"));
    }
    out = Aliased<T>{*value, std::string(key), true};
  }
  return out;
}

// A value read with `get`, checked against [lo, hi] (no upper bound without
// `hi`) when the setting was given: "must be >= 1 (why), got 0" or "must be in
// [0, 1], got 2".
template <typename T, typename Get>
absl::StatusOr<T> GetBounded(const Settings& settings, absl::string_view key,
                             T lo, std::optional<T> hi, absl::string_view why,
                             Get get) {
  absl::StatusOr<T> v = get();
  if (!v.ok() || !settings.Has(key)) return v;
  if (*v >= lo && (!hi.has_value() || *v <= *hi)) return v;
  std::string bound = hi.has_value() ? absl::StrCat("in [", lo, ", ", *hi, "]")
                                     : absl::StrCat(">= ", lo);
  if (!why.empty()) absl::StrAppend(&bound, " (", why, ")");
  return settings.Invalid(key, absl::StrCat("must be ", bound, ", got ", *v));
}

}  // namespace

absl::StatusOr<int64_t> Settings::GetIntAtLeast(absl::string_view key,
                                                int64_t fallback, int64_t lo,
                                                absl::string_view why) {
  return GetBounded<int64_t>(*this, key, lo, std::nullopt, why,
                             [&] { return GetInt(key, fallback); });
}

absl::StatusOr<int64_t> Settings::GetIntInRange(absl::string_view key,
                                                int64_t fallback, int64_t lo,
                                                int64_t hi,
                                                absl::string_view why) {
  return GetBounded<int64_t>(*this, key, lo, hi, why,
                             [&] { return GetInt(key, fallback); });
}

absl::StatusOr<double> Settings::GetDoubleAtLeast(absl::string_view key,
                                                  double fallback, double lo,
                                                  absl::string_view why) {
  return GetBounded<double>(*this, key, lo, std::nullopt, why,
                            [&] { return GetDouble(key, fallback); });
}

absl::StatusOr<double> Settings::GetDoubleInRange(absl::string_view key,
                                                  double fallback, double lo,
                                                  double hi,
                                                  absl::string_view why) {
  return GetBounded<double>(*this, key, lo, hi, why,
                            [&] { return GetDouble(key, fallback); });
}

absl::StatusOr<Aliased<int64_t>> Settings::GetIntAliased(
    std::initializer_list<absl::string_view> keys, int64_t fallback) {
  return GetAliased<int64_t>(
      *this, keys, fallback,
      [this](absl::string_view key, int64_t f) { return GetInt(key, f); });
}

absl::StatusOr<Aliased<double>> Settings::GetDoubleAliased(
    std::initializer_list<absl::string_view> keys, double fallback) {
  return GetAliased<double>(
      *this, keys, fallback,
      [this](absl::string_view key, double f) { return GetDouble(key, f); });
}

absl::Status Settings::CheckOptimizeMode() {
  absl::StatusOr<std::string> mode = GetString("optimize_mode", "maximize");
  if (!mode.ok()) return mode.status();
  const std::string lower = absl::AsciiStrToLower(*mode);
  if (lower != "minimize" && lower != "maximize") {
    return Invalid(
        "optimize_mode",
        absl::StrCat(
            "must be minimize or maximize, got \"", *mode,
            "\" (the experiment's objective goal decides the direction)"));
  }
  return absl::OkStatus();
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
