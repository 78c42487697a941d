#include "samplers/qmc/qmc_sampler.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <set>
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
using ::hpo::sampler_testing::DiscreteParam;
using ::hpo::sampler_testing::DoubleParam;
using ::hpo::sampler_testing::ExpectLegalForSpace;
using ::hpo::sampler_testing::IntParam;
using ::hpo::sampler_testing::MakeSamplerReadingAllSettings;
using ::hpo::sampler_testing::Median;

using Factory = sampler_testing::SamplerFactory;

// Every kind of parameter, priors and conditions included.
SearchSpace EveryKind() {
  ParamSpec q = DoubleParam("q", -1, 1);
  q.q = 0.3;
  ParamSpec normal = DoubleParam("normal", -1e9, 1e9);
  normal.low = -std::numeric_limits<double>::infinity();
  normal.high = std::numeric_limits<double>::infinity();
  normal.prior = Prior::kNormal;
  normal.mu = 2;
  normal.sigma = 3;
  ParamSpec lognormal = DoubleParam("lognormal", 1e-4, 1, /*log=*/true);
  lognormal.prior = Prior::kNormal;
  lognormal.mu = -4;
  lognormal.sigma = 1;
  return SearchSpace({
      DoubleParam("d", -2, 3),
      DoubleParam("dstep", 0.1, 2, false, 0.25),
      DoubleParam("dlog", 1e-5, 1e-1, true),
      IntParam("i", -5, 5),
      IntParam("ilog", 1, 1000, true),
      IntParam("istep", 0, 100, false, 7),
      q,
      normal,
      lognormal,
      CategoricalParam("c", {"a", "b", "c"}),
      DiscreteParam("disc", {0.5, 1, 4, 16}),
      // 11: active for c == "b"; 12: nested under 11's second half.
      ActiveWhen(IntParam("units", 1, 8), 9, {1}),
      ActiveWhen(CategoricalParam("act", {"relu", "tanh"}), 11, {5, 6, 7, 8}),
  });
}

std::unique_ptr<Sampler> Make(Factory factory, const SearchSpace& space,
                              std::map<std::string, std::string> values = {}) {
  return MakeSamplerReadingAllSettings(factory, space, std::move(values),
                                       "qmc");
}

// Suggests `n` trials one after another, each left running in the history.
std::vector<std::vector<double>> SuggestMany(Sampler& sampler,
                                             const SearchSpace& space, int n,
                                             uint64_t seed = 1) {
  History history;
  history.goals = {Goal::kMinimize};
  std::vector<std::vector<double>> out;
  for (int i = 0; i < n; ++i) {
    Rng rng(seed * 1000003 + i);
    auto x = sampler.Suggest(space, history, rng);
    EXPECT_TRUE(x.ok()) << x.status();
    TrialRecord t;
    t.number = i;
    t.state = TrialState::kRunning;
    t.params = x->params;
    history.trials.push_back(t);
    out.push_back(std::move(x->params));
  }
  return out;
}

TEST(QmcSamplerTest, EveryKindInSpaceAndConditionsMasked) {
  const SearchSpace space = EveryKind();
  for (Factory f : {&CreateSobolSampler, &CreateHaltonSampler}) {
    for (const char* scramble : {"true", "false"}) {
      auto sampler = Make(f, space, {{"scramble", scramble}});
      int child_active = 0;
      int grandchild_active = 0;
      for (const std::vector<double>& x : SuggestMany(*sampler, space, 300)) {
        ExpectLegalForSpace(space, x);
        child_active += !IsInactive(x[11]);
        grandchild_active += !IsInactive(x[12]);
      }
      // A third of the trials take c == "b", half of those units >= 5.
      EXPECT_GT(child_active, 80);
      EXPECT_GT(grandchild_active, 30);
    }
  }
}

TEST(QmcSamplerTest, FirstPlainSobolPointsAreTheKnownOnes) {
  const SearchSpace space({DoubleParam("x", 0, 1), DoubleParam("y", 0, 1)});
  auto sampler = Make(&CreateSobolSampler, space, {{"scramble", "false"}});
  const std::vector<std::vector<double>> got = SuggestMany(*sampler, space, 4);
  const std::vector<std::vector<double>> want = {
      {0.5, 0.5}, {0.75, 0.25}, {0.25, 0.75}, {0.375, 0.375}};
  EXPECT_EQ(got, want);
}

TEST(QmcSamplerTest, FirstPlainHaltonPointsAreTheKnownOnes) {
  const SearchSpace space({DoubleParam("x", 0, 1), DoubleParam("y", 0, 1)});
  auto sampler = Make(&CreateHaltonSampler, space, {{"scramble", "false"}});
  const std::vector<std::vector<double>> got = SuggestMany(*sampler, space, 3);
  EXPECT_DOUBLE_EQ(got[0][0], 0.5);
  EXPECT_DOUBLE_EQ(got[0][1], 1.0 / 3);
  EXPECT_DOUBLE_EQ(got[1][0], 0.25);
  EXPECT_DOUBLE_EQ(got[1][1], 2.0 / 3);
  EXPECT_DOUBLE_EQ(got[2][0], 0.75);
  EXPECT_DOUBLE_EQ(got[2][1], 1.0 / 9);
}

TEST(QmcSamplerTest, SkipMovesAlongTheSequence) {
  const SearchSpace space({DoubleParam("x", 0, 1), DoubleParam("y", 0, 1)});
  auto plain = Make(&CreateSobolSampler, space, {{"scramble", "false"}});
  auto skipped =
      Make(&CreateSobolSampler, space, {{"scramble", "false"}, {"skip", "2"}});
  const auto a = SuggestMany(*plain, space, 6);
  const auto b = SuggestMany(*skipped, space, 4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(b[i], a[i + 2]);
}

// Without a seed setting the scramble follows the experiment's seed: two
// experiments differ, the same experiment (a restart) repeats itself, and a
// seed setting or no scramble at all makes History::seed irrelevant.
TEST(QmcSamplerTest, ScrambleFollowsTheExperimentSeedUnlessSet) {
  const SearchSpace space({DoubleParam("x", 0, 1), DoubleParam("y", 0, 1)});
  auto first_points = [&](Sampler& sampler, uint64_t experiment_seed) {
    History history;
    history.goals = {Goal::kMinimize};
    history.seed = experiment_seed;
    std::vector<std::vector<double>> out;
    for (int i = 0; i < 4; ++i) {
      Rng rng(i);
      auto x = sampler.Suggest(space, history, rng);
      EXPECT_TRUE(x.ok()) << x.status();
      TrialRecord t;
      t.number = i;
      t.params = x->params;
      history.trials.push_back(t);
      out.push_back(x->params);
    }
    return out;
  };
  for (Factory f : {&CreateSobolSampler, &CreateHaltonSampler}) {
    auto a = Make(f, space);
    const auto a7 = first_points(*a, 7);
    EXPECT_NE(first_points(*a, 8), a7);
    EXPECT_EQ(first_points(*a, 7), a7);
    EXPECT_EQ(first_points(*Make(f, space), 7), a7);  // a rebuilt sampler

    auto seeded = Make(f, space, {{"seed", "3"}});
    EXPECT_EQ(first_points(*seeded, 7), first_points(*seeded, 8));
    auto plain = Make(f, space, {{"scramble", "false"}});
    EXPECT_EQ(first_points(*plain, 7), first_points(*plain, 8));
  }
}

// The point depends on how many trials the history has, in any state, and on
// nothing else: not the Rng, not the states or values.
TEST(QmcSamplerTest, DeterministicAndIndexedByHistorySize) {
  const SearchSpace space = EveryKind();
  for (Factory f : {&CreateSobolSampler, &CreateHaltonSampler}) {
    auto a = Make(f, space, {{"seed", "5"}});
    auto b = Make(f, space, {{"seed", "5"}});
    auto c = Make(f, space, {{"seed", "6"}});
    History history;
    history.goals = {Goal::kMaximize};
    const std::vector<TrialState> states = {
        TrialState::kCompleted, TrialState::kFailed, TrialState::kPruned,
        TrialState::kRunning};
    for (int i = 0; i < 12; ++i) {
      Rng r1(i);
      Rng r2(i + 100);
      Rng r3(i);
      auto xa = a->Suggest(space, history, r1);
      auto xb = b->Suggest(space, history, r2);
      auto xc = c->Suggest(space, history, r3);
      ASSERT_TRUE(xa.ok() && xb.ok() && xc.ok());
      EXPECT_EQ(xa->params.size(), space.size());
      // NaN != NaN, so compare the masked coordinates by bits.
      for (size_t k = 0; k < space.size(); ++k) {
        EXPECT_TRUE(xa->params[k] == xb->params[k] ||
                    (IsInactive(xa->params[k]) && IsInactive(xb->params[k])));
      }
      EXPECT_NE(xa->params[0], xc->params[0]);
      TrialRecord t;
      t.number = i;
      t.state = states[i % states.size()];
      t.params = xa->params;
      if (t.state == TrialState::kCompleted) t.values = {1.0 * i};
      if (t.state == TrialState::kPruned) t.intermediate = {{1, 0.5}};
      history.trials.push_back(t);
    }
  }
}

TEST(QmcSamplerTest, RunningTrialsAreNeverRepeated) {
  const SearchSpace space({DoubleParam("x", 0, 1), IntParam("n", 1, 1 << 20),
                           DoubleParam("z", -1, 1)});
  for (Factory f : {&CreateSobolSampler, &CreateHaltonSampler}) {
    for (const char* scramble : {"true", "false"}) {
      auto sampler = Make(f, space, {{"scramble", scramble}});
      std::set<std::vector<double>> seen;
      for (const std::vector<double>& x : SuggestMany(*sampler, space, 500)) {
        EXPECT_TRUE(seen.insert(x).second) << x[0] << " " << x[1];
      }
    }
  }
}

TEST(QmcSamplerTest, CategoriesAreCoveredInBalance) {
  const SearchSpace space({CategoricalParam("opt", {"sgd", "adam", "rmsprop"}),
                           DiscreteParam("bs", {16, 32, 64, 128, 256})});
  for (Factory f : {&CreateSobolSampler, &CreateHaltonSampler}) {
    auto sampler = Make(f, space);
    std::vector<int> opt(3);
    std::vector<int> bs(5);
    std::set<std::pair<int, int>> pairs;
    for (const std::vector<double>& x : SuggestMany(*sampler, space, 300)) {
      opt[static_cast<int>(x[0])]++;
      bs[static_cast<int>(x[1])]++;
      pairs.insert({static_cast<int>(x[0]), static_cast<int>(x[1])});
    }
    // A low-discrepancy sequence is far more even than random's binomial
    // spread (about +-9 here).
    for (int c : opt) EXPECT_NEAR(c, 100, 3);
    for (int c : bs) EXPECT_NEAR(c, 60, 3);
    EXPECT_EQ(pairs.size(), 15u);
  }
}

TEST(QmcSamplerTest, EmptyAndOneTrialHistories) {
  const SearchSpace space({DoubleParam("x", -3, 3)});
  for (Factory f : {&CreateSobolSampler, &CreateHaltonSampler}) {
    auto sampler = Make(f, space);
    History history;
    history.goals = {Goal::kMinimize};
    Rng rng(1);
    auto first = sampler->Suggest(space, history, rng);
    ASSERT_TRUE(first.ok()) << first.status();
    TrialRecord t;
    t.number = 0;
    t.state = TrialState::kFailed;
    t.params = first->params;
    history.trials.push_back(t);
    auto second = sampler->Suggest(space, history, rng);
    ASSERT_TRUE(second.ok()) << second.status();
    EXPECT_NE(first->params, second->params);
    EXPECT_TRUE(second->sampler_data.empty());
  }
}

TEST(QmcSamplerTest, SpaceWithoutParameters) {
  const SearchSpace space;
  auto sampler = Make(&CreateSobolSampler, space);
  History history;
  Rng rng(1);
  auto x = sampler->Suggest(space, history, rng);
  ASSERT_TRUE(x.ok());
  EXPECT_TRUE(x->params.empty());
}

TEST(QmcSamplerTest, RefusesBadSettingsAndTooManyParameters) {
  const SearchSpace space({DoubleParam("x", 0, 1)});
  const std::vector<std::pair<std::map<std::string, std::string>, std::string>>
      bad = {{{{"skip", "-1"}}, "skip"},
             {{{"scramble", "maybe"}}, "scramble"},
             {{{"seed", "x"}}, "seed"},
             {{{"qmc_type", "halton"}}, "qmc_type"}};
  for (const auto& [values, key] : bad) {
    Settings settings(values, "algorithm.settings");
    const absl::Status s = CreateSobolSampler(space, settings).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << key;
    EXPECT_NE(s.message().find("algorithm.settings." + key), std::string::npos)
        << s;
  }
  Settings ok({{"qmc_type", "sobol"}}, "algorithm.settings");
  EXPECT_TRUE(CreateSobolSampler(space, ok).ok());

  std::vector<ParamSpec> many;
  for (int i = 0; i < 1025; ++i) {
    many.push_back(DoubleParam("p" + std::to_string(i), 0, 1));
  }
  Settings none({}, "algorithm.settings");
  const absl::Status s =
      CreateSobolSampler(SearchSpace(std::move(many)), none).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("1025"), std::string::npos) << s;
}

// Hickernell's centered L2 discrepancy (squared) of points in [0, 1]^d.
double CenteredDiscrepancy(const std::vector<std::vector<double>>& x) {
  const size_t n = x.size();
  const size_t d = x[0].size();
  double single = 0;
  for (const auto& p : x) {
    double prod = 1;
    for (double v : p) {
      const double a = std::abs(v - 0.5);
      prod *= 1 + 0.5 * a - 0.5 * a * a;
    }
    single += prod;
  }
  double pairs = 0;
  for (const auto& p : x) {
    for (const auto& q : x) {
      double prod = 1;
      for (size_t k = 0; k < d; ++k) {
        prod *= 1 + 0.5 * std::abs(p[k] - 0.5) + 0.5 * std::abs(q[k] - 0.5) -
                0.5 * std::abs(p[k] - q[k]);
      }
      pairs += prod;
    }
  }
  return std::pow(13.0 / 12, d) - 2.0 / n * single + pairs / (n * n);
}

TEST(QmcSamplerTest, ScrambledPointsHaveLowerDiscrepancyThanRandom) {
  const SearchSpace space({DoubleParam("a", 0, 1), DoubleParam("b", 0, 1),
                           DoubleParam("c", 0, 1), DoubleParam("d", 0, 1)});
  std::vector<double> random;
  std::vector<double> sobol;
  std::vector<double> halton;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    auto r = Make(&CreateRandomSampler, space);
    random.push_back(CenteredDiscrepancy(SuggestMany(*r, space, 256, seed)));
    const std::map<std::string, std::string> s = {
        {"seed", std::to_string(seed)}};
    auto so = Make(&CreateSobolSampler, space, s);
    sobol.push_back(CenteredDiscrepancy(SuggestMany(*so, space, 256)));
    auto ha = Make(&CreateHaltonSampler, space, s);
    halton.push_back(CenteredDiscrepancy(SuggestMany(*ha, space, 256)));
  }
  const double random_median = Median(random);
  // Random points' squared discrepancy is about 0.2 / n here; QMC's decays
  // nearly as 1 / n^2.
  for (double v : sobol) EXPECT_LT(v, random_median / 4);
  for (double v : halton) EXPECT_LT(v, random_median / 4);
}

// The mean, over 50 instances of `f` whose optimum is drawn uniformly from
// [-4, 4]^d (as BBOB draws its instances), of the best value among `x`.
double MeanBestOverInstances(
    const std::vector<std::vector<double>>& x,
    const std::function<double(const std::vector<double>&,
                               const std::vector<double>&)>& f) {
  Rng instances(12345);
  constexpr int kInstances = 50;
  double total = 0;
  for (int k = 0; k < kInstances; ++k) {
    std::vector<double> optimum(x[0].size());
    for (double& v : optimum) v = -4 + 8 * UnitDraw(instances);
    double best = INFINITY;
    for (const std::vector<double>& p : x) best = std::min(best, f(p, optimum));
    total += best;
  }
  return total / kInstances;
}

// A fixed optimum favours whichever point set happens to fall near it, and
// the best of n random points has a long tail, so the comparison averages
// over optimum locations: that is where a low-discrepancy set's evenness
// pays (no large holes), and what a user with an unknown optimum gets.
TEST(QmcSamplerTest, BeatsRandomSearchOnStandardFunctions) {
  constexpr int kDim = 4;
  constexpr int kBudget = 64;
  std::vector<ParamSpec> params;
  for (int i = 0; i < kDim; ++i) {
    params.push_back(DoubleParam("x" + std::to_string(i), -5, 5));
  }
  const SearchSpace space(params);
  const auto sphere = [](const std::vector<double>& x,
                         const std::vector<double>& c) {
    double s = 0;
    for (size_t i = 0; i < x.size(); ++i) s += (x[i] - c[i]) * (x[i] - c[i]);
    return s;
  };
  // Condition 100: axis scales 1 to 10.
  const auto ellipsoid = [](const std::vector<double>& x,
                            const std::vector<double>& c) {
    double s = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      s +=
          std::pow(100.0, i / (x.size() - 1.0)) * (x[i] - c[i]) * (x[i] - c[i]);
    }
    return s;
  };
  using Objective = std::function<double(const std::vector<double>&,
                                         const std::vector<double>&)>;
  for (const Objective& f : {Objective(sphere), Objective(ellipsoid)}) {
    std::vector<double> random;
    std::vector<double> sobol;
    std::vector<double> halton;
    for (uint64_t seed = 1; seed <= 9; ++seed) {
      const std::map<std::string, std::string> s = {
          {"seed", std::to_string(seed)}};
      auto r = Make(&CreateRandomSampler, space);
      random.push_back(
          MeanBestOverInstances(SuggestMany(*r, space, kBudget, seed), f));
      auto so = Make(&CreateSobolSampler, space, s);
      sobol.push_back(
          MeanBestOverInstances(SuggestMany(*so, space, kBudget), f));
      auto ha = Make(&CreateHaltonSampler, space, s);
      halton.push_back(
          MeanBestOverInstances(SuggestMany(*ha, space, kBudget), f));
    }
    EXPECT_LT(Median(sobol), Median(random));
    EXPECT_LT(Median(halton), Median(random));
  }
}

}  // namespace
}  // namespace hpo
