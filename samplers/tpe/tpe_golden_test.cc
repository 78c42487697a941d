// Pins what TPE suggests: suggestions for fixed histories, spaces, settings
// and seeds, recorded from the implementation before its speed work
// (golden values in tpe_golden_data.inc). Optimizations must leave every one
// of them bit for bit the same; a change that alters a suggestion changes the
// sampler, and needs its own justification and new golden values.
//
// To record new golden values (after an intended change of behaviour):
//   TPE_GOLDEN_PRINT=1 bazel-bin/samplers/tpe/tpe_golden_test
// with its standard output, less gtest's lines, as tpe_golden_data.inc
// and review the diff.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/history.h"
#include "core/search_space.h"
#include "gtest/gtest.h"
#include "samplers/draws.h"
#include "samplers/sampler.h"
#include "samplers/testing/sampler_test_util.h"
#include "samplers/tpe/every_kind_space.h"
#include "samplers/tpe/tpe_sampler.h"

namespace hpo {
namespace {

using ::hpo::sampler_testing::CategoricalParam;
using ::hpo::sampler_testing::DiscreteParam;
using ::hpo::sampler_testing::DoubleParam;
using ::hpo::sampler_testing::IntParam;
using ::hpo::sampler_testing::MakeSamplerReadingAllSettings;
using ::hpo::sampler_testing::QuantizedParam;

using SettingsMap = std::map<std::string, std::string>;

struct Golden {
  const char* name;
  std::vector<double> x;  // NaN where inactive
};

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

const std::vector<Golden>& GoldenValues() {
  static const auto* golden = new std::vector<Golden>{
#include "samplers/tpe/tpe_golden_data.inc"
  };
  return *golden;
}

using ::hpo::tpe_testing::EveryKindSpace;

// Numeric and categorical, no conditions: joint estimators over every kind.
SearchSpace Mixed() {
  return SearchSpace({
      DoubleParam("a", 0, 1),
      DoubleParam("b", -3, 3),
      DoubleParam("lr", 1e-5, 1, true),
      IntParam("n", 0, 20),
      IntParam("width", 8, 4096, true),
      IntParam("steps", 0, 1000, false, 10),
      QuantizedParam("q", 0, 10, 0.25),
      DiscreteParam("batch", {16, 32, 64, 128, 256}),
      CategoricalParam("act", {"relu", "tanh", "gelu", "silu"}),
      DoubleParam("c", 0, 1),
  });
}

// bench/speed's box: doubles in [0, 1].
SearchSpace Box(int dims) {
  std::vector<ParamSpec> params;
  for (int i = 0; i < dims; ++i) {
    params.push_back(DoubleParam("x" + std::to_string(i), 0, 1));
  }
  return SearchSpace(std::move(params));
}

double Objective(const std::vector<double>& x) {
  double v = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (IsInactive(x[i])) continue;
    v += std::sin(static_cast<double>(i + 1) * x[i] + 0.3);
  }
  return v;
}

// `n` trials in every state, from prior draws, with repeats of earlier trials
// (ties in every axis) and trials near earlier ones; deterministic.
History MakeHistory(const SearchSpace& space, int n, uint64_t seed, Goal goal) {
  History history;
  history.goals = {goal};
  Rng rng(seed);
  for (int t = 0; t < n; ++t) {
    TrialRecord r;
    r.number = t;
    const double u = UnitDraw(rng);
    if (t > 0 && u < 0.15) {
      r.params = history.trials[rng() % history.trials.size()].params;
    } else {
      r.params = PriorDraw(space, rng);
    }
    const double value = Objective(r.params) + 0.01 * UnitDraw(rng);
    if (t % 11 == 3) {
      r.state = TrialState::kFailed;
    } else if (t % 13 == 5) {
      r.state = TrialState::kPruned;
      if (t % 26 != 5) r.intermediate = {{1, value + 1}, {t % 4, value}};
    } else if (t % 17 == 7) {
      r.state = TrialState::kRunning;
    } else if (t % 19 == 9) {
      r.state = TrialState::kWaiting;
    } else {
      r.state = TrialState::kCompleted;
      r.values = {t % 23 == 11 ? std::numeric_limits<double>::quiet_NaN()
                               : value};
    }
    history.trials.push_back(std::move(r));
  }
  return history;
}

struct Case {
  std::string name;
  const SearchSpace* space;
  SettingsMap settings;
  int trials;
  uint64_t seed;
  Goal goal;
};

std::vector<Case> Cases(const std::map<std::string, SearchSpace>& spaces) {
  const std::vector<std::pair<std::string, SettingsMap>> all_modes = {
      {"multivariate", {}},
      {"univariate", {{"multivariate", "false"}}},
      {"group", {{"multivariate", "true"}, {"group", "true"}}},
      {"discrete_as_categorical", {{"discrete_as_categorical", "true"}}},
      {"no_clip_endpoints",
       {{"consider_magic_clip", "false"}, {"consider_endpoints", "true"}}},
      {"liar_best", {{"constant_liar_type", "best"}}},
      {"liar_mean", {{"constant_liar_type", "mean"}, {"gamma", "0.25"}}},
      {"liar_off", {{"constant_liar", "false"}, {"linear_forgetting", "7"}}},
      {"prior_weight", {{"prior_weight", "0.3"}, {"n_ei_candidates", "50"}}},
      {"prior_weight_0", {{"prior_weight", "0"}}},
      {"univariate_prior_0",
       {{"multivariate", "false"}, {"prior_weight", "0"}}},
  };
  const std::vector<std::pair<std::string, SettingsMap>> few_modes = {
      all_modes[0], all_modes[1], all_modes[2], all_modes[4]};
  struct Plan {
    std::string space;
    const std::vector<std::pair<std::string, SettingsMap>>* modes;
    std::vector<int> trials;
    std::vector<uint64_t> seeds;
  };
  const std::vector<Plan> plans = {
      {"every_kind", &all_modes, {0, 5, 50, 300, 1200}, {1}},
      {"mixed", &all_modes, {0, 5, 50, 300, 1200}, {2}},
      {"box2", &all_modes, {0, 5, 50, 300, 1200}, {3, 4}},
      {"box10", &few_modes, {50, 1200}, {5}},
      {"box30", &few_modes, {300, 1200}, {6}},
      {"double1", &few_modes, {0, 5, 50, 300, 1200}, {7}},
      {"int1", &few_modes, {5, 50, 300, 1200}, {8}},
      {"cat1", &few_modes, {5, 50, 1200}, {9}},
  };
  std::vector<Case> cases;
  for (const Plan& plan : plans) {
    for (const auto& [mode, settings] : *plan.modes) {
      for (int trials : plan.trials) {
        for (uint64_t seed : plan.seeds) {
          SettingsMap s = settings;
          s["n_startup_trials"] = "0";
          const Goal goal = seed % 2 == 0 ? Goal::kMaximize : Goal::kMinimize;
          cases.push_back({plan.space + "/" + mode + "/" +
                               std::to_string(trials) + "/" +
                               std::to_string(seed),
                           &spaces.at(plan.space), s, trials, seed, goal});
        }
      }
    }
  }
  return cases;
}

std::map<std::string, SearchSpace> Spaces() {
  std::map<std::string, SearchSpace> spaces;
  spaces.emplace("every_kind", EveryKindSpace());
  spaces.emplace("mixed", Mixed());
  spaces.emplace("box2", Box(2));
  spaces.emplace("box10", Box(10));
  spaces.emplace("box30", Box(30));
  spaces.emplace("double1", SearchSpace({DoubleParam("x", -1, 4, true)}));
  spaces.emplace("int1", SearchSpace({IntParam("k", -20, 40)}));
  spaces.emplace("cat1",
                 SearchSpace({CategoricalParam("c", {"a", "b", "c", "d"})}));
  return spaces;
}

// Two suggestions per case, from different seeds, the second after the first
// is added to the history as a running trial.
std::vector<std::vector<double>> Suggest(const Case& c) {
  std::unique_ptr<Sampler> sampler = MakeSamplerReadingAllSettings(
      CreateTpeSampler, *c.space, c.settings, "tpe");
  History history = MakeHistory(*c.space, c.trials, c.seed * 7919, c.goal);
  std::vector<std::vector<double>> out;
  for (uint64_t s = 0; s < 2; ++s) {
    Rng rng(c.seed * 1000003 + s);
    auto x = sampler->Suggest(*c.space, history, rng);
    EXPECT_TRUE(x.ok()) << x.status();
    if (!x.ok()) return out;
    out.push_back(x->params);
    TrialRecord r;
    r.number = c.trials + static_cast<int64_t>(s);
    r.state = TrialState::kRunning;
    r.params = x->params;
    history.trials.push_back(std::move(r));
  }
  return out;
}

TEST(TpeGoldenTest, SuggestionsAreUnchanged) {
  const std::map<std::string, SearchSpace> spaces = Spaces();
  const std::vector<Case> cases = Cases(spaces);
  if (std::getenv("TPE_GOLDEN_PRINT") != nullptr) {
    for (const Case& c : cases) {
      const std::vector<std::vector<double>> xs = Suggest(c);
      for (size_t s = 0; s < xs.size(); ++s) {
        std::printf("{\"%s/%zu\", {", c.name.c_str(), s);
        for (size_t i = 0; i < xs[s].size(); ++i) {
          if (IsInactive(xs[s][i])) {
            std::printf("%skNan", i ? ", " : "");
          } else {
            std::printf("%s%.17g", i ? ", " : "", xs[s][i]);
          }
        }
        std::printf("}},\n");
      }
    }
    return;
  }
  const std::vector<Golden>& golden = GoldenValues();
  size_t k = 0;
  for (const Case& c : cases) {
    const std::vector<std::vector<double>> xs = Suggest(c);
    for (size_t s = 0; s < xs.size(); ++s, ++k) {
      const std::string name = c.name + "/" + std::to_string(s);
      ASSERT_LT(k, golden.size());
      ASSERT_EQ(name, golden[k].name);
      ASSERT_EQ(xs[s].size(), golden[k].x.size()) << name;
      for (size_t i = 0; i < xs[s].size(); ++i) {
        const double want = golden[k].x[i];
        const double got = xs[s][i];
        if (std::isnan(want)) {
          EXPECT_TRUE(std::isnan(got)) << name << " [" << i << "]";
        } else {
          // Bit for bit when recorded and checked on one machine (%.17g
          // round-trips doubles); the 1e-12 tolerance only lets another
          // CPU's libm variant (glibc picks exp/log by CPU) differ in the last
          // bits. A changed algorithm moves suggestions far more.
          EXPECT_NEAR(got, want, 1e-12 * std::max(1.0, std::abs(want)))
              << name << " [" << i << "]";
        }
      }
    }
  }
  EXPECT_EQ(k, golden.size());
}

}  // namespace
}  // namespace hpo
