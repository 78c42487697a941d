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

const std::vector<ForeignAlgorithm>& KatibAlgorithms() {
  static const auto* table = new std::vector<ForeignAlgorithm>{
      // Katib's is scikit-optimize's gp_minimize: its settings in hpo's GP
      // terms. skopt's other estimators (RF, ET, GBRT) are not GPs.
      {"bayesianoptimization",
       "gp",
       {},
       "",
       "",
       {{"base_estimator", "", {{"GP", ""}}},
        {"acq_func",
         "acquisition",
         {{"gp_hedge", "logei"}, {"EI", "ei"}, {"LCB", "ucb"}, {"PI", "pi"}}},
        {"acq_optimizer", ""}}},
      {"cmaes", "cmaes", {}},
      {"grid", "grid", {}},
      // Katib's hyperband samples at random and stops trials in brackets: in
      // hpo, random search and the hyperband early-stopping rule.
      {"hyperband", "random", {}, "hyperband"},
      {"multivariate-tpe", "tpe", {{"multivariate", "true"}}},
      {"random", "random", {}},
      {"sobol", "sobol", {}},
      {"tpe", "tpe", {}},
      {"enas",
       "",
       {},
       "",
       "neural architecture search is not something hpo does"},
      {"darts",
       "",
       {},
       "",
       "neural architecture search is not something hpo does"},
      {"pbt", "", {}, "", "hpo has no population based training"},
  };
  return *table;
}

const std::vector<ForeignAlgorithm>& KatibEarlyStopping() {
  static const auto* table = new std::vector<ForeignAlgorithm>{
      {"medianstop", "median", {}},
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

const ForeignSetting* FindForeignSetting(const ForeignAlgorithm& algorithm,
                                         absl::string_view name) {
  for (const ForeignSetting& s : algorithm.setting_names) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::string ForeignAlgorithmNames(const std::vector<ForeignAlgorithm>& table) {
  std::vector<absl::string_view> names;
  for (const ForeignAlgorithm& a : table) {
    if (a.unsupported.empty()) names.push_back(a.name);
  }
  return absl::StrJoin(names, ", ");
}

}  // namespace hpo
