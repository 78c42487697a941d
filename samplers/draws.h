// Small pieces every sampler needs: a draw from the prior, configuration
// identity, and folding a user's seed into the server's random stream.

#ifndef HPO_SAMPLERS_DRAWS_H_
#define HPO_SAMPLERS_DRAWS_H_

#include <cstdint>
#include <vector>

#include "core/search_space.h"
#include "samplers/sampler.h"

namespace hpo {

// A configuration drawn from every parameter's prior: one draw per parameter,
// in order, inactive ones included (so a parameter's value does not depend on
// which branch its neighbours took), then the inactive ones masked.
std::vector<double> PriorDraw(const SearchSpace& space, Rng& rng);

// True if two coordinate vectors are the same configuration: inactive at the
// same places and equal everywhere else.
bool SameConfiguration(const std::vector<double>& a,
                       const std::vector<double>& b);

// A configuration as a hash or set key: NaN (inactive) does not equal itself,
// so it becomes -inf, which no legal coordinate is.
std::vector<double> ConfigurationKey(std::vector<double> coordinates);

// SplitMix64's finalizer: spreads a user's small `seed` setting over all 64
// bits before it is mixed into the server's draw.
uint64_t MixSeed(uint64_t seed);

// The random source of one suggestion: the server's, or, when the user gave
// the algorithm a `seed` (`seeded`), a stream of its own seeded from the
// server's next draw and that seed, which `storage` holds.
Rng& UserSeeded(Rng& server_rng, bool seeded, uint64_t seed, Rng& storage);

}  // namespace hpo

#endif  // HPO_SAMPLERS_DRAWS_H_
