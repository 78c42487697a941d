#include "pruners/threshold/threshold_pruner.h"

#include <cmath>
#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "pruners/common/pruner_util.h"

namespace hpo {
namespace {

class ThresholdPruner : public Pruner {
 public:
  ThresholdPruner(double lower, double upper, int64_t warmup, int64_t interval)
      : lower_(lower), upper_(upper), warmup_(warmup), interval_(interval) {}

  PruneDecision ShouldStop(const History& history, size_t trial,
                           int64_t step) const override {
    if (trial >= history.trials.size()) {
      return {false, absl::StrCat("trial index ", trial, " is not in the ",
                                  history.trials.size(), "-trial history")};
    }
    const Curve curve = CurveUpTo(history.trials[trial], step);
    if (curve.empty() || curve.back().first != step) {
      return {false, absl::StrCat("the trial reported no value at step ", step,
                                  ", so there is nothing to judge")};
    }
    if (step < warmup_) {
      return {false,
              absl::StrCat("step ", step,
                           " is within the warm-up: checks start at step ",
                           warmup_, " (n_warmup_steps)")};
    }
    if (!IsFirstInInterval(curve, step, warmup_, interval_)) {
      return {false, absl::StrCat("step ", step,
                                  " is not a check point: checks are every ",
                                  interval_, " steps from step ", warmup_,
                                  " and this interval was already checked")};
    }
    const double value = curve.back().second;
    if (std::isnan(value)) {
      return {true, absl::StrCat("the value at step ", step, " is NaN")};
    }
    if (value < lower_) {
      return {true, absl::StrCat(value, " at step ", step,
                                 " is below the lower bound ", lower_)};
    }
    if (value > upper_) {
      return {true, absl::StrCat(value, " at step ", step,
                                 " is above the upper bound ", upper_)};
    }
    return {false, absl::StrCat(value, " at step ", step, " is within [",
                                lower_, ", ", upper_, "]")};
  }

 private:
  const double lower_;
  const double upper_;
  const int64_t warmup_;
  const int64_t interval_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Pruner>> CreateThresholdPruner(
    Settings& settings) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const bool has_lower = settings.Has("lower");
  const bool has_upper = settings.Has("upper");
  absl::StatusOr<double> lower = settings.GetDouble("lower", -kInf);
  if (!lower.ok()) return lower.status();
  absl::StatusOr<double> upper = settings.GetDouble("upper", kInf);
  if (!upper.ok()) return upper.status();
  if (!has_lower && !has_upper) {
    return settings.Invalid(
        "lower",
        "lower or upper is required: the bounds a value must stay within");
  }
  if (*lower > *upper) {
    return settings.Invalid(
        "lower", absl::StrCat("must be <= upper (lower ", *lower, ", upper ",
                              *upper, ")"));
  }
  absl::StatusOr<int64_t> warmup =
      settings.GetIntAtLeast("n_warmup_steps", 0, 0);
  if (!warmup.ok()) return warmup.status();
  absl::StatusOr<int64_t> interval =
      settings.GetIntAtLeast("interval_steps", 1, 1);
  if (!interval.ok()) return interval.status();
  return std::make_unique<ThresholdPruner>(*lower, *upper, *warmup, *interval);
}

}  // namespace hpo
