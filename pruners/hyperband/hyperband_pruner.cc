#include "pruners/hyperband/hyperband_pruner.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "pruners/asha/successive_halving.h"
#include "pruners/common/pruner_util.h"

namespace hpo {
namespace {

// More brackets than this would be a mistake in the settings: 64 is already
// min_resource * 2^63.
constexpr int64_t kMaxBrackets = 64;

// SplitMix64's finalizer: every bit of the trial number moves every bit of
// the hash, so consecutive numbers spread over the brackets.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

class HyperbandPruner : public Pruner {
 public:
  HyperbandPruner(const SuccessiveHalvingOptions& options,
                  std::vector<uint64_t> budgets)
      : options_(options), budgets_(std::move(budgets)) {
    for (uint64_t b : budgets_) total_ += b;
  }

  PruneDecision ShouldStop(const History& history, size_t trial,
                           int64_t step) const override {
    if (trial >= history.trials.size()) {
      return {false, absl::StrCat("trial index ", trial, " is not in the ",
                                  history.trials.size(), "-trial history")};
    }
    const int bracket = Bracket(history.trials[trial].number);
    SuccessiveHalvingOptions options = options_;
    options.min_early_stopping_rate = bracket;
    PruneDecision decision = SuccessiveHalvingDecision(
        options, history, trial, step, [this, bracket](const TrialRecord& t) {
          return Bracket(t.number) == bracket;
        });
    decision.reason = absl::StrCat(
        "bracket ", bracket, " (of 0 to ", budgets_.size() - 1,
        "; first rung at step ",
        RungStep(options.min_resource, options.reduction_factor, bracket, 0),
        "): ", decision.reason);
    return decision;
  }

  int Bracket(int64_t trial_number) const override {
    uint64_t n = Mix(static_cast<uint64_t>(trial_number)) % total_;
    for (size_t b = 0; b < budgets_.size(); ++b) {
      if (n < budgets_[b]) return static_cast<int>(b);
      n -= budgets_[b];
    }
    return static_cast<int>(budgets_.size()) - 1;  // unreachable
  }

 private:
  const SuccessiveHalvingOptions options_;
  const std::vector<uint64_t> budgets_;
  uint64_t total_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Pruner>> CreateHyperbandPruner(
    Settings& settings) {
  SuccessiveHalvingOptions options;

  absl::StatusOr<int64_t> min_resource = settings.GetIntAtLeast(
      "min_resource", 1, 1,
      "steps before the first rung of the most aggressive bracket");
  if (!min_resource.ok()) return min_resource.status();
  options.min_resource = *min_resource;

  // "auto" (Optuna's default) waits for a completed trial, but brackets are
  // handed out with the very first trials.
  for (absl::string_view key : {"max_resource", "R", "r_l"}) {
    if (!settings.Has(key)) continue;
    absl::StatusOr<std::string> text = settings.GetString(key, "");
    if (!text.ok()) return text.status();
    if (absl::AsciiStrToLower(absl::StripAsciiWhitespace(*text)) == "auto") {
      return settings.Invalid(
          key,
          "\"auto\" is not supported: a trial's bracket is decided from its "
          "number before any trial completes, so give the largest step a trial "
          "reports (e.g. its number of epochs)");
    }
  }
  absl::StatusOr<Aliased<int64_t>> max_resource =
      settings.GetIntAliased({"max_resource", "R", "r_l"}, 0);
  if (!max_resource.ok()) return max_resource.status();
  if (!max_resource->given) {
    return settings.Invalid("max_resource",
                            "is required (or R, or r_l): the largest step a "
                            "trial reports, e.g. its number of epochs");
  }
  if (max_resource->value < options.min_resource) {
    return settings.Invalid(
        max_resource->key,
        absl::StrCat("must be >= min_resource (", options.min_resource,
                     "), got ", max_resource->value));
  }
  options.max_resource = max_resource->value;

  absl::StatusOr<Aliased<double>> factor =
      settings.GetDoubleAliased({"reduction_factor", "eta"}, 3);
  if (!factor.ok()) return factor.status();
  if (factor->value <= 1) {
    return settings.Invalid(
        factor->key, absl::StrCat("must be > 1 (1 / ", factor->key,
                                  " of the trials go on at each rung), got ",
                                  factor->value));
  }
  options.reduction_factor = factor->value;

  absl::StatusOr<int64_t> bootstrap =
      settings.GetIntAtLeast("bootstrap_count", 0, 0);
  if (!bootstrap.ok()) return bootstrap.status();
  options.bootstrap_count = *bootstrap;

  const bool has_resource_name = settings.Has("resource_name");
  absl::StatusOr<std::string> resource_name =
      settings.GetString("resource_name", "");
  if (!resource_name.ok()) return resource_name.status();
  if (has_resource_name && absl::StripAsciiWhitespace(*resource_name).empty()) {
    return settings.Invalid("resource_name", "must not be empty");
  }
  absl::StatusOr<std::string> exec_mode =
      settings.GetString("exec_mode", "parallelism");
  if (!exec_mode.ok()) return exec_mode.status();
  if (*exec_mode != "parallelism" && *exec_mode != "serial") {
    return settings.Invalid(
        "exec_mode", absl::StrCat("must be parallelism or serial, got \"",
                                  *exec_mode, "\""));
  }
  if (absl::Status s = settings.CheckOptimizeMode(); !s.ok()) return s;

  // The brackets: as many as first rungs min_resource * eta^b <= max_resource
  // (Optuna's floor(log_eta(max / min)) + 1, without log's rounding).
  int64_t n_brackets = 0;
  while (RungStep(options.min_resource, options.reduction_factor, n_brackets,
                  0) <= options.max_resource) {
    if (++n_brackets > kMaxBrackets) {
      return settings.Invalid(
          max_resource->key,
          absl::StrCat("makes more than ", kMaxBrackets,
                       " brackets: raise min_resource or ", factor->key));
    }
  }
  std::vector<uint64_t> budgets;
  double total = 0;
  for (int64_t b = 0; b < n_brackets; ++b) {
    const double s = static_cast<double>(n_brackets - 1 - b);
    const double budget = std::ceil(static_cast<double>(n_brackets) *
                                    std::pow(options.reduction_factor, s) /
                                    (s + 1) * (1 - 1e-12));
    total += budget;
    budgets.push_back(static_cast<uint64_t>(std::min(budget, 1e18)));
  }
  if (total > 1e15) {
    return settings.Invalid(
        max_resource->key,
        absl::StrCat("makes ", n_brackets,
                     " brackets whose budgets overflow: raise min_resource or ",
                     factor->key));
  }
  return std::make_unique<HyperbandPruner>(options, std::move(budgets));
}

}  // namespace hpo
