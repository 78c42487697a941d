#include "pruners/asha/asha_pruner.h"

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/history.h"
#include "core/settings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pruners/asha/successive_halving.h"
#include "pruners/common/test_util.h"
#include "pruners/pruner.h"

namespace hpo {
namespace {

using ::testing::HasSubstr;
using testing_util::HistoryBuilder;
using testing_util::Steps;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::unique_ptr<Pruner> Make(std::map<std::string, std::string> values = {},
                             bool optuna_name = false) {
  Settings settings(std::move(values), "early_stopping.settings");
  absl::StatusOr<std::unique_ptr<Pruner>> pruner =
      optuna_name ? CreateSuccessiveHalvingPruner(settings)
                  : CreateAshaPruner(settings);
  EXPECT_TRUE(pruner.ok()) << pruner.status();
  const absl::Status unread = settings.CheckAllRead("asha");
  EXPECT_TRUE(unread.ok()) << unread;
  return pruner.ok() ? *std::move(pruner) : nullptr;
}

absl::Status Error(std::map<std::string, std::string> values) {
  Settings settings(std::move(values), "early_stopping.settings");
  absl::StatusOr<std::unique_ptr<Pruner>> pruner = CreateAshaPruner(settings);
  if (!pruner.ok()) return pruner.status();
  return settings.CheckAllRead("asha");
}

// Seven completed losses whose values at step 1 are 0.5, 0.4, 0.6, 0.3, 0.7,
// 0.2, 0.8 (and then 0.1 lower at steps 2..5), and a running trial.
HistoryBuilder Rung0(std::vector<double> running, Goal goal = Goal::kMinimize) {
  HistoryBuilder b(goal);
  for (double v : {0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8}) {
    const double sign = goal == Goal::kMinimize ? 1 : -1;
    std::vector<double> curve = {sign * 1.0, sign * v};
    for (int s = 2; s <= 5; ++s) curve.push_back(sign * (v - 0.1));
    b.Completed(Steps(curve));
  }
  b.Running(Steps(std::move(running)));
  return b;
}

TEST(RungStepTest, Geometric) {
  EXPECT_EQ(RungStep(1, 3, 0, 4), 81);
  EXPECT_EQ(RungStep(2, 4, 1, 1), 32);
  EXPECT_EQ(RungStep(5, 2, 0, 0), 5);
  EXPECT_EQ(RungStep(1, 1.5, 0, 1), 2);  // 1.5 rounds up
  EXPECT_EQ(RungStep(1, 10, 0, 30), std::numeric_limits<int64_t>::max());
}

TEST(AshaPrunerTest, KeepsTheBestQuarterAtARung) {
  // Eight values at rung 0 (step 1): the best 2 go on, cutoff 0.3.
  HistoryBuilder b = Rung0({1.0, 0.45});
  PruneDecision d = Make()->ShouldStop(b.history(), b.last(), 1);
  EXPECT_TRUE(d.stop);
  EXPECT_EQ(d.reason,
            "0.45 at step 1 is not among the best 2 of the 8 values at rung 0 "
            "(step 1) (minimize, cutoff 0.3)");
  b = Rung0({1.0, 0.3});
  d = Make()->ShouldStop(b.history(), b.last(), 1);
  EXPECT_FALSE(d.stop);
  EXPECT_EQ(d.reason,
            "0.3 at step 1 is among the best 2 of the 8 values at rung 0 (step "
            "1) (minimize, cutoff 0.3); the next rung is rung 1 at step 4");
}

TEST(AshaPrunerTest, Maximize) {
  HistoryBuilder b = Rung0({-1.0, -0.45}, Goal::kMaximize);
  PruneDecision d = Make()->ShouldStop(b.history(), b.last(), 1);
  EXPECT_TRUE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("(maximize, cutoff -0.3)"));
  b = Rung0({-1.0, -0.25}, Goal::kMaximize);
  EXPECT_FALSE(Make()->ShouldStop(b.history(), b.last(), 1).stop);
}

TEST(AshaPrunerTest, SameNameForOptuna) {
  HistoryBuilder b = Rung0({1.0, 0.45});
  EXPECT_TRUE(Make({}, true)->ShouldStop(b.history(), b.last(), 1).stop);
}

TEST(AshaPrunerTest, BeforeFirstRungAndBetweenRungs) {
  std::unique_ptr<Pruner> p = Make({{"min_resource", "2"}});
  HistoryBuilder b = Rung0({9.0, 9.0});
  PruneDecision d = p->ShouldStop(b.history(), b.last(), 1);
  EXPECT_FALSE(d.stop);
  EXPECT_EQ(d.reason,
            "step 1 reaches no rung not already judged; the next rung is rung "
            "0 at step 2");
  // Judged at step 2 already: step 3 crosses nothing new.
  b = Rung0({0.0, 0.0, 0.0, 9.0});
  d = p->ShouldStop(b.history(), b.last(), 3);
  EXPECT_FALSE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("the next rung is rung 1 at step 8"));
}

TEST(AshaPrunerTest, FewerThanReductionFactorKeepsOnlyTheBest) {
  HistoryBuilder b(Goal::kMinimize);
  b.Completed(Steps({1.0, 0.5}));
  b.Completed(Steps({1.0, 0.4}));
  b.Running(Steps({1.0, 0.45}));
  PruneDecision d = Make()->ShouldStop(b.history(), b.last(), 1);
  EXPECT_TRUE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("not among the best 1 of the 3 values"));
  // The very first trial at a rung is the best there.
  HistoryBuilder alone(Goal::kMinimize);
  alone.Running(Steps({1.0, 0.45}));
  EXPECT_FALSE(Make()->ShouldStop(alone.history(), alone.last(), 1).stop);
}

TEST(AshaPrunerTest, PrunedFailedAndRunningTrialsCompete) {
  HistoryBuilder b(Goal::kMinimize);
  b.Add(TrialState::kPruned, Steps({1.0, 0.1}));
  b.Add(TrialState::kFailed, Steps({1.0, 0.15}));
  b.Add(TrialState::kRunning, Steps({1.0, 0.3}));
  b.Add(TrialState::kWaiting, {});
  b.Running(Steps({1.0, 0.2}));
  PruneDecision d =
      Make({{"reduction_factor", "2"}})->ShouldStop(b.history(), b.last(), 1);
  EXPECT_TRUE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("best 2 of the 4 values"));
  EXPECT_THAT(d.reason, HasSubstr("cutoff 0.15"));
}

TEST(AshaPrunerTest, RungValueIsTheFirstReportAtOrAfterTheRung) {
  // Rung 1 is at step 4; the others skipped it and reported at 5 or 6.
  HistoryBuilder b(Goal::kMinimize);
  b.Completed({{1, 0.5}, {5, 0.2}});
  b.Completed({{1, 0.5}, {6, 0.25}, {7, 0.01}});
  b.Completed({{1, 0.5}, {3, 0.3}});  // never reached rung 1
  b.Running({{1, 0.5}, {4, 0.22}});
  PruneDecision d = Make()->ShouldStop(b.history(), b.last(), 4);
  EXPECT_TRUE(d.stop);
  EXPECT_EQ(d.reason,
            "0.22 at step 4 is not among the best 1 of the 3 values at rung 1 "
            "(step 4) (minimize, cutoff 0.2)");
}

TEST(AshaPrunerTest, AReportCrossingSeveralRungsIsJudgedAtEach) {
  // First report at step 5: rungs 0 (step 1) and 1 (step 4) at once.
  HistoryBuilder b(Goal::kMinimize);
  b.Completed({{1, 0.9}, {4, 0.1}});
  b.Running({{5, 0.5}});
  PruneDecision d = Make()->ShouldStop(b.history(), b.last(), 5);
  EXPECT_TRUE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("values at rung 1 (step 4)"));
  b.mutable_history().trials.back().intermediate = {{5, 0.05}};
  d = Make()->ShouldStop(b.history(), b.last(), 5);
  EXPECT_FALSE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("at rung 0 (step 1)"));
  EXPECT_THAT(
      d.reason,
      HasSubstr("and among the best 1 of the 2 values at rung 1 (step 4)"));
}

TEST(AshaPrunerTest, NaN) {
  HistoryBuilder b = Rung0({1.0, kNaN});
  PruneDecision d = Make()->ShouldStop(b.history(), b.last(), 1);
  EXPECT_TRUE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("is NaN"));
  // Other trials' NaN values are left out: alone with them, the trial is the
  // best.
  HistoryBuilder others(Goal::kMinimize);
  others.Completed(Steps({1.0, kNaN}));
  others.Add(TrialState::kPruned, Steps({1.0, kNaN}));
  others.Running(Steps({1.0, 0.9}));
  d = Make()->ShouldStop(others.history(), others.last(), 1);
  EXPECT_FALSE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("best 1 of the 1 values"));
}

TEST(AshaPrunerTest, MinEarlyStoppingRate) {
  std::unique_ptr<Pruner> p = Make({{"min_early_stopping_rate", "1"}});
  HistoryBuilder b = Rung0({1.0, 0.45});
  PruneDecision d = p->ShouldStop(b.history(), b.last(), 1);
  EXPECT_FALSE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("rung 0 at step 4"));
  // At step 4 the completed ones show 0.4, 0.3, 0.5, 0.2, 0.6, 0.1, 0.7.
  b = Rung0({1.0, 0.45, 0.45, 0.45, 0.15});
  d = p->ShouldStop(b.history(), b.last(), 4);
  EXPECT_FALSE(d.stop) << d.reason;
  b = Rung0({1.0, 0.45, 0.45, 0.45, 0.25});
  EXPECT_TRUE(p->ShouldStop(b.history(), b.last(), 4).stop);
}

TEST(AshaPrunerTest, BootstrapCount) {
  HistoryBuilder b(Goal::kMinimize);
  b.Completed(Steps({1.0, 0.9}));
  b.Running(Steps({1.0, 0.1}));
  PruneDecision d =
      Make({{"bootstrap_count", "2"}})->ShouldStop(b.history(), b.last(), 1);
  EXPECT_TRUE(d.stop);
  EXPECT_EQ(d.reason,
            "only 2 trials (this one included) have reached rung 0 (step 1), "
            "not more than bootstrap_count 2");
  EXPECT_FALSE(Make({{"bootstrap_count", "1"}})
                   ->ShouldStop(b.history(), b.last(), 1)
                   .stop);
}

TEST(AshaPrunerTest, MaxResourceEndsTheRungs) {
  // Ray's names: grace_period 1, max_t 16, reduction_factor 4: rungs 1, 4.
  std::unique_ptr<Pruner> p = Make({{"grace_period", "1"}, {"max_t", "16"}});
  HistoryBuilder b(Goal::kMinimize);
  b.Completed({{1, 0.1}, {4, 0.1}, {16, 0.1}});
  b.Running({{1, 0.1}, {4, 0.1}, {16, 0.9}});
  PruneDecision d = p->ShouldStop(b.history(), b.last(), 16);
  EXPECT_FALSE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("no rung is left below max_resource 16"));
  // Without max_t the trial would be stopped at rung 2 (step 16).
  EXPECT_TRUE(Make()->ShouldStop(b.history(), b.last(), 16).stop);
}

TEST(AshaPrunerTest, AutoMinResource) {
  std::unique_ptr<Pruner> p = Make({{"min_resource", "auto"}});
  HistoryBuilder b(Goal::kMinimize);
  b.Add(TrialState::kRunning, {{3, 0.1}});
  b.Running({{3, 0.9}});
  PruneDecision d = p->ShouldStop(b.history(), b.last(), 3);
  EXPECT_FALSE(d.stop);
  EXPECT_THAT(d.reason,
              HasSubstr("min_resource is auto and no trial has completed yet"));
  // A completed trial whose last step is 399: min_resource 3. Its own
  // reports came before any could be judged, so (as in Optuna) it has no
  // rung values: the running trial is alone at rung 0 and goes on.
  b.mutable_history().trials[0].state = TrialState::kCompleted;
  b.mutable_history().trials[0].values = {0.1};
  b.mutable_history().trials[0].intermediate.emplace_back(399, 0.1);
  size_t first = 99;
  EXPECT_EQ(EstimateMinResource(b.history(), &first), 3);
  EXPECT_EQ(first, 0u);
  d = p->ShouldStop(b.history(), b.last(), 3);
  EXPECT_FALSE(d.stop) << d.reason;
  EXPECT_THAT(d.reason, HasSubstr("among the best 1 of the 1 values at rung 0 "
                                  "(step 3)"));
  // Later trials compete with each other: 0.9 is now the value to beat.
  b.Running({{3, 0.95}});
  d = p->ShouldStop(b.history(), b.last(), 3);
  EXPECT_TRUE(d.stop) << d.reason;
  EXPECT_THAT(d.reason, HasSubstr("of the 2 values at rung 0 (step 3)"));
  // A fixed min_resource judges every report, trial 0's included.
  EXPECT_TRUE(
      Make({{"min_resource", "3"}})->ShouldStop(b.history(), 1, 3).stop);
}

TEST(AshaPrunerTest, Settings) {
  EXPECT_THAT(
      Error({{"min_resource", "2"}, {"grace_period", "2"}}).message(),
      HasSubstr(
          "early_stopping.settings.grace_period: is an alias of min_resource"));
  EXPECT_THAT(
      Error({{"min_resource", "auto"}, {"grace_period", "2"}}).message(),
      HasSubstr("early_stopping.settings.grace_period: is an alias"));
  EXPECT_THAT(Error({{"min_resource", "0"}}).message(),
              HasSubstr("early_stopping.settings.min_resource: must be >= 1"));
  EXPECT_THAT(
      Error({{"grace_period", "soon"}}).message(),
      HasSubstr("early_stopping.settings.grace_period: must be an integer"));
  EXPECT_THAT(
      Error({{"reduction_factor", "1"}}).message(),
      HasSubstr("early_stopping.settings.reduction_factor: must be > 1"));
  EXPECT_THAT(Error({{"min_early_stopping_rate", "-1"}}).message(),
              HasSubstr("min_early_stopping_rate: must be in [0, 60]"));
  EXPECT_THAT(Error({{"bootstrap_count", "-1"}}).message(),
              HasSubstr("bootstrap_count: must be >= 0"));
  EXPECT_THAT(
      Error({{"bootstrap_count", "2"}, {"min_resource", "auto"}}).message(),
      HasSubstr("bootstrap_count: cannot be used with min_resource \"auto\""));
  EXPECT_THAT(
      Error({{"min_resource", "8"}, {"max_t", "4"}}).message(),
      HasSubstr(
          "early_stopping.settings.max_t: must be >= min_resource (8), got 4"));
  EXPECT_THAT(Error({{"max_t", "4"}, {"max_resource", "4"}}).message(),
              HasSubstr("max_t: is an alias of max_resource"));
  EXPECT_THAT(
      Error({{"brackets", "3"}}).message(),
      HasSubstr("early_stopping.settings.brackets: must be 1, got 3: this rule "
                "runs one bracket; for several use the hyperband rule"));
  EXPECT_THAT(Error({{"mode", "best"}}).message(),
              HasSubstr("early_stopping.settings.mode: must be min or max"));
  EXPECT_THAT(
      Error({{"time_attr", " "}}).message(),
      HasSubstr("early_stopping.settings.time_attr: must not be empty"));
  EXPECT_THAT(
      Error({{"eta", "3"}}).message(),
      HasSubstr("early_stopping.settings.eta: unknown setting for asha"));
  EXPECT_TRUE(Error({{"grace_period", "1"},
                     {"max_t", "100"},
                     {"reduction_factor", "3"},
                     {"brackets", "1"},
                     {"time_attr", "training_iteration"},
                     {"metric", "loss"},
                     {"mode", "min"}})
                  .ok());
  EXPECT_TRUE(Error({{"min_resource", "AUTO"},
                     {"reduction_factor", "2.5"},
                     {"min_early_stopping_rate", "2"},
                     {"max_resource", "100"}})
                  .ok());
}

}  // namespace
}  // namespace hpo
