// What every registered algorithm must survive (samplers/sampler.h's
// contract), run against each name in the registry: histories the server can
// hold but no test of a single algorithm thinks of. Values that are huge,
// tiny or all equal, every trial state at once, parameters at their bounds,
// repeated configurations, sampler_data the algorithm did not write, several
// objectives, and spaces with one value or a range as wide as a double allows.
// Every suggestion must be legal for its space (or OUT_OF_RANGE, nothing left)
// and the same for the same history and seed; the sanitizers build
// (`--config=asan`) runs this too, so a read past an array fails it.

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/history.h"
#include "core/hostile_values.h"
#include "core/search_space.h"
#include "gtest/gtest.h"
#include "samplers/draws.h"
#include "samplers/registry.h"
#include "samplers/sampler.h"
#include "samplers/testing/sampler_test_util.h"

namespace hpo {
namespace {

using sampler_testing::CategoricalParam;
using sampler_testing::DiscreteParam;
using sampler_testing::DoubleParam;
using sampler_testing::EveryKind;
using sampler_testing::ExpectLegalForSpace;
using sampler_testing::IntParam;
using sampler_testing::NormalParam;

constexpr double kMax = std::numeric_limits<double>::max();

struct NamedSpace {
  std::string name;
  SearchSpace space;
};

std::vector<NamedSpace> Spaces() {
  std::vector<NamedSpace> spaces;
  spaces.push_back({"every_kind", EveryKind()});
  spaces.push_back(
      {"box3", SearchSpace({DoubleParam("a", 0, 1), DoubleParam("b", -5, 5),
                            DoubleParam("c", 1e-3, 1e3, true)})});
  // Ranges the server accepts at their extremes: a whole double's range, a
  // log range over 600 decades, integers beyond 2^53's neighbourhood, and a
  // prior far narrower than its bounds.
  spaces.push_back({"extreme", SearchSpace({
                                   DoubleParam("wide", -kMax, kMax),
                                   DoubleParam("decades", 1e-300, 1e300, true),
                                   IntParam("big", -1e15, 1e15),
                                   NormalParam("spike", -1e6, 1e6, 0, 1e-9),
                               })});
  // One value per parameter: nothing to choose, every suggestion the same.
  spaces.push_back(
      {"single", SearchSpace({DoubleParam("x", 2, 2), IntParam("k", 7, 7),
                              CategoricalParam("only", {"a"}),
                              DiscreteParam("one", {3})})});
  return spaces;
}

// A legal coordinate vector for `space`, with a parameter at one of its
// bounds now and then.
std::vector<double> Params(const SearchSpace& space, Rng& rng) {
  std::vector<double> x(space.size());
  for (size_t i = 0; i < space.size(); ++i) {
    const double u = UnitDraw(rng);
    const double at = u < 0.1 ? 0.0 : u > 0.9 ? 1.0 : UnitDraw(rng);
    x[i] = space.param(i).FromUnit(at);
  }
  space.MaskInactive(x);
  return x;
}

// `n` trials in every state, with `objectives` values each where completed.
History MakeHistory(const SearchSpace& space, int n, HostileValues style,
                    int objectives, Goal goal, uint64_t seed) {
  History h;
  h.goals.assign(static_cast<size_t>(objectives), goal);
  if (objectives > 1) h.goals[1] = Goal::kMaximize;
  h.seed = seed;
  Rng rng(seed);
  std::vector<double> repeated = Params(space, rng);
  for (int k = 0; k < n; ++k) {
    TrialRecord t;
    t.number = k;
    // A fifth of the trials repeat one configuration.
    t.params = UnitDraw(rng) < 0.2 ? repeated : Params(space, rng);
    const double s = UnitDraw(rng);
    if (s < 0.55) {
      t.state = TrialState::kCompleted;
      for (int o = 0; o < objectives; ++o)
        t.values.push_back(HostileValue(style, rng));
    } else if (s < 0.7) {
      t.state = TrialState::kPruned;
      const int steps = static_cast<int>(UnitDraw(rng) * 4);  // 0 to 3
      for (int step = 1; step <= steps; ++step) {
        t.intermediate.push_back({step * 10, HostileValue(style, rng)});
      }
    } else if (s < 0.8) {
      t.state = TrialState::kFailed;
    } else if (s < 0.9) {
      t.state = TrialState::kRunning;
    } else {
      // Waiting: enqueued by hand, perhaps with only some parameters given.
      t.state = TrialState::kWaiting;
      for (double& x : t.params) {
        if (UnitDraw(rng) < 0.3) x = kInactive;
      }
    }
    // sampler_data written by some other algorithm, or by none.
    const double d = UnitDraw(rng);
    t.sampler_data = d < 0.6   ? ""
                     : d < 0.8 ? "gen=abc;x"
                               : std::string("\x01\xff{\"g\":-1}", 11);
    h.trials.push_back(std::move(t));
  }
  return h;
}

// Settings an algorithm cannot do without on these spaces.
std::map<std::string, std::string> SettingsFor(const std::string& algorithm) {
  if (algorithm == "grid") return {{"grid_points", "3"}};
  return {};
}

// Grid search refuses a grid of more than ten million points, as the two
// spaces with wide integer ranges make (a refusal the factory must give, with
// INVALID_ARGUMENT). Every other algorithm takes every space.
bool Refuses(const std::string& algorithm, const std::string& space) {
  return algorithm == "grid" && (space == "every_kind" || space == "extreme");
}

// Whether `algorithm` builds a sampler for `named`; fails the test when the
// factory's answer is not the expected one.
bool Accepts(const std::string& algorithm, const NamedSpace& named) {
  auto sampler = CreateSampler(algorithm, named.space, SettingsFor(algorithm));
  if (Refuses(algorithm, named.name)) {
    EXPECT_TRUE(absl::IsInvalidArgument(sampler.status()))
        << algorithm << " on " << named.name << ": " << sampler.status();
    return false;
  }
  EXPECT_TRUE(sampler.ok())
      << algorithm << " on " << named.name << ": " << sampler.status();
  return sampler.ok();
}

class ConformanceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ConformanceTest, SurvivesHostileHistories) {
  const std::string& algorithm = GetParam();
  for (const NamedSpace& named : Spaces()) {
    if (!Accepts(algorithm, named)) continue;
    const SearchSpace& space = named.space;
    for (HostileValues style : AllHostileValues()) {
      for (int n : {0, 1, 2, 13, 40}) {
        for (int objectives : {1, 2}) {
          const Goal goal = n % 2 == 0 ? Goal::kMinimize : Goal::kMaximize;
          const uint64_t seed = 1000 * static_cast<uint64_t>(n) + objectives;
          SCOPED_TRACE(absl::StrCat(algorithm, " on ", named.name, ", ", n,
                                    " trials, ", Name(style), " values, ",
                                    objectives, " objective(s)"));
          const History history =
              MakeHistory(space, n, style, objectives, goal, seed);
          // Two samplers, so that nothing one remembers from an earlier
          // call can make the other's suggestion differ.
          auto first = CreateSampler(algorithm, space, SettingsFor(algorithm));
          auto second = CreateSampler(algorithm, space, SettingsFor(algorithm));
          ASSERT_TRUE(first.ok()) << first.status();
          ASSERT_TRUE(second.ok()) << second.status();
          Rng rng_a(seed + 7);
          Rng rng_b(seed + 7);
          auto a = (*first)->Suggest(space, history, rng_a);
          auto b = (*second)->Suggest(space, history, rng_b);
          if (absl::IsOutOfRange(a.status())) {
            EXPECT_TRUE(absl::IsOutOfRange(b.status())) << b.status();
            continue;
          }
          ASSERT_TRUE(a.ok()) << a.status();
          ASSERT_TRUE(b.ok()) << b.status();
          ExpectLegalForSpace(space, a->params);
          EXPECT_TRUE(SameConfiguration(a->params, b->params))
              << "the same history and seed gave two suggestions";
        }
      }
    }
  }
}

// The server's way: each suggestion becomes a running trial, then completes
// (or fails, or is pruned) with a hostile value, so that every algorithm's
// model is fitted, refitted and asked again with workers in flight.
TEST_P(ConformanceTest, KeepsSuggestingAsHostileResultsArrive) {
  const std::string& algorithm = GetParam();
  for (const NamedSpace& named : Spaces()) {
    if (!Accepts(algorithm, named)) continue;
    const SearchSpace& space = named.space;
    for (HostileValues style : {HostileValues::kHuge, HostileValues::kMixed,
                                HostileValues::kConstant}) {
      SCOPED_TRACE(absl::StrCat(algorithm, " on ", named.name, ", ",
                                Name(style), " values"));
      auto sampler = CreateSampler(algorithm, space, SettingsFor(algorithm));
      ASSERT_TRUE(sampler.ok()) << sampler.status();
      History history;
      history.goals = {Goal::kMinimize};
      Rng values(11);
      constexpr int kTrials = 36;
      constexpr int kInFlight = 3;
      for (int k = 0; k < kTrials; ++k) {
        Rng rng(static_cast<uint64_t>(k) + 1);
        auto s = (*sampler)->Suggest(space, history, rng);
        if (absl::IsOutOfRange(s.status())) break;
        ASSERT_TRUE(s.ok()) << "trial " << k << ": " << s.status();
        ExpectLegalForSpace(space, s->params);
        TrialRecord t;
        t.number = k;
        t.state = TrialState::kRunning;
        t.params = s->params;
        t.sampler_data = s->sampler_data;
        history.trials.push_back(std::move(t));
        // The trial suggested kInFlight ago finishes now, out of order
        // every third time.
        if (k + 1 < kInFlight) continue;
        const int done = k + 1 - kInFlight + (k % 3 == 0 ? 1 : 0);
        TrialRecord& finished = history.trials[static_cast<size_t>(done)];
        if (finished.state != TrialState::kRunning) continue;
        const double u = UnitDraw(values);
        if (u < 0.1) {
          finished.state = TrialState::kFailed;
        } else if (u < 0.2) {
          finished.state = TrialState::kPruned;
          finished.intermediate = {{1, HostileValue(style, values)}};
        } else {
          finished.state = TrialState::kCompleted;
          finished.values = {HostileValue(style, values)};
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(EveryAlgorithm, ConformanceTest,
                         ::testing::ValuesIn(SamplerNames()),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           return p.param;
                         });

}  // namespace
}  // namespace hpo
