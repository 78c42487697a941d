// Hand-made histories for the rules' tests.

#ifndef HPO_PRUNERS_COMMON_TEST_UTIL_H_
#define HPO_PRUNERS_COMMON_TEST_UTIL_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/history.h"
#include "pruners/common/pruner_util.h"

namespace hpo {
namespace testing_util {

// A trial numbered `number` in `state` with `curve` as its intermediate values;
// completed ones get `final_value` (default: the curve's last value).
inline TrialRecord MakeTrial(int64_t number, TrialState state, Curve curve,
                             std::vector<double> final_value = {}) {
  TrialRecord t;
  t.number = number;
  t.state = state;
  t.intermediate = std::move(curve);
  if (state == TrialState::kCompleted) {
    if (final_value.empty() && !t.intermediate.empty()) {
      final_value = {t.intermediate.back().second};
    }
    t.values = std::move(final_value);
  }
  return t;
}

// The curve (first_step, v0), (first_step + 1, v1), ...
inline Curve Steps(std::vector<double> values, int64_t first_step = 0) {
  Curve curve;
  for (size_t i = 0; i < values.size(); ++i) {
    curve.emplace_back(first_step + static_cast<int64_t>(i), values[i]);
  }
  return curve;
}

// A history with goal `goal` whose trials are numbered in order.
class HistoryBuilder {
 public:
  explicit HistoryBuilder(Goal goal) { history_.goals = {goal}; }

  HistoryBuilder& Add(TrialState state, Curve curve,
                      std::vector<double> final_value = {}) {
    history_.trials.push_back(
        MakeTrial(static_cast<int64_t>(history_.trials.size()), state,
                  std::move(curve), std::move(final_value)));
    return *this;
  }
  HistoryBuilder& Completed(Curve curve) {
    return Add(TrialState::kCompleted, std::move(curve));
  }
  // Adds a running trial; its index is history().trials.size() - 1.
  HistoryBuilder& Running(Curve curve) {
    return Add(TrialState::kRunning, std::move(curve));
  }

  const History& history() const { return history_; }
  History& mutable_history() { return history_; }
  size_t last() const { return history_.trials.size() - 1; }

 private:
  History history_;
};

}  // namespace testing_util
}  // namespace hpo

#endif  // HPO_PRUNERS_COMMON_TEST_UTIL_H_
