// Early-stopping rule names to pruners. Adding a rule is one folder under
// pruners/ and one line in registry.cc.

#ifndef HPO_PRUNERS_REGISTRY_H_
#define HPO_PRUNERS_REGISTRY_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/settings.h"
#include "pruners/pruner.h"

namespace hpo {

// Builds a pruner from its settings, reading every setting it understands;
// INVALID_ARGUMENT naming the setting when one is malformed.
using PrunerFactory =
    absl::StatusOr<std::unique_ptr<Pruner>> (*)(Settings& settings);

// INVALID_ARGUMENT ("early_stopping.name: ..." or
// "early_stopping.settings.<key>: ...") for an unknown name or an unknown or
// malformed setting.
absl::StatusOr<std::unique_ptr<Pruner>> CreatePruner(
    absl::string_view name, const std::map<std::string, std::string>& settings);

// Every registered name, sorted.
std::vector<std::string> PrunerNames();

}  // namespace hpo

#endif  // HPO_PRUNERS_REGISTRY_H_
