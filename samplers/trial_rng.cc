#include "samplers/trial_rng.h"

#include <algorithm>
#include <cstddef>

namespace hpo {
namespace {

uint32_t T(uint32_t x) { return x ^ (x >> 27); }

}  // namespace

void TwoWordSeedSeq::generate(uint32_t* begin, uint32_t* end) const {
  // [rand.util.seedseq]/8, with s = 2 input words. Indices into the range
  // advance by one each step, so they wrap with a compare, not a division.
  const size_t n = static_cast<size_t>(end - begin);
  if (n == 0) return;
  std::fill(begin, end, 0x8b8b8b8bu);
  const size_t t = n >= 623  ? 11
                   : n >= 68 ? 7
                   : n >= 39 ? 5
                   : n >= 7  ? 3
                             : (n - 1) / 2;
  const size_t p = (n - t) / 2;
  const size_t q = p + t;
  const size_t m = std::max<size_t>(size() + 1, n);
  const auto wrap = [n](size_t i) { return i >= n ? i - n : i; };
  // k mod n, (k + p) mod n, (k + q) mod n and (k - 1) mod n, kept in step.
  size_t k0 = 0, kp = p % n, kq = q % n, km1 = n - 1;
  const auto step = [&] {
    km1 = k0;
    k0 = wrap(k0 + 1);
    kp = wrap(kp + 1);
    kq = wrap(kq + 1);
  };
  for (size_t k = 0; k < m; ++k) {
    const uint32_t r1 = 1664525u * T(begin[k0] ^ begin[kp] ^ begin[km1]);
    uint32_t r2 = r1 + static_cast<uint32_t>(k0);
    if (k == 0) {
      r2 = r1 + static_cast<uint32_t>(size());
    } else if (k <= size()) {
      r2 += words_[k - 1];
    }
    begin[kp] += r1;
    begin[kq] += r2;
    begin[k0] = r2;
    step();
  }
  for (size_t k = m; k < m + n; ++k) {
    const uint32_t r3 = 1566083941u * T(begin[k0] + begin[kp] + begin[km1]);
    const uint32_t r4 = r3 - static_cast<uint32_t>(k0);
    begin[kp] ^= r3;
    begin[kq] ^= r4;
    begin[k0] = r4;
    step();
  }
}

Rng TrialRng(uint32_t seed, uint32_t number) {
  TwoWordSeedSeq seq(seed, number);
  return Rng(seq);
}

}  // namespace hpo
