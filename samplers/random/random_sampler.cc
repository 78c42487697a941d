#include "samplers/random/random_sampler.h"

#include <vector>

namespace hpo {
namespace {

// A uniform double in [0, 1) from the top 53 bits of one draw. Written out
// rather than using std::uniform_real_distribution because the standard leaves
// that distribution's algorithm to the library, and a suggestion must not
// change when the server is rebuilt against another one; mt19937_64 itself is
// fully specified.
double UnitDraw(Rng& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

class RandomSampler : public Sampler {
 public:
  absl::StatusOr<std::vector<double>> Suggest(const SearchSpace& space,
                                              const History& history,
                                              Rng& rng) override {
    std::vector<double> coordinates;
    coordinates.reserve(space.size());
    // One draw per parameter, in order: the same seed gives the same trial.
    for (const ParamSpec& param : space.params()) {
      coordinates.push_back(param.FromUnit(UnitDraw(rng)));
    }
    return coordinates;
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<Sampler>> CreateRandomSampler(
    const SearchSpace& space, Settings& settings) {
  return std::make_unique<RandomSampler>();
}

}  // namespace hpo
