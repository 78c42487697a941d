#include "samplers/gp/halton.h"

#include <algorithm>
#include <cmath>

namespace hpo {
namespace gp {
namespace {

std::vector<int> FirstPrimes(int count) {
  std::vector<int> primes;
  for (int candidate = 2; static_cast<int>(primes.size()) < count;
       ++candidate) {
    bool prime = true;
    for (int p : primes) {
      if (p * p > candidate) break;
      if (candidate % p == 0) {
        prime = false;
        break;
      }
    }
    if (prime) primes.push_back(candidate);
  }
  return primes;
}

}  // namespace

ScrambledHalton::ScrambledHalton(int dimensions, Rng& rng)
    : bases_(FirstPrimes(dimensions)) {
  axes_.resize(bases_.size());
  for (size_t d = 0; d < bases_.size(); ++d) {
    Axis& axis = axes_[d];
    const int b = bases_[d];
    axis.base = b;
    // Enough digits to resolve 2^-52.
    const int digits = static_cast<int>(
        std::ceil(52 * std::log(2.0) / std::log(static_cast<double>(b))));
    axis.permutation.resize(static_cast<size_t>(digits) * b);
    for (int k = 0; k < digits; ++k) {
      int* perm = &axis.permutation[static_cast<size_t>(k) * b];
      for (int j = 0; j < b; ++j) perm[j] = j;
      // Fisher-Yates from UnitDraw, so the scramble is the same everywhere.
      for (int j = b - 1; j > 0; --j) {
        const int r = std::min(j, static_cast<int>(UnitDraw(rng) * (j + 1)));
        std::swap(perm[j], perm[r]);
      }
    }
    axis.tail.assign(static_cast<size_t>(digits) + 1, 0.0);
    double weight = std::pow(static_cast<double>(b), -digits);
    for (int k = digits - 1; k >= 0; --k) {
      axis.tail[k] = axis.tail[k + 1] +
                     axis.permutation[static_cast<size_t>(k) * b] * weight;
      weight *= b;
    }
  }
}

void ScrambledHalton::Point(uint64_t index, double* out) const {
  for (size_t d = 0; d < axes_.size(); ++d) {
    const Axis& axis = axes_[d];
    const uint64_t b = static_cast<uint64_t>(axis.base);
    const int digits = static_cast<int>(axis.tail.size()) - 1;
    const double inv_b = 1.0 / static_cast<double>(b);
    double weight = inv_b;
    double u = 0;
    uint64_t n = index;
    int k = 0;
    for (; k < digits && n > 0; ++k) {
      const int digit = static_cast<int>(n % b);
      n /= b;
      u += axis.permutation[static_cast<size_t>(k) * b + digit] * weight;
      weight *= inv_b;
    }
    u += axis.tail[k];
    out[d] = std::min(u, 1.0 - 0x1.0p-53);
  }
}

}  // namespace gp
}  // namespace hpo
