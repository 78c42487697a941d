// The Tree-structured Parzen Estimator (Bergstra et al., 2011), as Optuna's
// TPESampler does it.
//
// After n_startup_trials random trials, each suggestion splits the finished
// trials into the best few ("below", by default min(ceil(0.1 n), 25) of n) and
// the rest ("above"), fits a Parzen estimator l(x) to the first and g(x) to
// the second, draws n_ei_candidates points from l and keeps the one with the
// largest l(x) / g(x), which maximizes expected improvement under TPE's model.
//
// - Multivariate (the default, as in Optuna 5): one pair of joint estimators
//   (products of per-parameter kernels) over the parameters active in every
//   finished trial, the others univariate; with `group`, Optuna's group
//   decomposition: parameters always active together form a group, each group
//   joint.
// - Univariate (multivariate=false): one pair of estimators per parameter,
//   each fitted to the trials where the parameter was active, so conditional
//   parameters learn only from their own branch.
// Either way each kernel's width is Optuna 5's: the larger gap to its
// neighbours along that parameter.
// - Parallel workers: with the constant liar (on by default) running trials
//   count as bad observations, so concurrent suggestions spread out.
//
// Estimators work in each parameter's unit space (ParamSpec::ToUnit), which
// carries log scales, steps, quantization and normal priors; see
// parzen_estimator.h and README.md. No state is kept between suggestions.

#ifndef HPO_SAMPLERS_TPE_TPE_SAMPLER_H_
#define HPO_SAMPLERS_TPE_TPE_SAMPLER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "core/search_space.h"
#include "core/settings.h"
#include "samplers/sampler.h"

namespace hpo {

// Multivariate TPE by default, as Optuna 5's TPESampler (Kruize's optuna_tpe
// and hpo's tpe). Settings (see README.md): n_startup_trials
// (n_initial_points, n_startup_jobs), n_ei_candidates (n_EI_candidates),
// gamma, linear_forgetting, prior_weight, multivariate, group, constant_liar,
// constant_liar_type, consider_endpoints, consider_magic_clip,
// discrete_as_categorical, seed (random_state) and NNI's optimize_mode.
// Handles every kind of parameter.
absl::StatusOr<std::unique_ptr<Sampler>> CreateTpeSampler(
    const SearchSpace& space, Settings& settings);

// Kruize's optuna_tpe_multivariate: multivariate=true by default, which is now
// also CreateTpeSampler's default, so the two are the same sampler.
absl::StatusOr<std::unique_ptr<Sampler>> CreateTpeMultivariateSampler(
    const SearchSpace& space, Settings& settings);

}  // namespace hpo

#endif  // HPO_SAMPLERS_TPE_TPE_SAMPLER_H_
