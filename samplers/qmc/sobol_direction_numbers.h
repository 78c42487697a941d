// The primitive polynomials and initial direction numbers of Joe and Kuo's
// Sobol' sequence (new-joe-kuo-6.21201, "search criterion D(6)"), for
// dimensions 2 to kSobolTableDimensions. Dimension 1 needs no entry: it is the
// van der Corput sequence in base 2 (every m_k = 1).
//
// S. Joe and F. Y. Kuo, "Constructing Sobol sequences with better
// two-dimensional projections", SIAM J. Sci. Comput. 30, 2635-2654 (2008).
// Internal to samplers/qmc; use sequences.h.

#ifndef HPO_SAMPLERS_QMC_SOBOL_DIRECTION_NUMBERS_H_
#define HPO_SAMPLERS_QMC_SOBOL_DIRECTION_NUMBERS_H_

#include <cstdint>

namespace hpo {
namespace qmc_internal {

// The largest degree in the table; m has that many slots.
inline constexpr int kMaxSobolDegree = 13;
// Dimensions covered, the first (which has no entry) included.
inline constexpr int kSobolTableDimensions = 1024;

struct SobolPolynomial {
  // s: the degree of the primitive polynomial.
  uint8_t degree;
  // a: its inner coefficients a_1..a_{s-1} as bits, a_1 the most significant.
  uint16_t coefficients;
  // m_1..m_s: the initial direction numbers (m_k odd and below 2^k).
  uint16_t m[kMaxSobolDegree];
};

// kSobolPolynomials[d - 2] is dimension d's row, for 2 <= d <= 1024.
extern const SobolPolynomial kSobolPolynomials[kSobolTableDimensions - 1];

}  // namespace qmc_internal
}  // namespace hpo

#endif  // HPO_SAMPLERS_QMC_SOBOL_DIRECTION_NUMBERS_H_
