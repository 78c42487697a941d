// NNI's Curvefitting assessor: stop a trial whose learning curve, extrapolated
// to the end of training, will not come close to the best completed trial.
//
// From the trial's start_step-th report on, every gap reports, the curve of
// its values so far (NaN left out) is extrapolated to step epoch_num by
// parametric families (learning_curve.h). With best the best settled final
// value of the completed trials (each one's fitted curve at its last step:
// the best of noisy finals is lucky), the cutoff is
//   best - (1 - threshold) * |best|   (maximize; NNI's threshold * best for
//                                      a positive best)
//   best + (1 - threshold) * |best|   (minimize: the same margin on the
//                                      other side, where NNI's
//                                      threshold * best would demand beating
//                                      the best by 5%)
// and the trial stops when its chance of reaching the cutoff, under the
// plausible fits and their own uncertainty, is under 1 - confidence (Domhan
// et al. 2015). NNI stops when the fits' weighted mean falls short, but a
// short or noisy curve leaves the families far apart and each of them loose,
// and a trial should not be stopped on a guess. No completed trial yet, or
// too few families that fit: the trial goes on. Pruned, failed and running
// trials are not the yardstick.
//
// Curves are fitted against x = step for trials whose steps start at 1 (or
// later, e.g. 10, 20, ...), and against x = step + 1 for trials counting
// from 0, so that epoch_num is the full trial's number of steps in both
// conventions (its last step being epoch_num, or epoch_num - 1). A trial at
// or past its last step is not judged: there is nothing left to save.

#ifndef HPO_PRUNERS_CURVE_FITTING_CURVE_FITTING_PRUNER_H_
#define HPO_PRUNERS_CURVE_FITTING_CURVE_FITTING_PRUNER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "core/settings.h"
#include "pruners/pruner.h"

namespace hpo {

// Settings (see pruners/README.md): `epoch_num` (required, >= 1),
// `start_step` (>= 0, default 6: reports before the first judgement),
// `threshold` (>= 0, default 0.95), `gap` (>= 1, default 1: judge every gap
// reports), `confidence` (in [0.5, 1), default 0.95: how sure a stop must
// be), and NNI's `optimize_mode` (checked only: the experiment's goal
// decides).
absl::StatusOr<std::unique_ptr<Pruner>> CreateCurveFittingPruner(
    Settings& settings);

}  // namespace hpo

#endif  // HPO_PRUNERS_CURVE_FITTING_CURVE_FITTING_PRUNER_H_
