// Internal to spec_import: one converter per foreign format. Each reads a
// parsed document (an object) and fills in `experiment`, or returns
// INVALID_ARGUMENT whose message starts with the path of the offending field
// inside the document. README.md in this folder has the mapping tables.

#ifndef HPO_SERVER_IMPORT_IMPORTERS_H_
#define HPO_SERVER_IMPORT_IMPORTERS_H_

#include "absl/status/status.h"
#include "hpo/v1/hpo.pb.h"
#include "server/import/yaml_field.h"

namespace hpo {
namespace import_internal {

// An NNI search space, an NNI experiment config, or a T9k AutoTuneExperiment.
absl::Status ImportNni(const Field& root, v1::Experiment* experiment);

// A Katib Experiment, or its spec.
absl::Status ImportKatib(const Field& root, v1::Experiment* experiment);

// A Kruize HPO search_space, or an EXP_TRIAL_GENERATE_NEW request holding one.
absl::Status ImportKruize(const Field& root, v1::Experiment* experiment);

}  // namespace import_internal
}  // namespace hpo

#endif  // HPO_SERVER_IMPORT_IMPORTERS_H_
