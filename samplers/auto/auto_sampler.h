// auto: the default algorithm. Picks one of hpo's algorithms for each
// suggestion from the search space and how many trials have completed, and
// hands the suggestion to it. The pick and the reason travel with the
// suggestion (Suggestion::algorithm), so the experiment's status shows them.
//
// The rules, and why, are in README.md; they were chosen from the benchmark
// in bench/, not by taste.
//
// Settings:
//   gp_max_trials      completed trials after which GP hands over to TPE
//                      (default 200; 0: never GP).
//   gp_max_dimensions  spaces with more parameters never use GP (default 32).
//   cmaes_min_dimensions  numeric, unconditional spaces with at least this
//                      many parameters start with CMA-ES (default 8; 0:
//                      never).
//   cmaes_max_trials   completed trials after which CMA-ES hands over to GP
//                      with output warping (default 30; 0: never).
//   cmaes_gp_max_trials  completed trials after which that GP hands over to
//                      TPE (default 500).
//   seed (random_state)  passed to every algorithm.
//   gp.*, tpe.*, cmaes.*  settings for that algorithm, e.g.
//                      tpe.n_ei_candidates.

#ifndef HPO_SAMPLERS_AUTO_AUTO_SAMPLER_H_
#define HPO_SAMPLERS_AUTO_AUTO_SAMPLER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/history.h"
#include "core/search_space.h"
#include "core/settings.h"
#include "samplers/sampler.h"

namespace hpo {

struct AutoRules {
  int64_t gp_max_trials = 200;
  int64_t gp_max_dimensions = 32;
  // Spaces of at least this many parameters, all numeric and unconditional,
  // use CMA-ES (0: never) until cmaes_max_trials trials have completed (0:
  // throughout), then GP with output warping where GP applies.
  int64_t cmaes_min_dimensions = 8;
  int64_t cmaes_max_trials = 30;
  // The GP after CMA-ES keeps improving where TPE stalls (bench: 10-D
  // problems at 400 trials), so it runs longer than gp_max_trials.
  int64_t cmaes_gp_max_trials = 500;
};

// Which algorithm auto uses for the next suggestion, and why in a phrase.
struct AutoChoice {
  std::string algorithm;
  std::string reason;
  // GP with output warping (the GP that follows CMA-ES).
  bool warped = false;
};

AutoChoice ChooseAlgorithm(const AutoRules& rules, const SearchSpace& space,
                           const History& history);

// INVALID_ARGUMENT naming the setting when one is malformed, including the
// gp.* and tpe.* ones.
absl::StatusOr<std::unique_ptr<Sampler>> CreateAutoSampler(
    const SearchSpace& space, Settings& settings);

}  // namespace hpo

#endif  // HPO_SAMPLERS_AUTO_AUTO_SAMPLER_H_
