#include "pruners/percentile/percentile_pruner.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "pruners/common/pruner_util.h"

namespace hpo {
namespace {

class PercentilePruner : public Pruner {
 public:
  PercentilePruner(double q, const PercentileOptions& options, std::string name)
      : q_(q), options_(options), name_(std::move(name)) {
    if (name_.empty()) {
      const std::string nth = q_ == std::floor(q_)
                                  ? Ordinal(static_cast<int64_t>(q_))
                                  : absl::StrCat(q_, "th");
      name_ =
          absl::StrCat("the ", nth, "-percentile cutoff (best ", q_, "% kept)");
    }
  }

  PruneDecision ShouldStop(const History& history, size_t trial,
                           int64_t step) const override {
    if (trial >= history.trials.size()) {
      return {false, absl::StrCat("trial index ", trial, " is not in the ",
                                  history.trials.size(), "-trial history")};
    }
    const Goal goal = FirstGoal(history);
    std::vector<const TrialRecord*> completed;
    for (size_t i = 0; i < history.trials.size(); ++i) {
      if (i != trial && history.trials[i].state == TrialState::kCompleted) {
        completed.push_back(&history.trials[i]);
      }
    }
    const int64_t n_completed = static_cast<int64_t>(completed.size());
    if (n_completed == 0) {
      return {
          false,
          "no trial has completed yet, so there is nothing to compare with"};
    }
    if (n_completed < options_.n_startup_trials) {
      return {false,
              absl::StrCat(n_completed,
                           " trials have completed; pruning starts after ",
                           options_.n_startup_trials, " (n_startup_trials)")};
    }
    const Curve curve = CurveUpTo(history.trials[trial], step);
    if (curve.empty() || curve.back().first != step) {
      return {false, absl::StrCat("the trial reported no value at step ", step,
                                  ", so there is nothing to judge")};
    }
    if (step < options_.n_warmup_steps) {
      return {false,
              absl::StrCat("step ", step,
                           " is within the warm-up: pruning starts at step ",
                           options_.n_warmup_steps, " (n_warmup_steps)")};
    }
    if (static_cast<int64_t>(curve.size()) < options_.min_reports) {
      return {false, absl::StrCat("the trial has reported ", curve.size(),
                                  " values; pruning starts after ",
                                  options_.min_reports, " (start_step)")};
    }
    if (!IsFirstInInterval(curve, step, options_.n_warmup_steps,
                           options_.interval_steps)) {
      return {false, absl::StrCat("step ", step,
                                  " is not a check point: checks are every ",
                                  options_.interval_steps, " steps from step ",
                                  options_.n_warmup_steps,
                                  " and this interval was already checked")};
    }
    const double best = BestOf(curve, goal);
    if (std::isnan(best)) {
      return {true, absl::StrCat("every value the trial reported up to step ",
                                 step, " is NaN")};
    }

    std::vector<double> values;
    for (const TrialRecord* t : completed) {
      if (std::optional<double> v = ValueAt(*t, step)) values.push_back(*v);
    }
    const int64_t n_values = static_cast<int64_t>(values.size());
    if (n_values < options_.n_min_trials) {
      return {false, absl::StrCat(n_values,
                                  " completed trials reported a value at step ",
                                  step, "; judging needs ",
                                  options_.n_min_trials, " (n_min_trials)")};
    }
    // Percentiles count from the low end; for maximize the good end is high.
    const double cutoff =
        NanPercentile(values, goal == Goal::kMaximize ? 100 - q_ : q_);
    if (std::isnan(cutoff)) {
      return {false, absl::StrCat("all ", n_values,
                                  " completed trials' values at step ", step,
                                  " are NaN, so there is no cutoff")};
    }
    const std::string what =
        absl::StrCat(best, " (the trial's best value up to step ", step, ")");
    const std::string against = absl::StrCat(
        name_, " ", cutoff, " of ", n_values, " completed trials at step ",
        step, " (", GoalName(goal), ")");
    if (Better(goal, cutoff, best)) {
      return {true, absl::StrCat(what, " is worse than ", against)};
    }
    return {false, absl::StrCat(what, " is not worse than ", against)};
  }

 private:
  const double q_;
  const PercentileOptions options_;
  std::string name_;
};

}  // namespace

absl::StatusOr<PercentileOptions> ReadPercentileOptions(Settings& settings) {
  PercentileOptions options;
  absl::StatusOr<Aliased<int64_t>> startup = settings.GetIntAliased(
      {"n_startup_trials", "min_trials_required"}, options.n_startup_trials);
  if (!startup.ok()) return startup.status();
  // Katib refuses min_trials_required < 1; Optuna allows 0 startup trials.
  const int64_t least_startup = startup->key == "min_trials_required" ? 1 : 0;
  if (startup->value < least_startup) {
    return settings.Invalid(
        startup->key, absl::StrCat("must be >= ", least_startup,
                                   " (completed trials before pruning), got ",
                                   startup->value));
  }
  options.n_startup_trials = startup->value;

  absl::StatusOr<int64_t> warmup =
      settings.GetIntAtLeast("n_warmup_steps", options.n_warmup_steps, 0);
  if (!warmup.ok()) return warmup.status();
  options.n_warmup_steps = *warmup;

  absl::StatusOr<int64_t> start_step = settings.GetIntAtLeast(
      "start_step", options.min_reports, 0, "reported values before pruning");
  if (!start_step.ok()) return start_step.status();
  options.min_reports = *start_step;

  absl::StatusOr<int64_t> interval =
      settings.GetIntAtLeast("interval_steps", options.interval_steps, 1);
  if (!interval.ok()) return interval.status();
  options.interval_steps = *interval;

  absl::StatusOr<int64_t> n_min =
      settings.GetIntAtLeast("n_min_trials", options.n_min_trials, 1);
  if (!n_min.ok()) return n_min.status();
  options.n_min_trials = *n_min;

  if (absl::Status s = settings.CheckOptimizeMode(); !s.ok()) return s;
  return options;
}

std::unique_ptr<Pruner> MakePercentilePruner(double q,
                                             const PercentileOptions& options,
                                             std::string name) {
  return std::make_unique<PercentilePruner>(q, options, std::move(name));
}

absl::StatusOr<std::unique_ptr<Pruner>> CreatePercentilePruner(
    Settings& settings) {
  const bool given = settings.Has("percentile");
  absl::StatusOr<double> q = settings.GetDouble("percentile", 0);
  if (!q.ok()) return q.status();
  if (!given) {
    return settings.Invalid(
        "percentile",
        "is required: a number from 0 to 100, the best percentile% of the "
        "completed trials' values at a step being kept");
  }
  if (*q < 0 || *q > 100) {
    return settings.Invalid("percentile",
                            absl::StrCat("must be from 0 to 100, got ", *q));
  }
  absl::StatusOr<PercentileOptions> options = ReadPercentileOptions(settings);
  if (!options.ok()) return options.status();
  return MakePercentilePruner(*q, *options, "");
}

}  // namespace hpo
