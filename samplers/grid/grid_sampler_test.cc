#include "samplers/grid/grid_sampler.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "core/history.h"
#include "core/search_space.h"
#include "core/settings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "samplers/sampler.h"
#include "samplers/testing/sampler_test_util.h"

namespace hpo {
namespace {

using ::hpo::sampler_testing::CategoricalParam;
using ::hpo::sampler_testing::DoubleParam;
using ::hpo::sampler_testing::IntParam;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<std::unique_ptr<Sampler>> Make(
    const SearchSpace& space, std::map<std::string, std::string> values = {}) {
  Settings settings(std::move(values), "algorithm.settings");
  auto sampler = CreateGridSampler(space, settings);
  if (sampler.ok()) {
    // The registry's check: a grid sampler reads every setting it knows.
    EXPECT_TRUE(settings.CheckAllRead("grid").ok());
  }
  return sampler;
}

void AddTrial(History& history, std::vector<double> params,
              TrialState state = TrialState::kRunning) {
  TrialRecord trial;
  trial.number = static_cast<int64_t>(history.trials.size());
  trial.state = state;
  trial.params = std::move(params);
  history.trials.push_back(std::move(trial));
}

// Suggests until the grid is exhausted, adding each suggestion to the history
// as the server would, and returns the suggestions in order.
std::vector<std::vector<double>> RunToEnd(Sampler& sampler,
                                          const SearchSpace& space,
                                          History& history) {
  std::vector<std::vector<double>> out;
  Rng rng(7);
  for (;;) {
    auto x = sampler.Suggest(space, history, rng);
    if (!x.ok()) {
      EXPECT_EQ(x.status().code(), absl::StatusCode::kOutOfRange) << x.status();
      break;
    }
    out.push_back(x->params);
    AddTrial(history, x->params);
    if (out.size() > 1000) {
      ADD_FAILURE() << "grid does not end";
      break;
    }
  }
  return out;
}

const SearchSpace& TwoByThree() {
  static const auto* space = new SearchSpace(
      {IntParam("n", 0, 1), CategoricalParam("c", {"a", "b", "c"})});
  return *space;
}

TEST(GridSamplerTest, LastParameterVariesFastest) {
  auto sampler = Make(TwoByThree());
  ASSERT_TRUE(sampler.ok()) << sampler.status();
  History history;
  EXPECT_THAT(
      RunToEnd(**sampler, TwoByThree(), history),
      ElementsAre(ElementsAre(0, 0), ElementsAre(0, 1), ElementsAre(0, 2),
                  ElementsAre(1, 0), ElementsAre(1, 1), ElementsAre(1, 2)));
}

TEST(GridSamplerTest, ExhaustedGridIsOutOfRange) {
  auto sampler = Make(TwoByThree());
  ASSERT_TRUE(sampler.ok());
  History history;
  RunToEnd(**sampler, TwoByThree(), history);
  ASSERT_EQ(history.trials.size(), 6u);
  Rng rng(1);
  auto x = (*sampler)->Suggest(TwoByThree(), history, rng);
  EXPECT_EQ(x.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(x.status().message(), "every grid point has been tried (6 points)");
}

TEST(GridSamplerTest, SkipsPointsAlreadyInHistoryInAnyState) {
  auto sampler = Make(TwoByThree());
  ASSERT_TRUE(sampler.ok());
  History history;
  AddTrial(history, {1, 0}, TrialState::kCompleted);
  AddTrial(history, {0, 1}, TrialState::kFailed);
  AddTrial(history, {0, 0}, TrialState::kPruned);
  AddTrial(history, {1, 2}, TrialState::kWaiting);
  EXPECT_THAT(RunToEnd(**sampler, TwoByThree(), history),
              ElementsAre(ElementsAre(0, 2), ElementsAre(1, 1)));
}

TEST(GridSamplerTest, IgnoresTheRng) {
  auto sampler = Make(TwoByThree());
  ASSERT_TRUE(sampler.ok());
  History history;
  AddTrial(history, {0, 0});
  Rng a(1);
  Rng b(2);
  auto xa = (*sampler)->Suggest(TwoByThree(), history, a);
  auto xb = (*sampler)->Suggest(TwoByThree(), history, b);
  ASSERT_TRUE(xa.ok());
  ASSERT_TRUE(xb.ok());
  EXPECT_EQ(xa->params, xb->params);
}

TEST(GridSamplerTest, SteppedRangesUseTheirLegalValues) {
  const SearchSpace space(
      {DoubleParam("x", 0, 1, false, 0.4), IntParam("n", 1, 9, false, 3)});
  auto sampler = Make(space);
  ASSERT_TRUE(sampler.ok()) << sampler.status();
  History history;
  const auto points = RunToEnd(**sampler, space, history);
  ASSERT_EQ(points.size(), 9u);
  EXPECT_THAT(points[0], ElementsAre(0, 1));
  EXPECT_THAT(points[2], ElementsAre(0, 7));
  EXPECT_THAT(points[5], ElementsAre(0.4, 7));
  EXPECT_THAT(points[8], ElementsAre(0.8, 7));
}

TEST(GridSamplerTest, OffGridCoordinatesSnapToTheirPoint) {
  const SearchSpace space({DoubleParam("x", 0, 1, false, 0.25)});
  auto sampler = Make(space);
  ASSERT_TRUE(sampler.ok());
  History history;
  AddTrial(history, {0.02});  // Snaps to 0.
  AddTrial(history, {0.26});  // Snaps to 0.25.
  Rng rng(1);
  auto x = (*sampler)->Suggest(space, history, rng);
  ASSERT_TRUE(x.ok());
  EXPECT_THAT(x->params, ElementsAre(0.5));
}

TEST(GridSamplerTest, IgnoresTrialsOfAnotherShape) {
  auto sampler = Make(TwoByThree());
  ASSERT_TRUE(sampler.ok());
  History history;
  AddTrial(history, {0});
  AddTrial(history, {0, 0, 0});
  Rng rng(1);
  auto x = (*sampler)->Suggest(TwoByThree(), history, rng);
  ASSERT_TRUE(x.ok());
  EXPECT_THAT(x->params, ElementsAre(0, 0));
}

TEST(GridSamplerTest, GridPointsSpaceContinuousRangesEvenly) {
  const SearchSpace space({DoubleParam("x", 0, 1)});
  auto sampler = Make(space, {{"grid_points", "5"}});
  ASSERT_TRUE(sampler.ok()) << sampler.status();
  History history;
  EXPECT_THAT(RunToEnd(**sampler, space, history),
              ElementsAre(ElementsAre(0), ElementsAre(0.25), ElementsAre(0.5),
                          ElementsAre(0.75), ElementsAre(1)));
}

TEST(GridSamplerTest, GridPointsAreEvenInLogSpace) {
  const SearchSpace space({DoubleParam("x", 1, 100, /*log=*/true)});
  auto sampler = Make(space, {{"grid_points", "3"}});
  ASSERT_TRUE(sampler.ok()) << sampler.status();
  History history;
  const auto points = RunToEnd(**sampler, space, history);
  ASSERT_EQ(points.size(), 3u);
  EXPECT_DOUBLE_EQ(points[0][0], 1);
  EXPECT_DOUBLE_EQ(points[1][0], 10);
  EXPECT_DOUBLE_EQ(points[2][0], 100);
}

TEST(GridSamplerTest, ContinuousGridIgnoresCoordinatesBetweenPoints) {
  const SearchSpace space({DoubleParam("x", 0, 1)});
  auto sampler = Make(space, {{"grid_points", "3"}});
  ASSERT_TRUE(sampler.ok());
  History history;
  AddTrial(history, {0.3});  // Not a grid point: uses nothing.
  AddTrial(history, {0.0});
  Rng rng(1);
  auto x = (*sampler)->Suggest(space, history, rng);
  ASSERT_TRUE(x.ok());
  EXPECT_THAT(x->params, ElementsAre(0.5));
}

TEST(GridSamplerTest, EmptyRangeWithGridPointsIsOnePoint) {
  const SearchSpace space({DoubleParam("x", 2, 2, /*log=*/true)});
  auto sampler = Make(space, {{"grid_points", "4"}});
  ASSERT_TRUE(sampler.ok());
  History history;
  EXPECT_THAT(RunToEnd(**sampler, space, history), ElementsAre(ElementsAre(2)));
}

TEST(GridSamplerTest, GridPointsIsReadEvenWhenUnused) {
  // Make() checks that every setting was read.
  EXPECT_TRUE(Make(TwoByThree(), {{"grid_points", "10"}}).ok());
}

TEST(GridSamplerTest, ContinuousDoubleNeedsGridPoints) {
  const SearchSpace space({IntParam("n", 0, 3), CategoricalParam("c", {"a"}),
                           DoubleParam("lr", 1e-4, 1, /*log=*/true)});
  auto sampler = Make(space);
  EXPECT_EQ(sampler.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      sampler.status().message(),
      "parameters[2] (lr): a double_range needs a step for grid search, or set "
      "algorithm.settings.grid_points");
}

TEST(GridSamplerTest, GridPointsMustBeAnIntegerOfAtLeastTwo) {
  const SearchSpace space({DoubleParam("x", 0, 1)});
  for (const char* bad : {"1", "0", "-3"}) {
    auto sampler = Make(space, {{"grid_points", bad}});
    EXPECT_EQ(sampler.status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
    EXPECT_EQ(sampler.status().message(),
              std::string(
                  "algorithm.settings.grid_points: must be at least 2, got ") +
                  bad);
  }
  for (const char* bad : {"2.5", "many", ""}) {
    auto sampler = Make(space, {{"grid_points", bad}});
    EXPECT_EQ(sampler.status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
    EXPECT_THAT(
        sampler.status().message(),
        HasSubstr("algorithm.settings.grid_points: must be an integer"));
  }
}

TEST(GridSamplerTest, RefusesGridsOverTheLimit) {
  // 10001 * 1000 = 10,001,000 points.
  auto over =
      Make(SearchSpace({IntParam("a", 1, 10001), IntParam("b", 1, 1000)}));
  EXPECT_EQ(over.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(over.status().message(), HasSubstr("10001000 points"));

  // Exactly at the limit is fine.
  EXPECT_TRUE(
      Make(SearchSpace({IntParam("a", 1, 10000), IntParam("b", 1, 1000)}))
          .ok());

  // Far beyond int64, the count is approximate but still given.
  auto huge =
      Make(SearchSpace({IntParam("a", 0, 1e15), IntParam("b", 0, 1e15)}));
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(huge.status().message(), HasSubstr("about 1e+30 points"));

  // A huge grid_points is refused before any point is computed.
  auto points = Make(SearchSpace({DoubleParam("x", 0, 1)}),
                     {{"grid_points", "1000000000000"}});
  EXPECT_EQ(points.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(points.status().message(), HasSubstr("1000000000000 points"));
}

TEST(GridSamplerTest, LongHistory) {
  // 100 * 200 points; the first 10,000 are taken, listed in reverse order.
  const SearchSpace space({IntParam("a", 0, 99), IntParam("b", 0, 199)});
  auto sampler = Make(space);
  ASSERT_TRUE(sampler.ok());
  History history;
  for (int i = 9999; i >= 0; --i) {
    AddTrial(history,
             {static_cast<double>(i / 200), static_cast<double>(i % 200)});
  }
  Rng rng(1);
  for (int call = 0; call < 20; ++call) {
    auto x = (*sampler)->Suggest(space, history, rng);
    ASSERT_TRUE(x.ok());
    EXPECT_THAT(x->params, ElementsAre(50, call));
    AddTrial(history, x->params);
  }
}

}  // namespace
}  // namespace hpo

namespace hpo {
namespace {

// A conditional space is one configuration per distinct active assignment:
// opt=a has x in {0, 1}; opt=b has no x.
TEST(GridSamplerConditionalTest, CollapsesInactiveParameters) {
  ParamSpec opt = CategoricalParam("opt", {"a", "b"});
  ParamSpec x = IntParam("x", 0, 1);
  x.parent = 0;
  x.parent_values = {0};
  const SearchSpace space({opt, x});
  auto sampler = Make(space);
  ASSERT_TRUE(sampler.ok()) << sampler.status();
  History history;
  const std::vector<std::vector<double>> points =
      RunToEnd(**sampler, space, history);
  ASSERT_EQ(points.size(), 3u);
  EXPECT_EQ(points[0], (std::vector<double>{0, 0}));
  EXPECT_EQ(points[1], (std::vector<double>{0, 1}));
  EXPECT_EQ(points[2][0], 1);
  EXPECT_TRUE(IsInactive(points[2][1]));
}

}  // namespace
}  // namespace hpo
