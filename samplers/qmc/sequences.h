// Low-discrepancy (quasi-random) sequences in the unit cube: Sobol' and
// Halton, plain or scrambled, any point computed directly from its index.
//
// For samplers that want evenly spread points: the QMC samplers themselves,
// and initial designs of model-based ones (GP, CMA-ES). Points lie in
// [0, 1)^dimension; map them onto parameters with ParamSpec::FromUnit.
//
// Sobol': Joe and Kuo's direction numbers (new-joe-kuo-6.21201) in Gray-code
// order, so the unscrambled points are those of their generator and of SciPy's
// scipy.stats.qmc.Sobol(scramble=False): 0, (0.5, 0.5), (0.75, 0.25),
// (0.25, 0.75), ... Scrambling is Matousek's linear matrix scramble (a random
// non-singular lower-triangular binary matrix per coordinate) followed by a
// random digital shift, as SciPy does; it keeps the net structure (the first
// 2^m points still stratify every coordinate into 2^m equal cells) while
// removing the origin and the alignments of the plain sequence.
//
// Halton: coordinate k is the radical inverse in the k-th prime. Scrambling
// applies an independent random permutation to each digit position of each
// coordinate (Owen-style random digit permutations), which breaks the strong
// correlations between the coordinates of large prime bases.
//
// A scramble is fixed by its seed: the same (dimension, scramble, seed) always
// gives the same sequence, on any platform.

#ifndef HPO_SAMPLERS_QMC_SEQUENCES_H_
#define HPO_SAMPLERS_QMC_SEQUENCES_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace hpo {

// The most coordinates either sequence supports. Sobol' is limited by the
// direction-number table; Halton by the memory its digit permutations take,
// and by its quality, which degrades long before that many dimensions.
inline constexpr int kMaxSobolDimension = 1024;
inline constexpr int kMaxHaltonDimension = 1024;

class SobolSequence {
 public:
  // INVALID_ARGUMENT unless 1 <= dimension <= kMaxSobolDimension. With
  // `scramble` false the seed is ignored.
  static absl::StatusOr<SobolSequence> Create(int dimension, bool scramble,
                                              uint64_t seed);

  int dimension() const { return dimension_; }

  // The point with this index (0-based). Unscrambled, point 0 is the origin,
  // which samplers usually skip.
  std::vector<double> Point(uint64_t index) const;
  // The same, into out[0 .. dimension()).
  void Point(uint64_t index, double* out) const;

 private:
  SobolSequence() = default;

  int dimension_ = 0;
  // 64 direction numbers per coordinate, scaled to 64-bit fractions (bit 63 is
  // 1/2), scramble applied: directions_[64 * k + j] is coordinate k's j-th.
  std::vector<uint64_t> directions_;
  // Per coordinate, the digital shift (0 when unscrambled).
  std::vector<uint64_t> shifts_;
};

class HaltonSequence {
 public:
  // INVALID_ARGUMENT unless 1 <= dimension <= kMaxHaltonDimension. With
  // `scramble` false the seed is ignored.
  static absl::StatusOr<HaltonSequence> Create(int dimension, bool scramble,
                                               uint64_t seed);

  int dimension() const { return dimension_; }

  // The point with this index (0-based). Unscrambled, point 0 is the origin.
  std::vector<double> Point(uint64_t index) const;
  void Point(uint64_t index, double* out) const;

 private:
  HaltonSequence() = default;

  struct Coordinate {
    uint32_t base;
    // Enough base-`base` digits to hold any 64-bit index.
    int digits;
    // digits * base entries: digit j of the index, a, contributes
    // permutation[j * base + a] * base^-(j + 1). The identity when
    // unscrambled.
    std::vector<uint16_t> permutation;
  };

  int dimension_ = 0;
  std::vector<Coordinate> coordinates_;
};

// One-off conveniences (each builds the sequence, so prefer the classes for
// many points): the point `index` of the `dimension`-dimensional sequence,
// scrambled with `scramble_seed` if `scramble`.
absl::StatusOr<std::vector<double>> SobolPoint(int dimension, uint64_t index,
                                               bool scramble,
                                               uint64_t scramble_seed);
absl::StatusOr<std::vector<double>> HaltonPoint(int dimension, uint64_t index,
                                                bool scramble,
                                                uint64_t scramble_seed);

}  // namespace hpo

#endif  // HPO_SAMPLERS_QMC_SEQUENCES_H_
