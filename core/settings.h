// Typed access to an algorithm's string settings, with errors that name the
// setting, and a check that no setting was left unread (so a typo is an error,
// not a no-op).

#ifndef HPO_CORE_SETTINGS_H_
#define HPO_CORE_SETTINGS_H_

#include <cstdint>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hpo {

// A setting that other tools spell differently, as read under one of its
// names.
template <typename T>
struct Aliased {
  T value;
  // The name it was given under, or the first name when it was not given.
  std::string key;
  bool given = false;
};

class Settings {
 public:
  // `field` prefixes error messages, e.g. "algorithm.settings".
  Settings(std::map<std::string, std::string> values, std::string field);

  bool Has(absl::string_view key) const;
  absl::StatusOr<int64_t> GetInt(absl::string_view key, int64_t fallback);
  absl::StatusOr<double> GetDouble(absl::string_view key, double fallback);
  absl::StatusOr<bool> GetBool(absl::string_view key, bool fallback);
  absl::StatusOr<std::string> GetString(absl::string_view key,
                                        std::string fallback);

  // GetInt and GetDouble with bounds (inclusive): INVALID_ARGUMENT
  // "<field>.<key>: must be >= lo, got v" (or "must be in [lo, hi], got v"),
  // with `why` in parentheses after the bound when given. The fallback is not
  // checked (it may be a sentinel, such as 0 for "pick one").
  absl::StatusOr<int64_t> GetIntAtLeast(absl::string_view key, int64_t fallback,
                                        int64_t lo, absl::string_view why = {});
  absl::StatusOr<int64_t> GetIntInRange(absl::string_view key, int64_t fallback,
                                        int64_t lo, int64_t hi,
                                        absl::string_view why = {});
  absl::StatusOr<double> GetDoubleAtLeast(absl::string_view key,
                                          double fallback, double lo,
                                          absl::string_view why = {});
  absl::StatusOr<double> GetDoubleInRange(absl::string_view key,
                                          double fallback, double lo, double hi,
                                          absl::string_view why = {});

  // The first of `keys` that is set (all of them count as read), or
  // `fallback`; INVALID_ARGUMENT when more than one is set, naming the later
  // as an alias of the earlier, even when they agree: one setting, one name.
  absl::StatusOr<Aliased<int64_t>> GetIntAliased(
      std::initializer_list<absl::string_view> keys, int64_t fallback);
  absl::StatusOr<Aliased<double>> GetDoubleAliased(
      std::initializer_list<absl::string_view> keys, double fallback);

  // NNI's `optimize_mode` ("maximize" or "minimize", any case). The
  // experiment's goal decides the direction, so it is only checked.
  absl::Status CheckOptimizeMode();

  // The settings whose keys start with `prefix` and a dot, with that part
  // removed, as their own Settings (errors name them in full, e.g.
  // "algorithm.settings.gp.n_candidates"). The returned object checks them,
  // so this one no longer does. The `shared` settings, when given here and not
  // under the prefix, are copied in too (and count as read here). For
  // algorithms that configure others.
  Settings Scoped(absl::string_view prefix,
                  const std::vector<std::string>& shared = {});

  // Gives `key` this value unless it was given: for an algorithm that
  // configures another with defaults of its own.
  void SetDefault(absl::string_view key, std::string value);

  // INVALID_ARGUMENT naming the first setting no Get* call asked for.
  absl::Status CheckAllRead(absl::string_view owner) const;

  // INVALID_ARGUMENT "<field>.<key>: <problem>".
  absl::Status Invalid(absl::string_view key, absl::string_view problem) const;

 private:
  std::map<std::string, std::string> values_;
  std::string field_;
  std::set<std::string> read_;
  // Handed to a Scoped() child, which checks them.
  std::set<std::string> delegated_;
};

}  // namespace hpo

#endif  // HPO_CORE_SETTINGS_H_
