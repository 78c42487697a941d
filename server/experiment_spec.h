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
#include "google/protobuf/map.h"
#include "google/protobuf/struct.pb.h"
#include "hpo/v1/hpo.pb.h"

namespace hpo {

// The algorithm an experiment gets when it names none.
inline constexpr char kDefaultAlgorithm[] = "auto";

using ParamMap = google::protobuf::Map<std::string, google::protobuf::Value>;

// `field`: the name's path for messages, e.g. "name" or "experiment".
absl::Status ValidateExperimentName(absl::string_view name,
                                    absl::string_view field);

// Checks a new experiment's name, search space (ranges, distributions,
// conditions), objectives and limits; not its algorithm, which the sampler
// registry checks. `field` prefixes every message.
absl::Status ValidateExperiment(const v1::Experiment& experiment,
                                absl::string_view field = "experiment");

// The search space of a valid experiment. Parameters are reordered so that
// every parent comes before its children; otherwise they keep their order.
SearchSpace CompileSearchSpace(const v1::Experiment& experiment);
// One goal per objective.
std::vector<Goal> Goals(const v1::Experiment& experiment);

// A trial's parameters as the API shows them: numbers for ranges and discrete
// values, strings for categorical ones; inactive parameters left out.
void ParamsToProto(const SearchSpace& space,
                   const std::vector<double>& coordinates, v1::Trial* trial);
// The coordinates of a stored trial's parameters; DATA_LOSS if they do not fit
// the space.
absl::StatusOr<std::vector<double>> ParamsFromProto(const SearchSpace& space,
                                                    const v1::Trial& trial);

// Parameters given by a user (AddTrial, EnqueueTrial), checked against the
// space: known names, legal values, only active parameters. Missing active
// parameters are an error if `require_all`; otherwise their coordinate is
// kInactive and `given` (if not null) says which were given. Messages name
// `field`, e.g. `parameters["lr"]: ...`.
absl::StatusOr<std::vector<double>> ParamsFromUser(const SearchSpace& space,
                                                   const ParamMap& params,
                                                   bool require_all,
                                                   std::vector<bool>* given,
                                                   absl::string_view field);

// The algorithms' view of a stored trial.
absl::StatusOr<TrialRecord> ToTrialRecord(const SearchSpace& space,
                                          const v1::Experiment& experiment,
                                          const v1::Trial& trial);

// Checks reported metrics against the experiment: finite values with non-empty
// names, and every objective present unless the trial failed.
absl::Status ValidateMetrics(
    const v1::Experiment& experiment,
    const google::protobuf::Map<std::string, double>& metrics, bool failed);
absl::Status ValidateReport(const v1::Experiment& experiment,
                            const v1::ReportResultRequest& request);

}  // namespace hpo

#endif  // HPO_SERVER_EXPERIMENT_SPEC_H_
