#include "samplers/tpe/unit_sort.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "samplers/sampler.h"

namespace hpo {
namespace tpe_internal {
namespace {

// What SortUnit must give: std::sort's order of (value, position) pairs.
std::vector<std::pair<double, int>> Expected(const std::vector<double>& v) {
  std::vector<std::pair<double, int>> pairs;
  for (size_t j = 0; j < v.size(); ++j) {
    pairs.push_back({v[j], static_cast<int>(j)});
  }
  std::sort(pairs.begin(), pairs.end());
  return pairs;
}

void ExpectSorted(const std::vector<double>& v, const UnitSort& s) {
  const std::vector<std::pair<double, int>> want = Expected(v);
  ASSERT_EQ(s.value.size(), want.size());
  ASSERT_EQ(s.index.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(s.value[i], want[i].first) << i;
    EXPECT_EQ(s.index[i], want[i].second) << i;
  }
}

// Spread-out values, ties, values crowded into a few buckets (past the
// insertion sort's budget), the range's ends; below and above 64 values.
std::vector<std::vector<double>> Inputs() {
  std::vector<std::vector<double>> inputs;
  Rng rng(5);
  for (int n : {0, 1, 2, 7, 63, 64, 65, 300, 2000}) {
    std::vector<double> spread(n), ties(n), crowded(n), ends(n);
    for (int j = 0; j < n; ++j) {
      spread[j] = UnitDraw(rng);
      ties[j] = static_cast<double>(rng() % 5) / 4;
      crowded[j] = 0.5 + UnitDraw(rng) * 1e-9;
      ends[j] = j % 3 == 0 ? 0.0 : j % 3 == 1 ? 1.0 : UnitDraw(rng);
    }
    for (auto* v : {&spread, &ties, &crowded, &ends}) inputs.push_back(*v);
  }
  return inputs;
}

TEST(SortUnitTest, IsStdSortOfValueAndPosition) {
  UnitSort s;  // reused, as the estimators reuse it
  for (const std::vector<double>& v : Inputs()) {
    SortUnit(v.data(), static_cast<int>(v.size()), s);
    ExpectSorted(v, s);
  }
}

TEST(MergeSortedTest, GivesSortUnitsOrder) {
  Rng rng(9);
  for (const std::vector<double>& v : Inputs()) {
    const int n = static_cast<int>(v.size());
    // Some positions are new; the others were sorted before, as the
    // observations they were then (in the same relative order).
    std::vector<int> added;
    std::vector<int> now_of_earlier;
    std::vector<double> earlier_values;
    for (int j = 0; j < n; ++j) {
      if (rng() % 4 == 0) {
        added.push_back(j);
      } else {
        now_of_earlier.push_back(j);
        earlier_values.push_back(v[j]);
      }
    }
    UnitSort earlier_sort;
    SortUnit(earlier_values.data(), static_cast<int>(earlier_values.size()),
             earlier_sort);
    const SortedAxis earlier{earlier_sort.value, earlier_sort.index};
    UnitSort s;
    MergeSorted(earlier, now_of_earlier, v.data(), added, s);
    ExpectSorted(v, s);
  }
}

}  // namespace
}  // namespace tpe_internal
}  // namespace hpo
