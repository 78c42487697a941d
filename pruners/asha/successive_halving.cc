#include "pruners/asha/successive_halving.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "pruners/common/pruner_util.h"

namespace hpo {

int64_t RungStep(int64_t min_resource, double reduction_factor, int64_t rate,
                 int64_t rung) {
  const double exact =
      static_cast<double>(min_resource) *
      std::pow(reduction_factor, static_cast<double>(rate + rung));
  // Past 2^62 no step can reach it anyway; stay clear of the conversion's
  // undefined range.
  if (!(exact < 4.6e18)) return std::numeric_limits<int64_t>::max();
  // pow is not exact: 3^4 may come out a hair above 81, which must not make
  // the rung step 82.
  return static_cast<int64_t>(std::ceil(exact * (1 - 1e-12)));
}

std::optional<int64_t> EstimateMinResource(const History& history,
                                           size_t* first) {
  for (size_t i = 0; i < history.trials.size(); ++i) {
    const TrialRecord& t = history.trials[i];
    if (t.state == TrialState::kCompleted && !t.intermediate.empty()) {
      if (first != nullptr) *first = i;
      return std::max<int64_t>(t.intermediate.back().first / 100, 1);
    }
  }
  return std::nullopt;
}

PruneDecision SuccessiveHalvingDecision(
    const SuccessiveHalvingOptions& options, const History& history,
    size_t trial, int64_t step,
    const std::function<bool(const TrialRecord&)>& competes) {
  if (trial >= history.trials.size()) {
    return {false, absl::StrCat("trial index ", trial, " is not in the ",
                                history.trials.size(), "-trial history")};
  }
  const Goal goal = FirstGoal(history);
  const Curve curve = CurveUpTo(history.trials[trial], step);
  if (curve.empty() || curve.back().first != step) {
    return {false, absl::StrCat("the trial reported no value at step ", step,
                                ", so there is nothing to judge")};
  }
  int64_t min_resource = options.min_resource;
  // With "auto", the trials up to the one that fixed min_resource, whose
  // reports came before any could be judged (see the header).
  size_t unjudged_end = 0;
  if (min_resource == 0) {
    size_t first = 0;
    std::optional<int64_t> estimate = EstimateMinResource(history, &first);
    unjudged_end = first + 1;
    if (!estimate.has_value()) {
      return {false,
              "min_resource is auto and no trial has completed yet, so the "
              "rungs are not known"};
    }
    min_resource = *estimate;
  }
  const double value = curve.back().second;
  // Rungs the previous report already reached were judged then; with no
  // previous report, none were.
  const int64_t previous = curve.size() >= 2
                               ? curve[curve.size() - 2].first
                               : std::numeric_limits<int64_t>::min();

  std::vector<std::string> passed;
  std::string next;
  for (int64_t rung = 0;; ++rung) {
    const int64_t rung_step = RungStep(min_resource, options.reduction_factor,
                                       options.min_early_stopping_rate, rung);
    if (options.max_resource > 0 && rung_step >= options.max_resource) {
      next = absl::StrCat("no rung is left below max_resource ",
                          options.max_resource);
      break;
    }
    if (rung_step > step) {
      next =
          absl::StrCat("the next rung is rung ", rung, " at step ", rung_step);
      break;
    }
    if (previous >= rung_step) continue;

    const std::string at =
        absl::StrCat("rung ", rung, " (step ", rung_step, ")");
    if (std::isnan(value)) {
      return {true, absl::StrCat("the value at step ", step,
                                 ", the trial's value at ", at, ", is NaN")};
    }
    std::vector<double> competing = {value};
    for (size_t i = unjudged_end; i < history.trials.size(); ++i) {
      if (i == trial || !competes(history.trials[i])) continue;
      std::optional<std::pair<int64_t, double>> reached =
          FirstAtOrAfter(history.trials[i], rung_step);
      if (reached.has_value() && !std::isnan(reached->second)) {
        competing.push_back(reached->second);
      }
    }
    const int64_t n = static_cast<int64_t>(competing.size());
    if (n <= options.bootstrap_count) {
      return {true, absl::StrCat("only ", n,
                                 " trials (this one included) have reached ",
                                 at, ", not more than bootstrap_count ",
                                 options.bootstrap_count)};
    }
    // The tiny margin keeps 9 / 3 from flooring to 2.
    const int64_t keep = std::max<int64_t>(
        1, static_cast<int64_t>(std::floor(
               static_cast<double>(n) / options.reduction_factor + 1e-9)));
    std::sort(competing.begin(), competing.end(),
              [goal](double a, double b) { return Better(goal, a, b); });
    const double cutoff = competing[keep - 1];
    const bool promoted = !Better(goal, cutoff, value);
    const std::string standing =
        absl::StrCat("among the best ", keep, " of the ", n, " values at ", at,
                     " (", GoalName(goal), ", cutoff ", cutoff, ")");
    if (!promoted) {
      return {true,
              absl::StrCat(value, " at step ", step, " is not ", standing)};
    }
    passed.push_back(standing);
  }
  if (!passed.empty()) {
    std::string reason = absl::StrCat(value, " at step ", step, " is");
    for (size_t i = 0; i < passed.size(); ++i) {
      absl::StrAppend(&reason, i == 0 ? " " : " and ", passed[i]);
    }
    absl::StrAppend(&reason, "; ", next);
    return {false, reason};
  }
  return {false, absl::StrCat("step ", step,
                              " reaches no rung not already judged; ", next)};
}

}  // namespace hpo
