#include "samplers/qmc/sequences.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "samplers/qmc/sobol_direction_numbers.h"
#include "samplers/sampler.h"

namespace hpo {
namespace {

constexpr int kBits = 64;

static_assert(kMaxSobolDimension == qmc_internal::kSobolTableDimensions,
              "the Sobol' limit is the table's size");

// A 64-bit fraction (bit 63 is 1/2) as a double in [0, 1): its top 53 bits,
// so that the result is exact and never rounds up to 1.
double ToUnitInterval(uint64_t x) {
  return static_cast<double>(x >> 11) * 0x1.0p-53;
}

// The direction numbers v_1..v_64 of coordinate `k` (0-based), as 64-bit
// fractions: v_j = m_j / 2^j, m_j from the table for j <= s and from the
// recurrence of the primitive polynomial x^s + a_1 x^(s-1) + ... + 1 above:
//   v_j = a_1 v_(j-1) ^ ... ^ a_(s-1) v_(j-s+1) ^ v_(j-s) ^ (v_(j-s) >> s).
void DirectionNumbers(int k, uint64_t* v) {
  if (k == 0) {
    // The first coordinate is van der Corput's sequence: every m_j is 1.
    for (int j = 0; j < kBits; ++j) v[j] = uint64_t{1} << (kBits - 1 - j);
    return;
  }
  const qmc_internal::SobolPolynomial& row =
      qmc_internal::kSobolPolynomials[k - 1];
  const int s = row.degree;
  for (int j = 0; j < s; ++j) {
    v[j] = static_cast<uint64_t>(row.m[j]) << (kBits - 1 - j);
  }
  for (int j = s; j < kBits; ++j) {
    uint64_t x = v[j - s] ^ (v[j - s] >> s);
    for (int i = 1; i < s; ++i) {
      if ((row.coefficients >> (s - 1 - i)) & 1) x ^= v[j - i];
    }
    v[j] = x;
  }
}

// Multiplies the 64-bit fraction `x`, as a column of bits most significant
// first, by the lower-triangular binary matrix whose rows are `rows`.
uint64_t MultiplyLowerTriangular(const uint64_t* rows, uint64_t x) {
  uint64_t y = 0;
  for (int r = 0; r < kBits; ++r) {
    y |= static_cast<uint64_t>(__builtin_parityll(rows[r] & x))
         << (kBits - 1 - r);
  }
  return y;
}

// The first n primes.
std::vector<uint32_t> FirstPrimes(int n) {
  std::vector<uint32_t> primes;
  for (uint32_t c = 2; static_cast<int>(primes.size()) < n; ++c) {
    bool prime = true;
    for (uint32_t p : primes) {
      if (p * p > c) break;
      if (c % p == 0) {
        prime = false;
        break;
      }
    }
    if (prime) primes.push_back(c);
  }
  return primes;
}

// How many base-b digits the largest 64-bit index has.
int DigitsFor64Bits(uint32_t b) {
  int digits = 0;
  unsigned __int128 reach = 1;
  while (reach <= static_cast<unsigned __int128>(UINT64_MAX)) {
    reach *= b;
    ++digits;
  }
  return digits;
}

absl::Status CheckDimension(const char* what, int dimension, int max) {
  if (dimension < 1 || dimension > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " sequence: dimension ", dimension,
                     " is outside the supported 1..", max));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SobolSequence> SobolSequence::Create(int dimension,
                                                    bool scramble,
                                                    uint64_t seed) {
  if (absl::Status s = CheckDimension("Sobol'", dimension, kMaxSobolDimension);
      !s.ok()) {
    return s;
  }
  SobolSequence seq;
  seq.dimension_ = dimension;
  seq.directions_.resize(static_cast<size_t>(dimension) * kBits);
  seq.shifts_.assign(dimension, 0);
  // Raw 64-bit draws of mt19937_64 (fully specified by the standard) give the
  // random bits; UnitDraw would only throw 11 of them away.
  Rng rng(seed);
  uint64_t rows[kBits];
  for (int k = 0; k < dimension; ++k) {
    uint64_t* v = &seq.directions_[static_cast<size_t>(k) * kBits];
    DirectionNumbers(k, v);
    if (!scramble) continue;
    // Row r has a 1 on the diagonal (bit 63 - r) and random bits on the
    // columns of the more significant digits: non-singular, and each output
    // digit depends only on the input digits above it, which is what keeps
    // the elementary intervals (and so the net property) intact.
    for (int r = 0; r < kBits; ++r) {
      const uint64_t above = r == 0 ? 0 : ~uint64_t{0} << (kBits - r);
      rows[r] = (rng() & above) | (uint64_t{1} << (kBits - 1 - r));
    }
    for (int j = 0; j < kBits; ++j) v[j] = MultiplyLowerTriangular(rows, v[j]);
    seq.shifts_[k] = rng();
  }
  return seq;
}

void SobolSequence::Point(uint64_t index, double* out) const {
  // Gray-code order: point i is the XOR of the direction numbers of the set
  // bits of i ^ (i >> 1), which is what makes consecutive points differ by a
  // single direction number in the incremental generators.
  const uint64_t gray = index ^ (index >> 1);
  for (int k = 0; k < dimension_; ++k) {
    const uint64_t* v = &directions_[static_cast<size_t>(k) * kBits];
    uint64_t x = shifts_[k];
    for (uint64_t g = gray; g != 0; g &= g - 1) x ^= v[__builtin_ctzll(g)];
    out[k] = ToUnitInterval(x);
  }
}

std::vector<double> SobolSequence::Point(uint64_t index) const {
  std::vector<double> out(dimension_);
  Point(index, out.data());
  return out;
}

absl::StatusOr<HaltonSequence> HaltonSequence::Create(int dimension,
                                                      bool scramble,
                                                      uint64_t seed) {
  if (absl::Status s = CheckDimension("Halton", dimension, kMaxHaltonDimension);
      !s.ok()) {
    return s;
  }
  HaltonSequence seq;
  seq.dimension_ = dimension;
  Rng rng(seed);
  for (uint32_t base : FirstPrimes(dimension)) {
    Coordinate c;
    c.base = base;
    c.digits = DigitsFor64Bits(base);
    c.permutation.resize(static_cast<size_t>(c.digits) * base);
    for (int j = 0; j < c.digits; ++j) {
      uint16_t* perm = &c.permutation[static_cast<size_t>(j) * base];
      for (uint32_t a = 0; a < base; ++a) perm[a] = static_cast<uint16_t>(a);
      if (!scramble) continue;
      // Fisher-Yates, one UnitDraw per swap.
      for (uint32_t i = base - 1; i > 0; --i) {
        const auto pick = std::min<uint32_t>(
            i, static_cast<uint32_t>(UnitDraw(rng) * (i + 1)));
        std::swap(perm[i], perm[pick]);
      }
    }
    seq.coordinates_.push_back(std::move(c));
  }
  return seq;
}

void HaltonSequence::Point(uint64_t index, double* out) const {
  uint32_t digits[kBits];
  for (int k = 0; k < dimension_; ++k) {
    const Coordinate& c = coordinates_[k];
    uint64_t rest = index;
    for (int j = 0; j < c.digits; ++j) {
      digits[j] = static_cast<uint32_t>(rest % c.base);
      rest /= c.base;
    }
    // Horner from the least significant digit, so that small terms are added
    // before they are scaled down past the precision of the large ones.
    const double base = c.base;
    double x = 0;
    for (int j = c.digits - 1; j >= 0; --j) {
      x = (c.permutation[static_cast<size_t>(j) * c.base + digits[j]] + x) /
          base;
    }
    // Scrambled, every digit position can contribute base - 1, and the sum
    // can round up to 1; the points are in [0, 1).
    out[k] = std::min(x, 1.0 - 0x1.0p-53);
  }
}

std::vector<double> HaltonSequence::Point(uint64_t index) const {
  std::vector<double> out(dimension_);
  Point(index, out.data());
  return out;
}

absl::StatusOr<std::vector<double>> SobolPoint(int dimension, uint64_t index,
                                               bool scramble,
                                               uint64_t scramble_seed) {
  absl::StatusOr<SobolSequence> seq =
      SobolSequence::Create(dimension, scramble, scramble_seed);
  if (!seq.ok()) return seq.status();
  return seq->Point(index);
}

absl::StatusOr<std::vector<double>> HaltonPoint(int dimension, uint64_t index,
                                                bool scramble,
                                                uint64_t scramble_seed) {
  absl::StatusOr<HaltonSequence> seq =
      HaltonSequence::Create(dimension, scramble, scramble_seed);
  if (!seq.ok()) return seq.status();
  return seq->Point(index);
}

}  // namespace hpo
