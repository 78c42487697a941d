#include "samplers/anneal/anneal_sampler.h"

#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/history.h"
#include "core/search_space.h"
#include "core/settings.h"
#include "gtest/gtest.h"
#include "samplers/random/random_sampler.h"
#include "samplers/sampler.h"
#include "samplers/testing/sampler_test_util.h"

namespace hpo {
namespace {

using ::hpo::sampler_testing::ActiveWhen;
using ::hpo::sampler_testing::CategoricalParam;
using ::hpo::sampler_testing::DoubleParam;
using ::hpo::sampler_testing::EveryKind;
using ::hpo::sampler_testing::EveryKindObjective;
using ::hpo::sampler_testing::ExpectLegalForSpace;
using ::hpo::sampler_testing::IntParam;
using ::hpo::sampler_testing::MakeDefaultSampler;
using ::hpo::sampler_testing::MakeSamplerReadingAllSettings;
using ::hpo::sampler_testing::MakeTrial;
using ::hpo::sampler_testing::MedianBests;
using ::hpo::sampler_testing::Objective;

std::unique_ptr<Sampler> MakeSampler(
    const SearchSpace& space,
    const std::map<std::string, std::string>& values = {}) {
  return MakeSamplerReadingAllSettings(CreateAnnealSampler, space, values,
                                       "anneal");
}

// Median over fixed seeds of the best value found by anneal and by random
// search with the same budget.
std::pair<double, double> AnnealVsRandom(const SearchSpace& space,
                                         const Objective& f, int budget) {
  return MedianBests(
      [&] { return MakeSampler(space); },
      [&] { return MakeDefaultSampler(CreateRandomSampler, space); }, space, f,
      budget);
}

TEST(AnnealSamplerTest, EverySuggestionInSpaceForEveryKind) {
  const SearchSpace space = EveryKind();
  std::unique_ptr<Sampler> sampler = MakeSampler(space);
  History history;
  history.goals = {Goal::kMinimize};
  for (int t = 0; t < 150; ++t) {
    Rng rng(t);
    auto s = sampler->Suggest(space, history, rng);
    ASSERT_TRUE(s.ok()) << s.status();
    ExpectLegalForSpace(space, s->params);
    const double y = EveryKindObjective(space, s->params);
    history.trials.push_back(
        MakeTrial(t, TrialState::kCompleted, std::move(s->params), {y}));
  }
}

TEST(AnnealSamplerTest, EmptyHistoryAndOneTrial) {
  const SearchSpace space = EveryKind();
  std::unique_ptr<Sampler> sampler = MakeSampler(space);
  History history;
  Rng rng(7);
  auto first = sampler->Suggest(space, history, rng);
  ASSERT_TRUE(first.ok()) << first.status();
  ExpectLegalForSpace(space, first->params);

  history.goals = {Goal::kMaximize};
  history.trials.push_back(
      MakeTrial(0, TrialState::kCompleted, first->params, {1.0}));
  auto second = sampler->Suggest(space, history, rng);
  ASSERT_TRUE(second.ok()) << second.status();
  ExpectLegalForSpace(space, second->params);
  EXPECT_NE(first->params, second->params);
}

TEST(AnnealSamplerTest, SameSeedAndHistoryGiveSameSuggestion) {
  const SearchSpace space = EveryKind();
  History history;
  history.goals = {Goal::kMinimize};
  Rng draw(3);
  for (int t = 0; t < 20; ++t) {
    auto s = MakeDefaultSampler(CreateRandomSampler, space)
                 ->Suggest(space, history, draw);
    history.trials.push_back(MakeTrial(t, TrialState::kCompleted, s->params,
                                       {EveryKindObjective(space, s->params)}));
  }
  std::unique_ptr<Sampler> a = MakeSampler(space);
  std::unique_ptr<Sampler> b = MakeSampler(space);
  Rng rng_a(42), rng_b(42), rng_c(43);
  auto xa = a->Suggest(space, history, rng_a);
  auto xb = b->Suggest(space, history, rng_b);
  auto xc = a->Suggest(space, history, rng_c);
  ASSERT_TRUE(xa.ok() && xb.ok() && xc.ok());
  // NaN != NaN, so compare through the masks.
  ASSERT_EQ(xa->params.size(), xb->params.size());
  for (size_t i = 0; i < space.size(); ++i) {
    if (IsInactive(xa->params[i])) {
      EXPECT_TRUE(IsInactive(xb->params[i]));
    } else {
      EXPECT_EQ(xa->params[i], xb->params[i]);
    }
  }
  EXPECT_NE(xa->params[0], xc->params[0]);
}

TEST(AnnealSamplerTest, SeedSettingChangesDrawsAndRandomStateIsAnAlias) {
  const SearchSpace space({DoubleParam("x", 0, 1)});
  History history;
  auto draw = [&](const std::map<std::string, std::string>& settings) {
    Rng rng(5);
    return MakeSampler(space, settings)->Suggest(space, history, rng)->params;
  };
  EXPECT_EQ(draw({{"seed", "1"}}), draw({{"random_state", "1"}}));
  EXPECT_NE(draw({{"seed", "1"}}), draw({{"seed", "2"}}));
}

TEST(AnnealSamplerTest, DrawsNearTheBestTrialAsObservationsGrow) {
  const SearchSpace space({DoubleParam("x", 0, 10), IntParam("n", 0, 1000),
                           CategoricalParam("c", {"a", "b", "c", "d"})});
  History history;
  history.goals = {Goal::kMinimize};
  history.trials.push_back(
      MakeTrial(0, TrialState::kCompleted, {2, 700, 3}, {0.0}));
  // Trials that tried the parameters but failed: they count for nothing.
  for (int t = 1; t < 10; ++t) {
    history.trials.push_back(MakeTrial(t, TrialState::kFailed, {9, 10, 0}));
  }
  // shrink_coef 1000: after one observation the window is 1/1001 wide.
  std::unique_ptr<Sampler> sampler =
      MakeSampler(space, {{"shrink_coef", "1000"}});
  for (uint64_t seed = 0; seed < 50; ++seed) {
    Rng rng(seed);
    auto s = sampler->Suggest(space, history, rng);
    ASSERT_TRUE(s.ok());
    EXPECT_NEAR(s->params[0], 2, 0.01);
    EXPECT_NEAR(s->params[1], 700, 1);
    EXPECT_EQ(s->params[2], 3);
  }
}

TEST(AnnealSamplerTest, PrefersBetterTrialsAndFollowsTheGoal) {
  const SearchSpace space({DoubleParam("x", 0, 1)});
  for (Goal goal : {Goal::kMinimize, Goal::kMaximize}) {
    History history;
    history.goals = {goal};
    // x = 0.05 scores 0, x = 0.95 scores 1.
    history.trials.push_back(
        MakeTrial(0, TrialState::kCompleted, {0.05}, {0.0}));
    history.trials.push_back(
        MakeTrial(1, TrialState::kCompleted, {0.95}, {1.0}));
    std::unique_ptr<Sampler> sampler =
        MakeSampler(space, {{"shrink_coef", "100"}, {"avg_best_idx", "1.25"}});
    int low = 0;
    for (uint64_t seed = 0; seed < 200; ++seed) {
      Rng rng(seed);
      low += sampler->Suggest(space, history, rng)->params[0] < 0.5;
    }
    // Rank 0 has probability 1 / avg_best_idx = 0.8.
    if (goal == Goal::kMinimize) {
      EXPECT_GT(low, 140);
    } else {
      EXPECT_LT(low, 60);
    }
  }
}

TEST(AnnealSamplerTest, RunnerUpSuppliesParametersTheBestTrialLacks) {
  // c chooses the branch; a lives under A, b under B.
  const SearchSpace space({CategoricalParam("c", {"A", "B"}),
                           ActiveWhen(DoubleParam("a", 0, 1), 0, {0}),
                           ActiveWhen(DoubleParam("b", 0, 1), 0, {1})});
  History history;
  history.goals = {Goal::kMinimize};
  // Thirty good A trials, so the trial explored around is all but always an
  // A, and a few bad B trials that all had b = 0.7.
  for (int t = 0; t < 30; ++t) {
    history.trials.push_back(
        MakeTrial(t, TrialState::kCompleted, {0, 0.3, kInactive}, {double(t)}));
  }
  for (int t = 30; t < 35; ++t) {
    history.trials.push_back(
        MakeTrial(t, TrialState::kCompleted, {1, kInactive, 0.7}, {100.0 + t}));
  }
  // c's window is 1 / (1 + 35 * 0.5): about one draw in 19 goes to the prior,
  // so to B about one in 37. b's is 1 / 3.5 wide around 0.7.
  std::unique_ptr<Sampler> sampler =
      MakeSampler(space, {{"shrink_coef", "0.5"}});
  int branch_b = 0;
  for (uint64_t seed = 0; seed < 2000; ++seed) {
    Rng rng(seed);
    auto s = sampler->Suggest(space, history, rng);
    ASSERT_TRUE(s.ok());
    ExpectLegalForSpace(space, s->params);
    if (s->params[0] == 1) {
      ++branch_b;
      EXPECT_NEAR(s->params[2], 0.7, 0.15);
    } else {
      EXPECT_NEAR(s->params[1], 0.3, 1 / (1 + 30 * 0.5) / 2 + 1e-9);
    }
  }
  EXPECT_GT(branch_b, 20);
}

TEST(AnnealSamplerTest, RunningTrialsAreNotRepeated) {
  const SearchSpace space({IntParam("n", 0, 9)});
  History history;
  history.goals = {Goal::kMinimize};
  history.trials.push_back(MakeTrial(0, TrialState::kCompleted, {5}, {0.0}));
  history.trials.push_back(MakeTrial(1, TrialState::kCompleted, {2}, {1.0}));
  history.trials.push_back(MakeTrial(2, TrialState::kRunning, {5}));
  history.trials.push_back(MakeTrial(3, TrialState::kWaiting, {2}));
  // A window so narrow that annealing alone would give 5 or 2 every time.
  std::unique_ptr<Sampler> sampler =
      MakeSampler(space, {{"shrink_coef", "1000"}});
  for (uint64_t seed = 0; seed < 100; ++seed) {
    Rng rng(seed);
    auto s = sampler->Suggest(space, history, rng);
    ASSERT_TRUE(s.ok());
    EXPECT_NE(s->params[0], 5);
    EXPECT_NE(s->params[0], 2);
  }
}

TEST(AnnealSamplerTest, OnlyRunningFailedAndPrunedTrialsGivePriorDraws) {
  const SearchSpace space = EveryKind();
  History history;
  history.goals = {Goal::kMinimize};
  Rng draw(1);
  auto random = MakeDefaultSampler(CreateRandomSampler, space);
  TrialRecord failed = MakeTrial(0, TrialState::kFailed,
                                 random->Suggest(space, history, draw)->params);
  TrialRecord pruned = MakeTrial(1, TrialState::kPruned,
                                 random->Suggest(space, history, draw)->params);
  pruned.intermediate = {{1, 0.5}, {2, 0.4}};
  TrialRecord running = MakeTrial(
      2, TrialState::kRunning, random->Suggest(space, history, draw)->params);
  history.trials = {failed, pruned, running};
  std::unique_ptr<Sampler> sampler = MakeSampler(space);
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Rng rng(seed);
    auto s = sampler->Suggest(space, history, rng);
    ASSERT_TRUE(s.ok());
    ExpectLegalForSpace(space, s->params);
  }
}

TEST(AnnealSamplerTest, StartupTrialsAreRandom) {
  const SearchSpace space({DoubleParam("x", 0, 1)});
  History history;
  history.goals = {Goal::kMinimize};
  history.trials.push_back(MakeTrial(0, TrialState::kCompleted, {0.5}, {0.0}));
  std::unique_ptr<Sampler> sampler =
      MakeSampler(space, {{"n_startup_trials", "2"}, {"shrink_coef", "1000"}});
  int far = 0;
  for (uint64_t seed = 0; seed < 100; ++seed) {
    Rng rng(seed);
    far +=
        std::abs(sampler->Suggest(space, history, rng)->params[0] - 0.5) > 0.01;
  }
  EXPECT_GT(far, 80);
}

TEST(AnnealSamplerTest, RejectsBadSettings) {
  const SearchSpace space({DoubleParam("x", 0, 1)});
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{
           {"avg_best_idx", "0.5"},
           {"shrink_coef", "-1"},
           {"n_startup_trials", "-3"},
           {"optimize_mode", "sideways"},
           {"seed", "abc"}}) {
    Settings settings({{key, value}}, "algorithm.settings");
    auto sampler = CreateAnnealSampler(space, settings);
    ASSERT_FALSE(sampler.ok()) << key;
    EXPECT_EQ(sampler.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(sampler.status().message().find(key), std::string::npos)
        << sampler.status();
  }
  Settings both({{"seed", "1"}, {"random_state", "2"}}, "algorithm.settings");
  EXPECT_FALSE(CreateAnnealSampler(space, both).ok());

  Settings good({{"avg_best_idx", "3"},
                 {"shrink_coef", "0.2"},
                 {"n_startup_trials", "5"},
                 {"optimize_mode", "minimize"},
                 {"random_state", "9"}},
                "algorithm.settings");
  EXPECT_TRUE(CreateAnnealSampler(space, good).ok());
  EXPECT_TRUE(good.CheckAllRead("anneal").ok());
}

TEST(AnnealSamplerTest, BeatsRandomOnSphere) {
  const SearchSpace space({DoubleParam("x0", -5, 5), DoubleParam("x1", -5, 5),
                           DoubleParam("x2", -5, 5), DoubleParam("x3", -5, 5)});
  const auto [anneal, random] = AnnealVsRandom(
      space,
      [](const std::vector<double>& x) {
        double y = 0;
        for (double v : x) y += (v - 1) * (v - 1);
        return y;
      },
      100);
  EXPECT_LT(anneal, random);
}

TEST(AnnealSamplerTest, BeatsRandomOnRosenbrock) {
  const SearchSpace space({DoubleParam("x", -2, 2), DoubleParam("y", -1, 3)});
  const auto [anneal, random] = AnnealVsRandom(
      space,
      [](const std::vector<double>& x) {
        return 100 * std::pow(x[1] - x[0] * x[0], 2) + std::pow(1 - x[0], 2);
      },
      100);
  EXPECT_LT(anneal, random);
}

TEST(AnnealSamplerTest, BeatsRandomOnMixedConditionalSpace) {
  const SearchSpace space = EveryKind();
  const auto [anneal, random] = AnnealVsRandom(
      space,
      [&space](const std::vector<double>& x) {
        return EveryKindObjective(space, x);
      },
      100);
  EXPECT_LT(anneal, random);
}

}  // namespace
}  // namespace hpo
