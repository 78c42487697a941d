// TPE's split of the history into "below" (good) and "above" (the rest)
// trials, after Optuna's TPESampler:
// - completed trials ranked by the first objective (its goal's direction);
// - then pruned trials, ranked by the last step they reached (later is better)
//   and their value at that step; pruned trials without intermediate values
//   last;
// - completed trials whose value is NaN after everything;
// - failed trials ignored;
// - running and waiting trials, with the constant liar: "worst" (Optuna's
//   constant_liar) puts them in "above" without counting them in n; "best" and
//   "mean" (NNI's) impute the best or mean completed value, rank them with it
//   (after real trials of the same value) and count them.
// The best min(ceil(gamma * n), linear_forgetting) of the n ranked trials are
// "below".
//
// Internal to samplers/tpe; in a header for the sampler and its tests.

#ifndef HPO_SAMPLERS_TPE_TRIAL_SPLIT_H_
#define HPO_SAMPLERS_TPE_TRIAL_SPLIT_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/history.h"

namespace hpo {
namespace tpe_internal {

enum class Liar { kOff, kWorst, kBest, kMean };

struct SplitOptions {
  double gamma = 0.1;
  int64_t linear_forgetting = 25;
  Liar liar = Liar::kWorst;
};

struct SplitTrial {
  const TrialRecord* trial;
  bool below;
  // Completed or pruned; false for a running or waiting trial.
  bool finished;
};

// A finished (or imputed) trial's place in the ranking: smaller keys are
// better, compared in order. SplitTrials's working memory.
struct RankedTrial {
  int tier;  // 0 completed (and imputed), 1 pruned, 2 completed with NaN
  double key1;
  double key2;
  int imputed;  // a liar's trial ranks after real ones of the same value
  size_t pos;   // position in Split::trials, so that ties keep trial order
};

struct Split {
  // The trials TPE learns from, in history (trial number) order.
  std::vector<SplitTrial> trials;
  // Completed and pruned trials, which n_startup_trials counts.
  int64_t n_finished = 0;
  int64_t n_below = 0;
  // SplitTrials's working memory, kept so that splitting into the same
  // object again (the next suggestion's split) allocates nothing.
  std::vector<RankedTrial> ranked;
  std::vector<size_t> running;
};

// Trials whose params do not have `n_params` coordinates (an older spec) are
// skipped. Replaces what `split` held.
void SplitTrials(const History& history, size_t n_params,
                 const SplitOptions& options, Split* split);
// The same, into a new Split.
Split SplitTrials(const History& history, size_t n_params,
                  const SplitOptions& options);

}  // namespace tpe_internal
}  // namespace hpo

#endif  // HPO_SAMPLERS_TPE_TRIAL_SPLIT_H_
