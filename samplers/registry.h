// Algorithm names to samplers. Adding an algorithm is one folder under
// samplers/ and one line in registry.cc.

#ifndef HPO_SAMPLERS_REGISTRY_H_
#define HPO_SAMPLERS_REGISTRY_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/search_space.h"
#include "core/settings.h"
#include "samplers/sampler.h"

namespace hpo {

// Builds a sampler for `space` from its settings. Reads every setting it
// understands from `settings`; INVALID_ARGUMENT naming the setting or parameter
// when a setting is malformed or the space is one the algorithm cannot handle.
using SamplerFactory = absl::StatusOr<std::unique_ptr<Sampler>> (*)(
    const SearchSpace& space, Settings& settings);

// INVALID_ARGUMENT for an unknown name or an unknown or malformed setting.
absl::StatusOr<std::unique_ptr<Sampler>> CreateSampler(
    absl::string_view name, const SearchSpace& space,
    const std::map<std::string, std::string>& settings);

// Every registered name, sorted.
std::vector<std::string> SamplerNames();

}  // namespace hpo

#endif  // HPO_SAMPLERS_REGISTRY_H_
