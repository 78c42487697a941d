// Optuna's PatientPruner: give a trial `patience` more reports to recover
// before stopping it, or before letting a wrapped rule decide.
//
// At a report, with the trial's values up to it in step order: when there
// are more than patience + 1, the last patience + 1 of them are the window.
// If the best value in the window is worse than the best value before it by
// more than min_delta (NaN ignored; all NaN on either side: no decision),
// the trial has stalled: with no wrapped rule it stops; with one, the wrapped
// rule decides. Otherwise the trial goes on, whatever the wrapped rule would
// say. As in Optuna, a window that only equals the earlier best has not
// stalled: the window has to be worse.
//
// The wrapped rule is any registered rule (`wrapped`), configured by the
// settings `wrapped.<key>`. It is built by the registry's CreatePruner,
// passed in because the registry in turn knows this rule; its errors are
// rewritten to name the settings as given, e.g.
// "early_stopping.settings.wrapped.n_startup_trials: must be >= 0".

#ifndef HPO_PRUNERS_PATIENT_PATIENT_PRUNER_H_
#define HPO_PRUNERS_PATIENT_PATIENT_PRUNER_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/settings.h"
#include "pruners/pruner.h"

namespace hpo {

// Builds a rule by name from its settings: pruners/registry.h's
// CreatePruner, whose errors start "early_stopping.name: " or
// "early_stopping.settings.<key>: ".
using WrappedPrunerFactory = absl::StatusOr<std::unique_ptr<Pruner>> (*)(
    absl::string_view name, const std::map<std::string, std::string>& settings);

// Settings (see pruners/README.md): `patience` (required, >= 0), `min_delta`
// (>= 0, default 0), `wrapped` (a rule's name; empty or absent: none).
// `wrapped_settings` are those given as "wrapped.<key>", with the prefix
// removed; they are an error when no rule is wrapped.
absl::StatusOr<std::unique_ptr<Pruner>> CreatePatientPruner(
    Settings& settings,
    const std::map<std::string, std::string>& wrapped_settings,
    WrappedPrunerFactory create_wrapped);

}  // namespace hpo

#endif  // HPO_PRUNERS_PATIENT_PATIENT_PRUNER_H_
