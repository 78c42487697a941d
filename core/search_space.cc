#include "core/search_space.h"

#include <algorithm>
#include <cmath>

namespace hpo {
namespace {

// Number of legal values of a stepped range, counting both ends.
int64_t StepCount(double low, double high, double step) {
  return static_cast<int64_t>(std::floor((high - low) / step + 1e-9)) + 1;
}

}  // namespace

int64_t ParamSpec::Cardinality() const {
  switch (kind) {
    case ParamKind::kCategorical:
      return static_cast<int64_t>(categories.size());
    case ParamKind::kDiscrete:
      return static_cast<int64_t>(values.size());
    case ParamKind::kInt:
      return StepCount(low, high, step);
    case ParamKind::kDouble:
      return step > 0 ? StepCount(low, high, step) : -1;
  }
  return -1;
}

double ParamSpec::NthValue(int64_t k) const {
  if (IsIndexed()) return static_cast<double>(k);
  return std::min(high, low + static_cast<double>(k) * step);
}

double ParamSpec::Snap(double x) const {
  if (IsIndexed()) {
    const double last = static_cast<double>(Cardinality() - 1);
    return std::clamp(std::round(x), 0.0, last);
  }
  x = std::clamp(x, low, high);
  if (step > 0) {
    const int64_t last = Cardinality() - 1;
    const int64_t k =
        std::clamp<int64_t>(std::llround((x - low) / step), 0, last);
    x = NthValue(k);
  }
  return x;
}

double ParamSpec::FromUnit(double u) const {
  u = std::clamp(u, 0.0, 1.0);
  if (IsIndexed()) {
    const int64_t n = Cardinality();
    return static_cast<double>(
        std::min<int64_t>(static_cast<int64_t>(u * n), n - 1));
  }
  // Discretized ranges widen by half a step at each end so that, after
  // rounding, the end values are as likely as the inner ones. The top end is
  // the last legal value, not `high`: when the step does not divide the range
  // they differ, and widening from `high` would give the last value more than
  // its share.
  const double half = step > 0 ? step / 2 : 0;
  double lo = low - half;
  double hi = (step > 0 ? NthValue(Cardinality() - 1) : high) + half;
  double x;
  if (log) {
    lo = std::log(std::max(lo, low / 2));
    hi = std::log(hi);
    x = std::exp(lo + u * (hi - lo));
  } else {
    x = lo + u * (hi - lo);
  }
  return Snap(x);
}

double ParamSpec::ToUnit(double x) const {
  if (IsIndexed()) {
    const int64_t n = Cardinality();
    return (x + 0.5) / static_cast<double>(n);
  }
  // The same interval as FromUnit, so that the two are inverses.
  const double half = step > 0 ? step / 2 : 0;
  double lo = low - half;
  double hi = (step > 0 ? NthValue(Cardinality() - 1) : high) + half;
  if (log) {
    lo = std::log(std::max(lo, low / 2));
    hi = std::log(hi);
    x = std::log(x);
  }
  if (hi <= lo) return 0.5;
  return std::clamp((x - lo) / (hi - lo), 0.0, 1.0);
}

int SearchSpace::IndexOf(absl::string_view name) const {
  for (size_t i = 0; i < params_.size(); ++i) {
    if (params_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace hpo
