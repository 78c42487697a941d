#include "samplers/random/random_sampler.h"

#include <algorithm>
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
#include "samplers/sampler.h"
#include "samplers/testing/sampler_test_util.h"

namespace hpo {
namespace {

using ::hpo::sampler_testing::CategoricalParam;
using ::hpo::sampler_testing::DiscreteParam;
using ::hpo::sampler_testing::DoubleParam;
using ::hpo::sampler_testing::IntParam;

std::unique_ptr<Sampler> MakeSampler(const SearchSpace& space) {
  Settings settings({}, "algorithm.settings");
  auto sampler = CreateRandomSampler(space, settings);
  EXPECT_TRUE(sampler.ok()) << sampler.status();
  return *std::move(sampler);
}

// `n` suggestions from one Rng, as the server would not do (it reseeds per
// trial), but the distribution is the same and this is quicker.
std::vector<std::vector<double>> Draw(const SearchSpace& space, int n,
                                      uint64_t seed = 1) {
  std::unique_ptr<Sampler> sampler = MakeSampler(space);
  History history;
  Rng rng(seed);
  std::vector<std::vector<double>> out;
  for (int i = 0; i < n; ++i) {
    auto x = sampler->Suggest(space, history, rng);
    EXPECT_TRUE(x.ok()) << x.status();
    EXPECT_EQ(x->params.size(), space.size());
    out.push_back(std::move(x->params));
  }
  return out;
}

// Pearson's chi-square statistic of `counts` against equal expected counts.
double ChiSquare(const std::vector<int>& counts) {
  double total = 0;
  for (int c : counts) total += c;
  const double expected = total / static_cast<double>(counts.size());
  double chi2 = 0;
  for (int c : counts) chi2 += (c - expected) * (c - expected) / expected;
  return chi2;
}

// Loose enough that a correct sampler essentially never fails (p ~ 1e-6 at 3
// degrees of freedom), tight enough to catch a skewed one over thousands of
// draws.
constexpr double kChiSquareBound = 30;

TEST(RandomSamplerTest, ValuesWithinRange) {
  const SearchSpace space({
      DoubleParam("d", -2, 3),
      DoubleParam("dstep", 0.1, 2, false, 0.25),
      DoubleParam("dlog", 1e-5, 1e-1, true),
      IntParam("i", -5, 5),
      IntParam("ilog", 1, 1000, true),
      CategoricalParam("c", {"a", "b", "c"}),
      DiscreteParam("disc", {0.5, 1, 4, 16}),
  });
  for (const std::vector<double>& x : Draw(space, 2000)) {
    for (size_t i = 0; i < space.size(); ++i) {
      const ParamSpec& p = space.param(i);
      if (p.IsIndexed()) {
        EXPECT_GE(x[i], 0) << p.name;
        EXPECT_LT(x[i], p.Cardinality()) << p.name;
      } else {
        EXPECT_GE(x[i], p.low) << p.name;
        EXPECT_LE(x[i], p.high) << p.name;
      }
    }
  }
}

TEST(RandomSamplerTest, DoubleStepRespected) {
  const SearchSpace space({DoubleParam("x", 0.1, 2, false, 0.25),
                           DoubleParam("y", 1, 100, true, 0.5)});
  for (const std::vector<double>& x : Draw(space, 2000)) {
    for (size_t i = 0; i < space.size(); ++i) {
      const ParamSpec& p = space.param(i);
      const double k = (x[i] - p.low) / p.step;
      EXPECT_NEAR(k, std::round(k), 1e-9) << p.name << " = " << x[i];
    }
  }
}

TEST(RandomSamplerTest, IntsAreExactIntegers) {
  const SearchSpace space({IntParam("i", -50, 50),
                           IntParam("ilog", 1, 1 << 20, true),
                           IntParam("istep", 0, 100, false, 7)});
  for (const std::vector<double>& x : Draw(space, 2000)) {
    EXPECT_EQ(x[0], std::floor(x[0]));
    EXPECT_EQ(x[1], std::floor(x[1]));
    EXPECT_EQ(x[2], std::floor(x[2]));
    EXPECT_EQ(std::fmod(x[2], 7), 0) << x[2];
  }
}

TEST(RandomSamplerTest, LogScaleGivesEqualCountsPerDecade) {
  const SearchSpace space({DoubleParam("lr", 1e-5, 1e-1, true)});
  std::vector<int> per_decade(4);
  for (const std::vector<double>& x : Draw(space, 4000)) {
    const int decade = static_cast<int>(std::floor(std::log10(x[0]) + 5));
    ASSERT_GE(decade, 0) << x[0];
    // 1e-1 itself is legal; count it with the decade below.
    per_decade[std::min(decade, 3)]++;
  }
  EXPECT_LT(ChiSquare(per_decade), kChiSquareBound)
      << per_decade[0] << " " << per_decade[1] << " " << per_decade[2] << " "
      << per_decade[3];
}

TEST(RandomSamplerTest, IntRangeEndsAsLikelyAsInnerValues) {
  const SearchSpace space({IntParam("n", 1, 4)});
  std::vector<int> counts(4);
  for (const std::vector<double>& x : Draw(space, 4000)) {
    ASSERT_GE(x[0], 1);
    ASSERT_LE(x[0], 4);
    counts[static_cast<int>(x[0]) - 1]++;
  }
  EXPECT_LT(ChiSquare(counts), kChiSquareBound)
      << counts[0] << " " << counts[1] << " " << counts[2] << " " << counts[3];
}

TEST(RandomSamplerTest, CategoricalIndicesInRangeAndAllOccur) {
  const SearchSpace space(
      {CategoricalParam("opt", {"sgd", "adam", "rmsprop", "lamb"})});
  std::vector<int> counts(4);
  for (const std::vector<double>& x : Draw(space, 4000)) {
    ASSERT_EQ(x[0], std::floor(x[0]));
    ASSERT_GE(x[0], 0);
    ASSERT_LE(x[0], 3);
    counts[static_cast<int>(x[0])]++;
  }
  for (int c : counts) EXPECT_GT(c, 0);
  EXPECT_LT(ChiSquare(counts), kChiSquareBound);
}

TEST(RandomSamplerTest, SameSeedAndHistoryGiveSameSuggestion) {
  const SearchSpace space({DoubleParam("lr", 1e-5, 1e-1, true),
                           IntParam("n", 1, 64),
                           CategoricalParam("c", {"a", "b", "c"})});
  History history;
  history.goals = {Goal::kMinimize};
  TrialRecord done;
  done.number = 0;
  done.state = TrialState::kCompleted;
  done.params = {1e-3, 8, 1};
  done.values = {0.25};
  history.trials.push_back(done);

  std::unique_ptr<Sampler> a = MakeSampler(space);
  std::unique_ptr<Sampler> b = MakeSampler(space);
  Rng rng_a(42);
  Rng rng_b(42);
  auto xa = a->Suggest(space, history, rng_a);
  auto xb = b->Suggest(space, history, rng_b);
  ASSERT_TRUE(xa.ok());
  ASSERT_TRUE(xb.ok());
  EXPECT_EQ(xa->params, xb->params);

  Rng rng_c(43);
  auto xc = a->Suggest(space, history, rng_c);
  ASSERT_TRUE(xc.ok());
  EXPECT_NE(xa->params, xc->params);
}

TEST(RandomSamplerTest, AcceptsNoSettings) {
  const SearchSpace space({DoubleParam("x", 0, 1)});
  Settings settings({{"grid_points", "3"}}, "algorithm.settings");
  ASSERT_TRUE(CreateRandomSampler(space, settings).ok());
  const absl::Status unread = settings.CheckAllRead("random");
  EXPECT_EQ(unread.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(unread.message().find("algorithm.settings.grid_points"),
            std::string::npos)
      << unread;
}

}  // namespace
}  // namespace hpo
