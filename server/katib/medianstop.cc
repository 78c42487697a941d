#include "server/katib/medianstop.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/number_text.h"

namespace hpo::katib {

absl::StatusOr<MedianStopSettings> ReadMedianStopSettings(
    const google::protobuf::RepeatedPtrField<kapi::EarlyStoppingSetting>&
        settings,
    absl::string_view field) {
  MedianStopSettings out;
  for (int i = 0; i < settings.size(); ++i) {
    const kapi::EarlyStoppingSetting& s = settings[i];
    const std::string where = absl::StrCat(field, "[", i, "] (", s.name(), ")");
    int* target = nullptr;
    int min = 0;
    if (s.name() == "min_trials_required") {
      target = &out.min_trials_required;
      min = 1;
    } else if (s.name() == "start_step") {
      target = &out.start_step;
      min = 1;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": unknown setting \"", s.name(),
          "\" of medianstop (known: min_trials_required, start_step)"));
    }
    int value;
    if (!absl::SimpleAtoi(s.value(), &value)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": \"", s.value(), "\" is not a whole number"));
    }
    if (value < min) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": ", s.name(), " must be >= ", min, ", got ", value));
    }
    *target = value;
  }
  return out;
}

Curve CurveOf(const kapi::ExperimentSpec& spec, const kapi::Trial& trial) {
  Curve curve;
  for (const kapi::Metric& m : trial.status().observation().metrics()) {
    double v;
    if (m.name() == spec.objective().objective_metric_name() &&
        absl::SimpleAtod(m.value(), &v) && std::isfinite(v)) {
      curve.push_back(v);
    }
  }
  return curve;
}

std::vector<kapi::EarlyStoppingRule> MedianStopRules(
    const kapi::ExperimentSpec& spec, const std::vector<Curve>& succeeded,
    const MedianStopSettings& settings) {
  const std::string& objective = spec.objective().objective_metric_name();
  std::vector<double> averages;
  for (const Curve& curve : succeeded) {
    const size_t n =
        std::min(curve.size(), static_cast<size_t>(settings.start_step));
    if (n == 0) continue;
    double sum = 0;
    for (size_t i = 0; i < n; ++i) sum += curve[i];
    averages.push_back(sum / static_cast<double>(n));
  }
  std::vector<kapi::EarlyStoppingRule> rules;
  if (averages.empty() ||
      static_cast<int>(averages.size()) < settings.min_trials_required) {
    return rules;
  }
  std::sort(averages.begin(), averages.end());
  const size_t mid = averages.size() / 2;
  const double median = averages.size() % 2 == 1
                            ? averages[mid]
                            : (averages[mid - 1] + averages[mid]) / 2;
  kapi::EarlyStoppingRule& rule = rules.emplace_back();
  rule.set_name(objective);
  rule.set_value(NumberText(median));
  rule.set_comparison(spec.objective().type() == kapi::MINIMIZE ? kapi::GREATER
                                                                : kapi::LESS);
  rule.set_start_step(settings.start_step);
  return rules;
}

}  // namespace hpo::katib
