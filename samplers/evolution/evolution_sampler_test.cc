#include "samplers/evolution/evolution_sampler.h"

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
  return MakeSamplerReadingAllSettings(CreateEvolutionSampler, space, values,
                                       "evolution");
}

// How many coordinates differ between two configurations (inactive counts as
// a value of its own).
int Differences(const std::vector<double>& a, const std::vector<double>& b) {
  int n = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (IsInactive(a[i]) != IsInactive(b[i]) ||
        (!IsInactive(a[i]) && a[i] != b[i])) {
      ++n;
    }
  }
  return n;
}

SearchSpace FourDoubles() {
  return SearchSpace({DoubleParam("a", 0, 1), DoubleParam("b", 0, 1),
                      DoubleParam("c", 0, 1), DoubleParam("d", 0, 1)});
}

// Median over fixed seeds of the best value found by evolution and by random
// search with the same budget.
std::pair<double, double> EvolutionVsRandom(const SearchSpace& space,
                                            const Objective& f, int budget) {
  return MedianBests(
      [&] { return MakeSampler(space); },
      [&] { return MakeDefaultSampler(CreateRandomSampler, space); }, space, f,
      budget);
}

TEST(EvolutionSamplerTest, EverySuggestionInSpaceForEveryKind) {
  const SearchSpace space = EveryKind();
  std::unique_ptr<Sampler> sampler =
      MakeSampler(space, {{"population_size", "10"}});
  History history;
  history.goals = {Goal::kMinimize};
  for (int t = 0; t < 200; ++t) {
    Rng rng(t);
    auto s = sampler->Suggest(space, history, rng);
    ASSERT_TRUE(s.ok()) << s.status();
    ExpectLegalForSpace(space, s->params);
    const double y = EveryKindObjective(space, s->params);
    history.trials.push_back(
        MakeTrial(t, TrialState::kCompleted, std::move(s->params), {y}));
  }
}

TEST(EvolutionSamplerTest, EmptyHistoryAndOneTrial) {
  const SearchSpace space = EveryKind();
  for (const char* population : {"32", "1"}) {
    std::unique_ptr<Sampler> sampler =
        MakeSampler(space, {{"population_size", population}});
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
    EXPECT_GE(Differences(first->params, second->params), 1);
  }
}

TEST(EvolutionSamplerTest, FirstPopulationIsRandomThenChildrenOfTheBest) {
  const SearchSpace space = FourDoubles();
  // sample_size == population_size: the tournament always picks the best.
  std::unique_ptr<Sampler> sampler =
      MakeSampler(space, {{"population_size", "4"}, {"sample_size", "4"}});
  History history;
  history.goals = {Goal::kMinimize};
  history.trials.push_back(
      MakeTrial(0, TrialState::kCompleted, {0.1, 0.1, 0.1, 0.1}, {5.0}));
  history.trials.push_back(
      MakeTrial(1, TrialState::kCompleted, {0.2, 0.2, 0.2, 0.2}, {3.0}));
  history.trials.push_back(
      MakeTrial(2, TrialState::kRunning, {0.3, 0.3, 0.3, 0.3}));
  // Three members: still the random phase.
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Rng rng(seed);
    auto s = sampler->Suggest(space, history, rng);
    for (const TrialRecord& t : history.trials) {
      EXPECT_EQ(Differences(s->params, t.params), 4);
    }
  }
  history.trials.push_back(
      MakeTrial(3, TrialState::kCompleted, {0.4, 0.4, 0.4, 0.4}, {4.0}));
  // Four: children of the best, trial 1, each one parameter away.
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Rng rng(seed);
    auto s = sampler->Suggest(space, history, rng);
    EXPECT_EQ(Differences(s->params, history.trials[1].params), 1);
  }
}

TEST(EvolutionSamplerTest, OldMembersAgeOutWhateverTheirScore) {
  const SearchSpace space = FourDoubles();
  std::unique_ptr<Sampler> sampler =
      MakeSampler(space, {{"population_size", "2"}, {"sample_size", "2"}});
  History history;
  history.goals = {Goal::kMaximize};
  // The best trial is the oldest; with a population of two it is gone.
  history.trials.push_back(
      MakeTrial(0, TrialState::kCompleted, {0.1, 0.1, 0.1, 0.1}, {100.0}));
  history.trials.push_back(
      MakeTrial(1, TrialState::kCompleted, {0.2, 0.2, 0.2, 0.2}, {2.0}));
  history.trials.push_back(
      MakeTrial(2, TrialState::kCompleted, {0.3, 0.3, 0.3, 0.3}, {1.0}));
  // Failed and pruned trials never join the population.
  history.trials.push_back(
      MakeTrial(3, TrialState::kFailed, {0.4, 0.4, 0.4, 0.4}));
  TrialRecord pruned = MakeTrial(4, TrialState::kPruned, {0.5, 0.5, 0.5, 0.5});
  pruned.intermediate = {{1, 1000.0}};
  history.trials.push_back(pruned);
  for (uint64_t seed = 0; seed < 50; ++seed) {
    Rng rng(seed);
    auto s = sampler->Suggest(space, history, rng);
    // Maximizing: trial 1 beats trial 2.
    EXPECT_EQ(Differences(s->params, history.trials[1].params), 1);
  }
}

TEST(EvolutionSamplerTest, MutationStaysNearOrRedraws) {
  const SearchSpace space({DoubleParam("x", 0, 1)});
  std::unique_ptr<Sampler> sampler = MakeSampler(
      space, {{"population_size", "1"}, {"mutation_scale", "0.01"}});
  History history;
  history.goals = {Goal::kMinimize};
  history.trials.push_back(MakeTrial(0, TrialState::kCompleted, {0.5}, {0.0}));
  int near = 0;
  for (uint64_t seed = 0; seed < 400; ++seed) {
    Rng rng(seed);
    near +=
        std::abs(sampler->Suggest(space, history, rng)->params[0] - 0.5) < 0.05;
  }
  // Half steps (all within 5 deviations), half redraws (a tenth of which land
  // near): about 220.
  EXPECT_GT(near, 180);
  EXPECT_LT(near, 260);
}

TEST(EvolutionSamplerTest, MutationOfABranchDrawsTheNewBranch) {
  const SearchSpace space(
      {CategoricalParam("c", {"A", "B"}),
       ActiveWhen(DoubleParam("a", 0, 1), 0, {0}),
       ActiveWhen(IntParam("b", 1, 100), 0, {1}),
       ActiveWhen(CategoricalParam("bb", {"x", "y"}), 0, {1})});
  std::unique_ptr<Sampler> sampler =
      MakeSampler(space, {{"population_size", "1"}});
  History history;
  history.goals = {Goal::kMinimize};
  history.trials.push_back(MakeTrial(0, TrialState::kCompleted,
                                     {0, 0.3, kInactive, kInactive}, {0.0}));
  int switched = 0;
  for (uint64_t seed = 0; seed < 100; ++seed) {
    Rng rng(seed);
    auto s = sampler->Suggest(space, history, rng);
    ASSERT_TRUE(s.ok());
    ExpectLegalForSpace(space, s->params);
    if (s->params[0] == 1) {
      ++switched;
    } else {
      EXPECT_NE(s->params[1], 0.3);
    }
  }
  // c or a, with even odds.
  EXPECT_GT(switched, 30);
  EXPECT_LT(switched, 70);
}

TEST(EvolutionSamplerTest, RunningTrialsAreNotRepeated) {
  const SearchSpace space({CategoricalParam("p", {"a", "b"}),
                           CategoricalParam("q", {"a", "b", "c"})});
  std::unique_ptr<Sampler> sampler =
      MakeSampler(space, {{"population_size", "1"}});
  History history;
  history.goals = {Goal::kMinimize};
  history.trials.push_back(MakeTrial(0, TrialState::kCompleted, {0, 0}, {0.0}));
  // Two of the parent's three children are running.
  history.trials.push_back(MakeTrial(1, TrialState::kRunning, {1, 0}));
  history.trials.push_back(MakeTrial(2, TrialState::kWaiting, {0, 1}));
  for (uint64_t seed = 0; seed < 100; ++seed) {
    Rng rng(seed);
    auto s = sampler->Suggest(space, history, rng);
    ASSERT_TRUE(s.ok());
    EXPECT_NE(s->params, history.trials[1].params);
    EXPECT_NE(s->params, history.trials[2].params);
  }
}

TEST(EvolutionSamplerTest, SameSeedAndHistoryGiveSameSuggestion) {
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
  const std::map<std::string, std::string> settings = {
      {"population_size", "8"}};
  std::unique_ptr<Sampler> a = MakeSampler(space, settings);
  std::unique_ptr<Sampler> b = MakeSampler(space, settings);
  for (uint64_t seed = 0; seed < 10; ++seed) {
    Rng rng_a(seed), rng_b(seed);
    auto xa = a->Suggest(space, history, rng_a);
    auto xb = b->Suggest(space, history, rng_b);
    ASSERT_TRUE(xa.ok() && xb.ok());
    EXPECT_EQ(Differences(xa->params, xb->params), 0);
  }
}

TEST(EvolutionSamplerTest, SeedSettingChangesDrawsAndRandomStateIsAnAlias) {
  const SearchSpace space({DoubleParam("x", 0, 1)});
  History history;
  auto draw = [&](const std::map<std::string, std::string>& settings) {
    Rng rng(5);
    return MakeSampler(space, settings)->Suggest(space, history, rng)->params;
  };
  EXPECT_EQ(draw({{"seed", "1"}}), draw({{"random_state", "1"}}));
  EXPECT_NE(draw({{"seed", "1"}}), draw({{"seed", "2"}}));
}

TEST(EvolutionSamplerTest, RejectsBadSettings) {
  const SearchSpace space({DoubleParam("x", 0, 1)});
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{
           {"population_size", "0"},
           {"sample_size", "0"},
           {"sample_size", "33"},
           {"tournament_size", "40"},
           {"mutation_scale", "-0.1"},
           {"mutation_scale", "2"},
           {"optimize_mode", "sideways"},
           {"random_state", "x"}}) {
    Settings settings({{key, value}}, "algorithm.settings");
    auto sampler = CreateEvolutionSampler(space, settings);
    ASSERT_FALSE(sampler.ok()) << key << "=" << value;
    EXPECT_EQ(sampler.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(sampler.status().message().find(key), std::string::npos)
        << sampler.status();
  }
  Settings both({{"sample_size", "2"}, {"tournament_size", "2"}},
                "algorithm.settings");
  EXPECT_FALSE(CreateEvolutionSampler(space, both).ok());

  Settings good({{"population_size", "100"},
                 {"tournament_size", "25"},
                 {"mutation_scale", "0"},
                 {"optimize_mode", "Minimize"},
                 {"seed", "9"}},
                "algorithm.settings");
  EXPECT_TRUE(CreateEvolutionSampler(space, good).ok());
  EXPECT_TRUE(good.CheckAllRead("evolution").ok());
}

TEST(EvolutionSamplerTest, BeatsRandomOnSphere) {
  const SearchSpace space({DoubleParam("x0", -5, 5), DoubleParam("x1", -5, 5),
                           DoubleParam("x2", -5, 5), DoubleParam("x3", -5, 5)});
  const auto [evolution, random] = EvolutionVsRandom(
      space,
      [](const std::vector<double>& x) {
        double y = 0;
        for (double v : x) y += (v - 1) * (v - 1);
        return y;
      },
      150);
  EXPECT_LT(evolution, random);
}

TEST(EvolutionSamplerTest, BeatsRandomOnRastrigin) {
  const SearchSpace space({DoubleParam("x0", -5.12, 5.12),
                           DoubleParam("x1", -5.12, 5.12),
                           DoubleParam("x2", -5.12, 5.12)});
  const auto [evolution, random] = EvolutionVsRandom(
      space,
      [](const std::vector<double>& x) {
        double y = 10 * x.size();
        for (double v : x) y += v * v - 10 * std::cos(2 * M_PI * v);
        return y;
      },
      150);
  EXPECT_LT(evolution, random);
}

TEST(EvolutionSamplerTest, BeatsRandomOnMixedConditionalSpace) {
  const SearchSpace space = EveryKind();
  const auto [evolution, random] = EvolutionVsRandom(
      space,
      [&space](const std::vector<double>& x) {
        return EveryKindObjective(space, x);
      },
      150);
  EXPECT_LT(evolution, random);
}

}  // namespace
}  // namespace hpo
