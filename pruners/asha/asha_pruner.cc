#include "pruners/asha/asha_pruner.h"

#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "pruners/asha/successive_halving.h"
#include "pruners/common/pruner_util.h"

namespace hpo {
namespace {

class AshaPruner : public Pruner {
 public:
  explicit AshaPruner(const SuccessiveHalvingOptions& options)
      : options_(options) {}

  PruneDecision ShouldStop(const History& history, size_t trial,
                           int64_t step) const override {
    return SuccessiveHalvingDecision(options_, history, trial, step,
                                     [](const TrialRecord&) { return true; });
  }

 private:
  const SuccessiveHalvingOptions options_;
};

// A Ray setting that names something hpo has fixed: any non-empty text.
absl::Status CheckNonEmpty(Settings& settings, absl::string_view key) {
  const bool given = settings.Has(key);
  absl::StatusOr<std::string> value = settings.GetString(key, "");
  if (!value.ok()) return value.status();
  if (given && absl::StripAsciiWhitespace(*value).empty()) {
    return settings.Invalid(key, "must not be empty");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Pruner>> CreateAshaPruner(Settings& settings) {
  SuccessiveHalvingOptions options;

  // min_resource may be Optuna's "auto"; grace_period, Ray's name, may not.
  bool auto_min = false;
  if (settings.Has("min_resource")) {
    absl::StatusOr<std::string> text = settings.GetString("min_resource", "");
    if (!text.ok()) return text.status();
    auto_min =
        absl::AsciiStrToLower(absl::StripAsciiWhitespace(*text)) == "auto";
  }
  if (auto_min) {
    if (settings.Has("grace_period")) {
      return settings.Invalid(
          "grace_period", "is an alias of min_resource; give only one of them");
    }
    absl::StatusOr<int64_t> unused = settings.GetInt("grace_period", 1);
    if (!unused.ok()) return unused.status();
    options.min_resource = 0;
  } else {
    absl::StatusOr<Aliased<int64_t>> min_resource = settings.GetIntAliased(
        {"min_resource", "grace_period"}, options.min_resource);
    if (!min_resource.ok()) return min_resource.status();
    if (min_resource->value < 1) {
      return settings.Invalid(
          min_resource->key,
          absl::StrCat(
              "must be >= 1 (steps before the first rung)",
              min_resource->key == "min_resource" ? " or \"auto\"" : "",
              ", got ", min_resource->value));
    }
    options.min_resource = min_resource->value;
  }

  absl::StatusOr<double> factor =
      settings.GetDouble("reduction_factor", options.reduction_factor);
  if (!factor.ok()) return factor.status();
  if (*factor <= 1) {
    return settings.Invalid("reduction_factor",
                            absl::StrCat("must be > 1 (1 / reduction_factor of "
                                         "the trials go on at each rung), got ",
                                         *factor));
  }
  options.reduction_factor = *factor;

  absl::StatusOr<int64_t> rate = settings.GetIntInRange(
      "min_early_stopping_rate", options.min_early_stopping_rate, 0, 60);
  if (!rate.ok()) return rate.status();
  options.min_early_stopping_rate = *rate;

  absl::StatusOr<int64_t> bootstrap =
      settings.GetIntAtLeast("bootstrap_count", options.bootstrap_count, 0);
  if (!bootstrap.ok()) return bootstrap.status();
  if (*bootstrap > 0 && auto_min) {
    return settings.Invalid(
        "bootstrap_count",
        "cannot be used with min_resource \"auto\" (as in Optuna)");
  }
  options.bootstrap_count = *bootstrap;

  absl::StatusOr<Aliased<int64_t>> max_resource =
      settings.GetIntAliased({"max_resource", "max_t"}, 0);
  if (!max_resource.ok()) return max_resource.status();
  if (max_resource->given) {
    const int64_t least = std::max<int64_t>(options.min_resource, 1);
    if (max_resource->value < least) {
      return settings.Invalid(max_resource->key,
                              absl::StrCat("must be >= min_resource (", least,
                                           "), got ", max_resource->value));
    }
    options.max_resource = max_resource->value;
  }

  // Ray's ASHAScheduler runs several brackets by drawing each trial's at
  // random; the hyperband rule is the deterministic way to have brackets.
  absl::StatusOr<int64_t> brackets = settings.GetInt("brackets", 1);
  if (!brackets.ok()) return brackets.status();
  if (*brackets != 1) {
    return settings.Invalid("brackets",
                            absl::StrCat("must be 1, got ", *brackets,
                                         ": this rule runs one bracket; for "
                                         "several use the hyperband rule"));
  }
  for (absl::string_view key : {"time_attr", "metric"}) {
    if (absl::Status s = CheckNonEmpty(settings, key); !s.ok()) return s;
  }
  absl::StatusOr<std::string> mode = settings.GetString("mode", "min");
  if (!mode.ok()) return mode.status();
  const std::string lower = absl::AsciiStrToLower(*mode);
  if (lower != "min" && lower != "max") {
    return settings.Invalid(
        "mode",
        absl::StrCat(
            "must be min or max, got \"", *mode,
            "\" (the experiment's objective goal decides the direction)"));
  }
  return std::make_unique<AshaPruner>(options);
}

absl::StatusOr<std::unique_ptr<Pruner>> CreateSuccessiveHalvingPruner(
    Settings& settings) {
  return CreateAshaPruner(settings);
}

}  // namespace hpo
