// What the early-stopping rules share: reading a trial's learning curve out of
// the history, and Optuna's percentile and interval arithmetic. (Settings that
// go by several names, Optuna's, Katib's, NNI's and Ray Tune's, are read with
// Settings::GetIntAliased and its kin.)

#ifndef HPO_PRUNERS_COMMON_PRUNER_UTIL_H_
#define HPO_PRUNERS_COMMON_PRUNER_UTIL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/history.h"

namespace hpo {

// (step, value) pairs, steps ascending: TrialRecord::intermediate.
using Curve = std::vector<std::pair<int64_t, double>>;

// The first objective's goal; minimize when the history names none.
Goal FirstGoal(const History& history);

// "maximize" or "minimize", for reasons.
const char* GoalName(Goal goal);

// Whether `a` is strictly better than `b` under `goal`; false if either is
// NaN.
bool Better(Goal goal, double a, double b);

// The trial's intermediate values at steps <= `step`.
Curve CurveUpTo(const TrialRecord& trial, int64_t step);

// The value the trial reported at exactly `step`, if any.
std::optional<double> ValueAt(const TrialRecord& trial, int64_t step);

// The value the trial reported at its first step >= `step`, if any: what it
// showed when it got that far.
std::optional<std::pair<int64_t, double>> FirstAtOrAfter(
    const TrialRecord& trial, int64_t step);

// The best non-NaN value of `curve` under `goal` (numpy's nanmax/nanmin); NaN
// when there is none.
double BestOf(const Curve& curve, Goal goal);

// Optuna's interval rule: with `curve` ending at `step`, whether this report
// is the first one at or after the latest check point
// warmup + k * interval <= step. (A trial reporting every step is checked at
// warmup, warmup + interval, ...; one that skips a check point is checked at
// its next report.) Requires step >= warmup, interval >= 1.
bool IsFirstInInterval(const Curve& curve, int64_t step, int64_t warmup,
                       int64_t interval);

// numpy.nanpercentile with linear interpolation: the q-th percentile
// (0 <= q <= 100) of the non-NaN values; NaN when there are none.
double NanPercentile(std::vector<double> values, double q);

// "1st", "2nd", "3rd", "4th", ..., "11th", "21st".
std::string Ordinal(int64_t n);

}  // namespace hpo

#endif  // HPO_PRUNERS_COMMON_PRUNER_UTIL_H_
