// Bayesian optimization with a Gaussian process ("gp").
//
// Each suggestion rebuilds the model from the history: the completed trials'
// first objective, standardized (negated when maximizing), over the unit-cube
// coordinates of the parameters (ParamSpec::ToUnit, so log scales and priors
// are built in); a Matern-5/2 kernel with one length scale per parameter,
// fitted by maximizing the marginal likelihood; running trials fantasized at
// the model's mean (kriging believer) so parallel workers spread out; and the
// next point chosen by maximizing log expected improvement over quasi-random
// and local candidates, refined by L-BFGS on continuous parameters and by
// coordinate search on the others. See README.md for the settings.

#ifndef HPO_SAMPLERS_GP_GP_SAMPLER_H_
#define HPO_SAMPLERS_GP_GP_SAMPLER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "core/search_space.h"
#include "core/settings.h"
#include "samplers/sampler.h"

namespace hpo {

// Settings (aliases from other tools in parentheses): acquisition (NNI
// utility), kappa, xi, n_startup_trials (n_initial_points, cold_start_num),
// n_candidates (selection_num_warm_up), n_restarts
// (selection_num_starting_points), seed (random_state), optimize_mode, nu,
// alpha, deterministic_objective. Handles every kind of parameter.
absl::StatusOr<std::unique_ptr<Sampler>> CreateGpSampler(
    const SearchSpace& space, Settings& settings);

}  // namespace hpo

#endif  // HPO_SAMPLERS_GP_GP_SAMPLER_H_
