// Asynchronous successive halving (Li et al., "A System for Massively Parallel
// Hyperparameter Tuning", MLSys 2020) with Optuna's SuccessiveHalvingPruner
// semantics, rebuilt from the history at every decision: the engine of the
// asha, successive_halving and hyperband rules.
//
// Rung r sits at step min_resource * reduction_factor^(s + r), s being the
// minimum early-stopping rate. A trial's value at a rung is the value of its
// first report at or after the rung's step (what Optuna records then). When a
// report first takes a trial to or past a rung, its value there competes with
// the other trials' values at that rung, and the trial goes on only if it is
// among the best floor(n / reduction_factor) of the n values (its own
// included), or the best one while there are fewer than reduction_factor.
// A report that crosses several rungs is judged at each in turn.
//
// Every other trial in the pool competes, whatever its state: running,
// completed, pruned (at the rungs it reached before it was stopped) and
// failed (at the rungs it reached before it failed), as Optuna keeps rung
// values of all trials. NaN is never a rung value: a NaN report at a rung
// stops the trial, and other trials' NaN values are left out.
//
// Differences from Optuna, for a stateless server: Optuna records a rung
// value when it judges a report, here the rung values are read off the
// intermediate values (the same numbers when every report is judged); with
// max_resource set, no rung at or beyond it is judged, as a trial that got
// there has had its full budget; min_resource "auto" is estimated from the
// lowest-numbered completed trial rather than the first to complete.
//
// With "auto", Optuna judges no report (and records no rung value) until a
// trial has completed: the trials up to that first completed one never
// compete at any rung. Here the trials up to the lowest-numbered completed
// one do not compete either. With one worker that is exactly Optuna's rule;
// with several, a trial that reached a rung before the first completion
// still competes here if it came after that trial, and one that came before
// it does not, even at rungs it reached later.

#ifndef HPO_PRUNERS_ASHA_SUCCESSIVE_HALVING_H_
#define HPO_PRUNERS_ASHA_SUCCESSIVE_HALVING_H_

#include <cstdint>
#include <functional>
#include <optional>

#include "core/history.h"
#include "pruners/pruner.h"

namespace hpo {

struct SuccessiveHalvingOptions {
  // Steps before the first rung (Ray's grace_period); 0 means "auto":
  // Optuna's estimate, the last step of the first completed trial / 100 (at
  // least 1), and no pruning until a trial has completed.
  int64_t min_resource = 1;
  // Keep 1 / reduction_factor of the trials at each rung; > 1.
  double reduction_factor = 4;
  // s: the first rung is at min_resource * reduction_factor^s.
  int64_t min_early_stopping_rate = 0;
  // A trial is stopped at a rung until more than this many trials (itself
  // included) have reached it.
  int64_t bootstrap_count = 0;
  // 0: none. Otherwise rungs at steps >= max_resource are not judged.
  int64_t max_resource = 0;
};

// The step of rung `rung`: min_resource * reduction_factor^(rate + rung),
// rounded up, saturating at the largest int64_t.
int64_t RungStep(int64_t min_resource, double reduction_factor, int64_t rate,
                 int64_t rung);

// Optuna's "auto" min_resource from the history: the last step of the
// lowest-numbered completed trial that reported any, / 100, at least 1; none
// while no such trial exists. `first` (if given) is set to that trial's
// position in history.trials.
std::optional<int64_t> EstimateMinResource(const History& history,
                                           size_t* first = nullptr);

// Whether history.trials[trial] should stop at its report at `step`; the
// competitors are the other trials for which `competes` is true.
PruneDecision SuccessiveHalvingDecision(
    const SuccessiveHalvingOptions& options, const History& history,
    size_t trial, int64_t step,
    const std::function<bool(const TrialRecord&)>& competes);

}  // namespace hpo

#endif  // HPO_PRUNERS_ASHA_SUCCESSIVE_HALVING_H_
