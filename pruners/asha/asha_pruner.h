// The asha and successive_halving rules: asynchronous successive halving
// (pruners/asha/successive_halving.h) as Optuna's SuccessiveHalvingPruner,
// also configurable under Ray Tune's ASHAScheduler names. The two names are
// the same rule: Optuna's "successive halving" is the asynchronous kind.
//
// A trial reaching step min_resource * reduction_factor^(s + k) goes on only
// if its value there is among the best 1/reduction_factor of all trials'
// values at that rung.

#ifndef HPO_PRUNERS_ASHA_ASHA_PRUNER_H_
#define HPO_PRUNERS_ASHA_ASHA_PRUNER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "core/settings.h"
#include "pruners/pruner.h"

namespace hpo {

// Settings (see pruners/README.md): `min_resource` (>= 1 or "auto", default
// 1) or Ray's `grace_period`; `reduction_factor` (> 1, default 4);
// `min_early_stopping_rate` (>= 0, default 0); `bootstrap_count` (>= 0,
// default 0; not with "auto"); `max_resource` or Ray's `max_t` (optional,
// >= min_resource: no rung at or beyond it); Ray's `brackets` (only 1: the
// hyperband rule has several), `time_attr`, `metric` and `mode` ("min" or
// "max"), checked and otherwise ignored: the step is the time, the first
// objective the metric, and its goal the mode.
absl::StatusOr<std::unique_ptr<Pruner>> CreateAshaPruner(Settings& settings);

// The same rule under Optuna's name.
absl::StatusOr<std::unique_ptr<Pruner>> CreateSuccessiveHalvingPruner(
    Settings& settings);

}  // namespace hpo

#endif  // HPO_PRUNERS_ASHA_ASHA_PRUNER_H_
