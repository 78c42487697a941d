#include "pruners/registry.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pruners/pruner.h"

namespace hpo {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The least each rule needs.
const std::map<std::string, std::map<std::string, std::string>>&
MinimalSettings() {
  static const auto* settings =
      new std::map<std::string, std::map<std::string, std::string>>{
          {"asha", {}},
          {"curve_fitting", {{"epoch_num", "20"}}},
          {"hyperband", {{"max_resource", "27"}}},
          {"median", {}},
          {"patient", {{"patience", "2"}}},
          {"percentile", {{"percentile", "25"}}},
          {"successive_halving", {}},
          {"threshold", {{"upper", "10"}}},
      };
  return *settings;
}

TEST(PrunerRegistryTest, EveryRuleIsRegistered) {
  EXPECT_THAT(PrunerNames(), ElementsAre("asha", "curve_fitting", "hyperband",
                                         "median", "patient", "percentile",
                                         "successive_halving", "threshold"));
  for (const std::string& name : PrunerNames()) {
    SCOPED_TRACE(name);
    auto it = MinimalSettings().find(name);
    ASSERT_NE(it, MinimalSettings().end());
    absl::StatusOr<std::unique_ptr<Pruner>> pruner =
        CreatePruner(name, it->second);
    ASSERT_TRUE(pruner.ok()) << pruner.status();
    ASSERT_NE(*pruner, nullptr);
    // Every rule decides, with a reason, on an empty-ish history.
    History history;
    history.goals = {Goal::kMinimize};
    TrialRecord t;
    t.state = TrialState::kRunning;
    t.intermediate = {{1, 0.5}};
    history.trials.push_back(t);
    const PruneDecision d = (*pruner)->ShouldStop(history, 0, 1);
    EXPECT_FALSE(d.stop) << d.reason;
    EXPECT_FALSE(d.reason.empty());
    EXPECT_EQ((*pruner)->Bracket(3) >= 0, name == "hyperband");
  }
}

TEST(PrunerRegistryTest, UnknownNameListsTheKnownOnes) {
  absl::StatusOr<std::unique_ptr<Pruner>> pruner =
      CreatePruner("medianstop", {});
  ASSERT_FALSE(pruner.ok());
  EXPECT_EQ(pruner.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pruner.status().message(),
            "early_stopping.name: unknown rule \"medianstop\" (known: asha, "
            "curve_fitting, hyperband, median, patient, percentile, "
            "successive_halving, threshold)");
}

TEST(PrunerRegistryTest, UnknownSettingIsRefusedForEveryRule) {
  for (const std::string& name : PrunerNames()) {
    SCOPED_TRACE(name);
    std::map<std::string, std::string> settings = MinimalSettings().at(name);
    settings["typo_setting"] = "1";
    absl::StatusOr<std::unique_ptr<Pruner>> pruner =
        CreatePruner(name, settings);
    ASSERT_FALSE(pruner.ok());
    EXPECT_EQ(pruner.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(
        pruner.status().message(),
        HasSubstr("early_stopping.settings.typo_setting: unknown setting for " +
                  name + " (known: "));
  }
}

TEST(PrunerRegistryTest, WrappedSettingsBelongToWrappersOnly) {
  absl::StatusOr<std::unique_ptr<Pruner>> pruner =
      CreatePruner("median", {{"wrapped.n_startup_trials", "1"}});
  ASSERT_FALSE(pruner.ok());
  EXPECT_THAT(pruner.status().message(),
              HasSubstr("early_stopping.settings.wrapped.n_startup_trials: "
                        "unknown setting for median"));
  pruner = CreatePruner("patient", {{"patience", "1"},
                                    {"wrapped", "threshold"},
                                    {"wrapped.upper", "5"},
                                    {"wrapped.typo", "5"}});
  ASSERT_FALSE(pruner.ok());
  EXPECT_THAT(pruner.status().message(),
              HasSubstr("early_stopping.settings.wrapped.typo: unknown setting "
                        "for threshold"));
}

TEST(PrunerRegistryTest, MalformedSettingNamesIt) {
  absl::StatusOr<std::unique_ptr<Pruner>> pruner =
      CreatePruner("median", {{"n_startup_trials", "five"}});
  ASSERT_FALSE(pruner.ok());
  EXPECT_EQ(pruner.status().message(),
            "early_stopping.settings.n_startup_trials: must be an integer, got "
            "\"five\"");
}

TEST(PrunerRegistryTest, ImportedConfigurationsAreAccepted) {
  // What server/import produces for Katib, NNI and T9k specs.
  EXPECT_TRUE(CreatePruner("median",
                           {{"min_trials_required", "2"}, {"start_step", "4"}})
                  .ok());
  EXPECT_TRUE(CreatePruner("hyperband", {{"R", "60"}, {"eta", "3"}}).ok());
  EXPECT_TRUE(CreatePruner("curve_fitting",
                           {{"epoch_num", "20"}, {"threshold", "0.95"}})
                  .ok());
}

}  // namespace
}  // namespace hpo
