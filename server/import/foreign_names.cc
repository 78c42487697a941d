#include "server/import/foreign_names.h"

#include "absl/strings/str_join.h"

namespace hpo {

const std::vector<ForeignAlgorithm>& KruizeAlgorithms() {
  static const auto* table = new std::vector<ForeignAlgorithm>{
      {"optuna_tpe", "tpe", {}},
      {"optuna_tpe_multivariate", "tpe", {{"multivariate", "true"}}},
      // Optuna's scikit-optimize sampler: a Gaussian process.
      {"optuna_skopt", "gp", {}},
      {"optuna_scikit", "gp", {}},
      {"optuna_random", "random", {}},
      {"random", "random", {}},
  };
  return *table;
}

const ForeignAlgorithm* FindForeignAlgorithm(
    const std::vector<ForeignAlgorithm>& table, absl::string_view name) {
  for (const ForeignAlgorithm& a : table) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

std::string ForeignAlgorithmNames(const std::vector<ForeignAlgorithm>& table) {
  return absl::StrJoin(table, ", ",
                       [](std::string* out, const ForeignAlgorithm& a) {
                         out->append(a.name.data(), a.name.size());
                       });
}

}  // namespace hpo
