#include "pruners/common/pruner_util.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/ascii.h"
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

namespace {

// Finds which of `keys` is set; reads them all so that each counts as known.
template <typename T, typename Get>
absl::StatusOr<Aliased<T>> GetAliased(
    Settings& settings, std::initializer_list<absl::string_view> keys,
    T fallback, Get get) {
  Aliased<T> out{fallback, std::string(*keys.begin()), false};
  for (absl::string_view key : keys) {
    const bool given = settings.Has(key);
    absl::StatusOr<T> value = get(key, fallback);
    if (!value.ok()) return value.status();
    if (!given) continue;
    if (out.given) {
      return settings.Invalid(key, absl::StrCat("is an alias of ", out.key,
                                                "; give only one of them"));
    }
    out = Aliased<T>{*value, std::string(key), true};
  }
  return out;
}

}  // namespace

absl::StatusOr<Aliased<int64_t>> GetIntAliased(
    Settings& settings, std::initializer_list<absl::string_view> keys,
    int64_t fallback) {
  return GetAliased<int64_t>(settings, keys, fallback,
                             [&](absl::string_view key, int64_t f) {
                               return settings.GetInt(key, f);
                             });
}

absl::StatusOr<Aliased<double>> GetDoubleAliased(
    Settings& settings, std::initializer_list<absl::string_view> keys,
    double fallback) {
  return GetAliased<double>(settings, keys, fallback,
                            [&](absl::string_view key, double f) {
                              return settings.GetDouble(key, f);
                            });
}

absl::Status CheckOptimizeMode(Settings& settings) {
  absl::StatusOr<std::string> mode =
      settings.GetString("optimize_mode", "maximize");
  if (!mode.ok()) return mode.status();
  const std::string lower = absl::AsciiStrToLower(*mode);
  if (lower != "minimize" && lower != "maximize") {
    return settings.Invalid(
        "optimize_mode",
        absl::StrCat(
            "must be minimize or maximize, got \"", *mode,
            "\" (the experiment's objective goal decides the direction)"));
  }
  return absl::OkStatus();
}

}  // namespace hpo
