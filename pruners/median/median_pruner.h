// The median stopping rule (Golovin et al., "Google Vizier", 2017) with
// Optuna's MedianPruner semantics: stop a trial whose best value so far is
// worse than the median of the completed trials' values at the same step.
//
// It is the percentile rule (pruners/percentile/) at 50, and takes the same
// settings but `percentile`, under Optuna's names and Katib's and NNI's
// (their medianstop configurations import unchanged). Katib and NNI compare
// with the mean (Katib) or median (NNI) of the completed trials' running
// averages; here, as in Optuna, the yardstick is the median of the completed
// trials' values at exactly the trial's step.

#ifndef HPO_PRUNERS_MEDIAN_MEDIAN_PRUNER_H_
#define HPO_PRUNERS_MEDIAN_MEDIAN_PRUNER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "core/settings.h"
#include "pruners/pruner.h"

namespace hpo {

// Settings (see pruners/README.md): `n_startup_trials` (>= 0, default 5) or
// Katib's `min_trials_required` (>= 1), `n_warmup_steps` (>= 0, default 0),
// `start_step` (NNI, Katib: reported values before pruning, >= 0, default 0),
// `interval_steps` (>= 1, default 1), `n_min_trials` (>= 1, default 1), and
// NNI's `optimize_mode` (checked only: the experiment's goal decides).
absl::StatusOr<std::unique_ptr<Pruner>> CreateMedianPruner(Settings& settings);

}  // namespace hpo

#endif  // HPO_PRUNERS_MEDIAN_MEDIAN_PRUNER_H_
