#include "pruners/common/pruner_util.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace hpo {

Goal FirstGoal(const History& history) {
  return history.goals.empty() ? Goal::kMinimize : history.goals[0];
}

const char* GoalName(Goal goal) {
  return goal == Goal::kMaximize ? "maximize" : "minimize";
}

bool Better(Goal goal, double a, double b) {
  return goal == Goal::kMaximize ? a > b : a < b;
}

Curve CurveUpTo(const TrialRecord& trial, int64_t step) {
  Curve curve;
  for (const auto& point : trial.intermediate) {
    if (point.first > step) break;
    curve.push_back(point);
  }
  return curve;
}

std::optional<double> ValueAt(const TrialRecord& trial, int64_t step) {
  auto it = std::lower_bound(trial.intermediate.begin(),
                             trial.intermediate.end(), step,
                             [](const std::pair<int64_t, double>& p,
                                int64_t s) { return p.first < s; });
  if (it == trial.intermediate.end() || it->first != step) return std::nullopt;
  return it->second;
}

std::optional<std::pair<int64_t, double>> FirstAtOrAfter(
    const TrialRecord& trial, int64_t step) {
  auto it = std::lower_bound(trial.intermediate.begin(),
                             trial.intermediate.end(), step,
                             [](const std::pair<int64_t, double>& p,
                                int64_t s) { return p.first < s; });
  if (it == trial.intermediate.end()) return std::nullopt;
  return *it;
}

double BestOf(const Curve& curve, Goal goal) {
  double best = std::numeric_limits<double>::quiet_NaN();
  for (const auto& [step, value] : curve) {
    if (std::isnan(value)) continue;
    if (std::isnan(best) || Better(goal, value, best)) best = value;
  }
  return best;
}

bool IsFirstInInterval(const Curve& curve, int64_t step, int64_t warmup,
                       int64_t interval) {
  const int64_t check_point = (step - warmup) / interval * interval + warmup;
  // The report before this one; Optuna's -1 when there is none, so that a
  // first report is always checked.
  int64_t previous = -1;
  for (const auto& point : curve) {
    if (point.first != step) previous = std::max(previous, point.first);
  }
  return previous < check_point;
}

double NanPercentile(std::vector<double> values, double q) {
  values.erase(std::remove_if(values.begin(), values.end(),
                              [](double v) { return std::isnan(v); }),
               values.end());
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(values.begin(), values.end());
  const double position = q / 100.0 * static_cast<double>(values.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(position));
  const size_t above = std::min(below + 1, values.size() - 1);
  const double fraction = position - static_cast<double>(below);
  if (fraction == 0) return values[below];
  return values[below] + (values[above] - values[below]) * fraction;
}

std::string Ordinal(int64_t n) {
  const int64_t last_two = n % 100;
  const char* suffix = "th";
  if (last_two < 11 || last_two > 13) {
    switch (n % 10) {
      case 1:
        suffix = "st";
        break;
      case 2:
        suffix = "nd";
        break;
      case 3:
        suffix = "rd";
        break;
      default:
        break;
    }
  }
  return absl::StrCat(n, suffix);
}

}  // namespace hpo
