#include "pruners/curve_fitting/curve_fitting_pruner.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "pruners/common/pruner_util.h"
#include "pruners/curve_fitting/learning_curve.h"

namespace hpo {
namespace {

struct Options {
  int64_t epoch_num = 0;
  int64_t start_step = 6;
  double threshold = 0.95;
  int64_t gap = 1;
  double confidence = 0.95;
};

// How far the curve's steps move up so the first is 1: the curve families
// need x >= 1, and epoch_num is then the last x whether steps count from 0
// or from 1.
int64_t StepShift(const Curve& curve) {
  return curve.empty() ? 0 : std::max<int64_t>(0, 1 - curve.front().first);
}

// The curve's finite values as points for the curve families, x >= 1.
void FinitePoints(const Curve& curve, std::vector<double>* xs,
                  std::vector<double>* ys) {
  const int64_t shift = StepShift(curve);
  for (const auto& [s, v] : curve) {
    if (!std::isfinite(v)) continue;
    xs->push_back(static_cast<double>(s + shift));
    ys->push_back(v);
  }
}

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
    // The completed trials with a final value are the yardstick; their
    // settled finals (a fit each, the first time) are needed only once the
    // trial is judged, so the cheap reasons to go on come first.
    auto is_yardstick = [&](size_t i) {
      const TrialRecord& t = history.trials[i];
      return i != trial && t.state == TrialState::kCompleted &&
             !t.values.empty() && std::isfinite(t.values[0]);
    };
    bool any_completed = false;
    for (size_t i = 0; i < history.trials.size() && !any_completed; ++i) {
      any_completed = is_yardstick(i);
    }
    if (!any_completed) {
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
    const int64_t last_step = options_.epoch_num - StepShift(curve);
    if (step >= last_step) {
      return {
          false,
          absl::StrCat("step ", step, " is the trial's last (epoch_num ",
                       options_.epoch_num, "): there is nothing left to save")};
    }
    std::optional<double> best;
    for (size_t i = 0; i < history.trials.size(); ++i) {
      if (!is_yardstick(i)) continue;
      const double settled = SettledFinal(history.trials[i]);
      if (!best.has_value() || Better(goal, settled, *best)) best = settled;
    }
    std::vector<double> xs;
    std::vector<double> ys;
    FinitePoints(curve, &xs, &ys);
    const CurveForecast forecast = ForecastCurve(
        xs, ys, static_cast<double>(options_.epoch_num), options_.confidence);
    if (!forecast.ok) {
      return {false, absl::StrCat("no forecast at step ", step, ": ",
                                  forecast.why_not)};
    }
    const double margin = (1 - options_.threshold) * std::abs(*best);
    const double cutoff =
        goal == Goal::kMaximize ? *best - margin : *best + margin;
    // Stop only when the trial's chance of reaching the cutoff is small,
    // taken over the plausible fits, each with what its own parameters leave
    // open: a short or noisy curve leaves the families far apart and each of
    // them loose, and a trial should not be stopped on a guess.
    const double chance =
        ChanceOfReaching(forecast, cutoff, goal == Goal::kMinimize);
    const bool stop = chance < 1 - options_.confidence;
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
          forecast.low, " to ", forecast.high, ")");
    }
    absl::StrAppend(&reason, ": a chance of ", chance, " to reach the cutoff ",
                    cutoff, " (the best completed trial's settled final value ",
                    *best, " with threshold ", options_.threshold, ", ",
                    GoalName(goal), "), ", stop ? "under" : "not under", " ",
                    1 - options_.confidence, " (1 - confidence)");
    return {stop, reason};
  }

 private:
  // A completed trial's final value as its fitted curve has it at its last
  // step, when the final value is its last intermediate value: the best of
  // several noisy finals is too good by its noise (the winner's curse), and a
  // forecast, itself a fitted curve, should be held against a fitted value.
  // Otherwise (no curve, or a final of its own) the final value as reported.
  // Memoized per trial, a cache of what the history determines (a restart
  // recomputes the same): a completed trial does not change.
  double SettledFinal(const TrialRecord& t) const {
    const double final_value = t.values[0];
    if (t.intermediate.size() < 3 ||
        !(t.intermediate.back().second == final_value)) {
      return final_value;
    }
    const std::pair<int64_t, double> last = t.intermediate.back();
    {
      absl::MutexLock lock(&mutex_);
      auto it = settled_.find(t.number);
      if (it != settled_.end() && it->second.points == t.intermediate.size() &&
          it->second.last == last) {
        return it->second.value;
      }
    }
    std::vector<double> xs;
    std::vector<double> ys;
    FinitePoints(t.intermediate, &xs, &ys);
    double value = final_value;
    if (xs.size() >= 3) {
      const CurveForecast fit = ForecastCurve(xs, ys, xs.back(), 0);
      if (fit.ok && std::isfinite(fit.value)) value = fit.value;
    }
    absl::MutexLock lock(&mutex_);
    settled_[t.number] = {t.intermediate.size(), last, value};
    return value;
  }

  const Options options_;
  struct Settled {
    size_t points;
    std::pair<int64_t, double> last;
    double value;
  };
  mutable absl::Mutex mutex_;
  mutable absl::flat_hash_map<int64_t, Settled> settled_
      ABSL_GUARDED_BY(mutex_);
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
  if (!(*confidence >= 0.5 && *confidence < 1)) {
    return settings.Invalid(
        "confidence",
        absl::StrCat("must be in [0.5, 1) (how sure a stop must be that the "
                     "trial would not have reached the cutoff), got ",
                     *confidence));
  }
  options.confidence = *confidence;

  if (absl::Status s = settings.CheckOptimizeMode(); !s.ok()) return s;
  return std::make_unique<CurveFittingPruner>(options);
}

}  // namespace hpo
