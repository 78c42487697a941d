// A scrambled Halton sequence: low-discrepancy points in the unit cube, used
// for the acquisition function's candidate points and for the restarts of the
// hyperparameter fit.
//
// Dimension d uses the d-th prime as its base. The plain sequence is badly
// correlated in high dimensions (bases 53 and 59 trace lines for the first few
// hundred points), so every digit position of every dimension gets its own
// random permutation of the digits (Matousek's random digit scrambling), drawn
// once from the sampler's Rng; the points stay a (scrambled) Halton set, just
// without the artefacts.

#ifndef HPO_SAMPLERS_GP_HALTON_H_
#define HPO_SAMPLERS_GP_HALTON_H_

#include <cstdint>
#include <vector>

#include "samplers/sampler.h"

namespace hpo {
namespace gp {

class ScrambledHalton {
 public:
  ScrambledHalton(int dimensions, Rng& rng);

  int dimensions() const { return static_cast<int>(bases_.size()); }
  // Writes the index-th point (coordinates in [0, 1)) to out[0..dimensions).
  void Point(uint64_t index, double* out) const;

 private:
  struct Axis {
    int base = 2;
    // permutation[k * base + digit]: the scrambled digit at position k.
    std::vector<int> permutation;
    // tail[k]: what digit positions k, k+1, ... add when all their digits are
    // 0, so the expansion can stop as soon as the index runs out of digits.
    std::vector<double> tail;
  };
  std::vector<int> bases_;
  std::vector<Axis> axes_;
};

}  // namespace gp
}  // namespace hpo

#endif  // HPO_SAMPLERS_GP_HALTON_H_
