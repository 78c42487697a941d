// Sorting an estimator's observations along one axis, values in [0, 1], by
// increasing (value, position): the order std::sort gives (value, position)
// pairs, so ties keep their positions' order. Kernel widths come from this
// order (each observation's neighbours), so it must be the same every time.
//
// Internal to samplers/tpe; in a header for the estimators and their tests.

#ifndef HPO_SAMPLERS_TPE_UNIT_SORT_H_
#define HPO_SAMPLERS_TPE_UNIT_SORT_H_

#include <cstdint>
#include <utility>
#include <vector>

namespace hpo {
namespace tpe_internal {

// The result, and buffers reused from one sort to the next.
struct UnitSort {
  std::vector<double> value;  // the sorted values
  std::vector<int> index;     // and their positions in the input
  std::vector<uint32_t> bucket;
  std::vector<uint32_t> end;
  std::vector<std::pair<double, int>> pairs;
};

// Sorts v[0, n) into s. A bucket pass first (one bucket per element, then an
// insertion sort), which is about linear for spread-out values and no worse
// than std::sort for clustered ones; an insertion sort alone below 64 values.
void SortUnit(const double* v, int n, UnitSort& s);

// A sorted order kept for later (values, and positions among the
// observations it was made for).
struct SortedAxis {
  std::vector<double> value;
  std::vector<int> index;
};

// SortUnit's result, by a merge, for observations v of which `earlier` holds
// some already sorted (the one at earlier position p now at
// now_of_earlier[p]) and the others are at positions `added` (increasing).
void MergeSorted(const SortedAxis& earlier,
                 const std::vector<int>& now_of_earlier, const double* v,
                 const std::vector<int>& added, UnitSort& s);

}  // namespace tpe_internal
}  // namespace hpo

#endif  // HPO_SAMPLERS_TPE_UNIT_SORT_H_
