// Optuna's PercentilePruner: stop a trial whose best value so far is worse
// than a percentile of the completed trials' values at the same step.
//
// At a report at `step`, once n_startup_trials trials have completed, the
// trial is past n_warmup_steps (and has reported start_step values), and the
// report is the first of its interval: the trial's best intermediate value up
// to `step` (NaN ignored; all NaN stops it) is compared with the q-th
// percentile (linear interpolation, NaN ignored) of the values that completed
// trials reported at exactly `step`, the cut being taken from the good end:
// the best q% of those values are kept. Fewer than n_min_trials such values,
// or all of them NaN: no decision, the trial goes on.
//
// Only completed trials are the yardstick, as in Optuna: pruned trials were
// stopped for being bad, and comparing with them would lower the bar; failed
// and running ones are not evidence either. The median rule
// (pruners/median/) is this one at q = 50.

#ifndef HPO_PRUNERS_PERCENTILE_PERCENTILE_PRUNER_H_
#define HPO_PRUNERS_PERCENTILE_PERCENTILE_PRUNER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/settings.h"
#include "pruners/pruner.h"

namespace hpo {

struct PercentileOptions {
  // Completed trials needed before any pruning (Katib: min_trials_required).
  int64_t n_startup_trials = 5;
  // No pruning at steps below this (Optuna assumes steps start at 0).
  int64_t n_warmup_steps = 0;
  // No pruning before the trial has reported this many values (NNI's and
  // Katib's start_step).
  int64_t min_reports = 0;
  // Checks at n_warmup_steps + k * interval_steps (or the first report after).
  int64_t interval_steps = 1;
  // Completed trials with a value at the step needed to judge.
  int64_t n_min_trials = 1;
};

// Reads every setting of the median and percentile rules but `percentile`:
// `n_startup_trials` (>= 0, default 5) or Katib's `min_trials_required`
// (>= 1), `n_warmup_steps` (>= 0, default 0), NNI's and Katib's `start_step`
// (>= 0, default 0), `interval_steps` (>= 1, default 1), `n_min_trials`
// (>= 1, default 1), and NNI's `optimize_mode` (checked only).
absl::StatusOr<PercentileOptions> ReadPercentileOptions(Settings& settings);

// The rule at percentile `q` in [0, 100]; `name` is what reasons call the
// cutoff ("the median"), or empty for "the <q>th-percentile cutoff".
std::unique_ptr<Pruner> MakePercentilePruner(double q,
                                             const PercentileOptions& options,
                                             std::string name);

// Settings: `percentile` (required, 0 to 100: the best `percentile`% of the
// completed trials' values at a step are kept), plus ReadPercentileOptions'.
absl::StatusOr<std::unique_ptr<Pruner>> CreatePercentilePruner(
    Settings& settings);

}  // namespace hpo

#endif  // HPO_PRUNERS_PERCENTILE_PERCENTILE_PRUNER_H_
