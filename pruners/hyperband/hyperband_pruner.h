// Hyperband (Li et al., JMLR 2018) as Optuna's HyperbandPruner: several
// brackets of asynchronous successive halving, from aggressive (the first
// rung at min_resource) to conservative (the first rung near max_resource),
// hedging against learning curves that cross late.
//
// There are n = floor(log_eta(max_resource / min_resource)) + 1 brackets.
// Bracket b runs successive halving (pruners/asha/successive_halving.h) with
// minimum early-stopping rate b, among the trials of bracket b only. Each
// trial belongs to one bracket, chosen by its number alone: a fixed integer
// hash of the number (SplitMix64; Optuna hashes the study name and number
// with CRC32) modulo the total budget, walked through the brackets' budgets
// ceil(n * eta^s / (s + 1)), s = n - 1 - b: bracket b gets that share of the
// trials. Samplers then learn only from trials of the same bracket (see
// Pruner::Bracket).
//
// Unlike Optuna, rungs at or beyond max_resource are not judged (a trial
// that got there has had its full budget): the last bracket, as in the
// paper, runs its trials to the end whenever its first rung would be
// max_resource itself. max_resource cannot be "auto": a trial's bracket must
// be known from its number before any trial has completed.

#ifndef HPO_PRUNERS_HYPERBAND_HYPERBAND_PRUNER_H_
#define HPO_PRUNERS_HYPERBAND_HYPERBAND_PRUNER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "core/settings.h"
#include "pruners/pruner.h"

namespace hpo {

// Settings (see pruners/README.md): `max_resource` (required, >=
// min_resource) or NNI's `R` or Katib's `r_l`; `min_resource` (>= 1, default
// 1); `reduction_factor` (> 1, default 3) or NNI's and Katib's `eta`;
// `bootstrap_count` (>= 0, default 0); Katib's `resource_name` and NNI's
// `exec_mode` ("serial" or "parallelism") and `optimize_mode`, checked and
// otherwise ignored: the step is the resource.
absl::StatusOr<std::unique_ptr<Pruner>> CreateHyperbandPruner(
    Settings& settings);

}  // namespace hpo

#endif  // HPO_PRUNERS_HYPERBAND_HYPERBAND_PRUNER_H_
