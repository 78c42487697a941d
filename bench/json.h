// Just enough JSON writing for the benchmark's traces: strings, numbers that
// read back to the same double, arrays of them. Reading goes through
// protobuf's JSON parser (google.protobuf.Struct) where it is needed.

#ifndef HPO_BENCH_JSON_H_
#define HPO_BENCH_JSON_H_

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace hpo::bench {

inline std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

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
