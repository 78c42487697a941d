// The one interface every search algorithm implements.
//
// A sampler sees the search space, the experiment's trial history and a seeded
// random source, and returns the next trial's coordinates. It knows nothing of
// gRPC, storage or threads, and it keeps no state that a restart would lose:
// the server may rebuild it from the experiment's spec at any time, and the
// same seed and history must give the same suggestion.
//
// What a sampler must handle (see core/search_space.h and core/history.h):
// - every parameter kind, prior, step and quantization: working in the unit
//   cube through ParamSpec::FromUnit/ToUnit gets these right;
// - conditional parameters: a suggestion has kInactive exactly for the
//   parameters that are not active (SearchSpace::MaskInactive), and history
//   trials have kInactive there too;
// - running trials in the history (parallel workers): do not hand out what is
//   already running;
// - failed trials (no values) and pruned ones (intermediate values only);
// - an empty history and a history of one trial.
// A space the algorithm cannot handle is refused by its factory with
// INVALID_ARGUMENT naming the parameter and the reason.

#ifndef HPO_SAMPLERS_SAMPLER_H_
#define HPO_SAMPLERS_SAMPLER_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/history.h"
#include "core/search_space.h"

namespace hpo {

// Seeded by the server from the experiment's seed and the trial number.
using Rng = std::mt19937_64;

// A uniform double in [0, 1) from the top 53 bits of one draw. Samplers use
// this rather than std::uniform_real_distribution (or any std distribution)
// because the standard leaves those algorithms to the library, and a
// suggestion must not change when the server is rebuilt against another one;
// mt19937_64 itself is fully specified.
inline double UnitDraw(Rng& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

struct Suggestion {
  // One coordinate per parameter, kInactive for inactive ones.
  std::vector<double> params;
  // Whatever the algorithm must remember about this trial to rebuild its state
  // from the history alone (CMA-ES's generation, say): stored with the trial,
  // opaque to the server, and handed back as TrialRecord::sampler_data. Keep it
  // short; empty for most algorithms.
  std::string sampler_data;
  // Set by samplers that pick among algorithms (auto): the one that made this
  // suggestion, and why, for the experiment's status. Empty otherwise.
  std::string algorithm = {};
  std::string algorithm_reason = {};
};

class Sampler {
 public:
  virtual ~Sampler() = default;

  // The next trial. Returns OUT_OF_RANGE when the algorithm has nothing left
  // to suggest (a finished grid).
  virtual absl::StatusOr<Suggestion> Suggest(const SearchSpace& space,
                                             const History& history,
                                             Rng& rng) = 0;
};

}  // namespace hpo

#endif  // HPO_SAMPLERS_SAMPLER_H_
