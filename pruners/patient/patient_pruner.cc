#include "pruners/patient/patient_pruner.h"

#include <cmath>
#include <cstdint>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "pruners/common/pruner_util.h"

namespace hpo {
namespace {

// What the registry's errors start with (pruners/registry.h).
constexpr absl::string_view kNameField = "early_stopping.name: ";
constexpr absl::string_view kSettingsField = "early_stopping.settings.";

class PatientPruner : public Pruner {
 public:
  PatientPruner(int64_t patience, double min_delta, std::string wrapped_name,
                std::unique_ptr<Pruner> wrapped)
      : patience_(patience),
        min_delta_(min_delta),
        wrapped_name_(std::move(wrapped_name)),
        wrapped_(std::move(wrapped)) {}

  PruneDecision ShouldStop(const History& history, size_t trial,
                           int64_t step) const override {
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
    const size_t window = static_cast<size_t>(patience_) + 1;
    if (curve.size() <= window) {
      return {false, absl::StrCat("the trial has reported ", curve.size(),
                                  " values; patience ", patience_,
                                  " compares the last ", window,
                                  " with at least one before them")};
    }
    const Curve before(curve.begin(), curve.end() - window);
    const Curve last(curve.end() - window, curve.end());
    const double best_before = BestOf(before, goal);
    const double best_last = BestOf(last, goal);
    const std::string steps = last.front().first == last.back().first
                                  ? absl::StrCat("step ", last.back().first)
                                  : absl::StrCat("steps ", last.front().first,
                                                 " to ", last.back().first);
    if (std::isnan(best_before) || std::isnan(best_last)) {
      return {
          false,
          absl::StrCat("the values ", std::isnan(best_last) ? "at " : "before ",
                       steps, " are all NaN, so there is no trend to judge")};
    }
    const bool stalled = goal == Goal::kMaximize
                             ? best_before - min_delta_ > best_last
                             : best_before + min_delta_ < best_last;
    const std::string comparison = absl::StrCat(
        window == 1 ? "the last value"
                    : absl::StrCat("the best of the last ", window, " values"),
        " (", best_last, ", ", steps, ") is ", stalled ? "" : "not ",
        "worse than the best before ", window == 1 ? "it" : "them", " (",
        best_before, ") by more than min_delta ", min_delta_, " (",
        GoalName(goal), ")");
    if (!stalled) return {false, comparison};
    if (wrapped_ == nullptr) return {true, comparison};
    PruneDecision inner = wrapped_->ShouldStop(history, trial, step);
    if (inner.stop) {
      return {true,
              absl::StrCat(comparison, ", and the wrapped ", wrapped_name_,
                           " rule stops it: ", inner.reason)};
    }
    return {false, absl::StrCat(comparison, ", but the wrapped ", wrapped_name_,
                                " rule lets it go on: ", inner.reason)};
  }

  int Bracket(int64_t trial_number) const override {
    return wrapped_ == nullptr ? -1 : wrapped_->Bracket(trial_number);
  }

 private:
  const int64_t patience_;
  const double min_delta_;
  const std::string wrapped_name_;
  const std::unique_ptr<Pruner> wrapped_;
};

// The wrapped rule's error, naming its settings as the user gave them:
// "wrapped.<key>" for its settings, "wrapped" for its name.
absl::Status Prefixed(const Settings& settings, const absl::Status& inner) {
  absl::string_view message = inner.message();
  if (absl::ConsumePrefix(&message, kNameField)) {
    return settings.Invalid("wrapped", message);
  }
  if (absl::ConsumePrefix(&message, kSettingsField)) {
    const size_t colon = message.find(": ");
    if (colon != absl::string_view::npos) {
      return settings.Invalid(
          absl::StrCat("wrapped.", message.substr(0, colon)),
          message.substr(colon + 2));
    }
  }
  return settings.Invalid("wrapped", message);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Pruner>> CreatePatientPruner(
    Settings& settings,
    const std::map<std::string, std::string>& wrapped_settings,
    WrappedPrunerFactory create_wrapped) {
  const bool has_patience = settings.Has("patience");
  absl::StatusOr<int64_t> patience = settings.GetInt("patience", 0);
  if (!patience.ok()) return patience.status();
  if (!has_patience) {
    return settings.Invalid(
        "patience",
        "is required: how many reports a trial may go without improving");
  }
  if (*patience < 0) {
    return settings.Invalid("patience",
                            absl::StrCat("must be >= 0, got ", *patience));
  }
  absl::StatusOr<double> min_delta =
      settings.GetDoubleAtLeast("min_delta", 0, 0);
  if (!min_delta.ok()) return min_delta.status();
  absl::StatusOr<std::string> wrapped_name = settings.GetString("wrapped", "");
  if (!wrapped_name.ok()) return wrapped_name.status();

  std::unique_ptr<Pruner> wrapped;
  if (wrapped_name->empty()) {
    if (!wrapped_settings.empty()) {
      return settings.Invalid(
          absl::StrCat("wrapped.", wrapped_settings.begin()->first),
          "is a setting of the wrapped rule, but no rule is wrapped (set "
          "wrapped to a rule's name)");
    }
  } else {
    absl::StatusOr<std::unique_ptr<Pruner>> inner =
        create_wrapped(*wrapped_name, wrapped_settings);
    if (!inner.ok()) return Prefixed(settings, inner.status());
    wrapped = *std::move(inner);
  }
  return std::make_unique<PatientPruner>(*patience, *min_delta, *wrapped_name,
                                         std::move(wrapped));
}

}  // namespace hpo
