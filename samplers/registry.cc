#include "samplers/registry.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "samplers/anneal/anneal_sampler.h"
#include "samplers/auto/auto_sampler.h"
#include "samplers/cmaes/cmaes_sampler.h"
#include "samplers/evolution/evolution_sampler.h"
#include "samplers/gp/gp_sampler.h"
#include "samplers/grid/grid_sampler.h"
#include "samplers/qmc/qmc_sampler.h"
#include "samplers/random/random_sampler.h"
#include "samplers/tpe/tpe_sampler.h"

namespace hpo {
namespace {

const std::map<std::string, SamplerFactory>& Registry() {
  static const auto* registry = new std::map<std::string, SamplerFactory>{
      {"anneal", &CreateAnnealSampler},
      {"auto", &CreateAutoSampler},
      {"cmaes", &CreateCmaEsSampler},
      {"evolution", &CreateEvolutionSampler},
      {"gp", &CreateGpSampler},
      {"grid", &CreateGridSampler},
      {"halton", &CreateHaltonSampler},
      // Kruize HPO's hpo_algo_impl names.
      {"optuna_tpe", &CreateTpeSampler},
      {"optuna_tpe_multivariate", &CreateTpeMultivariateSampler},
      {"random", &CreateRandomSampler},
      {"sobol", &CreateSobolSampler},
      {"tpe", &CreateTpeSampler},
  };
  return *registry;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Sampler>> CreateSampler(
    absl::string_view name, const SearchSpace& space,
    const std::map<std::string, std::string>& settings) {
  auto it = Registry().find(std::string(name));
  if (it == Registry().end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("algorithm.name: unknown algorithm \"", name,
                     "\" (known: ", absl::StrJoin(SamplerNames(), ", "), ")"));
  }
  Settings reader(settings, "algorithm.settings");
  auto sampler = it->second(space, reader);
  if (!sampler.ok()) return sampler.status();
  if (absl::Status s = reader.CheckAllRead(name); !s.ok()) return s;
  return sampler;
}

std::vector<std::string> SamplerNames() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : Registry()) names.push_back(name);
  return names;
}

}  // namespace hpo
