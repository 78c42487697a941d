#include "core/search_space.h"

#include <algorithm>
#include <cmath>

#include "core/normal.h"

namespace hpo {
namespace {

// Number of legal values of a stepped range, counting both ends.
int64_t StepCount(double low, double high, double step) {
  return static_cast<int64_t>(std::floor((high - low) / step + 1e-9)) + 1;
}

bool Bounded(const ParamSpec& p) {
  return std::isfinite(p.low) && std::isfinite(p.high);
}

// The continuous interval FromUnit draws from, in the transformed (log where
// `log`) space. Stepped ranges widen by half a step at each end so that, after
// rounding, the end values are as likely as the inner ones. The top end is the
// last legal value, not `high`: when the step does not divide the range they
// differ, and widening from `high` would give the last value more than its
// share.
struct Interval {
  double lo;
  double hi;
};

Interval DrawInterval(const ParamSpec& p) {
  const double half = p.step > 0 ? p.step / 2 : 0;
  double lo = p.low - half;
  double hi = (p.step > 0 ? p.NthValue(p.Cardinality() - 1) : p.high) + half;
  if (p.log) {
    lo = std::log(std::max(lo, p.low / 2));
    hi = std::log(hi);
  }
  return {lo, hi};
}

double Transform(const ParamSpec& p, double x) {
  return p.log ? std::log(x) : x;
}
double Untransform(const ParamSpec& p, double t) {
  return p.log ? std::exp(t) : t;
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
      if (!Bounded(*this)) return -1;
      if (step > 0) return StepCount(low, high, step);
      if (q > 0) {
        return static_cast<int64_t>(std::nearbyint(high / q) -
                                    std::nearbyint(low / q)) +
               1;
      }
      return -1;
  }
  return -1;
}

double ParamSpec::NthValue(int64_t k) const {
  if (IsIndexed()) return static_cast<double>(k);
  if (q > 0 && step <= 0) {
    return std::clamp((std::nearbyint(low / q) + static_cast<double>(k)) * q,
                      low, high);
  }
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
  } else if (q > 0) {
    // std::nearbyint rounds half to even under the default rounding mode, as
    // NNI's numpy-based quantization does.
    x = std::clamp(std::nearbyint(x / q) * q, low, high);
  }
  return x;
}

bool ParamSpec::Contains(double x) const {
  if (!std::isfinite(x)) return false;
  if (IsIndexed()) {
    return x == std::round(x) && x >= 0 &&
           x < static_cast<double>(Cardinality());
  }
  if (x < low || x > high) return false;
  return std::abs(Snap(x) - x) <= 1e-9 * std::max(1.0, std::abs(x));
}

double ParamSpec::FromUnit(double u) const {
  u = std::clamp(u, 0.0, 1.0);
  if (IsIndexed()) {
    const int64_t n = Cardinality();
    return static_cast<double>(
        std::min<int64_t>(static_cast<int64_t>(u * n), n - 1));
  }
  const Interval in = DrawInterval(*this);
  double t;
  if (prior == Prior::kNormal) {
    // A normal truncated to the interval, by inverting its CDF.
    const double a = NormalCdf((in.lo - mu) / sigma);
    const double b = NormalCdf((in.hi - mu) / sigma);
    if (b - a < 1e-300) {
      t = std::clamp(mu, in.lo, in.hi);
    } else {
      const double p = std::clamp(a + u * (b - a), 1e-300, 1 - 1e-16);
      t = mu + sigma * NormalQuantile(p);
    }
  } else {
    t = in.lo + u * (in.hi - in.lo);
  }
  return Snap(Untransform(*this, t));
}

double ParamSpec::ToUnit(double x) const {
  if (IsIndexed()) {
    const int64_t n = Cardinality();
    return (x + 0.5) / static_cast<double>(n);
  }
  const Interval in = DrawInterval(*this);
  const double t = Transform(*this, x);
  if (prior == Prior::kNormal) {
    const double a = NormalCdf((in.lo - mu) / sigma);
    const double b = NormalCdf((in.hi - mu) / sigma);
    if (b - a < 1e-300) return 0.5;
    return std::clamp((NormalCdf((t - mu) / sigma) - a) / (b - a), 0.0, 1.0);
  }
  if (in.hi <= in.lo) return 0.5;
  return std::clamp((t - in.lo) / (in.hi - in.lo), 0.0, 1.0);
}

bool operator==(const ParamSpec& a, const ParamSpec& b) {
  return a.name == b.name && a.kind == b.kind && a.low == b.low &&
         a.high == b.high && a.log == b.log && a.step == b.step && a.q == b.q &&
         a.prior == b.prior && a.mu == b.mu && a.sigma == b.sigma &&
         a.categories == b.categories && a.values == b.values &&
         a.parent == b.parent && a.parent_values == b.parent_values;
}

int SearchSpace::IndexOf(absl::string_view name) const {
  for (size_t i = 0; i < params_.size(); ++i) {
    if (params_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

bool SearchSpace::HasConditions() const {
  return std::any_of(params_.begin(), params_.end(),
                     [](const ParamSpec& p) { return p.parent >= 0; });
}

bool SearchSpace::IsActive(size_t i,
                           const std::vector<double>& coordinates) const {
  const ParamSpec& p = params_[i];
  if (p.parent < 0) return true;
  const double parent = coordinates[static_cast<size_t>(p.parent)];
  if (IsInactive(parent)) return false;
  return std::find(p.parent_values.begin(), p.parent_values.end(), parent) !=
         p.parent_values.end();
}

void SearchSpace::MaskInactive(std::vector<double>& coordinates) const {
  // Parents come first, so a parent is masked before its children are asked.
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!IsActive(i, coordinates)) coordinates[i] = kInactive;
  }
}

}  // namespace hpo
