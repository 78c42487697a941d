// Just enough JSON writing for the benchmark's traces: numbers that read back
// to the same double and arrays of them (strings: core/json_quote.h).
// Reading goes through protobuf's JSON parser (google.protobuf.Struct) where
// it is needed.

#ifndef HPO_BENCH_JSON_H_
#define HPO_BENCH_JSON_H_

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/json_quote.h"

namespace hpo::bench {

// Shortest of %.15g/%.16g/%.17g that reads back exactly; null for NaN and
// infinities, which JSON cannot hold.
inline std::string JsonNumber(double x) {
  if (!std::isfinite(x)) return "null";
  char buf[32];
  for (int precision : {15, 16, 17}) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, x);
    if (std::strtod(buf, nullptr) == x) break;
  }
  return buf;
}

inline std::string JsonArray(const std::vector<double>& xs) {
  std::string out = "[";
  for (size_t i = 0; i < xs.size(); ++i) {
    if (i > 0) out += ",";
    out += JsonNumber(xs[i]);
  }
  return out + "]";
}

}  // namespace hpo::bench

#endif  // HPO_BENCH_JSON_H_
