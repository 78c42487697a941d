#include "pruners/registry.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace hpo {
namespace {

const std::map<std::string, PrunerFactory>& Registry() {
  static const auto* registry = new std::map<std::string, PrunerFactory>{
  };
  return *registry;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Pruner>> CreatePruner(
    absl::string_view name,
    const std::map<std::string, std::string>& settings) {
  auto it = Registry().find(std::string(name));
  if (it == Registry().end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("early_stopping.name: unknown rule \"", name,
                     "\" (known: ", absl::StrJoin(PrunerNames(), ", "), ")"));
  }
  Settings reader(settings, "early_stopping.settings");
  auto pruner = it->second(reader);
  if (!pruner.ok()) return pruner.status();
  if (absl::Status s = reader.CheckAllRead(name); !s.ok()) return s;
  return pruner;
}

std::vector<std::string> PrunerNames() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : Registry()) names.push_back(name);
  return names;
}

}  // namespace hpo
