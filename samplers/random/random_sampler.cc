#include "samplers/random/random_sampler.h"

#include <vector>

namespace hpo {
namespace {

class RandomSampler : public Sampler {
 public:
  absl::StatusOr<Suggestion> Suggest(const SearchSpace& space,
                                     const History& history,
                                     Rng& rng) override {
    std::vector<double> coordinates(space.size());
    // One draw per parameter, in order, inactive ones included, so that a
    // parameter's value does not depend on which branch its neighbours took.
    for (size_t i = 0; i < space.size(); ++i) {
      coordinates[i] = space.param(i).FromUnit(UnitDraw(rng));
    }
    space.MaskInactive(coordinates);
    return Suggestion{std::move(coordinates), ""};
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<Sampler>> CreateRandomSampler(
    const SearchSpace& space, Settings& settings) {
  return std::make_unique<RandomSampler>();
}

}  // namespace hpo
