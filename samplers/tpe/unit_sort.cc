#include "samplers/tpe/unit_sort.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace hpo {
namespace tpe_internal {
namespace {

// Insertion sort's step: value x (of input index j), to go at position i,
// goes down past the larger values before it instead (equal ones stay ahead,
// so ties keep their index order). Returns how far it went.
int SinkInto(UnitSort& s, int i, double x, int j) {
  int k = i;
  for (; k > 0 && x < s.value[k - 1]; --k) {
    s.value[k] = s.value[k - 1];
    s.index[k] = s.index[k - 1];
  }
  s.value[k] = x;
  s.index[k] = j;
  return i - k;
}

}  // namespace

void SortUnit(const double* v, int n, UnitSort& s) {
  s.value.resize(n);
  s.index.resize(n);
  if (n < 64) {
    // An insertion sort: few elements (l's).
    for (int j = 0; j < n; ++j) SinkInto(s, j, v[j], j);
    return;
  }
  const double scale = static_cast<double>(n);
  const uint32_t last = static_cast<uint32_t>(n - 1);
  s.bucket.resize(n);
  s.end.assign(n, 0);
  for (int j = 0; j < n; ++j) {
    const uint32_t b =
        std::min(last, static_cast<uint32_t>(std::max(0.0, v[j]) * scale));
    s.bucket[j] = b;
    ++s.end[b];
  }
  // Each bucket's start, then (after the scatter) its end.
  uint32_t total = 0;
  for (int b = 0; b < n; ++b) {
    const uint32_t size = s.end[b];
    s.end[b] = total;
    total += size;
  }
  // In increasing index within a bucket, so that ties stay in index order.
  for (int j = 0; j < n; ++j) {
    const uint32_t at = s.end[s.bucket[j]]++;
    s.value[at] = v[j];
    s.index[at] = j;
  }
  // Elements are now out of order only within a bucket, one element on
  // average: an insertion sort over the whole array, stable (ties keep their
  // index order), is about linear. Clustered values (large buckets) would
  // make it quadratic: past a budget of moves, std::sort instead.
  int64_t budget = 8 * static_cast<int64_t>(n);
  for (int i = 1; i < n; ++i) {
    const double x = s.value[i];
    if (!(x < s.value[i - 1])) continue;
    budget -= SinkInto(s, i, x, s.index[i]);
    if (budget < 0) {
      s.pairs.resize(n);
      for (int t = 0; t < n; ++t) s.pairs[t] = {s.value[t], s.index[t]};
      std::sort(s.pairs.begin(), s.pairs.end());
      for (int t = 0; t < n; ++t) {
        s.value[t] = s.pairs[t].first;
        s.index[t] = s.pairs[t].second;
      }
      return;
    }
  }
}

void MergeSorted(const SortedAxis& earlier,
                 const std::vector<int>& now_of_earlier, const double* v,
                 const std::vector<int>& added, UnitSort& s) {
  // The added ones sorted (few: an insertion sort).
  std::vector<std::pair<double, int>> fresh;
  fresh.reserve(added.size());
  for (int j : added) {
    const std::pair<double, int> x{v[j], j};
    auto at = fresh.end();
    while (at != fresh.begin() && x < *(at - 1)) --at;
    fresh.insert(at, x);
  }
  const size_t n = earlier.index.size() + fresh.size();
  s.value.resize(n);
  s.index.resize(n);
  size_t i = 0;
  size_t k = 0;
  for (size_t out = 0; out < n; ++out) {
    const bool take_earlier =
        k == fresh.size() ||
        (i < earlier.index.size() &&
         std::make_pair(earlier.value[i], now_of_earlier[earlier.index[i]]) <
             fresh[k]);
    if (take_earlier) {
      s.value[out] = earlier.value[i];
      s.index[out] = now_of_earlier[earlier.index[i]];
      ++i;
    } else {
      s.value[out] = fresh[k].first;
      s.index[out] = fresh[k].second;
      ++k;
    }
  }
}

}  // namespace tpe_internal
}  // namespace hpo
