// Converts an experiment written for another HPO system (an ImportSpec) into
// an hpo Experiment. Formats:
//   "nni"    an NNI search space, an NNI experiment config with an inline
//            search space, or a T9k AutoTuneExperiment;
//   "katib"  a Katib Experiment (kubeflow.org/v1beta1), or just its spec;
//   "kruize" a Kruize HPO search_space, or an EXP_TRIAL_GENERATE_NEW request.
// Content may be JSON or YAML. server/import/README.md has the field-by-field
// mapping of each format.
//
// The result is not validated: CreateExperiment merges the caller's own
// Experiment fields over it and then runs ValidateExperiment, so a bad name or
// an empty search space is reported there, with the Experiment's field paths.

#ifndef HPO_SERVER_IMPORT_SPEC_IMPORT_H_
#define HPO_SERVER_IMPORT_SPEC_IMPORT_H_

#include "absl/status/statusor.h"
#include "hpo/v1/hpo.pb.h"

namespace hpo {

// INVALID_ARGUMENT when the spec cannot be converted. The message starts with
// the path of the bad field inside the foreign document, e.g.
//   import_spec.content: spec.parameters[2].feasibleSpace.max: "abc" is not a
//   number import_spec.content: line 3, column 7: end of map not found
//   import_spec.format: unknown format "foo" (known: katib, kruize, nni)
// ImportSpec.name, when set, becomes the experiment's name.
absl::StatusOr<v1::Experiment> ImportExperiment(const v1::ImportSpec& spec);

}  // namespace hpo

#endif  // HPO_SERVER_IMPORT_SPEC_IMPORT_H_
