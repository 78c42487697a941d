// Objective values of the kinds that break numerics, shared by the
// conformance tests of the samplers and the early-stopping rules. Test-only.

#ifndef HPO_CORE_HOSTILE_VALUES_H_
#define HPO_CORE_HOSTILE_VALUES_H_

#include <random>
#include <vector>

namespace hpo {

enum class HostileValues {
  kOrdinary,  // uniform in [0, 2)
  kHuge,      // uniform over the whole range of finite doubles
  kTiny,      // subnormal, under 1e-310
  kConstant,  // always 0.75
  kMixed,     // ordinary, with a tenth each of the largest and the lowest
};

// Every kind, in the order above.
std::vector<HostileValues> AllHostileValues();

const char* Name(HostileValues kind);

// A value of `kind`, from one draw of `rng`.
double HostileValue(HostileValues kind, std::mt19937_64& rng);

}  // namespace hpo

#endif  // HPO_CORE_HOSTILE_VALUES_H_
