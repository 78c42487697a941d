// The random stream of one trial: std::mt19937_64 seeded as by
// std::seed_seq{seed, number}, so that the same experiment seed and history
// give the same suggestion, across restarts and in and out of process (the
// server and bench/run_hpo both call this).
//
// std::seed_seq's expansion is specified by the standard ([rand.util.seedseq]),
// so this computes it directly: the same words, without the library's
// allocation and its division per step, which made seeding the costliest part
// of handing out a random-search trial.

#ifndef HPO_SAMPLERS_TRIAL_RNG_H_
#define HPO_SAMPLERS_TRIAL_RNG_H_

#include <cstdint>

#include "samplers/sampler.h"

namespace hpo {

// A seed sequence of the two words {seed, number}: generate() fills a range
// exactly as std::seed_seq{seed, number}.generate() does.
class TwoWordSeedSeq {
 public:
  using result_type = uint32_t;

  TwoWordSeedSeq(uint32_t first, uint32_t second) : words_{first, second} {}

  // Fills [begin, end) (at least 7 words long, as every engine of <random>
  // asks) with the expansion of the two words.
  void generate(uint32_t* begin, uint32_t* end) const;

  // What std::seed_seq's callers may also ask.
  static constexpr size_t size() { return 2; }

 private:
  uint32_t words_[2];
};

Rng TrialRng(uint32_t seed, uint32_t number);

}  // namespace hpo

#endif  // HPO_SAMPLERS_TRIAL_RNG_H_
