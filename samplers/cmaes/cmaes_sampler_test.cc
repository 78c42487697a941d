#include "samplers/cmaes/cmaes_sampler.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
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
using ::hpo::sampler_testing::BestValue;
using ::hpo::sampler_testing::CategoricalParam;
using ::hpo::sampler_testing::DiscreteParam;
using ::hpo::sampler_testing::DoubleParam;
using ::hpo::sampler_testing::ExpectLegalForSpace;
using ::hpo::sampler_testing::IntParam;
using ::hpo::sampler_testing::MakeDefaultSampler;
using ::hpo::sampler_testing::Median;
using ::hpo::sampler_testing::Objective;
using ::hpo::sampler_testing::RunTrials;

using SettingsMap = std::map<std::string, std::string>;

SearchSpace Box(int dim, double low = -5, double high = 5) {
  std::vector<ParamSpec> params;
  for (int i = 0; i < dim; ++i) {
    params.push_back(DoubleParam("x" + std::to_string(i), low, high));
  }
  return SearchSpace(std::move(params));
}

absl::StatusOr<std::unique_ptr<Sampler>> Create(const SearchSpace& space,
                                                const SettingsMap& values) {
  Settings settings(values, "algorithm.settings");
  auto sampler = CreateCmaEsSampler(space, settings);
  if (sampler.ok()) {
    if (absl::Status s = settings.CheckAllRead("cmaes"); !s.ok()) return s;
  }
  return sampler;
}

std::unique_ptr<Sampler> Make(const SearchSpace& space,
                              const SettingsMap& values = {}) {
  auto sampler = Create(space, values);
  EXPECT_TRUE(sampler.ok()) << sampler.status();
  return sampler.ok() ? *std::move(sampler) : nullptr;
}

Suggestion SuggestOk(Sampler& sampler, const SearchSpace& space,
                     const History& history, uint64_t seed) {
  Rng rng(seed);
  absl::StatusOr<Suggestion> s = sampler.Suggest(space, history, rng);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : Suggestion{};
}

TrialRecord Completed(int64_t number, const Suggestion& s, double value) {
  TrialRecord t;
  t.number = number;
  t.state = TrialState::kCompleted;
  t.params = s.params;
  t.values = {value};
  t.sampler_data = s.sampler_data;
  return t;
}

// The tag's fields, or {-1, -1, -1} when absent.
struct ParsedTag {
  int64_t g = -1;
  int64_t r = -1;
  int64_t p = -1;
};
ParsedTag Parse(const std::string& data) {
  ParsedTag tag;
  if (std::sscanf(data.c_str(), "g=%ld;r=%ld;p=%ld", &tag.g, &tag.r, &tag.p) !=
      3) {
    return ParsedTag{};
  }
  return tag;
}

// A shifted sphere and an ellipsoid of condition 1e3 in [-5, 5]^n.
double Sphere(const std::vector<double>& x) {
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = x[i] - 1.3 + 0.2 * i;
    s += d * d;
  }
  return s;
}
double Ellipsoid(const std::vector<double>& x) {
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = x[i] - 1.3 + 0.2 * i;
    s += std::pow(1e3, i / (x.size() - 1.0)) * d * d;
  }
  return s;
}
double Rastrigin(const std::vector<double>& x) {
  double s = 10.0 * x.size();
  for (double v : x) s += v * v - 10 * std::cos(2 * M_PI * v);
  return s;
}

TEST(CmaEsSamplerTest, EveryKindInSpaceAndConditionsMasked) {
  ParamSpec q = DoubleParam("q", -1, 1);
  q.q = 0.3;
  ParamSpec normal = DoubleParam("normal", 0, 0);
  normal.low = -std::numeric_limits<double>::infinity();
  normal.high = std::numeric_limits<double>::infinity();
  normal.prior = Prior::kNormal;
  normal.mu = 2;
  normal.sigma = 3;
  ParamSpec lognormal = DoubleParam("lognormal", 1e-4, 1, /*log=*/true);
  lognormal.prior = Prior::kNormal;
  lognormal.mu = -4;
  const SearchSpace space({
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
      DiscreteParam("sorted", {0.5, 1, 4, 16}),
      DiscreteParam("unsorted", {3, 1, 2}),
      IntParam("constant", 4, 4),
      ActiveWhen(IntParam("units", 1, 8), 9, {1}),
      ActiveWhen(CategoricalParam("act", {"relu", "tanh"}), 13, {5, 6, 7, 8}),
      ActiveWhen(DoubleParam("dropout", 0, 0.5), 9, {0, 2}),
  });
  // Something CMA-ES can descend on, touching every kind.
  const Objective f = [](const std::vector<double>& x) {
    double s = 0;
    for (double v : x) {
      if (!IsInactive(v)) s += std::abs(std::tanh(v / 10 - 0.1));
    }
    return s;
  };
  auto sampler = Make(space, {{"popsize", "6"}});
  const History history = RunTrials(*sampler, space, f, 150, 3);
  std::set<double> categories;
  int tagged = 0;
  for (const TrialRecord& t : history.trials) {
    ExpectLegalForSpace(space, t.params);
    categories.insert(t.params[9]);
    tagged += !t.sampler_data.empty();
  }
  EXPECT_EQ(categories.size(), 3u);
  EXPECT_EQ(tagged, 149);  // all but the startup trial
}

TEST(CmaEsSamplerTest, SameHistoryAndSeedGiveTheSameSuggestion) {
  const SearchSpace space({DoubleParam("lr", 1e-5, 1e-1, true),
                           IntParam("n", 1, 64),
                           CategoricalParam("c", {"a", "b", "c"})});
  const Objective f = [](const std::vector<double>& x) {
    return std::abs(std::log10(x[0]) + 3) + std::abs(x[1] - 20) / 10 + x[2];
  };
  auto a = Make(space);
  auto b = Make(space);
  const History history = RunTrials(*a, space, f, 40, 1);
  const Suggestion sa = SuggestOk(*a, space, history, 42);
  const Suggestion sb = SuggestOk(*b, space, history, 42);
  EXPECT_EQ(sa.params, sb.params);
  EXPECT_EQ(sa.sampler_data, sb.sampler_data);
  const Suggestion sc = SuggestOk(*a, space, history, 43);
  EXPECT_NE(sa.params, sc.params);
  // And the run itself replays identically with a fresh sampler.
  auto c = Make(space);
  const History again = RunTrials(*c, space, f, 40, 1);
  for (size_t i = 0; i < history.trials.size(); ++i) {
    EXPECT_EQ(history.trials[i].params, again.trials[i].params);
  }
}

TEST(CmaEsSamplerTest, EmptyAndOneTrialHistories) {
  const SearchSpace space = Box(3);
  auto sampler = Make(space);
  History history;
  history.goals = {Goal::kMinimize};
  // The startup trial is random and untagged.
  const Suggestion first = SuggestOk(*sampler, space, history, 1);
  ExpectLegalForSpace(space, first.params);
  EXPECT_TRUE(first.sampler_data.empty());
  history.trials.push_back(Completed(0, first, 1.0));
  const Suggestion second = SuggestOk(*sampler, space, history, 2);
  ExpectLegalForSpace(space, second.params);
  EXPECT_EQ(second.sampler_data, "g=0;r=0;p=7");  // 4 + floor(3 ln 3)

  // Without startup trials CMA-ES starts at once.
  auto eager = Make(space, {{"n_startup_trials", "0"}});
  History empty;
  EXPECT_EQ(SuggestOk(*eager, space, empty, 1).sampler_data, "g=0;r=0;p=7");
}

// Parallel workers: while nothing completes, every suggestion comes from the
// same generation's distribution, and none repeats a running trial.
TEST(CmaEsSamplerTest, RunningTrialsAreNotRepeated) {
  const SearchSpace space({DoubleParam("x", 0, 1), IntParam("n", 1, 1 << 20),
                           DoubleParam("lr", 1e-5, 1, /*log=*/true)});
  auto sampler = Make(space, {{"n_startup_trials", "0"}});
  History history;
  history.goals = {Goal::kMinimize};
  std::set<std::vector<double>> seen;
  for (int i = 0; i < 40; ++i) {
    const Suggestion s = SuggestOk(*sampler, space, history, 500 + i);
    EXPECT_TRUE(seen.insert(s.params).second) << "trial " << i;
    EXPECT_EQ(Parse(s.sampler_data).g, 0);
    TrialRecord t = Completed(i, s, 0);
    t.state = TrialState::kRunning;
    t.values.clear();
    history.trials.push_back(t);
  }
}

TEST(CmaEsSamplerTest, ConvergesOnTenDimensionsFarBetterThanRandom) {
  const SearchSpace space = Box(10);
  for (const Objective& f : {Objective(Sphere), Objective(Ellipsoid)}) {
    std::vector<double> cma;
    std::vector<double> random;
    for (uint64_t seed = 1; seed <= 3; ++seed) {
      auto sampler = Make(space);
      cma.push_back(BestValue(RunTrials(*sampler, space, f, 300, seed)));
      auto r = MakeDefaultSampler(CreateRandomSampler, space);
      random.push_back(BestValue(RunTrials(*r, space, f, 300, seed)));
    }
    // Measured: sphere ~0.1 against ~23, ellipsoid ~75 against ~600.
    EXPECT_LT(Median(cma), Median(random) / 5);
  }
}

TEST(CmaEsSamplerTest, MaximizesWhenAsked) {
  const SearchSpace space = Box(4);
  const Objective f = [](const std::vector<double>& x) { return -Sphere(x); };
  auto sampler = Make(space);
  const History h = RunTrials(*sampler, space, f, 200, 5, Goal::kMaximize);
  EXPECT_GT(BestValue(h), -0.05);
}

// Eight workers; each step the scheduler finishes a pseudo-randomly chosen
// running trial and hands out a new one, so trials complete far out of
// number order and generations overlap.
TEST(CmaEsSamplerTest, OutOfOrderCompletionStillProgresses) {
  const SearchSpace space = Box(6);
  constexpr int kWorkers = 8;
  constexpr int kBudget = 300;
  std::vector<double> cma;
  std::vector<double> random;
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    auto sampler = Make(space);
    History history;
    history.goals = {Goal::kMinimize};
    std::vector<size_t> running;
    Rng scheduler(seed);
    int64_t last_generation = -1;
    for (int n = 0; n < kBudget; ++n) {
      if (running.size() == kWorkers) {
        const size_t k = std::min<size_t>(
            running.size() - 1,
            static_cast<size_t>(UnitDraw(scheduler) * running.size()));
        TrialRecord& t = history.trials[running[k]];
        // One in ten fails, to check that failures do not stall a generation.
        if (UnitDraw(scheduler) < 0.1) {
          t.state = TrialState::kFailed;
        } else {
          t.state = TrialState::kCompleted;
          t.values = {Sphere(t.params)};
        }
        running.erase(running.begin() + static_cast<std::ptrdiff_t>(k));
      }
      const Suggestion s = SuggestOk(*sampler, space, history, seed * 100 + n);
      ExpectLegalForSpace(space, s.params);
      const ParsedTag tag = Parse(s.sampler_data);
      // Generations never go backwards.
      EXPECT_GE(tag.g, last_generation);
      last_generation = tag.g;
      TrialRecord t;
      t.number = n;
      t.state = TrialState::kRunning;
      t.params = s.params;
      t.sampler_data = s.sampler_data;
      history.trials.push_back(t);
      running.push_back(history.trials.size() - 1);
    }
    // Popsize 9 in 6-D: about 270 completions make some 25 generations, less
    // what overlap wastes.
    EXPECT_GE(last_generation, 15);
    cma.push_back(BestValue(history));
    auto r = MakeDefaultSampler(CreateRandomSampler, space);
    random.push_back(BestValue(RunTrials(*r, space, Sphere, kBudget, seed)));
  }
  EXPECT_LT(Median(cma), Median(random) / 10);
}

// Tags round-trip, running trials keep the generation open, extras are
// ignored, and failed or pruned trials do not count.
TEST(CmaEsSamplerTest, GenerationBookkeeping) {
  const SearchSpace space = Box(2);  // popsize 4 + floor(3 ln 2) = 6
  auto sampler = Make(space, {{"n_startup_trials", "0"}});
  History history;
  history.goals = {Goal::kMinimize};
  auto add = [&](TrialState state) {
    const int64_t n = static_cast<int64_t>(history.trials.size());
    const Suggestion s = SuggestOk(*sampler, space, history, 1000 + n);
    TrialRecord t = Completed(n, s, Sphere(s.params));
    t.state = state;
    if (state != TrialState::kCompleted) t.values.clear();
    if (state == TrialState::kPruned) t.intermediate = {{1, 0.0}};
    history.trials.push_back(t);
    return s.sampler_data;
  };
  // Five complete, two fail, one is pruned, two run: still generation 0.
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(add(TrialState::kCompleted), "g=0;r=0;p=6");
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(add(TrialState::kFailed), "g=0;r=0;p=6");
  EXPECT_EQ(add(TrialState::kPruned), "g=0;r=0;p=6");
  EXPECT_EQ(add(TrialState::kRunning), "g=0;r=0;p=6");
  EXPECT_EQ(add(TrialState::kRunning), "g=0;r=0;p=6");
  // The sixth completion tells generation 0.
  EXPECT_EQ(add(TrialState::kCompleted), "g=0;r=0;p=6");
  EXPECT_EQ(add(TrialState::kRunning), "g=1;r=0;p=6");

  // A running generation-0 trial completing late changes which six are told
  // (the lowest-numbered), but not the generation count.
  history.trials[8].state = TrialState::kCompleted;
  history.trials[8].values = {1e9};
  const Suggestion after = SuggestOk(*sampler, space, history, 7);
  EXPECT_EQ(after.sampler_data, "g=1;r=0;p=6");

  // Counting pruned trials fills generation 1 sooner.
  auto pruned = Make(
      space, {{"n_startup_trials", "0"}, {"consider_pruned_trials", "true"}});
  History h2;
  h2.goals = {Goal::kMinimize};
  for (int i = 0; i < 6; ++i) {
    const Suggestion s = SuggestOk(*pruned, space, h2, i);
    TrialRecord t = Completed(i, s, 0);
    t.state = TrialState::kPruned;
    t.values.clear();
    t.intermediate = {{1, 5.0}, {2, Sphere(s.params)}};
    h2.trials.push_back(t);
  }
  EXPECT_EQ(SuggestOk(*pruned, space, h2, 9).sampler_data, "g=1;r=0;p=6");

  // Foreign or garbled sampler_data is ignored, not an error.
  History h3 = history;
  h3.trials[0].sampler_data = "g=x;r=0;p=6";
  h3.trials[1].sampler_data = "something else";
  EXPECT_EQ(Parse(SuggestOk(*sampler, space, h3, 1).sampler_data).g, 0);
}

TEST(CmaEsSamplerTest, IpopRestartsOnRastriginWithDoubledPopulation) {
  const SearchSpace space = Box(2, -5.12, 5.12);
  auto sampler = Make(space, {{"restart_strategy", "ipop"}, {"seed", "3"}});
  History history;
  history.goals = {Goal::kMinimize};
  std::map<int64_t, int64_t> popsize_of_restart;
  for (int i = 0; i < 1500 && popsize_of_restart.size() < 3; ++i) {
    const Suggestion s = SuggestOk(*sampler, space, history, 77 + i);
    const ParsedTag tag = Parse(s.sampler_data);
    if (tag.r >= 0) popsize_of_restart[tag.r] = tag.p;
    history.trials.push_back(Completed(i, s, Rastrigin(s.params)));
  }
  ASSERT_GE(popsize_of_restart.size(), 2u) << "no restart in 1500 trials";
  EXPECT_EQ(popsize_of_restart[0], 6);
  EXPECT_EQ(popsize_of_restart[1], 12);
  // The restarted run does not start where the first converged.
  EXPECT_LT(BestValue(history), 3.0);
}

TEST(CmaEsSamplerTest, NoRestartWithoutIpop) {
  const SearchSpace space = Box(2, -5.12, 5.12);
  auto sampler = Make(space);
  const History h = RunTrials(*sampler, space, Rastrigin, 600, 3);
  for (const TrialRecord& t : h.trials) {
    EXPECT_LE(Parse(t.sampler_data).r, 0);
  }
}

// Binary flags next to continuous parameters: plain rounding lets a flag's
// variance collapse on the wrong side while the continuous part converges
// (Hamano et al.'s motivating failure); the margin keeps a chance of trying
// the other side, and the flags end up right.
TEST(CmaEsSamplerTest, MarginKeepsBinaryParametersFromSticking) {
  std::vector<ParamSpec> params;
  for (int i = 0; i < 6; ++i) {
    params.push_back(DoubleParam("x" + std::to_string(i), -5, 5));
  }
  for (int i = 0; i < 4; ++i) {
    params.push_back(IntParam("flag" + std::to_string(i), 0, 1));
  }
  const SearchSpace space(params);
  const Objective f = [](const std::vector<double>& x) {
    double s = 0;
    for (int i = 0; i < 6; ++i) s += (x[i] - 1) * (x[i] - 1);
    for (int i = 0; i < 4; ++i) s += x[6 + i] * (1.0 + i) / 2;
    return s;
  };
  std::vector<double> margin;
  std::vector<double> rounding;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    auto with = Make(space);
    const History h = RunTrials(*with, space, f, 400, seed);
    margin.push_back(BestValue(h));
    const auto best =
        std::min_element(h.trials.begin(), h.trials.end(),
                         [](const TrialRecord& a, const TrialRecord& b) {
                           return a.values[0] < b.values[0];
                         });
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(best->params[6 + i], 0) << "flag " << i << ", seed " << seed;
    }
    // The tag carries the four flags' continuous draws.
    EXPECT_NE(best->sampler_data.find(";u="), std::string::npos);
    auto without = Make(space, {{"with_margin", "false"}});
    rounding.push_back(BestValue(RunTrials(*without, space, f, 400, seed)));
  }
  // Measured: about 0.05 against 1 (a flag stuck at 1).
  EXPECT_LT(Median(margin), Median(rounding) / 4);
}

// Integers only: the search still homes in on the exact optimum.
TEST(CmaEsSamplerTest, ReachesTheExactIntegerOptimum) {
  std::vector<ParamSpec> params;
  for (int i = 0; i < 6; ++i) {
    params.push_back(IntParam("k" + std::to_string(i), 0, 20));
  }
  const SearchSpace space(params);
  const Objective f = [](const std::vector<double>& x) {
    double s = 0;
    for (int i = 0; i < 6; ++i) s += std::abs(x[i] - (i % 2 ? 20 : 6));
    return s;
  };
  std::vector<double> cma;
  std::vector<double> random;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    auto sampler = Make(space);
    cma.push_back(BestValue(RunTrials(*sampler, space, f, 400, seed)));
    auto r = MakeDefaultSampler(CreateRandomSampler, space);
    random.push_back(BestValue(RunTrials(*r, space, f, 400, seed)));
  }
  EXPECT_EQ(Median(cma), 0);
  EXPECT_GT(Median(random), 5);
}

TEST(CmaEsSamplerTest, SpaceWithoutNumericParametersIsRandom) {
  const SearchSpace space({CategoricalParam("opt", {"sgd", "adam", "lamb"}),
                           DiscreteParam("bs", {64, 16, 32})});
  auto sampler = Make(space, {{"n_startup_trials", "0"}});
  History history;
  history.goals = {Goal::kMinimize};
  std::set<std::vector<double>> seen;
  for (int i = 0; i < 60; ++i) {
    const Suggestion s = SuggestOk(*sampler, space, history, i);
    ExpectLegalForSpace(space, s.params);
    EXPECT_TRUE(s.sampler_data.empty());
    seen.insert(s.params);
    history.trials.push_back(Completed(i, s, s.params[0]));
  }
  EXPECT_EQ(seen.size(), 9u);
}

TEST(CmaEsSamplerTest, SettingsAndAliases) {
  const SearchSpace space = Box(2);
  EXPECT_TRUE(Create(space, {{"sigma", "0.3"},
                             {"population_size", "10"},
                             {"random_state", "4"},
                             {"restart_strategy", "ipop"},
                             {"inc_popsize", "3"},
                             {"with_margin", "false"},
                             {"consider_pruned_trials", "true"},
                             {"n_startup_trials", "5"}})
                  .ok());
  auto sampler =
      Make(space, {{"population_size", "10"}, {"n_startup_trials", "0"}});
  History history;
  EXPECT_EQ(SuggestOk(*sampler, space, history, 1).sampler_data,
            "g=0;r=0;p=10");

  const std::vector<std::pair<SettingsMap, std::string>> bad = {
      {{{"sigma0", "0"}}, "sigma0"},
      {{{"sigma", "2"}}, "sigma"},
      {{{"popsize", "1"}}, "popsize"},
      {{{"popsize", "8"}, {"population_size", "9"}}, "population_size"},
      {{{"n_startup_trials", "-1"}}, "n_startup_trials"},
      {{{"restart_strategy", "bipop"}}, "restart_strategy"},
      {{{"inc_popsize", "1"}}, "inc_popsize"},
      {{{"with_margin", "perhaps"}}, "with_margin"},
      {{{"seed", "one"}}, "seed"},
      {{{"x0", "0.5"}}, "x0"},
  };
  for (const auto& [values, key] : bad) {
    const absl::Status s = Create(space, values).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << key;
    EXPECT_NE(s.message().find("algorithm.settings." + key), std::string::npos)
        << s;
  }
}

}  // namespace
}  // namespace hpo
