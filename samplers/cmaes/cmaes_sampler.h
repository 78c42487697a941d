// CMA-ES: the covariance matrix adaptation evolution strategy (Hansen's
// tutorial), over the numeric parameters mapped into the unit cube with
// ParamSpec::ToUnit/FromUnit, so log-scaled parameters are searched in log
// space and priors through their CDF. The distribution starts at the centre
// of the cube with step size sigma0 and learns a full covariance.
//
// What CMA-ES models: unconditional double and int parameters, and discrete
// ones whose values are sorted (as an ordinal). Parameters with finitely many
// values (ints, steps, NNI's q, discrete) are rounded, and with the margin of
// Hamano et al. (2022) never lose all probability of moving to a neighbouring
// value. Not modeled, drawn independently and uniformly at random per trial
// as Optuna's independent-sampler fallback does: categorical parameters,
// unsorted discrete ones, and conditional parameters (masked where inactive).
// A space with nothing CMA-ES can model is searched at random.
//
// The sampler keeps no state: each call replays the experiment's generations
// from the history. Every trial it suggests carries "g=<generation>;r=<restart
// >;p=<population size>" in its sampler_data. A generation is told (updates
// the distribution) once `popsize` of its trials have completed: the lowest-
// numbered ones, whatever order they finished in, so the replay does not
// depend on completion order; later completions of a told generation are
// ignored. Until then, new suggestions are drawn from the same distribution
// and tagged with the same generation, so parallel workers never wait. Failed
// trials, and pruned ones unless consider_pruned_trials, do not count: the
// generation waits for more completions, which it gets since new trials keep
// joining it. Trials the sampler did not suggest (startup random trials,
// warm-start ones, those of another algorithm) are not used.
//
// Settings (aliases from other tools in parentheses):
//   sigma0 (sigma)       initial step size in unit-cube units, in (0, 1];
//                        default 1/6, Optuna's min_range / 6.
//   popsize (population_size)  candidates per generation, >= 2; default
//                        4 + floor(3 ln n) for n modeled parameters.
//   n_startup_trials     completed trials drawn at random before CMA-ES
//                        starts (default 1, as Optuna); they do not feed it.
//   restart_strategy     "none" (default) or "ipop": restart from a random
//                        mean when the distribution converges or stagnates,
//                        with the population multiplied by inc_popsize.
//   inc_popsize          integer >= 2, default 2.
//   with_margin          bool; default true when a modeled parameter has
//                        finitely many values.
//   consider_pruned_trials  bool, default false: count pruned trials with
//                        their last intermediate value.
//   seed (random_state)  integer seeding the restarts' random means
//                        (default 0).

#ifndef HPO_SAMPLERS_CMAES_CMAES_SAMPLER_H_
#define HPO_SAMPLERS_CMAES_CMAES_SAMPLER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "core/search_space.h"
#include "core/settings.h"
#include "samplers/sampler.h"

namespace hpo {

// INVALID_ARGUMENT naming the setting when one is malformed or out of range.
// Accepts every space.
absl::StatusOr<std::unique_ptr<Sampler>> CreateCmaEsSampler(
    const SearchSpace& space, Settings& settings);

}  // namespace hpo

#endif  // HPO_SAMPLERS_CMAES_CMAES_SAMPLER_H_
