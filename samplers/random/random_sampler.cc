#include "samplers/random/random_sampler.h"

#include <cmath>
#include <limits>
#include <set>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "samplers/draws.h"

namespace hpo {
namespace {

// Draws before concluding that a finite space is (nearly) used up.
constexpr int kDrawsBeforeEnumerating = 64;
// Finite spaces up to this many raw combinations are enumerated when draws
// keep hitting configurations already tried.
constexpr double kMaxEnumerated = 1e6;

// The number of raw combinations (ignoring conditions, so an upper bound on
// distinct configurations), or +inf if any parameter is continuous.
double RawSize(const SearchSpace& space) {
  double size = 1;
  for (const ParamSpec& p : space.params()) {
    const int64_t n = p.Cardinality();
    if (n < 0) return std::numeric_limits<double>::infinity();
    size *= static_cast<double>(n);
  }
  return size;
}

class RandomSampler : public Sampler {
 public:
  explicit RandomSampler(double raw_size) : raw_size_(raw_size) {}

  absl::StatusOr<Suggestion> Suggest(const SearchSpace& space,
                                     const History& history,
                                     Rng& rng) override {
    if (std::isinf(raw_size_)) return Suggestion{PriorDraw(space, rng), ""};

    // A finite space: never hand out a configuration twice.
    absl::flat_hash_set<std::vector<double>> used;
    for (const TrialRecord& t : history.trials)
      used.insert(ConfigurationKey(t.params));
    std::vector<double> coordinates;
    for (int i = 0; i < kDrawsBeforeEnumerating; ++i) {
      coordinates = PriorDraw(space, rng);
      if (!used.contains(ConfigurationKey(coordinates))) {
        return Suggestion{std::move(coordinates), ""};
      }
    }
    if (raw_size_ > kMaxEnumerated) {
      // Too large to list, yet draw after draw was taken: so rare that a
      // repeat is the better answer than a long search.
      return Suggestion{std::move(coordinates), ""};
    }
    std::vector<std::vector<double>> unused;
    size_t total = 0;
    ForEachConfiguration(space, [&](const std::vector<double>& c) {
      ++total;
      if (!used.contains(ConfigurationKey(c))) unused.push_back(c);
    });
    if (unused.empty()) {
      return absl::OutOfRangeError(absl::StrCat("random search has tried all ",
                                                total, " configurations"));
    }
    const size_t pick =
        std::min(unused.size() - 1,
                 static_cast<size_t>(UnitDraw(rng) *
                                     static_cast<double>(unused.size())));
    return Suggestion{std::move(unused[pick]), ""};
  }

 private:
  // Calls `visit` once per distinct configuration, in a fixed order.
  template <typename Visit>
  static void ForEachConfiguration(const SearchSpace& space, Visit visit) {
    std::set<std::vector<double>> seen;
    std::vector<int64_t> digits(space.size(), 0);
    while (true) {
      std::vector<double> c(space.size());
      for (size_t i = 0; i < space.size(); ++i) {
        c[i] = space.param(i).NthValue(digits[i]);
      }
      space.MaskInactive(c);
      if (seen.insert(ConfigurationKey(c)).second) visit(c);
      size_t i = space.size();
      while (i > 0) {
        --i;
        if (++digits[i] < space.param(i).Cardinality()) break;
        digits[i] = 0;
        if (i == 0) return;
      }
      if (space.size() == 0) return;
    }
  }

  const double raw_size_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Sampler>> CreateRandomSampler(
    const SearchSpace& space, Settings& settings) {
  return std::make_unique<RandomSampler>(RawSize(space));
}

}  // namespace hpo
