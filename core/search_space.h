// A search space compiled for the algorithms: plain C++, no protobuf.
//
// A trial's parameters are a std::vector<double> with one coordinate per
// parameter, in the space's order. For ranges the coordinate is the value
// itself; for categorical and discrete parameters it is the index of the chosen
// value.

#ifndef HPO_CORE_SEARCH_SPACE_H_
#define HPO_CORE_SEARCH_SPACE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace hpo {

enum class ParamKind { kDouble, kInt, kCategorical, kDiscrete };

struct ParamSpec {
  std::string name;
  ParamKind kind = ParamKind::kDouble;
  // kDouble and kInt: the inclusive range, the scale, and the step (0 =
  // continuous for kDouble; always >= 1 for kInt).
  double low = 0;
  double high = 0;
  bool log = false;
  double step = 0;
  // kCategorical: the labels.
  std::vector<std::string> categories;
  // kDiscrete: the numbers, as given.
  std::vector<double> values;

  // How many distinct values the parameter can take, or -1 if it is continuous.
  int64_t Cardinality() const;
  // True for categorical and discrete parameters, whose coordinate is an index.
  bool IsIndexed() const {
    return kind == ParamKind::kCategorical || kind == ParamKind::kDiscrete;
  }

  // Maps u in [0, 1] onto the parameter's domain so that a uniform u gives a
  // uniform (log-uniform where `log`) legal value: steps are respected,
  // integers exact, indices in range. Every legal value of a discretized domain
  // is equally likely.
  double FromUnit(double u) const;
  // The inverse of FromUnit for a legal coordinate: where it sits in [0, 1].
  double ToUnit(double coordinate) const;
  // The legal coordinate nearest to `coordinate`.
  double Snap(double coordinate) const;
  // The k-th legal coordinate (0 <= k < Cardinality()), in increasing order.
  double NthValue(int64_t k) const;
};

class SearchSpace {
 public:
  SearchSpace() = default;
  explicit SearchSpace(std::vector<ParamSpec> params)
      : params_(std::move(params)) {}

  const std::vector<ParamSpec>& params() const { return params_; }
  size_t size() const { return params_.size(); }
  const ParamSpec& param(size_t i) const { return params_[i]; }
  // The position of the parameter called `name`, or -1.
  int IndexOf(absl::string_view name) const;

 private:
  std::vector<ParamSpec> params_;
};

}  // namespace hpo

#endif  // HPO_CORE_SEARCH_SPACE_H_
