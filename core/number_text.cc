#include "core/number_text.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace hpo {

std::string NumberText(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  // printf's %g with the fewest digits, from its default 6, that read back:
  // so 100000 stays 100000 and 1e-4 is 0.0001, as people write them.
  char buffer[32];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof(buffer), "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  return buffer;
}

}  // namespace hpo
