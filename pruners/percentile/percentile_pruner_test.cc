#include "pruners/percentile/percentile_pruner.h"

#include <limits>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "core/history.h"
#include "core/settings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pruners/common/test_util.h"
#include "pruners/pruner.h"

namespace hpo {
namespace {

using ::testing::HasSubstr;
using testing_util::HistoryBuilder;
using testing_util::Steps;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::unique_ptr<Pruner> Make(std::map<std::string, std::string> values) {
  Settings settings(std::move(values), "early_stopping.settings");
  absl::StatusOr<std::unique_ptr<Pruner>> pruner =
      CreatePercentilePruner(settings);
  EXPECT_TRUE(pruner.ok()) << pruner.status();
  EXPECT_TRUE(settings.CheckAllRead("percentile").ok());
  return pruner.ok() ? *std::move(pruner) : nullptr;
}

absl::Status Error(std::map<std::string, std::string> values) {
  Settings settings(std::move(values), "early_stopping.settings");
  absl::StatusOr<std::unique_ptr<Pruner>> pruner =
      CreatePercentilePruner(settings);
  if (!pruner.ok()) return pruner.status();
  return settings.CheckAllRead("percentile");
}

// Five completed trials whose values at step 2 are 0.5, 0.6, 0.7, 0.8, 0.9
// (minimize: 25th percentile 0.6), with `running` appended last.
HistoryBuilder Minimizing(std::vector<double> running) {
  HistoryBuilder b(Goal::kMinimize);
  for (double v : {0.8, 0.6, 0.5, 0.9, 0.7}) b.Completed(Steps({1.0, 0.95, v}));
  b.Running(Steps(std::move(running)));
  return b;
}

TEST(PercentilePrunerTest, MinimizeKeepsTheLowestQuarter) {
  std::unique_ptr<Pruner> p = Make({{"percentile", "25"}});
  HistoryBuilder worse = Minimizing({1.0, 0.9, 0.65});
  PruneDecision d = p->ShouldStop(worse.history(), worse.last(), 2);
  EXPECT_TRUE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("0.65"));
  EXPECT_THAT(d.reason, HasSubstr("25th-percentile cutoff"));
  EXPECT_THAT(d.reason, HasSubstr(" 0.6 of 5 completed trials at step 2"));

  HistoryBuilder better = Minimizing({1.0, 0.9, 0.55});
  d = p->ShouldStop(better.history(), better.last(), 2);
  EXPECT_FALSE(d.stop) << d.reason;
  EXPECT_THAT(d.reason, HasSubstr("is not worse than"));
}

TEST(PercentilePrunerTest, MaximizeKeepsTheHighestQuarter) {
  // Values at step 2: 0.1 .. 0.5; the best 25% are above the 75th
  // percentile of the raw values, 0.4.
  HistoryBuilder b(Goal::kMaximize);
  for (double v : {0.3, 0.1, 0.5, 0.2, 0.4}) b.Completed(Steps({0, 0, v}));
  b.Running(Steps({0, 0.1, 0.35}));
  std::unique_ptr<Pruner> p = Make({{"percentile", "25"}});
  PruneDecision d = p->ShouldStop(b.history(), b.last(), 2);
  EXPECT_TRUE(d.stop) << d.reason;
  EXPECT_THAT(d.reason, HasSubstr(" 0.4 of 5"));

  b.mutable_history().trials.back().intermediate = Steps({0, 0.1, 0.45});
  EXPECT_FALSE(p->ShouldStop(b.history(), b.last(), 2).stop);
}

TEST(PercentilePrunerTest, ExtremePercentiles) {
  // 0: only a value at least as good as the best goes on; 100: only one
  // worse than all is stopped.
  HistoryBuilder b = Minimizing({1.0, 0.9, 0.55});
  EXPECT_TRUE(
      Make({{"percentile", "0"}})->ShouldStop(b.history(), b.last(), 2).stop);
  EXPECT_FALSE(
      Make({{"percentile", "100"}})->ShouldStop(b.history(), b.last(), 2).stop);
  b.mutable_history().trials.back().intermediate = Steps({1.0, 0.95, 0.91});
  EXPECT_TRUE(
      Make({{"percentile", "100"}})->ShouldStop(b.history(), b.last(), 2).stop);
  b.mutable_history().trials.back().intermediate = Steps({1.0, 0.95, 0.5});
  EXPECT_FALSE(
      Make({{"percentile", "0"}})->ShouldStop(b.history(), b.last(), 2).stop);
}

TEST(PercentilePrunerTest, NonIntegerPercentileIsNamedAsGiven) {
  HistoryBuilder b = Minimizing({1.0, 0.9, 0.95});
  PruneDecision d =
      Make({{"percentile", "12.5"}})->ShouldStop(b.history(), b.last(), 2);
  EXPECT_TRUE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("12.5th-percentile"));
}

TEST(PercentilePrunerTest, CompletedValuesThatAreNaNAreLeftOut) {
  HistoryBuilder b(Goal::kMinimize);
  for (double v : {0.5, kNaN, kNaN, 0.7, 0.9}) b.Completed(Steps({1, v}));
  b.Running(Steps({1, 0.8}));
  // Median of 0.5, 0.7, 0.9 is 0.7.
  PruneDecision d =
      Make({{"percentile", "50"}})->ShouldStop(b.history(), b.last(), 1);
  EXPECT_TRUE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr(" 0.7 of 5 completed"));
}

TEST(PercentilePrunerTest, AllCompletedValuesNaNIsNoDecision) {
  HistoryBuilder b(Goal::kMinimize);
  for (int i = 0; i < 5; ++i) b.Completed(Steps({1, kNaN}));
  b.Running(Steps({1, 0.8}));
  PruneDecision d =
      Make({{"percentile", "50"}})->ShouldStop(b.history(), b.last(), 1);
  EXPECT_FALSE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("are NaN"));
}

TEST(PercentilePrunerTest, Settings) {
  EXPECT_THAT(Error({}).message(),
              HasSubstr("early_stopping.settings.percentile: is required"));
  EXPECT_THAT(Error({{"percentile", "101"}}).message(),
              HasSubstr("early_stopping.settings.percentile: must be from 0 to "
                        "100, got 101"));
  EXPECT_THAT(Error({{"percentile", "-1"}}).message(),
              HasSubstr("percentile: must be from 0"));
  EXPECT_THAT(Error({{"percentile", "half"}}).message(),
              HasSubstr("percentile: must be a finite number"));
  EXPECT_THAT(
      Error({{"percentile", "50"}, {"interval_steps", "0"}}).message(),
      HasSubstr("early_stopping.settings.interval_steps: must be >= 1"));
  EXPECT_THAT(Error({{"percentile", "50"}, {"n_min_trials", "0"}}).message(),
              HasSubstr("early_stopping.settings.n_min_trials: must be >= 1"));
  EXPECT_THAT(
      Error({{"percentile", "50"}, {"n_warmup_steps", "-1"}}).message(),
      HasSubstr("early_stopping.settings.n_warmup_steps: must be >= 0"));
  EXPECT_THAT(
      Error({{"percentile", "50"}, {"n_startup_trials", "-1"}}).message(),
      HasSubstr("early_stopping.settings.n_startup_trials: must be >= 0"));
  EXPECT_THAT(Error({{"percentile", "50"}, {"start_step", "-2"}}).message(),
              HasSubstr("early_stopping.settings.start_step: must be >= 0"));
  const absl::Status unknown = Error({{"percentile", "50"}, {"pct", "3"}});
  EXPECT_EQ(unknown.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      unknown.message(),
      HasSubstr("early_stopping.settings.pct: unknown setting for percentile"));
  EXPECT_TRUE(Error({{"percentile", "10"},
                     {"n_startup_trials", "0"},
                     {"n_warmup_steps", "3"},
                     {"interval_steps", "2"},
                     {"n_min_trials", "4"},
                     {"start_step", "2"},
                     {"optimize_mode", "minimize"}})
                  .ok());
}

}  // namespace
}  // namespace hpo
