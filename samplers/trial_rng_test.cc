#include "samplers/trial_rng.h"

#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace hpo {
namespace {

TEST(TwoWordSeedSeqTest, FillsAsStdSeedSeqForEveryLength) {
  for (uint32_t seed : {0u, 1u, 7u, 20240601u, 0xffffffffu}) {
    for (uint32_t number : {0u, 1u, 2u, 999u, 0x80000000u}) {
      // Lengths on both sides of each of the standard's thresholds.
      for (size_t n : {1, 2, 3, 6, 7, 8, 38, 39, 40, 67, 68, 69, 622, 623, 624,
                       625, 1000}) {
        std::vector<uint32_t> want(n), got(n);
        std::seed_seq({seed, number}).generate(want.begin(), want.end());
        TwoWordSeedSeq(seed, number).generate(got.data(), got.data() + n);
        ASSERT_EQ(got, want)
            << "seed " << seed << " number " << number << " n " << n;
      }
    }
  }
}

TEST(TrialRngTest, IsTheEngineSeededByStdSeedSeq) {
  for (uint32_t number = 0; number < 50; ++number) {
    std::seed_seq seq{12345u, number};
    Rng want(seq);
    Rng got = TrialRng(12345u, number);
    for (int i = 0; i < 5; ++i) ASSERT_EQ(got(), want()) << number;
  }
}

}  // namespace
}  // namespace hpo
