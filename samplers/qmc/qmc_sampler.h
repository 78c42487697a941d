// Quasi-random search: trials placed on a low-discrepancy sequence (Sobol' or
// Halton, scrambled by default) instead of independent random draws, so that
// any prefix of the trials covers the space more evenly than random search.
//
// Each parameter is one coordinate of the sequence, mapped through
// ParamSpec::FromUnit: priors, log scales, steps and quantization come out
// right, and categorical and discrete parameters get their values in balanced
// proportions. Conditional parameters keep their coordinate (so the others do
// not shift when a branch changes) and are masked where inactive.
//
// The sampler keeps no state: a trial's point is the one at index
// (number of trials in the history, in any state) + skip, plus one when
// unscrambled, whose point 0 is the origin. Running, failed and pruned trials
// all count, so a parallel worker never gets a point already handed out, and
// a restarted server continues where it stopped. The random source is not
// used: the scramble is fixed by the `seed` setting.
//
// Settings:
//   seed      integer, the scramble's seed (default 0: a fixed scramble, the
//             same for every experiment);
//   scramble  bool, default true;
//   skip      integer >= 0, points of the sequence to pass over first
//             (default 0);
//   qmc_type  Optuna's name for the sequence; accepted when it names this
//             sampler's own ("sobol" or "halton").

#ifndef HPO_SAMPLERS_QMC_QMC_SAMPLER_H_
#define HPO_SAMPLERS_QMC_QMC_SAMPLER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "core/search_space.h"
#include "core/settings.h"
#include "samplers/sampler.h"

namespace hpo {

// The Sobol' sequence. INVALID_ARGUMENT for more parameters than
// kMaxSobolDimension (samplers/qmc/sequences.h) and for malformed settings.
absl::StatusOr<std::unique_ptr<Sampler>> CreateSobolSampler(
    const SearchSpace& space, Settings& settings);

// The Halton sequence; the same contract, up to kMaxHaltonDimension.
absl::StatusOr<std::unique_ptr<Sampler>> CreateHaltonSampler(
    const SearchSpace& space, Settings& settings);

}  // namespace hpo

#endif  // HPO_SAMPLERS_QMC_QMC_SAMPLER_H_
