#include "pruners/patient/patient_pruner.h"

#include <limits>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/history.h"
#include "core/settings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pruners/common/test_util.h"
#include "pruners/pruner.h"
#include "pruners/registry.h"

namespace hpo {
namespace {

using ::testing::HasSubstr;
using testing_util::HistoryBuilder;
using testing_util::Steps;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Through the registry, as the server builds it.
std::unique_ptr<Pruner> Make(std::map<std::string, std::string> settings) {
  absl::StatusOr<std::unique_ptr<Pruner>> pruner =
      CreatePruner("patient", settings);
  EXPECT_TRUE(pruner.ok()) << pruner.status();
  return pruner.ok() ? *std::move(pruner) : nullptr;
}

std::string Error(std::map<std::string, std::string> settings) {
  absl::StatusOr<std::unique_ptr<Pruner>> pruner =
      CreatePruner("patient", settings);
  if (pruner.ok()) return "ok";
  EXPECT_EQ(pruner.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(pruner.status().message());
}

PruneDecision Decide(const Pruner& p, std::vector<double> running,
                     Goal goal = Goal::kMinimize) {
  HistoryBuilder b(goal);
  b.Running(Steps(std::move(running)));
  return p.ShouldStop(
      b.history(), b.last(),
      static_cast<int64_t>(b.history().trials[0].intermediate.size()) - 1);
}

TEST(PatientPrunerTest, StopsWhenTheWindowIsWorseThanBefore) {
  std::unique_ptr<Pruner> p = Make({{"patience", "2"}});
  PruneDecision d = Decide(*p, {1.0, 0.5, 0.6, 0.7, 0.8});
  EXPECT_TRUE(d.stop);
  EXPECT_EQ(d.reason,
            "the best of the last 3 values (0.6, steps 2 to 4) is worse than "
            "the best before them (0.5) by more than min_delta 0 (minimize)");
  // The window still holds the best value: not stalled.
  d = Decide(*p, {1.0, 0.5, 0.6, 0.7});
  EXPECT_FALSE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("is not worse than the best before them"));
}

TEST(PatientPrunerTest, EqualingTheEarlierBestIsNotStalling) {
  // Optuna's rule: the window has to be worse, not merely no better.
  std::unique_ptr<Pruner> p = Make({{"patience", "2"}});
  EXPECT_FALSE(Decide(*p, {1.0, 0.5, 0.5, 0.5, 0.5}).stop);
}

TEST(PatientPrunerTest, Maximize) {
  std::unique_ptr<Pruner> p = Make({{"patience", "2"}});
  PruneDecision d = Decide(*p, {0.1, 0.5, 0.4, 0.3, 0.2}, Goal::kMaximize);
  EXPECT_TRUE(d.stop);
  EXPECT_THAT(
      d.reason,
      HasSubstr(
          "(0.4, steps 2 to 4) is worse than the best before them (0.5)"));
  EXPECT_FALSE(Decide(*p, {0.1, 0.5, 0.4, 0.3, 0.6}, Goal::kMaximize).stop);
}

TEST(PatientPrunerTest, MinDelta) {
  std::unique_ptr<Pruner> p = Make({{"patience", "2"}, {"min_delta", "0.15"}});
  // 0.6 is worse than 0.5, but by less than 0.15.
  EXPECT_FALSE(Decide(*p, {1.0, 0.5, 0.6, 0.7, 0.8}).stop);
  EXPECT_TRUE(Decide(*p, {1.0, 0.5, 0.7, 0.7, 0.8}).stop);
}

TEST(PatientPrunerTest, TooFewValues) {
  std::unique_ptr<Pruner> p = Make({{"patience", "2"}});
  PruneDecision d = Decide(*p, {1.0, 2.0, 3.0});
  EXPECT_FALSE(d.stop);
  EXPECT_EQ(d.reason,
            "the trial has reported 3 values; patience 2 compares the last 3 "
            "with at least one before them");
  // Patience 0: the last value against all before it.
  EXPECT_TRUE(Decide(*Make({{"patience", "0"}}), {0.5, 0.6}).stop);
}

TEST(PatientPrunerTest, NaN) {
  std::unique_ptr<Pruner> p = Make({{"patience", "1"}});
  PruneDecision d = Decide(*p, {kNaN, 0.5, 0.6});
  EXPECT_FALSE(d.stop);
  EXPECT_THAT(d.reason,
              HasSubstr("the values before steps 1 to 2 are all NaN"));
  d = Decide(*p, {0.5, kNaN, kNaN});
  EXPECT_FALSE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("the values at steps 1 to 2 are all NaN"));
  // NaN among numbers is ignored.
  EXPECT_TRUE(Decide(*p, {0.5, kNaN, 0.6}).stop);
}

TEST(PatientPrunerTest, WrappedRuleDecidesOnlyWhenStalled) {
  std::unique_ptr<Pruner> p = Make({{"patience", "1"},
                                    {"wrapped", "median"},
                                    {"wrapped.n_startup_trials", "1"}});
  HistoryBuilder b(Goal::kMinimize);
  b.Completed(Steps({1.0, 0.3, 0.2}));
  b.Add(TrialState::kPruned, Steps({1.0, 2.0}));
  b.Running(Steps({1.0, 0.5, 0.6}));
  // Improving (0.5 < 1.0): the median rule is not asked, though it would
  // stop the trial.
  PruneDecision d = p->ShouldStop(b.history(), b.last(), 2);
  EXPECT_FALSE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("is not worse"));

  b.mutable_history().trials.back().intermediate = Steps({0.5, 0.6, 0.7});
  d = p->ShouldStop(b.history(), b.last(), 2);
  EXPECT_TRUE(d.stop);
  EXPECT_EQ(d.reason,
            "the best of the last 2 values (0.6, steps 1 to 2) is worse than "
            "the best before them (0.5) by more than min_delta 0 (minimize), "
            "and the wrapped median rule stops it: 0.5 (the trial's best value "
            "up to step 2) is worse than the median 0.2 of 1 completed trials "
            "at step 2 (minimize)");

  // Stalled, but better than the median: goes on.
  b.mutable_history().trials[0].intermediate = Steps({1.0, 0.9, 0.9});
  d = p->ShouldStop(b.history(), b.last(), 2);
  EXPECT_FALSE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr(", but the wrapped median rule lets it go "
                                  "on: 0.5 (the trial's best value"));
}

TEST(PatientPrunerTest, BracketsComeFromTheWrappedRule) {
  std::unique_ptr<Pruner> alone = Make({{"patience", "1"}});
  EXPECT_EQ(alone->Bracket(7), -1);
  std::unique_ptr<Pruner> p = Make({{"patience", "1"},
                                    {"wrapped", "hyperband"},
                                    {"wrapped.max_resource", "27"}});
  absl::StatusOr<std::unique_ptr<Pruner>> hyperband =
      CreatePruner("hyperband", {{"max_resource", "27"}});
  ASSERT_TRUE(hyperband.ok());
  for (int64_t n = 0; n < 100; ++n) {
    EXPECT_EQ(p->Bracket(n), (*hyperband)->Bracket(n)) << n;
  }
}

TEST(PatientPrunerTest, WrappedSettingsErrorsCarryThePrefix) {
  EXPECT_EQ(Error({{"patience", "1"},
                   {"wrapped", "median"},
                   {"wrapped.n_startup_trials", "-1"}}),
            "early_stopping.settings.wrapped.n_startup_trials: must be >= 0 "
            "(completed trials before pruning), got -1");
  EXPECT_THAT(
      Error({{"patience", "1"}, {"wrapped", "median"}, {"wrapped.bogus", "1"}}),
      HasSubstr(
          "early_stopping.settings.wrapped.bogus: unknown setting for median"));
  EXPECT_THAT(Error({{"patience", "1"}, {"wrapped", "nosuch"}}),
              HasSubstr("early_stopping.settings.wrapped: unknown rule "
                        "\"nosuch\" (known: asha, "));
  EXPECT_THAT(
      Error({{"patience", "1"}, {"wrapped", "hyperband"}}),
      HasSubstr("early_stopping.settings.wrapped.max_resource: is required"));
  EXPECT_THAT(
      Error({{"patience", "1"}, {"wrapped.n_startup_trials", "3"}}),
      HasSubstr("early_stopping.settings.wrapped.n_startup_trials: is a "
                "setting of the wrapped rule, but no rule is wrapped"));
  // Nested: a patient rule wrapping a patient rule wrapping the median.
  EXPECT_THAT(Error({{"patience", "1"},
                     {"wrapped", "patient"},
                     {"wrapped.patience", "2"},
                     {"wrapped.wrapped", "median"},
                     {"wrapped.wrapped.bogus", "1"}}),
              HasSubstr("early_stopping.settings.wrapped.wrapped.bogus: "
                        "unknown setting for median"));
  EXPECT_EQ(Error({{"patience", "1"},
                   {"wrapped", "patient"},
                   {"wrapped.patience", "2"},
                   {"wrapped.wrapped", "median"},
                   {"wrapped.wrapped.n_warmup_steps", "3"}}),
            "ok");
}

TEST(PatientPrunerTest, OwnSettings) {
  EXPECT_THAT(Error({}),
              HasSubstr("early_stopping.settings.patience: is required"));
  EXPECT_THAT(
      Error({{"patience", "-1"}}),
      HasSubstr("early_stopping.settings.patience: must be >= 0, got -1"));
  EXPECT_THAT(Error({{"patience", "1"}, {"min_delta", "-0.5"}}),
              HasSubstr("early_stopping.settings.min_delta: must be >= 0"));
  EXPECT_THAT(Error({{"patience", "1"}, {"n_startup_trials", "3"}}),
              HasSubstr("early_stopping.settings.n_startup_trials: unknown "
                        "setting for patient"));
  EXPECT_EQ(Error({{"patience", "3"}, {"min_delta", "0.01"}, {"wrapped", ""}}),
            "ok");
}

// Without the registry: the wrapped rule comes from the factory passed in.
absl::StatusOr<std::unique_ptr<Pruner>> FakeFactory(
    absl::string_view name, const std::map<std::string, std::string>& s) {
  if (s.count("bad")) {
    return absl::InvalidArgumentError(
        "early_stopping.settings.bad: must be good");
  }
  return absl::InvalidArgumentError(
      absl::StrCat("early_stopping.name: unknown rule \"", name, "\""));
}

TEST(PatientPrunerTest, RewritesTheFactorysErrors) {
  Settings settings({{"patience", "1"}, {"wrapped", "x"}},
                    "early_stopping.settings");
  absl::StatusOr<std::unique_ptr<Pruner>> p =
      CreatePatientPruner(settings, {{"bad", "1"}}, &FakeFactory);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(),
            "early_stopping.settings.wrapped.bad: must be good");
  p = CreatePatientPruner(settings, {}, &FakeFactory);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(),
            "early_stopping.settings.wrapped: unknown rule \"x\"");
}

}  // namespace
}  // namespace hpo
