// The one interface every search algorithm implements.
//
// A sampler sees the search space, the experiment's trial history and a seeded
// random source, and returns the next trial's coordinates. It knows nothing of
// gRPC, storage or threads, and it keeps no state that a restart would lose:
// the server may rebuild it from the experiment's spec at any time, and the
// same seed and history must give the same suggestion.

#ifndef HPO_SAMPLERS_SAMPLER_H_
#define HPO_SAMPLERS_SAMPLER_H_

#include <cstdint>
#include <random>
#include <vector>

#include "absl/status/statusor.h"
#include "core/history.h"
#include "core/search_space.h"

namespace hpo {

// Seeded by the server from the experiment's seed and the trial number.
using Rng = std::mt19937_64;

class Sampler {
 public:
  virtual ~Sampler() = default;

  // The coordinates of the next trial, one per parameter (see
  // core/search_space.h). `history` holds every trial so far, running ones
  // included. Returns OUT_OF_RANGE when the algorithm has nothing left to
  // suggest (a finished grid).
  virtual absl::StatusOr<std::vector<double>> Suggest(const SearchSpace& space,
                                                      const History& history,
                                                      Rng& rng) = 0;
};

}  // namespace hpo

#endif  // HPO_SAMPLERS_SAMPLER_H_
