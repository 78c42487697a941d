// Evolution, after NNI's Evolution tuner, as regularized (aging) evolution
// (Real et al., "Regularized Evolution for Image Classifier Architecture
// Search", 2019).
//
// Until `population_size` trials have completed or are running, suggestions
// are drawn from the prior. After that each suggestion is a child:
// `sample_size` members of the population are drawn at random without
// replacement, the best of them (by the experiment's first objective) is the
// parent, and the child is the parent with one of its active parameters
// mutated. A categorical or discrete parameter takes another of its values,
// uniformly. A numeric one is, with even odds, redrawn from its prior (NNI's
// mutation) or moved by a normal step of deviation `mutation_scale` in its unit
// space (ParamSpec::ToUnit/FromUnit, so log scales, steps, quantization and
// priors hold), reflected at the ends; with `mutation_scale` 0 it is always
// redrawn, as in NNI.
//
// The population is the `population_size` most recent completed trials: each
// child pushes out the oldest member (aging), whatever its score. It is
// rebuilt from the history on every call, so there is no state to lose, and a
// failed or pruned trial simply never joins it: later trials take its place, as
// NNI replaces a failed individual with a new random one.
//
// Running trials: a child of a running trial's parent is fine, a copy of a
// running trial is not, and is bred again (a bounded number of times).
//
// Conditional parameters: mutating a parameter that others depend on draws the
// newly active ones from their prior and leaves the ones that fall inactive as
// kInactive.

#ifndef HPO_SAMPLERS_EVOLUTION_EVOLUTION_SAMPLER_H_
#define HPO_SAMPLERS_EVOLUTION_EVOLUTION_SAMPLER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "core/search_space.h"
#include "core/settings.h"
#include "samplers/sampler.h"

namespace hpo {

// Settings (see README.md): `population_size` (>= 1, default 32, as NNI),
// `sample_size` or `tournament_size` (1..population_size), `mutation_scale`
// (0..1), `seed` or `random_state`, and NNI's `optimize_mode`. Handles every
// kind of parameter.
absl::StatusOr<std::unique_ptr<Sampler>> CreateEvolutionSampler(
    const SearchSpace& space, Settings& settings);

}  // namespace hpo

#endif  // HPO_SAMPLERS_EVOLUTION_EVOLUTION_SAMPLER_H_
