// Katib's suggestion-API messages (package api.v1.beta1) in hpo's terms and
// back: which hpo experiment a Katib experiment is, its spec as the Katib
// Experiment that hpo's importer reads, trial names, parameter values and
// what a listed trial's condition means. Plain functions, no calls: the
// service (katib_service.h) makes the calls.

#ifndef HPO_SERVER_KATIB_TRANSLATE_H_
#define HPO_SERVER_KATIB_TRANSLATE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api.pb.h"
#include "google/protobuf/map.h"
#include "google/protobuf/struct.pb.h"
#include "hpo/v1/hpo.pb.h"

namespace hpo::katib {

namespace kapi = ::api::v1::beta1;

using Params = google::protobuf::Map<std::string, google::protobuf::Value>;

// A 64-bit FNV-1a hash of the spec's deterministic serialization, leaving
// out what Katib lets a user edit on a running experiment (maxTrialCount,
// parallelTrialCount): any other change of the spec makes a new hpo
// experiment.
uint64_t SpecHash(const kapi::ExperimentSpec& spec);

// The hpo experiment serving a Katib experiment: its name (sanitized to hpo's
// alphabet, cut to fit) and 12 hex digits of SpecHash, at most 63 characters.
std::string ExperimentName(const kapi::Experiment& experiment);

// The CreateExperiment request for it: the spec written as the Katib
// Experiment document hpo's importer reads (import_spec, format "katib"), so
// types, distributions, algorithm names and settings map exactly as for an
// imported Katib YAML. Katib, not hpo, counts trials (it asks for exactly as
// many as it will run), so max_trials and parallel_trials stay unset; its
// controller never heartbeats, so the lease lasts a year. INVALID_ARGUMENT
// naming the field (`experiment.spec....`) for what the YAML cannot say.
absl::StatusOr<v1::CreateExperimentRequest> CreateRequest(
    const kapi::Experiment& experiment);

// An importer's or CreateExperiment's message with its "import_spec.content: "
// prefix dropped: what follows is the path in the Katib Experiment
// ("spec.parameters[0].feasibleSpace.min: ..."), which the user wrote.
std::string KatibMessage(absl::string_view message);

// What tells one hpo experiment of a Katib experiment from another of the
// same name and spec: its creation time. A server that lost its database
// makes a new one, whose trial numbers start again; the names of its trials
// must not be those of the Trials Katib already has.
std::string Incarnation(const v1::Experiment& experiment);

// The name hpo gives the Katib Trial of hpo trial `number`: the experiment's
// name, 8 hex digits of a hash of the hpo experiment's name (so of the spec)
// and incarnation, and the number. A DNS-1123 label of at most 63 characters
// (Katib names the Trial and its Job after it).
std::string TrialName(const kapi::Experiment& experiment,
                      absl::string_view incarnation, int number);

// The hpo trial number of a Trial named by TrialName for this experiment,
// spec and incarnation, or nullopt for any other name.
std::optional<int> TrialNumber(const kapi::Experiment& experiment,
                               absl::string_view incarnation,
                               absl::string_view trial_name);

// A Katib trial's parameter assignments as hpo parameter values: numbers for
// DOUBLE, INT and DISCRETE, text for CATEGORICAL. INVALID_ARGUMENT naming
// `field` and the assignment for an unknown name or a value that is not a
// number.
absl::StatusOr<Params> ParamsFromAssignments(
    const kapi::ExperimentSpec& spec,
    const google::protobuf::RepeatedPtrField<kapi::ParameterAssignment>&
        assignments,
    absl::string_view field);

// An hpo trial's parameters as Katib's assignments, in the spec's parameter
// order: INT as an integer, DISCRETE as the list's own text of the value
// ("0.50" stays "0.50"), DOUBLE as the shortest text that reads back exactly.
std::vector<kapi::ParameterAssignment> AssignmentsFromParams(
    const kapi::ExperimentSpec& spec, const Params& params);

// What a Trial listed in GetSuggestionsRequest says happened to it.
struct TrialOutcome {
  enum Kind {
    kRunning,    // CREATED, RUNNING, UNKNOWN: its parameters are taken
    kCompleted,  // SUCCEEDED with the objective's value
    kPruned,     // EARLYSTOPPED with the objective's value
    kFailed,     // FAILED, KILLED, METRICSUNAVAILABLE, or no objective value
  };
  Kind kind = kRunning;
  // The observation's metrics that read as finite numbers (the objective's
  // among them for kCompleted and kPruned).
  std::map<std::string, double> metrics;
  std::string reason;  // for kFailed
};
TrialOutcome OutcomeOf(const kapi::ExperimentSpec& spec,
                       const kapi::Trial& trial);

// A parameter set's identity: its values in name order, for matching Katib
// trials with the hpo trials recorded for them.
std::string ParamsKey(const Params& params);

}  // namespace hpo::katib

#endif  // HPO_SERVER_KATIB_TRANSLATE_H_
