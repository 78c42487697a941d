// Random search: each parameter drawn independently and uniformly over its
// domain (log-uniformly where the parameter is on a log scale), ignoring the
// history.
//
// A strong baseline that needs no tuning, and the default algorithm.

#ifndef HPO_SAMPLERS_RANDOM_RANDOM_SAMPLER_H_
#define HPO_SAMPLERS_RANDOM_RANDOM_SAMPLER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "core/search_space.h"
#include "core/settings.h"
#include "samplers/sampler.h"

namespace hpo {

// Takes no settings. Handles every kind of parameter.
absl::StatusOr<std::unique_ptr<Sampler>> CreateRandomSampler(
    const SearchSpace& space, Settings& settings);

}  // namespace hpo

#endif  // HPO_SAMPLERS_RANDOM_RANDOM_SAMPLER_H_
