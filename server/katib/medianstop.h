// Katib's medianstop early-stopping rule, in the shape Katib's controller
// takes: one EarlyStoppingRule (the objective, a value, a comparison and a
// start step) that the metrics collector checks each new value against.

#ifndef HPO_SERVER_KATIB_MEDIANSTOP_H_
#define HPO_SERVER_KATIB_MEDIANSTOP_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api.pb.h"

namespace hpo::katib {

namespace kapi = ::api::v1::beta1;

// Katib's settings, with Katib's defaults.
struct MedianStopSettings {
  int min_trials_required = 3;  // succeeded trials before any rule
  int start_step = 4;           // values averaged, and the first step judged
};

// The settings of an EarlyStoppingSpec. INVALID_ARGUMENT naming `field` and
// the setting: an unknown name, a value that is not a whole number, or one
// out of range (min_trials_required > 0, start_step >= 1).
absl::StatusOr<MedianStopSettings> ReadMedianStopSettings(
    const google::protobuf::RepeatedPtrField<kapi::EarlyStoppingSetting>&
        settings,
    absl::string_view field);

// A trial's objective values, in the order they were reported.
using Curve = std::vector<double>;

// The objective's values that a listed trial's observation carries, in the
// order listed (Katib's controller sends one, the latest or the best; a
// caller may send the whole curve).
Curve CurveOf(const kapi::ExperimentSpec& spec, const kapi::Trial& trial);

// The rule for the curves of the SUCCEEDED trials: each averaged over its
// first start_step values; once min_trials_required trials have such an
// average, their median is the value a running trial must not fall below
// (LESS, when maximizing) or rise above (GREATER) from start_step on. No rule
// before that. Katib's own service averages the averages; the median is what
// the rule's name and its documentation say, and one outlier cannot move it.
std::vector<kapi::EarlyStoppingRule> MedianStopRules(
    const kapi::ExperimentSpec& spec, const std::vector<Curve>& succeeded,
    const MedianStopSettings& settings);

}  // namespace hpo::katib

#endif  // HPO_SERVER_KATIB_MEDIANSTOP_H_
