// The names other HPO systems give hpo's algorithms: one table that every
// importer and every endpoint speaking another system's API reads, so that
// they cannot drift apart.

#ifndef HPO_SERVER_IMPORT_FOREIGN_NAMES_H_
#define HPO_SERVER_IMPORT_FOREIGN_NAMES_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace hpo {

// A setting of another system's that hpo's algorithm names differently.
struct ForeignSetting {
  absl::string_view name;  // as the other system spells it
  // hpo's setting; empty: accepted and dropped (hpo has no such choice).
  absl::string_view hpo;
  // The other system's values and hpo's for them; empty: taken as they are.
  // Listed values are the only ones accepted.
  std::vector<std::pair<absl::string_view, absl::string_view>> values = {};
};

// What another system's algorithm name becomes in hpo: an algorithm and its
// settings.
struct ForeignAlgorithm {
  absl::string_view name;       // as the other system spells it
  absl::string_view algorithm;  // hpo's algorithm (samplers/registry.cc)
  std::vector<std::pair<std::string, std::string>> settings;
  // Set where the other system's "algorithm" is a sampler plus an
  // early-stopping rule (Katib's hyperband): hpo's rule, which then takes the
  // algorithm's settings.
  absl::string_view early_stopping = {};
  // Set for a name hpo knows but cannot serve: why, for the error message.
  absl::string_view unsupported = {};
  // Its settings that hpo's algorithm spells differently (the others are
  // passed on as they are: the samplers know most foreign names as aliases).
  std::vector<ForeignSetting> setting_names = {};
};

// Kruize HPO's hpo_algo_impl values (all Optuna samplers in Kruize), and the
// names Kruize's older releases and Optuna's own spelling use.
const std::vector<ForeignAlgorithm>& KruizeAlgorithms();

// Katib's algorithmName values (kubeflow.org/v1beta1 Experiments and its
// suggestion API), the neural-architecture-search and population-based ones
// marked unsupported. Other names are hpo's own (auto, gp, anneal, ...).
const std::vector<ForeignAlgorithm>& KatibAlgorithms();

// Katib's early-stopping algorithmName values.
const std::vector<ForeignAlgorithm>& KatibEarlyStopping();

// The entry named `name`, or nullptr.
const ForeignAlgorithm* FindForeignAlgorithm(
    const std::vector<ForeignAlgorithm>& table, absl::string_view name);

// The entry of `algorithm` for setting `name`, or nullptr.
const ForeignSetting* FindForeignSetting(const ForeignAlgorithm& algorithm,
                                         absl::string_view name);

// "a, b, c": the names of a table (its supported entries), for error
// messages.
std::string ForeignAlgorithmNames(const std::vector<ForeignAlgorithm>& table);

}  // namespace hpo

#endif  // HPO_SERVER_IMPORT_FOREIGN_NAMES_H_
