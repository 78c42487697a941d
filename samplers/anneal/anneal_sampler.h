// Annealing search, after hyperopt.anneal: random search whose draws tighten
// around the good trials seen so far.
//
// Each suggestion picks a good completed trial, a position in the trials
// ranked by objective drawn from a geometric distribution of mean
// `avg_best_idx` (so the best trial is the likeliest, the runners-up less so),
// and draws every parameter near that trial's value:
// - numeric parameters uniformly in a window of the unit space
//   (ParamSpec::ToUnit/FromUnit, which carries log scales, steps,
//   quantization and normal priors) of width 1 / (1 + T * shrink_coef), T being
//   the number of trials that have explored the parameter, centred on the
//   trial's value and shifted to fit in [0, 1];
// - categorical and discrete ones keep the trial's choice with probability
//   1 - w, w being that same width, and are drawn from the prior otherwise.
// The width shrinks with the number of observations, not adaptively: hence
// "annealing".
//
// Conditional parameters, as hyperopt does it: a parameter that is active in
// the suggestion but was not in the chosen trial takes its value from a
// runner-up, a trial drawn the same way among those where it was active
// (trials picked for earlier parameters are tried first, so values that went
// together stay together), and from the prior when no trial has it.
//
// No state is kept between suggestions: the ranking is rebuilt from the
// history each time, in O(n log n).

#ifndef HPO_SAMPLERS_ANNEAL_ANNEAL_SAMPLER_H_
#define HPO_SAMPLERS_ANNEAL_ANNEAL_SAMPLER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "core/search_space.h"
#include "core/settings.h"
#include "samplers/sampler.h"

namespace hpo {

// Settings (see README.md): `avg_best_idx` (>= 1, default 2), `shrink_coef`
// (>= 0, default 0.1), `n_startup_trials` (>= 0, default 0, as hyperopt),
// `seed` or `random_state`, and NNI's `optimize_mode`. Handles every kind of
// parameter.
absl::StatusOr<std::unique_ptr<Sampler>> CreateAnnealSampler(
    const SearchSpace& space, Settings& settings);

}  // namespace hpo

#endif  // HPO_SAMPLERS_ANNEAL_ANNEAL_SAMPLER_H_
