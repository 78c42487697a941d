#include "samplers/tpe/tpe_sampler.h"

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
#include "samplers/tpe/every_kind_space.h"

namespace hpo {
namespace {

using ::hpo::sampler_testing::ActiveWhen;
using ::hpo::sampler_testing::BestValue;
using ::hpo::sampler_testing::CategoricalParam;
using ::hpo::sampler_testing::DiscreteParam;
using ::hpo::sampler_testing::DoubleParam;
using ::hpo::sampler_testing::ExpectLegalForSpace;
using ::hpo::sampler_testing::IntParam;
using ::hpo::sampler_testing::MakeSamplerReadingAllSettings;
using ::hpo::sampler_testing::Median;
using ::hpo::sampler_testing::Objective;
using ::hpo::sampler_testing::RunTrials;

using SettingsMap = std::map<std::string, std::string>;

using ::hpo::tpe_testing::EveryKindSpace;

double EveryKindObjective(const std::vector<double>& x) {
  double v = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (IsInactive(x[i])) continue;
    v += std::sin(static_cast<double>(i + 1) * x[i]);
  }
  return v;
}

std::unique_ptr<Sampler> MakeTpe(const SearchSpace& space,
                                 const SettingsMap& values = {},
                                 bool multivariate_factory = false) {
  return MakeSamplerReadingAllSettings(
      multivariate_factory ? CreateTpeMultivariateSampler : CreateTpeSampler,
      space, values, "tpe");
}

// Equal coordinates, inactive at the same places (NaN != NaN).
bool SameConfig(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (IsInactive(a[i]) != IsInactive(b[i])) return false;
    if (!IsInactive(a[i]) && a[i] != b[i]) return false;
  }
  return true;
}

TrialRecord Record(int64_t number, TrialState state, std::vector<double> x,
                   double value = 0) {
  TrialRecord t;
  t.number = number;
  t.state = state;
  t.params = std::move(x);
  if (state == TrialState::kCompleted) t.values = {value};
  if (state == TrialState::kPruned) t.intermediate = {{1, value}, {2, value}};
  return t;
}

// RunTrials, and TPE keeps nothing in its trials: it rebuilds everything from
// the history.
History Optimize(Sampler& sampler, const SearchSpace& space,
                 const Objective& objective, int budget, uint64_t seed,
                 Goal goal = Goal::kMinimize) {
  History history = RunTrials(sampler, space, objective, budget, seed, goal);
  for (const TrialRecord& t : history.trials) {
    EXPECT_TRUE(t.sampler_data.empty());
  }
  return history;
}

struct Mode {
  const char* name;
  SettingsMap settings;
};

const std::vector<Mode>& Modes() {
  static const auto* modes = new std::vector<Mode>{
      {"multivariate", {}},
      {"univariate", {{"multivariate", "false"}}},
      {"group", {{"multivariate", "true"}, {"group", "true"}}},
      {"discrete_as_categorical", {{"discrete_as_categorical", "true"}}},
      {"no_magic_clip_endpoints",
       {{"consider_magic_clip", "false"}, {"consider_endpoints", "true"}}},
  };
  return *modes;
}

TEST(TpeSamplerTest, EveryKindStaysInSpaceInEveryMode) {
  const SearchSpace space = EveryKindSpace();
  for (const Mode& mode : Modes()) {
    SCOPED_TRACE(mode.name);
    std::unique_ptr<Sampler> sampler = MakeTpe(space, mode.settings);
    History history;
    history.goals = {Goal::kMinimize};
    for (int t = 0; t < 40; ++t) {
      Rng rng(100 + t);
      auto x = sampler->Suggest(space, history, rng);
      ASSERT_TRUE(x.ok()) << x.status();
      ExpectLegalForSpace(space, x->params);
      // A mix of outcomes, as parallel workers leave them.
      const TrialState state = t % 7 == 3   ? TrialState::kFailed
                               : t % 7 == 5 ? TrialState::kPruned
                               : t % 9 == 8 ? TrialState::kRunning
                                            : TrialState::kCompleted;
      history.trials.push_back(
          Record(t, state, x->params, EveryKindObjective(x->params)));
    }
  }
}

TEST(TpeSamplerTest, SmallHistoriesAreHandled) {
  const SearchSpace space = EveryKindSpace();
  for (const Mode& mode : Modes()) {
    SCOPED_TRACE(mode.name);
    SettingsMap settings = mode.settings;
    settings["n_startup_trials"] = "0";
    std::unique_ptr<Sampler> sampler = MakeTpe(space, settings);
    const std::vector<double> x0 = [&] {
      History empty;
      empty.goals = {Goal::kMinimize};
      Rng rng(9);
      auto x = sampler->Suggest(space, empty, rng);
      EXPECT_TRUE(x.ok());
      ExpectLegalForSpace(space, x->params);
      return x->params;
    }();
    // One trial in each state, and then two.
    for (TrialState state :
         {TrialState::kCompleted, TrialState::kPruned, TrialState::kFailed,
          TrialState::kRunning, TrialState::kWaiting}) {
      History h;
      h.goals = {Goal::kMaximize};
      h.trials.push_back(Record(0, state, x0, 1.5));
      Rng rng(10);
      auto x = sampler->Suggest(space, h, rng);
      ASSERT_TRUE(x.ok()) << x.status();
      ExpectLegalForSpace(space, x->params);
      h.trials.push_back(Record(1, TrialState::kCompleted, x->params, 0.5));
      auto y = sampler->Suggest(space, h, rng);
      ASSERT_TRUE(y.ok()) << y.status();
      ExpectLegalForSpace(space, y->params);
    }
    // No goals at all (a history built by hand) reads as minimize.
    History no_goals;
    no_goals.trials.push_back(Record(0, TrialState::kCompleted, x0, 1));
    Rng rng(11);
    ASSERT_TRUE(sampler->Suggest(space, no_goals, rng).ok());
  }
}

TEST(TpeSamplerTest, StartupTrialsAreRandomDraws) {
  const SearchSpace space = EveryKindSpace();
  std::unique_ptr<Sampler> tpe = MakeTpe(space);
  Settings none({}, "algorithm.settings");
  std::unique_ptr<Sampler> random = *CreateRandomSampler(space, none);
  History history = Optimize(*tpe, space, EveryKindObjective, 9, 4);
  Rng a(77);
  Rng b(77);
  EXPECT_TRUE(SameConfig(tpe->Suggest(space, history, a)->params,
                         random->Suggest(space, history, b)->params));
  // Running trials do not count towards n_startup_trials: still random.
  history.trials.push_back(
      Record(9, TrialState::kRunning, history.trials[0].params));
  Rng c(78);
  Rng d(78);
  EXPECT_TRUE(SameConfig(tpe->Suggest(space, history, c)->params,
                         random->Suggest(space, history, d)->params));
}

TEST(TpeSamplerTest, SameSeedAndHistoryGiveSameSuggestion) {
  const SearchSpace space = EveryKindSpace();
  for (const Mode& mode : Modes()) {
    SCOPED_TRACE(mode.name);
    std::unique_ptr<Sampler> a = MakeTpe(space, mode.settings);
    std::unique_ptr<Sampler> b = MakeTpe(space, mode.settings);
    const History history = Optimize(*a, space, EveryKindObjective, 25, 2);
    Rng ra(42);
    Rng rb(42);
    auto xa = a->Suggest(space, history, ra);
    auto xb = b->Suggest(space, history, rb);
    ASSERT_TRUE(xa.ok());
    ASSERT_TRUE(xb.ok());
    EXPECT_TRUE(SameConfig(xa->params, xb->params));
    Rng rc(43);
    auto xc = a->Suggest(space, history, rc);
    ASSERT_TRUE(xc.ok());
    EXPECT_NE(xa->params[0], xc->params[0]);
  }
}

TEST(TpeSamplerTest, SeedSettingChangesDrawsDeterministically) {
  const SearchSpace space({DoubleParam("x", 0, 1), DoubleParam("y", 0, 1)});
  auto objective = [](const std::vector<double>& x) { return x[0] + x[1]; };
  std::unique_ptr<Sampler> plain = MakeTpe(space);
  const History history = Optimize(*plain, space, objective, 20, 1);
  std::unique_ptr<Sampler> s1 = MakeTpe(space, {{"seed", "1"}});
  std::unique_ptr<Sampler> s1b = MakeTpe(space, {{"random_state", "1"}});
  std::unique_ptr<Sampler> s2 = MakeTpe(space, {{"seed", "2"}});
  Rng r0(5);
  Rng r1(5);
  Rng r1b(5);
  Rng r2(5);
  const std::vector<double> x0 = plain->Suggest(space, history, r0)->params;
  const std::vector<double> x1 = s1->Suggest(space, history, r1)->params;
  const std::vector<double> x1b = s1b->Suggest(space, history, r1b)->params;
  const std::vector<double> x2 = s2->Suggest(space, history, r2)->params;
  EXPECT_EQ(x1, x1b);
  EXPECT_NE(x0, x1);
  EXPECT_NE(x1, x2);
}

TEST(TpeSamplerTest, FailedTrialsAreIgnored) {
  const SearchSpace space = EveryKindSpace();
  for (const Mode& mode : Modes()) {
    SCOPED_TRACE(mode.name);
    std::unique_ptr<Sampler> sampler = MakeTpe(space, mode.settings);
    History history = Optimize(*sampler, space, EveryKindObjective, 20, 3);
    History with_failed = history;
    for (int k = 0; k < 5; ++k) {
      TrialRecord failed = history.trials[k];
      failed.number = 20 + k;
      failed.state = TrialState::kFailed;
      failed.values.clear();
      with_failed.trials.push_back(failed);
    }
    Rng a(8);
    Rng b(8);
    const std::vector<double> x = sampler->Suggest(space, history, a)->params;
    const std::vector<double> y =
        sampler->Suggest(space, with_failed, b)->params;
    EXPECT_TRUE(SameConfig(x, y));
  }
}

TEST(TpeSamplerTest, PrunedTrialsAreEvidence) {
  // Few completed trials, and pruned ones: those that reached a late step
  // (near x = 0.2) rank right after the completed ones and join them as good
  // observations, so suggestions gather there; without them they do not.
  const SearchSpace space({DoubleParam("x", 0, 1)});
  std::unique_ptr<Sampler> sampler =
      MakeTpe(space, {{"gamma", "0.5"}, {"n_startup_trials", "0"}});
  History completed;
  completed.goals = {Goal::kMinimize};
  completed.trials = {Record(0, TrialState::kCompleted, {0.8}, 1),
                      Record(1, TrialState::kCompleted, {0.6}, 2)};
  History with_pruned = completed;
  for (int k = 0; k < 5; ++k) {
    TrialRecord late = Record(2 + 2 * k, TrialState::kPruned, {0.2 + 0.01 * k});
    late.intermediate = {{5, 0.5}, {10, 0.4}};
    TrialRecord early =
        Record(3 + 2 * k, TrialState::kPruned, {0.9 - 0.05 * k});
    early.intermediate = {{1, 0.3}};
    with_pruned.trials.push_back(late);
    with_pruned.trials.push_back(early);
  }
  auto near_count = [&](const History& h) {
    int near = 0;
    for (int s = 0; s < 40; ++s) {
      Rng rng(300 + s);
      const double x = sampler->Suggest(space, h, rng)->params[0];
      near += x > 0.1 && x < 0.3;
    }
    return near;
  };
  const int with = near_count(with_pruned);
  EXPECT_GT(with, near_count(completed));
  EXPECT_GE(with, 20);
}

// Concurrent workers: each suggestion made while the earlier ones still run.
std::vector<std::vector<double>> ParallelBatch(const SearchSpace& space,
                                               Sampler& sampler,
                                               History history, int batch) {
  std::vector<std::vector<double>> out;
  const int64_t start = static_cast<int64_t>(history.trials.size());
  for (int k = 0; k < batch; ++k) {
    Rng rng(7000 + k);
    auto x = sampler.Suggest(space, history, rng);
    EXPECT_TRUE(x.ok());
    out.push_back(x->params);
    history.trials.push_back(
        Record(start + k, TrialState::kRunning, x->params));
  }
  return out;
}

TEST(TpeSamplerTest, RunningTrialsAreNotRepeated) {
  // A finite space that TPE narrows to a few values around the optimum: a
  // batch of parallel suggestions repeats neither each other nor what was
  // tried before.
  const SearchSpace space({IntParam("n", 0, 59)});
  auto objective = [](const std::vector<double>& x) {
    return std::abs(x[0] - 41);
  };
  for (const char* liar : {"worst", "best", "mean", "none"}) {
    SCOPED_TRACE(liar);
    std::unique_ptr<Sampler> sampler =
        MakeTpe(space, {{"constant_liar_type", liar}});
    const History history = Optimize(*sampler, space, objective, 30, 9);
    const std::vector<std::vector<double>> batch =
        ParallelBatch(space, *sampler, history, 8);
    std::set<std::vector<double>> distinct(batch.begin(), batch.end());
    EXPECT_EQ(distinct.size(), batch.size());
    for (const TrialRecord& t : history.trials) distinct.insert(t.params);
    EXPECT_EQ(distinct.size(), batch.size() + history.trials.size());
  }
}

TEST(TpeSamplerTest, ConstantLiarSpreadsParallelSuggestions) {
  const SearchSpace space({DoubleParam("x", -5, 5), DoubleParam("y", -5, 5)});
  auto objective = [](const std::vector<double>& x) {
    return x[0] * x[0] + x[1] * x[1];
  };
  for (bool multivariate : {false, true}) {
    SCOPED_TRACE(multivariate);
    const std::string mv = multivariate ? "true" : "false";
    std::unique_ptr<Sampler> with = MakeTpe(space, {{"multivariate", mv}});
    std::unique_ptr<Sampler> without =
        MakeTpe(space, {{"multivariate", mv}, {"constant_liar", "false"}});
    const History history = Optimize(*with, space, objective, 40, 12);
    auto spread = [](const std::vector<std::vector<double>>& batch) {
      // Mean distance to the nearest other suggestion of the batch.
      double total = 0;
      for (size_t a = 0; a < batch.size(); ++a) {
        double nearest = std::numeric_limits<double>::infinity();
        for (size_t b = 0; b < batch.size(); ++b) {
          if (a == b) continue;
          nearest = std::min(nearest, std::hypot(batch[a][0] - batch[b][0],
                                                 batch[a][1] - batch[b][1]));
        }
        total += nearest;
      }
      return total / static_cast<double>(batch.size());
    };
    const double spread_with = spread(ParallelBatch(space, *with, history, 12));
    const double spread_without =
        spread(ParallelBatch(space, *without, history, 12));
    EXPECT_GT(spread_with, spread_without);
  }
}

// The median over `seeds` runs of the best value found in `budget` trials.
double MedianBest(const SearchSpace& space, const Objective& objective,
                  const std::function<std::unique_ptr<Sampler>()>& make,
                  int budget, int seeds, Goal goal = Goal::kMinimize) {
  std::vector<double> bests;
  for (int s = 1; s <= seeds; ++s) {
    bests.push_back(BestValue(Optimize(*make(), space, objective, budget,
                                       static_cast<uint64_t>(s), goal)));
  }
  return Median(bests);
}

struct Problem {
  const char* name;
  SearchSpace space;
  Objective objective;
};

std::vector<Problem> Problems() {
  std::vector<Problem> problems;
  problems.push_back(
      {"sphere4",
       SearchSpace({DoubleParam("a", -5, 5), DoubleParam("b", -5, 5),
                    DoubleParam("c", -5, 5), DoubleParam("d", -5, 5)}),
       [](const std::vector<double>& x) {
         double s = 0;
         for (double v : x) s += v * v;
         return s;
       }});
  problems.push_back(
      {"branin",
       SearchSpace({DoubleParam("x1", -5, 10), DoubleParam("x2", 0, 15)}),
       [](const std::vector<double>& x) {
         const double b = 5.1 / (4 * M_PI * M_PI);
         const double c = 5 / M_PI;
         const double t = 1 / (8 * M_PI);
         const double u = x[1] - b * x[0] * x[0] + c * x[0] - 6;
         return u * u + 10 * (1 - t) * std::cos(x[0]) + 10;
       }});
  problems.push_back(
      {"mixed",
       SearchSpace({IntParam("layers", 1, 20),
                    CategoricalParam("opt", {"a", "b", "c", "d", "e"}),
                    DoubleParam("lr", 1e-5, 1, true),
                    DiscreteParam("batch", {8, 16, 32, 64, 128, 256})}),
       [](const std::vector<double>& x) {
         static const double kOffset[] = {1.0, 0.6, 0.0, 0.8, 1.5};
         const double l = std::log10(x[2]) + 3;
         return (x[0] - 7) * (x[0] - 7) / 10 + kOffset[static_cast<int>(x[1])] +
                l * l / 4 + std::abs(x[3] - 3) / 4;
       }});
  // A conditional space: which branch is better, and where in it.
  problems.push_back(
      {"conditional",
       SearchSpace({CategoricalParam("model", {"linear", "tree", "net"}),
                    ActiveWhen(DoubleParam("alpha", 1e-4, 10, true), 0, {0}),
                    ActiveWhen(IntParam("depth", 1, 30), 0, {1}),
                    ActiveWhen(DoubleParam("dropout", 0, 0.9), 0, {2}),
                    ActiveWhen(IntParam("width", 8, 1024, true), 0, {2})}),
       [](const std::vector<double>& x) {
         switch (static_cast<int>(x[0])) {
           case 0:
             return 0.6 + std::abs(std::log10(x[1]) + 1) / 5;
           case 1:
             return 0.4 + std::abs(x[2] - 12) / 10;
           default: {
             const double w = std::log2(x[4]) - 7;
             return 0.2 + 5 * (x[3] - 0.3) * (x[3] - 0.3) + w * w / 4;
           }
         }
       }});
  return problems;
}

TEST(TpeSamplerTest, BeatsRandomSearch) {
  constexpr int kBudget = 60;
  constexpr int kSeeds = 9;
  for (const Problem& p : Problems()) {
    Settings none({}, "algorithm.settings");
    const double random = MedianBest(
        p.space, p.objective,
        [&] { return *CreateRandomSampler(p.space, none); }, kBudget, kSeeds);
    for (const Mode& mode : Modes()) {
      if (std::string(mode.name) == "no_magic_clip_endpoints") continue;
      const double tpe = MedianBest(
          p.space, p.objective, [&] { return MakeTpe(p.space, mode.settings); },
          kBudget, kSeeds);
      EXPECT_LT(tpe, random) << p.name << " " << mode.name;
    }
  }
}

TEST(TpeSamplerTest, MaximizesWhenAskedTo) {
  const Problem sphere = Problems()[0];
  auto negated = [&](const std::vector<double>& x) {
    return -sphere.objective(x);
  };
  Settings none({}, "algorithm.settings");
  const double random = MedianBest(
      sphere.space, negated,
      [&] { return *CreateRandomSampler(sphere.space, none); }, 60, 9,
      Goal::kMaximize);
  const double tpe = MedianBest(
      sphere.space, negated,
      [&] {
        return MakeTpe(sphere.space, {{"optimize_mode", "minimize"}});
      },
      60, 9, Goal::kMaximize);
  EXPECT_GT(tpe, random);
}

// Optuna 5's TPESampler is multivariate by default, and so are tpe (and
// optuna_tpe) and optuna_tpe_multivariate; multivariate=false still switches
// to univariate estimators.
TEST(TpeSamplerTest, BothFactoriesDefaultToMultivariate) {
  const SearchSpace space({DoubleParam("x", 0, 1), DoubleParam("y", 0, 1)});
  auto objective = [](const std::vector<double>& x) { return x[0] * x[1]; };
  std::unique_ptr<Sampler> factory_mv = MakeTpe(space, {}, true);
  std::unique_ptr<Sampler> plain = MakeTpe(space);
  std::unique_ptr<Sampler> explicit_mv =
      MakeTpe(space, {{"multivariate", "true"}});
  std::unique_ptr<Sampler> univariate =
      MakeTpe(space, {{"multivariate", "false"}});
  const History history = Optimize(*univariate, space, objective, 20, 1);
  int differing = 0;
  for (int seed = 1; seed <= 5; ++seed) {
    Rng r1(seed);
    Rng r2(seed);
    Rng r3(seed);
    Rng r4(seed);
    const std::vector<double> x = plain->Suggest(space, history, r1)->params;
    EXPECT_EQ(x, factory_mv->Suggest(space, history, r2)->params);
    EXPECT_EQ(x, explicit_mv->Suggest(space, history, r3)->params);
    differing += x != univariate->Suggest(space, history, r4)->params;
  }
  // The modes draw differently (joint kernels pick both coordinates from one
  // trial), so the same draws rarely give the same suggestion.
  EXPECT_GE(differing, 4);
}

TEST(TpeSamplerTest, AcceptsEverySettingAndAlias) {
  const SearchSpace space({DoubleParam("x", 0, 1)});
  for (const SettingsMap& values : std::vector<SettingsMap>{
           {{"n_startup_trials", "5"},
            {"n_ei_candidates", "48"},
            {"gamma", "0.25"},
            {"linear_forgetting", "10"},
            {"prior_weight", "0"},
            {"multivariate", "true"},
            {"group", "true"},
            {"constant_liar", "true"},
            {"constant_liar_type", "MEAN"},
            {"consider_endpoints", "true"},
            {"consider_magic_clip", "false"},
            {"discrete_as_categorical", "true"},
            {"seed", "12"},
            {"optimize_mode", "maximize"}},
           {{"n_initial_points", "3"},
            {"n_EI_candidates", "10"},
            {"random_state", "4"}},
           {{"n_startup_jobs", "20"}, {"constant_liar_type", "none"}},
           {{"constant_liar", "false"}},
       }) {
    Settings settings(values, "algorithm.settings");
    auto sampler = CreateTpeSampler(space, settings);
    ASSERT_TRUE(sampler.ok()) << sampler.status();
    EXPECT_TRUE(settings.CheckAllRead("tpe").ok());
    // And it runs with them.
    History h = Optimize(
        **sampler, space, [](const std::vector<double>& x) { return x[0]; }, 25,
        1);
    EXPECT_EQ(h.trials.size(), 25u);
  }
}

TEST(TpeSamplerTest, RefusesBadSettings) {
  const SearchSpace space({DoubleParam("x", 0, 1)});
  const std::vector<std::pair<SettingsMap, std::string>> cases = {
      {{{"n_startup_trials", "-1"}}, "n_startup_trials"},
      {{{"n_startup_trials", "abc"}}, "n_startup_trials"},
      {{{"n_startup_trials", "3"}, {"n_startup_jobs", "3"}}, "n_startup_jobs"},
      {{{"n_ei_candidates", "0"}}, "n_ei_candidates"},
      {{{"n_ei_candidates", "2"}, {"n_EI_candidates", "2"}}, "n_EI_candidates"},
      {{{"gamma", "0"}}, "gamma"},
      {{{"gamma", "1.5"}}, "gamma"},
      {{{"linear_forgetting", "0"}}, "linear_forgetting"},
      {{{"prior_weight", "-1"}}, "prior_weight"},
      {{{"multivariate", "maybe"}}, "multivariate"},
      {{{"multivariate", "false"}, {"group", "true"}}, "group"},
      {{{"constant_liar_type", "median"}}, "constant_liar_type"},
      {{{"constant_liar", "false"}, {"constant_liar_type", "best"}},
       "constant_liar_type"},
      {{{"constant_liar", "true"}, {"constant_liar_type", "none"}},
       "constant_liar_type"},
      {{{"seed", "1"}, {"random_state", "1"}}, "random_state"},
      {{{"seed", "x"}}, "seed"},
      {{{"optimize_mode", "sideways"}}, "optimize_mode"},
  };
  for (const auto& [values, key] : cases) {
    Settings settings(values, "algorithm.settings");
    auto sampler = CreateTpeSampler(space, settings);
    ASSERT_FALSE(sampler.ok()) << key;
    EXPECT_EQ(sampler.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(sampler.status().message().find("algorithm.settings." + key),
              std::string::npos)
        << sampler.status();
  }
  Settings unknown({{"n_candidates", "3"}}, "algorithm.settings");
  ASSERT_TRUE(CreateTpeSampler(space, unknown).ok());
  EXPECT_FALSE(unknown.CheckAllRead("tpe").ok());
}

TEST(TpeSamplerTest, RefusesEmptyChoicesAndWrongSpace) {
  Settings settings({}, "algorithm.settings");
  const SearchSpace empty({DoubleParam("x", 0, 1), CategoricalParam("c", {})});
  auto refused = CreateTpeSampler(empty, settings);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("parameters[1] (c)"),
            std::string::npos)
      << refused.status();

  const SearchSpace one({DoubleParam("x", 0, 1)});
  std::unique_ptr<Sampler> sampler = MakeTpe(one);
  const SearchSpace two({DoubleParam("x", 0, 1), DoubleParam("y", 0, 1)});
  History h;
  Rng rng(1);
  EXPECT_EQ(sampler->Suggest(two, h, rng).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// The service keeps each experiment's sampler, and TPE keeps what it read
// between suggestions (the README's "Kept between suggestions"). Whatever the
// history does in between (trials added, finished, pruned, failed, their
// parameters filled in, a shorter history such as a bracket's, another space),
// a kept sampler must suggest exactly what a new one suggests.
TEST(TpeSamplerTest, AKeptSamplerSuggestsWhatANewOneWould) {
  std::vector<ParamSpec> box;
  for (int i = 0; i < 6; ++i) {
    box.push_back(DoubleParam("x" + std::to_string(i), -1, 2));
  }
  const SearchSpace six(box);
  const SearchSpace two({box[0], box[1]});
  struct Case {
    const char* name;
    SearchSpace space;
    SettingsMap settings;
  };
  const std::vector<Case> cases = {
      {"six", six, {{"n_startup_trials", "5"}}},
      {"six, endpoints",
       six,
       {{"n_startup_trials", "5"}, {"consider_endpoints", "true"}}},
      {"six, univariate",
       six,
       {{"n_startup_trials", "5"}, {"multivariate", "false"}}},
      {"two", two, {{"n_startup_trials", "5"}}},
      {"every kind", EveryKindSpace(), {{"n_startup_trials", "5"}}},
      {"every kind, group",
       EveryKindSpace(),
       {{"n_startup_trials", "5"}, {"group", "true"}}},
      {"every kind, univariate, mean liar",
       EveryKindSpace(),
       {{"n_startup_trials", "5"},
        {"multivariate", "false"},
        {"constant_liar_type", "mean"}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    // The same space in another object, and a space that differs in one
    // bound (the sampler must notice, and start over).
    std::vector<ParamSpec> changed_params = c.space.params();
    changed_params[0].high += 1;
    const SearchSpace changed(changed_params);
    const SearchSpace copy(c.space.params());
    std::unique_ptr<Sampler> kept = MakeTpe(c.space, c.settings);
    History history;
    history.goals = {Goal::kMinimize};
    Rng world(17);
    std::vector<size_t> running;
    int checked = 0;
    for (int step = 0; step < 220; ++step) {
      const SearchSpace& space = step % 50 == 49 ? changed
                                 : step % 2 == 0 ? c.space
                                                 : copy;
      // Now and then a shorter history for one suggestion, as the service
      // passes for a Hyperband bracket.
      History shorter;
      const bool short_one = step % 30 == 29;
      if (short_one) {
        shorter.goals = history.goals;
        for (size_t t = 0; t < history.trials.size(); t += 2) {
          shorter.trials.push_back(history.trials[t]);
        }
      }
      const History& seen = short_one ? shorter : history;
      Rng kept_rng(static_cast<uint64_t>(step));
      Rng new_rng(static_cast<uint64_t>(step));
      absl::StatusOr<Suggestion> a = kept->Suggest(space, seen, kept_rng);
      absl::StatusOr<Suggestion> b =
          MakeTpe(space, c.settings)->Suggest(space, seen, new_rng);
      ASSERT_TRUE(a.ok()) << a.status();
      ASSERT_TRUE(b.ok()) << b.status();
      ASSERT_TRUE(SameConfig(a->params, b->params)) << "step " << step;
      ++checked;
      if (&space != &c.space && &space != &copy) continue;

      running.push_back(history.trials.size());
      history.trials.push_back(
          Record(static_cast<int64_t>(history.trials.size()),
                 TrialState::kRunning, a->params));
      // Then the world moves on: running trials finish (completed, now and
      // then with NaN, pruned or failed), or one gets its parameters
      // changed (a queued trial filled in).
      for (int event = 0; event < 2 && !running.empty(); ++event) {
        const size_t pick = world() % running.size();
        TrialRecord& t = history.trials[running[pick]];
        const uint64_t what = world() % 10;
        if (what == 0) {
          t.params[0] = c.space.param(0).FromUnit(UnitDraw(world));
          c.space.MaskInactive(t.params);
          continue;
        }
        if (what <= 6) {
          t.state = TrialState::kCompleted;
          t.values = {what == 1 ? std::numeric_limits<double>::quiet_NaN()
                                : EveryKindObjective(t.params)};
        } else if (what <= 8) {
          t.state = TrialState::kPruned;
          t.intermediate = {{1, EveryKindObjective(t.params)}};
        } else {
          t.state = TrialState::kFailed;
        }
        running.erase(running.begin() + static_cast<ptrdiff_t>(pick));
      }
    }
    EXPECT_EQ(checked, 220);
  }
}

}  // namespace
}  // namespace hpo
