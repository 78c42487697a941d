// Checks and conversions between the API's messages and the algorithms' plain
// types. Every check returns INVALID_ARGUMENT with a message that starts with
// the path of the offending field, e.g.
// "experiment.parameters[2].double_range.min: ...".

#ifndef HPO_SERVER_EXPERIMENT_SPEC_H_
#define HPO_SERVER_EXPERIMENT_SPEC_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/history.h"
#include "core/search_space.h"
#include "hpo/v1/hpo.pb.h"

namespace hpo {

// The algorithm an experiment gets when it names none.
inline constexpr char kDefaultAlgorithm[] = "random";

// `field`: the name's path for messages, e.g. "name" or "experiment".
absl::Status ValidateExperimentName(absl::string_view name,
                                    absl::string_view field);

// Checks a new experiment's name, search space, objectives and limits (not its
// algorithm, which the sampler registry checks). `field` prefixes every
// message.
absl::Status ValidateExperiment(const v1::Experiment& experiment,
                                absl::string_view field = "experiment");

// The search space of a valid experiment.
SearchSpace CompileSearchSpace(const v1::Experiment& experiment);
// One goal per objective.
std::vector<Goal> Goals(const v1::Experiment& experiment);

// A trial's parameters as the API shows them: numbers for ranges and discrete
// values, strings for categorical ones.
void ParamsToProto(const SearchSpace& space,
                   const std::vector<double>& coordinates, v1::Trial* trial);
// The coordinates of a stored trial's parameters; DATA_LOSS if they do not fit
// the space.
absl::StatusOr<std::vector<double>> ParamsFromProto(const SearchSpace& space,
                                                    const v1::Trial& trial);

// The algorithms' view of a stored trial.
absl::StatusOr<TrialRecord> ToTrialRecord(const SearchSpace& space,
                                          const v1::Experiment& experiment,
                                          const v1::Trial& trial);

// Checks a ReportResult against the experiment: finite metrics with non-empty
// names, and every objective present unless the trial failed.
absl::Status ValidateReport(const v1::Experiment& experiment,
                            const v1::ReportResultRequest& request);

}  // namespace hpo

#endif  // HPO_SERVER_EXPERIMENT_SPEC_H_
