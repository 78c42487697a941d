// A search space compiled for the algorithms: plain C++, no protobuf.
//
// A trial's parameters are a std::vector<double> with one coordinate per
// parameter, in the space's order. For ranges the coordinate is the value
// itself; for categorical and discrete parameters it is the index of the chosen
// value. A conditional parameter that is not active in a trial has the
// coordinate kInactive (a NaN).
//
// Every parameter also maps to the unit interval (FromUnit/ToUnit) so that a
// uniform u gives a draw from the parameter's prior: uniform, log-uniform,
// normal or log-normal. Samplers that work in the unit cube get the priors,
// steps and quantization for free.

#ifndef HPO_CORE_SEARCH_SPACE_H_
#define HPO_CORE_SEARCH_SPACE_H_

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace hpo {

// The coordinate of a conditional parameter that is not active.
inline constexpr double kInactive = std::numeric_limits<double>::quiet_NaN();
inline bool IsInactive(double coordinate) { return std::isnan(coordinate); }

enum class ParamKind { kDouble, kInt, kCategorical, kDiscrete };

// The prior of a numeric parameter, of its value or, with `log`, of its log.
enum class Prior { kUniform, kNormal };

struct ParamSpec {
  std::string name;
  ParamKind kind = ParamKind::kDouble;
  // kDouble and kInt: the inclusive range (kDouble with a normal prior may be
  // unbounded: -inf/+inf), the scale, and the step (0 = continuous for
  // kDouble; always >= 1 for kInt). Steps count from `low`.
  double low = 0;
  double high = 0;
  bool log = false;
  double step = 0;
  // NNI's quantization, for kDouble: clip(round_half_even(x / q) * q, low,
  // high). Unlike `step` it counts from 0.
  double q = 0;
  // The prior; for kNormal, of mean `mu` and deviation `sigma` (of log(value)
  // when `log`), truncated to [low, high].
  Prior prior = Prior::kUniform;
  double mu = 0;
  double sigma = 1;
  // kCategorical: the labels.
  std::vector<std::string> categories;
  // kDiscrete: the numbers, as given.
  std::vector<double> values;
  // Conditional parameters: active only while the parameter at index `parent`
  // (always an earlier one) is active and its coordinate is one of
  // `parent_values`. -1: always active.
  int parent = -1;
  std::vector<double> parent_values;

  // How many distinct values the parameter can take, or -1 if it is
  // continuous (or unbounded).
  int64_t Cardinality() const;
  // True for categorical and discrete parameters, whose coordinate is an index.
  bool IsIndexed() const {
    return kind == ParamKind::kCategorical || kind == ParamKind::kDiscrete;
  }

  // Maps u in [0, 1] onto the parameter's domain so that a uniform u gives a
  // draw from the prior, made legal: steps and quantization respected, integers
  // exact, indices in range. With a step and a uniform prior every legal value
  // is equally likely.
  double FromUnit(double u) const;
  // The inverse of FromUnit for a legal coordinate: where it sits in [0, 1].
  double ToUnit(double coordinate) const;
  // The legal coordinate nearest to `coordinate`.
  double Snap(double coordinate) const;
  // The k-th legal coordinate (0 <= k < Cardinality()), in increasing order.
  double NthValue(int64_t k) const;
  // True if `coordinate` is a legal coordinate of this parameter.
  bool Contains(double coordinate) const;
};

// Field by field (doubles by value, so a NaN field is never equal).
bool operator==(const ParamSpec& a, const ParamSpec& b);
inline bool operator!=(const ParamSpec& a, const ParamSpec& b) {
  return !(a == b);
}

class SearchSpace {
 public:
  SearchSpace() = default;
  // Every parameter's `parent` must be an earlier index.
  explicit SearchSpace(std::vector<ParamSpec> params)
      : params_(std::move(params)) {}

  const std::vector<ParamSpec>& params() const { return params_; }
  size_t size() const { return params_.size(); }
  const ParamSpec& param(size_t i) const { return params_[i]; }
  // The position of the parameter called `name`, or -1.
  int IndexOf(absl::string_view name) const;

  // True if any parameter is conditional.
  bool HasConditions() const;
  // Whether parameter `i` is active given the coordinates of the parameters
  // before it (later ones are not read).
  bool IsActive(size_t i, const std::vector<double>& coordinates) const;
  // Sets every parameter that is not active to kInactive; leaves the others.
  void MaskInactive(std::vector<double>& coordinates) const;

  friend bool operator==(const SearchSpace& a, const SearchSpace& b) {
    return a.params_ == b.params_;
  }
  friend bool operator!=(const SearchSpace& a, const SearchSpace& b) {
    return !(a == b);
  }

 private:
  std::vector<ParamSpec> params_;
};

}  // namespace hpo

#endif  // HPO_CORE_SEARCH_SPACE_H_
