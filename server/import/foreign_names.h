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

// What another system's algorithm name becomes in hpo: an algorithm and its
// settings.
struct ForeignAlgorithm {
  absl::string_view name;       // as the other system spells it
  absl::string_view algorithm;  // hpo's algorithm (samplers/registry.cc)
  std::vector<std::pair<std::string, std::string>> settings;
};

// Kruize HPO's hpo_algo_impl values (all Optuna samplers in Kruize), and the
// names Kruize's older releases and Optuna's own spelling use.
const std::vector<ForeignAlgorithm>& KruizeAlgorithms();

// The entry named `name`, or nullptr.
const ForeignAlgorithm* FindForeignAlgorithm(
    const std::vector<ForeignAlgorithm>& table, absl::string_view name);

// "a, b, c": the names of a table, for error messages.
std::string ForeignAlgorithmNames(const std::vector<ForeignAlgorithm>& table);

}  // namespace hpo

#endif  // HPO_SERVER_IMPORT_FOREIGN_NAMES_H_
