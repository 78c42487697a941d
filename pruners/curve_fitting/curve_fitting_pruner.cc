#include "pruners/curve_fitting/curve_fitting_pruner.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "pruners/common/pruner_util.h"
#include "pruners/curve_fitting/learning_curve.h"

namespace hpo {
namespace {

struct Options {
  int64_t epoch_num = 0;
  int64_t start_step = 6;
  double threshold = 0.95;
  int64_t gap = 1;
  double confidence = 0.8;
};

class CurveFittingPruner : public Pruner {
 public:
  explicit CurveFittingPruner(const Options& options) : options_(options) {}

  PruneDecision ShouldStop(const History& history, size_t trial,
                           int64_t step) const override {
    if (trial >= history.trials.size()) {
      return {false, absl::StrCat("trial index ", trial, " is not in the ",
                                  history.trials.size(), "-trial history")};
    }
    const Goal goal = FirstGoal(history);
    const Curve curve = CurveUpTo(history.trials[trial], step);
    if (curve.empty() || curve.back().first != step) {
      return {false, absl::StrCat("the trial reported no value at step ", step,
                                  ", so there is nothing to judge")};
    }
    std::optional<double> best;
    for (size_t i = 0; i < history.trials.size(); ++i) {
      const TrialRecord& t = history.trials[i];
      if (i == trial || t.state != TrialState::kCompleted || t.values.empty() ||
          !std::isfinite(t.values[0])) {
        continue;
      }
      if (!best.has_value() || Better(goal, t.values[0], *best)) {
        best = t.values[0];
      }
    }
    if (!best.has_value()) {
      return {false,
              "no trial has completed yet, so there is no best final value to "
              "compare with"};
    }
    const int64_t reports = static_cast<int64_t>(curve.size());
    if (reports < options_.start_step) {
      return {false, absl::StrCat("the trial has reported ", reports,
                                  " values; judging starts at ",
                                  options_.start_step, " (start_step)")};
    }
    if ((reports - options_.start_step) % options_.gap != 0) {
      return {false, absl::StrCat("the trial is judged every ", options_.gap,
                                  " reports (gap) from its ",
                                  Ordinal(options_.start_step),
                                  "; this is its ", Ordinal(reports))};
    }
    // Steps counted from 0 (or below) move up so the first is 1: the curve
    // families need x >= 1, and epoch_num is then the last x either way.
    const int64_t shift = std::max<int64_t>(0, 1 - curve.front().first);
    const int64_t last_step = options_.epoch_num - shift;
    if (step >= last_step) {
      return {
          false,
          absl::StrCat("step ", step, " is the trial's last (epoch_num ",
                       options_.epoch_num, "): there is nothing left to save")};
    }
    std::vector<double> xs;
    std::vector<double> ys;
    for (const auto& [s, v] : curve) {
      if (!std::isfinite(v)) continue;
      xs.push_back(static_cast<double>(s + shift));
      ys.push_back(v);
    }
    const CurveForecast forecast = ForecastCurve(
        xs, ys, static_cast<double>(options_.epoch_num), options_.confidence);
    if (!forecast.ok) {
      return {false, absl::StrCat("no forecast at step ", step, ": ",
                                  forecast.why_not)};
    }
    const double margin = (1 - options_.threshold) * std::abs(*best);
    const double cutoff =
        goal == Goal::kMaximize ? *best - margin : *best + margin;
    // Stop only when even the most hopeful plausible fit, less what its own
    // parameters leave open, falls short: a short or noisy curve leaves the
    // families far apart and each of them loose, and a trial should not be
    // stopped on a guess.
    const double hopeful =
        goal == Goal::kMaximize ? forecast.high : forecast.low;
    const bool stop = Better(goal, cutoff, hopeful);
    std::string reason;
    if (forecast.families == 0) {
      reason = absl::StrCat("the trial's ", xs.size(),
                            " values are flat, which forecasts ",
                            forecast.value, " at step ", last_step);
    } else {
      reason = absl::StrCat(
          "the curve fitted to the trial's ", xs.size(), " values (",
          forecast.families, " families, mostly ", forecast.leading_family,
          ") forecasts ", forecast.value, " at step ", last_step,
          " (plausible fits at confidence ", options_.confidence, ": ",
          forecast.low, " to ", forecast.high, "); the most hopeful, ",
          std::isfinite(hopeful) ? absl::StrCat(hopeful)
                                 : "unbounded (the values do not pin it down)",
          ",");
    }
    absl::StrAppend(&reason, " is ", stop ? "worse" : "no worse",
                    " than the cutoff ", cutoff, " (the best completed value ",
                    *best, " with threshold ", options_.threshold, ", ",
                    GoalName(goal), ")");
    return {stop, reason};
  }

 private:
  const Options options_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Pruner>> CreateCurveFittingPruner(
    Settings& settings) {
  Options options;
  const bool has_epoch_num = settings.Has("epoch_num");
  absl::StatusOr<int64_t> epoch_num = settings.GetInt("epoch_num", 0);
  if (!epoch_num.ok()) return epoch_num.status();
  if (!has_epoch_num) {
    return settings.Invalid("epoch_num",
                            "is required: the number of steps of a full trial, "
                            "the point the curve is extrapolated to");
  }
  if (*epoch_num < 1) {
    return settings.Invalid("epoch_num",
                            absl::StrCat("must be >= 1, got ", *epoch_num));
  }
  options.epoch_num = *epoch_num;

  absl::StatusOr<int64_t> start_step =
      settings.GetIntAtLeast("start_step", options.start_step, 0,
                             "reports before the first judgement");
  if (!start_step.ok()) return start_step.status();
  options.start_step = *start_step;

  absl::StatusOr<double> threshold =
      settings.GetDoubleAtLeast("threshold", options.threshold, 0);
  if (!threshold.ok()) return threshold.status();
  options.threshold = *threshold;

  absl::StatusOr<int64_t> gap = settings.GetIntAtLeast("gap", options.gap, 1);
  if (!gap.ok()) return gap.status();
  options.gap = *gap;

  absl::StatusOr<double> confidence =
      settings.GetDouble("confidence", options.confidence);
  if (!confidence.ok()) return confidence.status();
  if (!(*confidence >= 0 && *confidence < 1)) {
    return settings.Invalid(
        "confidence",
        absl::StrCat("must be in [0, 1) (how sure a stop must be; 0 judges "
                     "the fitted curves' forecasts alone), got ",
                     *confidence));
  }
  options.confidence = *confidence;

  if (absl::Status s = settings.CheckOptimizeMode(); !s.ok()) return s;
  return std::make_unique<CurveFittingPruner>(options);
}

}  // namespace hpo
