#include "pruners/registry.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pruners/asha/asha_pruner.h"
#include "pruners/curve_fitting/curve_fitting_pruner.h"
#include "pruners/hyperband/hyperband_pruner.h"
#include "pruners/median/median_pruner.h"
#include "pruners/patient/patient_pruner.h"
#include "pruners/percentile/percentile_pruner.h"
#include "pruners/threshold/threshold_pruner.h"

namespace hpo {
namespace {

// Settings "wrapped.<key>" of a rule that wraps another.
constexpr absl::string_view kWrappedPrefix = "wrapped.";

// A rule that wraps another one gets, besides its own settings, those given
// as "wrapped.<key>" (prefix removed), which Settings cannot list.
using WrapperFactory = absl::StatusOr<std::unique_ptr<Pruner>> (*)(
    Settings& settings,
    const std::map<std::string, std::string>& wrapped_settings);

struct Rule {
  PrunerFactory create = nullptr;
  WrapperFactory wrap = nullptr;
};

absl::StatusOr<std::unique_ptr<Pruner>> CreatePatient(
    Settings& settings,
    const std::map<std::string, std::string>& wrapped_settings) {
  return CreatePatientPruner(settings, wrapped_settings, &CreatePruner);
}

const std::map<std::string, Rule>& Registry() {
  static const auto* registry = new std::map<std::string, Rule>{
      {"asha", {&CreateAshaPruner, nullptr}},
      {"curve_fitting", {&CreateCurveFittingPruner, nullptr}},
      {"hyperband", {&CreateHyperbandPruner, nullptr}},
      {"median", {&CreateMedianPruner, nullptr}},
      {"patient", {nullptr, &CreatePatient}},
      {"percentile", {&CreatePercentilePruner, nullptr}},
      {"successive_halving", {&CreateSuccessiveHalvingPruner, nullptr}},
      {"threshold", {&CreateThresholdPruner, nullptr}},
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
  const Rule& rule = it->second;
  absl::StatusOr<std::unique_ptr<Pruner>> pruner;
  if (rule.wrap != nullptr) {
    std::map<std::string, std::string> own;
    std::map<std::string, std::string> wrapped;
    for (const auto& [key, value] : settings) {
      if (absl::StartsWith(key, kWrappedPrefix)) {
        wrapped[key.substr(kWrappedPrefix.size())] = value;
      } else {
        own[key] = value;
      }
    }
    Settings reader(std::move(own), "early_stopping.settings");
    pruner = rule.wrap(reader, wrapped);
    if (!pruner.ok()) return pruner.status();
    if (absl::Status s = reader.CheckAllRead(name); !s.ok()) return s;
  } else {
    Settings reader(settings, "early_stopping.settings");
    pruner = rule.create(reader);
    if (!pruner.ok()) return pruner.status();
    if (absl::Status s = reader.CheckAllRead(name); !s.ok()) return s;
  }
  return pruner;
}

std::vector<std::string> PrunerNames() {
  std::vector<std::string> names;
  for (const auto& [name, rule] : Registry()) names.push_back(name);
  return names;
}

}  // namespace hpo
