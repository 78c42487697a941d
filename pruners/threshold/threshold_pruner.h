// Optuna's ThresholdPruner: stop a trial whose latest value leaves fixed
// bounds, or is NaN. It needs no other trial, so it works from the first one:
// e.g. a loss that has diverged above 1e3, or an accuracy still at chance
// after the warm-up.
//
// Checked at n_warmup_steps and then at the first report of every interval
// of interval_steps steps, like the percentile rule; values outside
// [lower, upper] (the bounds themselves are inside) stop the trial whatever
// the experiment's goal.

#ifndef HPO_PRUNERS_THRESHOLD_THRESHOLD_PRUNER_H_
#define HPO_PRUNERS_THRESHOLD_THRESHOLD_PRUNER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "core/settings.h"
#include "pruners/pruner.h"

namespace hpo {

// Settings (see pruners/README.md): `lower` and `upper` (at least one; lower
// <= upper), `n_warmup_steps` (>= 0, default 0), `interval_steps` (>= 1,
// default 1).
absl::StatusOr<std::unique_ptr<Pruner>> CreateThresholdPruner(
    Settings& settings);

}  // namespace hpo

#endif  // HPO_PRUNERS_THRESHOLD_THRESHOLD_PRUNER_H_
