// What every registered early-stopping rule must survive (pruners/pruner.h's
// contract), run against each name in the registry: histories the server can
// hold but no rule's own tests think of. Intermediate values that are huge,
// subnormal or all equal, steps from 0 to near the largest int64 and far
// apart, trials in every state, and a running trial with one report or many.
// Every answer must come back, be the same when asked again, and say why when
// it stops a trial; the sanitizers build (`--config=asan`) runs this too.

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/history.h"
#include "core/hostile_values.h"
#include "gtest/gtest.h"
#include "pruners/pruner.h"
#include "pruners/registry.h"

namespace hpo {
namespace {

using Rng = std::mt19937_64;

// A uniform double in [0, 1) from the top 53 bits of one draw.
double UnitDraw(Rng& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

// Settings a rule cannot do without, and its full trial's length: 30 steps.
std::map<std::string, std::string> SettingsFor(const std::string& rule) {
  if (rule == "percentile") return {{"percentile", "25"}};
  if (rule == "hyperband") return {{"max_resource", "30"}};
  if (rule == "curve_fitting") return {{"epoch_num", "30"}};
  if (rule == "threshold") return {{"upper", "1e300"}, {"lower", "-1e300"}};
  if (rule == "patient") return {{"patience", "2"}};
  return {};
}

// How a history's trials space their reports.
enum class Steps { kEveryStep, kFromZero, kSparse, kHuge };

const char* Name(Steps s) {
  switch (s) {
    case Steps::kEveryStep:
      return "steps 1, 2, 3, ...";
    case Steps::kFromZero:
      return "steps 0, 1, 2, ...";
    case Steps::kSparse:
      return "steps 1, 10, 100, ...";
    case Steps::kHuge:
      return "steps near the largest int64";
  }
  return "?";
}

int64_t StepAt(Steps steps, int k) {
  switch (steps) {
    case Steps::kEveryStep:
      return k + 1;
    case Steps::kFromZero:
      return k;
    case Steps::kSparse: {
      int64_t s = 1;
      for (int i = 0; i < k && s < (int64_t{1} << 55); ++i) s *= 10;
      return s + k;  // strictly increasing past the cap too
    }
    case Steps::kHuge:
      return std::numeric_limits<int64_t>::max() - 1000 + k;
  }
  return k;
}

// `n` finished trials in every state, then the running trial asked about, with
// `reports` reports.
History MakeHistory(int n, int reports, HostileValues style, Steps steps,
                    Goal goal, uint64_t seed) {
  History h;
  h.goals = {goal};
  Rng rng(seed);
  for (int k = 0; k < n; ++k) {
    TrialRecord t;
    t.number = k;
    t.params = {UnitDraw(rng)};
    const double s = UnitDraw(rng);
    const int length = s < 0.5 ? 30 : static_cast<int>(UnitDraw(rng) * 31);
    for (int r = 0; r < length; ++r) {
      t.intermediate.push_back({StepAt(steps, r), HostileValue(style, rng)});
    }
    if (s < 0.5) {
      t.state = TrialState::kCompleted;
      t.values = {t.intermediate.empty() ? HostileValue(style, rng)
                                         : t.intermediate.back().second};
    } else if (s < 0.75) {
      t.state = TrialState::kPruned;
    } else if (s < 0.85) {
      t.state = TrialState::kFailed;
    } else {
      t.state = TrialState::kRunning;
    }
    h.trials.push_back(std::move(t));
  }
  TrialRecord asked;
  asked.number = n;
  asked.state = TrialState::kRunning;
  asked.params = {0.5};
  for (int r = 0; r < reports; ++r) {
    asked.intermediate.push_back({StepAt(steps, r), HostileValue(style, rng)});
  }
  h.trials.push_back(std::move(asked));
  return h;
}

class PrunerConformanceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PrunerConformanceTest, AnswersHostileHistories) {
  const std::string& rule = GetParam();
  auto pruner = CreatePruner(rule, SettingsFor(rule));
  ASSERT_TRUE(pruner.ok()) << pruner.status();
  int stops = 0;
  for (HostileValues style : AllHostileValues()) {
    for (Steps steps :
         {Steps::kEveryStep, Steps::kFromZero, Steps::kSparse, Steps::kHuge}) {
      for (int n : {0, 1, 6, 40}) {
        for (int reports : {1, 2, 9, 30}) {
          const Goal goal = n % 2 == 0 ? Goal::kMinimize : Goal::kMaximize;
          SCOPED_TRACE(absl::StrCat(rule, ": ", n, " trials, ", Name(style),
                                    " values, ", Name(steps), ", ", reports,
                                    " reports"));
          const History history =
              MakeHistory(n, reports, style, steps, goal,
                          static_cast<uint64_t>(1000 * n + reports));
          const size_t asked = history.trials.size() - 1;
          const int64_t step = history.trials[asked].intermediate.back().first;
          const PruneDecision first =
              (*pruner)->ShouldStop(history, asked, step);
          const PruneDecision again =
              (*pruner)->ShouldStop(history, asked, step);
          EXPECT_EQ(first.stop, again.stop);
          EXPECT_EQ(first.reason, again.reason);
          if (first.stop) {
            EXPECT_FALSE(first.reason.empty());
            ++stops;
          }
        }
      }
    }
  }
  // Every rule stops something among these, so the histories reach its
  // decisions (`threshold`'s bounds here only the huge values cross).
  EXPECT_GT(stops, 0);
}

TEST_P(PrunerConformanceTest, BracketsAreInRangeForAnyNumber) {
  const std::string& rule = GetParam();
  auto pruner = CreatePruner(rule, SettingsFor(rule));
  ASSERT_TRUE(pruner.ok()) << pruner.status();
  const int first = (*pruner)->Bracket(0);
  for (int64_t number :
       {int64_t{0}, int64_t{1}, int64_t{12345}, int64_t{1} << 40,
        std::numeric_limits<int64_t>::max()}) {
    const int bracket = (*pruner)->Bracket(number);
    EXPECT_GE(bracket, -1) << number;
    EXPECT_LT(bracket, 64) << number;
    // A rule has brackets for every trial or for none.
    EXPECT_EQ(bracket == -1, first == -1) << number;
  }
}

INSTANTIATE_TEST_SUITE_P(EveryRule, PrunerConformanceTest,
                         ::testing::ValuesIn(PrunerNames()),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           return p.param;
                         });

}  // namespace
}  // namespace hpo
