#include "samplers/draws.h"

#include <limits>

namespace hpo {

std::vector<double> PriorDraw(const SearchSpace& space, Rng& rng) {
  std::vector<double> x(space.size());
  for (size_t i = 0; i < space.size(); ++i) {
    x[i] = space.param(i).FromUnit(UnitDraw(rng));
  }
  space.MaskInactive(x);
  return x;
}

bool SameConfiguration(const std::vector<double>& a,
                       const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (IsInactive(a[i]) != IsInactive(b[i])) return false;
    if (!IsInactive(a[i]) && a[i] != b[i]) return false;
  }
  return true;
}

std::vector<double> ConfigurationKey(std::vector<double> coordinates) {
  for (double& x : coordinates) {
    if (IsInactive(x)) x = -std::numeric_limits<double>::infinity();
  }
  return coordinates;
}

Rng& UserSeeded(Rng& server_rng, bool seeded, uint64_t seed, Rng& storage) {
  if (!seeded) return server_rng;
  storage.seed(server_rng() ^ MixSeed(seed));
  return storage;
}

uint64_t MixSeed(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace hpo
