#include "pruners/hyperband/hyperband_pruner.h"

#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

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
using testing_util::MakeTrial;
using testing_util::Steps;

std::unique_ptr<Pruner> Make(std::map<std::string, std::string> values) {
  Settings settings(std::move(values), "early_stopping.settings");
  absl::StatusOr<std::unique_ptr<Pruner>> pruner =
      CreateHyperbandPruner(settings);
  EXPECT_TRUE(pruner.ok()) << pruner.status();
  const absl::Status unread = settings.CheckAllRead("hyperband");
  EXPECT_TRUE(unread.ok()) << unread;
  return pruner.ok() ? *std::move(pruner) : nullptr;
}

absl::Status Error(std::map<std::string, std::string> values) {
  Settings settings(std::move(values), "early_stopping.settings");
  absl::StatusOr<std::unique_ptr<Pruner>> pruner =
      CreateHyperbandPruner(settings);
  if (!pruner.ok()) return pruner.status();
  return settings.CheckAllRead("hyperband");
}

// How many of the trial numbers 0..n-1 fall in each bracket.
std::vector<int> Counts(const Pruner& p, int n) {
  std::vector<int> counts;
  for (int64_t number = 0; number < n; ++number) {
    const int b = p.Bracket(number);
    EXPECT_GE(b, 0);
    if (b >= static_cast<int>(counts.size())) counts.resize(b + 1);
    counts[b]++;
  }
  return counts;
}

// The first trial number from `from` on in bracket `bracket`.
int64_t NumberIn(const Pruner& p, int bracket, int64_t from = 0) {
  for (int64_t n = from;; ++n) {
    if (p.Bracket(n) == bracket) return n;
  }
}

TEST(HyperbandPrunerTest, BracketsProportionalToOptunaBudgets) {
  // max 60, min 1, eta 3: first rungs 1, 3, 9, 27: four brackets, budgets
  // ceil(4 * 3^s / (s + 1)) for s = 3, 2, 1, 0: 27, 12, 6, 4 of 49.
  std::unique_ptr<Pruner> p = Make({{"max_resource", "60"}});
  constexpr int kN = 100000;
  const std::vector<int> counts = Counts(*p, kN);
  ASSERT_EQ(counts.size(), 4u);
  const double budgets[] = {27, 12, 6, 4};
  for (int b = 0; b < 4; ++b) {
    EXPECT_NEAR(counts[b] / static_cast<double>(kN), budgets[b] / 49, 0.01)
        << "bracket " << b;
  }
}

TEST(HyperbandPrunerTest, BracketCounts) {
  // max 9: 1, 3, 9 -> 3 brackets, budgets 9, 5, 3.
  std::vector<int> counts = Counts(*Make({{"max_resource", "9"}}), 17000);
  ASSERT_EQ(counts.size(), 3u);
  EXPECT_NEAR(counts[0], 9000, 400);
  EXPECT_NEAR(counts[1], 5000, 400);
  EXPECT_NEAR(counts[2], 3000, 400);
  // max 8 < 9: two brackets only.
  EXPECT_EQ(Counts(*Make({{"max_resource", "8"}}), 1000).size(), 2u);
  // max == min: one bracket, plain successive halving.
  counts = Counts(*Make({{"min_resource", "5"}, {"max_resource", "5"}}), 100);
  ASSERT_EQ(counts.size(), 1u);
  EXPECT_EQ(counts[0], 100);
}

TEST(HyperbandPrunerTest, BracketIsAFunctionOfTheNumberAlone) {
  std::unique_ptr<Pruner> a = Make({{"max_resource", "81"}});
  std::unique_ptr<Pruner> b = Make({{"max_resource", "81"}});
  std::vector<int> seen(5);
  for (int64_t n = 0; n < 2000; ++n) {
    ASSERT_EQ(a->Bracket(n), b->Bracket(n)) << n;
    ASSERT_EQ(a->Bracket(n), a->Bracket(n)) << n;
    seen[a->Bracket(n)]++;
  }
  for (int s : seen) EXPECT_GT(s, 0);
  // Consecutive numbers do not share a bracket in long runs.
  int longest = 0;
  int run = 0;
  for (int64_t n = 1; n < 2000; ++n) {
    run = a->Bracket(n) == a->Bracket(n - 1) ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  EXPECT_LT(longest, 20);
}

TEST(HyperbandPrunerTest, SuccessiveHalvingWithinTheBracketOnly) {
  // max 9, eta 3: bracket 0 judges at steps 1 and 3, bracket 1 at step 3,
  // bracket 2 never (its first rung, 9, is the full budget).
  std::unique_ptr<Pruner> p = Make({{"max_resource", "9"}});
  const int64_t current = NumberIn(*p, 0);
  const int64_t same = NumberIn(*p, 0, current + 1);
  const int64_t other = NumberIn(*p, 1);
  History h;
  h.goals = {Goal::kMinimize};
  h.trials.push_back(
      MakeTrial(other, TrialState::kCompleted, Steps({0.1, 0.1})));
  h.trials.push_back(
      MakeTrial(same, TrialState::kCompleted, Steps({0.9, 0.9})));
  h.trials.push_back(
      MakeTrial(current, TrialState::kRunning, Steps({0.5, 0.5})));
  // In bracket 0 the values at step 1 are 0.9 and 0.5: 0.5 is the best. The
  // 0.1 of the bracket-1 trial does not count.
  PruneDecision d = p->ShouldStop(h, 2, 1);
  EXPECT_FALSE(d.stop) << d.reason;
  EXPECT_THAT(
      d.reason,
      HasSubstr("bracket 0 (of 0 to 2; first rung at step 1): 0.5 at step 1 is "
                "among the best 1 of the 2 values at rung 0 (step 1)"));
  // A better trial of bracket 0 does.
  h.trials.push_back(MakeTrial(NumberIn(*p, 0, same + 1), TrialState::kPruned,
                               Steps({0.2, 0.2})));
  d = p->ShouldStop(h, 2, 1);
  EXPECT_TRUE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("cutoff 0.2"));
}

TEST(HyperbandPrunerTest, MoreConservativeBracketsJudgeLater) {
  std::unique_ptr<Pruner> p = Make({{"max_resource", "9"}});
  History h;
  h.goals = {Goal::kMaximize};
  const int64_t winner = NumberIn(*p, 1);
  h.trials.push_back(MakeTrial(winner, TrialState::kCompleted,
                               Steps({0.9, 0.9, 0.9, 0.9, 0.9})));
  h.trials.push_back(MakeTrial(NumberIn(*p, 1, winner + 1),
                               TrialState::kRunning, Steps({0.1, 0.1, 0.1})));
  PruneDecision d = p->ShouldStop(h, 1, 1);
  EXPECT_FALSE(d.stop);
  EXPECT_THAT(d.reason,
              HasSubstr("bracket 1 (of 0 to 2; first rung at step 3)"));
  h.trials.back().intermediate = Steps({0.1, 0.1, 0.1, 0.1});
  d = p->ShouldStop(h, 1, 3);
  EXPECT_TRUE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("rung 0 (step 3)"));

  // Bracket 2 would judge at step 9, the full budget: it never stops.
  const int64_t last = NumberIn(*p, 2);
  h.trials.push_back(MakeTrial(last, TrialState::kRunning,
                               Steps({0, 0, 0, 0, 0, 0, 0, 0, 0, 0})));
  d = p->ShouldStop(h, 2, 9);
  EXPECT_FALSE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("no rung is left below max_resource 9"));
}

TEST(HyperbandPrunerTest, NniAndKatibNames) {
  // What the importers produce.
  EXPECT_TRUE(Error({{"R", "60"}, {"eta", "3"}}).ok());
  EXPECT_TRUE(Error({{"R", "60"},
                     {"eta", "3"},
                     {"exec_mode", "serial"},
                     {"optimize_mode", "maximize"}})
                  .ok());
  EXPECT_TRUE(
      Error({{"resource_name", "epochs"}, {"eta", "3"}, {"r_l", "9"}}).ok());
  EXPECT_EQ(Counts(*Make({{"R", "60"}, {"eta", "3"}}), 500),
            Counts(*Make({{"max_resource", "60"}}), 500));
  EXPECT_EQ(
      Counts(*Make({{"r_l", "27"}, {"eta", "2"}}), 500),
      Counts(*Make({{"max_resource", "27"}, {"reduction_factor", "2"}}), 500));
}

TEST(HyperbandPrunerTest, Settings) {
  EXPECT_THAT(Error({}).message(),
              HasSubstr("early_stopping.settings.max_resource: is required"));
  EXPECT_THAT(Error({{"resource_name", "epochs"}, {"eta", "3"}}).message(),
              HasSubstr("max_resource: is required (or R, or r_l)"));
  EXPECT_THAT(
      Error({{"max_resource", "auto"}}).message(),
      HasSubstr(
          "early_stopping.settings.max_resource: \"auto\" is not supported"));
  EXPECT_THAT(Error({{"R", "Auto"}}).message(),
              HasSubstr("early_stopping.settings.R: \"auto\" is not"));
  EXPECT_THAT(
      Error({{"max_resource", "9"}, {"R", "9"}}).message(),
      HasSubstr("early_stopping.settings.R: is an alias of max_resource"));
  EXPECT_THAT(Error({{"max_resource", "4"}, {"min_resource", "5"}}).message(),
              HasSubstr("early_stopping.settings.max_resource: must be >= "
                        "min_resource (5), got 4"));
  EXPECT_THAT(Error({{"max_resource", "9"}, {"min_resource", "0"}}).message(),
              HasSubstr("early_stopping.settings.min_resource: must be >= 1"));
  EXPECT_THAT(Error({{"max_resource", "9"}, {"eta", "1"}}).message(),
              HasSubstr("early_stopping.settings.eta: must be > 1"));
  EXPECT_THAT(
      Error({{"max_resource", "9"}, {"eta", "3"}, {"reduction_factor", "3"}})
          .message(),
      HasSubstr(
          "early_stopping.settings.eta: is an alias of reduction_factor"));
  EXPECT_THAT(
      Error({{"max_resource", "9"}, {"exec_mode", "fast"}}).message(),
      HasSubstr(
          "early_stopping.settings.exec_mode: must be parallelism or serial"));
  EXPECT_THAT(
      Error({{"max_resource", "9"}, {"resource_name", ""}}).message(),
      HasSubstr("early_stopping.settings.resource_name: must not be empty"));
  EXPECT_THAT(
      Error({{"max_resource", "9"}, {"bootstrap_count", "-1"}}).message(),
      HasSubstr("early_stopping.settings.bootstrap_count: must be >= 0"));
  EXPECT_THAT(
      Error({{"max_resource", "1000000000000000000"},
             {"reduction_factor", "1.01"}})
          .message(),
      HasSubstr(
          "early_stopping.settings.max_resource: makes more than 64 brackets"));
  EXPECT_THAT(Error({{"max_resource", "9"}, {"grace_period", "1"}}).message(),
              HasSubstr("early_stopping.settings.grace_period: unknown setting "
                        "for hyperband"));
}

}  // namespace
}  // namespace hpo
