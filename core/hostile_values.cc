#include "core/hostile_values.h"

#include <limits>

namespace hpo {

std::vector<HostileValues> AllHostileValues() {
  return {HostileValues::kOrdinary, HostileValues::kHuge, HostileValues::kTiny,
          HostileValues::kConstant, HostileValues::kMixed};
}

const char* Name(HostileValues kind) {
  switch (kind) {
    case HostileValues::kOrdinary:
      return "ordinary";
    case HostileValues::kHuge:
      return "huge";
    case HostileValues::kTiny:
      return "tiny";
    case HostileValues::kConstant:
      return "constant";
    case HostileValues::kMixed:
      return "mixed";
  }
  return "?";
}

double HostileValue(HostileValues kind, std::mt19937_64& rng) {
  constexpr double kMax = std::numeric_limits<double>::max();
  const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
  switch (kind) {
    case HostileValues::kOrdinary:
      return 2 * u;
    case HostileValues::kHuge:
      return (2 * u - 1) * kMax;
    case HostileValues::kTiny:
      return u * 1e-310;
    case HostileValues::kConstant:
      return 0.75;
    case HostileValues::kMixed:
      return u < 0.1 ? kMax : u < 0.2 ? -kMax : 2 * u;
  }
  return 0;
}

}  // namespace hpo
