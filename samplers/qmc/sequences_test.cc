#include "samplers/qmc/sequences.h"

#include <cmath>
#include <cstdint>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace hpo {
namespace {

SobolSequence Sobol(int dimension, bool scramble, uint64_t seed = 0) {
  absl::StatusOr<SobolSequence> seq =
      SobolSequence::Create(dimension, scramble, seed);
  EXPECT_TRUE(seq.ok()) << seq.status();
  return *std::move(seq);
}

HaltonSequence Halton(int dimension, bool scramble, uint64_t seed = 0) {
  absl::StatusOr<HaltonSequence> seq =
      HaltonSequence::Create(dimension, scramble, seed);
  EXPECT_TRUE(seq.ok()) << seq.status();
  return *std::move(seq);
}

TEST(SobolSequenceTest, FirstPointsOfThePlainSequence) {
  const SobolSequence seq = Sobol(2, false);
  const std::vector<std::vector<double>> expected = {
      {0, 0},         {0.5, 0.5},     {0.75, 0.25},   {0.25, 0.75},
      {0.375, 0.375}, {0.875, 0.875}, {0.625, 0.125}, {0.125, 0.625}};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(seq.Point(i), expected[i]) << "point " << i;
  }
}

// Reference values from scipy.stats.qmc.Sobol(d=1024, scramble=False), which
// uses the same Joe-Kuo table: checks the table and the recurrence far into
// it, in bits that only deep direction numbers reach.
TEST(SobolSequenceTest, MatchesTheReferenceGeneratorInHighDimensions) {
  const SobolSequence seq = Sobol(1024, false);
  const std::vector<int> coords = {0, 1, 2, 9, 99, 500, 1000, 1023};
  const std::vector<double> at_1000 = {0.2197265625, 0.0966796875, 0.5185546875,
                                       0.0693359375, 0.1865234375, 0.7255859375,
                                       0.5654296875, 0.7138671875};
  const std::vector<double> at_123456789 = {
      0x1.f3a8de4p-1, 0x1.95b9a34p-1, 0x1.a3d16p-8,   0x1.9d9f068p-2,
      0x1.40999d4p-1, 0x1.174c0a4p-1, 0x1.426bda8p-2, 0x1.56f6514p-1};
  const std::vector<double> x = seq.Point(1000);
  const std::vector<double> y = seq.Point(123456789);
  for (size_t i = 0; i < coords.size(); ++i) {
    EXPECT_EQ(x[coords[i]], at_1000[i]) << "coordinate " << coords[i];
    EXPECT_EQ(y[coords[i]], at_123456789[i]) << "coordinate " << coords[i];
  }
}

// The first 2^m points of a (t, m, s)-net put exactly one point in each of
// the 2^m equal cells of every coordinate; linear matrix scrambling and a
// digital shift keep that.
TEST(SobolSequenceTest, EveryCoordinateStratifiesPlainAndScrambled) {
  constexpr int kM = 10;
  constexpr uint64_t kN = uint64_t{1} << kM;
  for (bool scramble : {false, true}) {
    const SobolSequence seq = Sobol(kMaxSobolDimension, scramble, 7);
    std::vector<std::vector<bool>> seen(kMaxSobolDimension,
                                        std::vector<bool>(kN));
    for (uint64_t i = 0; i < kN; ++i) {
      const std::vector<double> x = seq.Point(i);
      for (int k = 0; k < kMaxSobolDimension; ++k) {
        ASSERT_GE(x[k], 0);
        ASSERT_LT(x[k], 1);
        const auto cell = static_cast<size_t>(x[k] * kN);
        ASSERT_FALSE(seen[k][cell]) << "coordinate " << k << " cell " << cell
                                    << " twice, scramble " << scramble;
        seen[k][cell] = true;
      }
    }
  }
}

// Coordinates 1 and 2 form a (0, m, 2)-net: every box of area 2^-m whose
// sides are 2^-a by 2^-(m-a) holds exactly one of the first 2^m points.
TEST(SobolSequenceTest, FirstTwoCoordinatesFormAZeroNet) {
  constexpr int kM = 8;
  for (bool scramble : {false, true}) {
    const SobolSequence seq = Sobol(2, scramble, 3);
    for (int a = 0; a <= kM; ++a) {
      std::set<std::pair<int, int>> boxes;
      for (uint64_t i = 0; i < (uint64_t{1} << kM); ++i) {
        const std::vector<double> x = seq.Point(i);
        boxes.insert({static_cast<int>(std::ldexp(x[0], a)),
                      static_cast<int>(std::ldexp(x[1], kM - a))});
      }
      EXPECT_EQ(boxes.size(), size_t{1} << kM)
          << "a = " << a << ", scramble " << scramble;
    }
  }
}

TEST(SobolSequenceTest, ScrambleDependsOnTheSeedOnly) {
  const SobolSequence a = Sobol(5, true, 11);
  const SobolSequence b = Sobol(5, true, 11);
  const SobolSequence c = Sobol(5, true, 12);
  for (uint64_t i = 0; i < 20; ++i) {
    EXPECT_EQ(a.Point(i), b.Point(i));
    EXPECT_NE(a.Point(i), c.Point(i));
  }
  // Scrambled, the first point is no longer the origin.
  for (double x : a.Point(0)) EXPECT_NE(x, 0);
}

TEST(SobolSequenceTest, RefusesUnsupportedDimensions) {
  EXPECT_EQ(SobolSequence::Create(0, true, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  const absl::Status too_many =
      SobolSequence::Create(kMaxSobolDimension + 1, true, 0).status();
  EXPECT_EQ(too_many.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(too_many.message().find("1024"), std::string::npos) << too_many;
}

TEST(HaltonSequenceTest, FirstPointsOfThePlainSequence) {
  const HaltonSequence seq = Halton(3, false);
  const std::vector<std::vector<double>> expected = {
      {0, 0, 0},
      {1.0 / 2, 1.0 / 3, 1.0 / 5},
      {1.0 / 4, 2.0 / 3, 2.0 / 5},
      {3.0 / 4, 1.0 / 9, 3.0 / 5},
      {1.0 / 8, 4.0 / 9, 4.0 / 5},
      {5.0 / 8, 7.0 / 9, 1.0 / 25}};
  for (size_t i = 0; i < expected.size(); ++i) {
    const std::vector<double> x = seq.Point(i);
    for (int k = 0; k < 3; ++k) {
      EXPECT_NEAR(x[k], expected[i][k], 1e-15) << "point " << i;
    }
  }
}

// A random permutation of each digit position keeps the radical inverse's
// stratification: the first b^2 points of a base-b coordinate still fall one
// in each cell of width b^-2.
TEST(HaltonSequenceTest, ScrambledCoordinatesStillStratify) {
  const HaltonSequence seq = Halton(6, true, 5);
  const std::vector<int> bases = {2, 3, 5, 7, 11, 13};
  for (int k = 0; k < 6; ++k) {
    const int cells = bases[k] * bases[k];
    std::vector<int> count(cells);
    for (int i = 0; i < cells; ++i) {
      const double x = seq.Point(i)[k];
      ASSERT_GE(x, 0);
      ASSERT_LT(x, 1);
      count[static_cast<int>(x * cells)]++;
    }
    for (int c = 0; c < cells; ++c) {
      EXPECT_EQ(count[c], 1) << "base " << bases[k] << " cell " << c;
    }
  }
}

TEST(HaltonSequenceTest, ScrambleDependsOnTheSeedOnly) {
  const HaltonSequence a = Halton(4, true, 1);
  const HaltonSequence b = Halton(4, true, 1);
  const HaltonSequence c = Halton(4, true, 2);
  for (uint64_t i = 0; i < 20; ++i) {
    EXPECT_EQ(a.Point(i), b.Point(i));
    EXPECT_NE(a.Point(i), c.Point(i));
  }
}

TEST(HaltonSequenceTest, LargeIndicesAndDimensionsStayInRange) {
  const HaltonSequence seq = Halton(kMaxHaltonDimension, true, 9);
  for (uint64_t i : {uint64_t{0}, uint64_t{123456789}, UINT64_MAX}) {
    for (double x : seq.Point(i)) {
      ASSERT_GE(x, 0);
      ASSERT_LT(x, 1);
    }
  }
  EXPECT_EQ(
      HaltonSequence::Create(kMaxHaltonDimension + 1, false, 0).status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(SequencePointTest, OneOffFunctionsMatchTheClasses) {
  absl::StatusOr<std::vector<double>> s = SobolPoint(3, 17, true, 4);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(*s, Sobol(3, true, 4).Point(17));
  absl::StatusOr<std::vector<double>> h = HaltonPoint(3, 17, false, 0);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(*h, Halton(3, false).Point(17));
  EXPECT_FALSE(SobolPoint(0, 1, false, 0).ok());
}

}  // namespace
}  // namespace hpo
