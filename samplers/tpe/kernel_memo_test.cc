#include "samplers/tpe/kernel_memo.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace hpo {
namespace tpe_internal {
namespace {

TEST(KernelMemoTest, EntriesHoldForTheSameKernelOnly) {
  KernelMemo memo;
  std::vector<int> slot;
  const int rows[] = {3, 8};
  memo.AssignSlots(rows, 2, 2, slot);
  ASSERT_EQ(slot.size(), 3u);
  double* e = memo.Entry(slot[0], 1, 0.25, 0.1);
  EXPECT_TRUE(std::isnan(e[KernelMemo::kMass]));
  e[KernelMemo::kMass] = 0.9;
  EXPECT_EQ(memo.Entry(slot[0], 1, 0.25, 0.1)[KernelMemo::kMass], 0.9);
  // Another axis, another row, or the same row with another width: not it.
  EXPECT_TRUE(std::isnan(memo.Entry(slot[0], 0, 0.25, 0.1)[KernelMemo::kMass]));
  EXPECT_TRUE(std::isnan(memo.Entry(slot[1], 1, 0.25, 0.1)[KernelMemo::kMass]));
  memo.Entry(slot[0], 1, 0.25, 0.1)[KernelMemo::kMass] = 0.9;
  EXPECT_TRUE(std::isnan(memo.Entry(slot[0], 1, 0.25, 0.2)[KernelMemo::kMass]));
}

TEST(KernelMemoTest, RowsKeepTheirSlotsAndGoneOnesAreReused) {
  KernelMemo memo;
  std::vector<int> first;
  const int before[] = {1, 2, 5};
  memo.AssignSlots(before, 3, 1, first);
  memo.Entry(first[1], 0, 0.5, 0.1)[KernelMemo::kMass] = 0.7;  // row 2
  std::vector<int> second;
  const int after[] = {2, 5, 9};  // row 1 gone, row 9 new
  memo.AssignSlots(after, 3, 1, second);
  EXPECT_EQ(second[0], first[1]);  // row 2
  EXPECT_EQ(second[1], first[2]);  // row 5
  EXPECT_EQ(second[3], first[3]);  // the prior's kernel
  EXPECT_EQ(second[2], first[0]);  // row 9 took row 1's slot
  EXPECT_EQ(memo.Entry(second[0], 0, 0.5, 0.1)[KernelMemo::kMass], 0.7);
  EXPECT_TRUE(
      std::isnan(memo.Entry(second[2], 0, 0.5, 0.1)[KernelMemo::kMass]));
}

TEST(KernelMemoTest, DenseSlotsAreRowNumbers) {
  KernelMemo memo;
  std::vector<int> slot;
  const int rows[] = {0, 4, 1000};
  memo.AssignDenseSlots(rows, 3, 3, slot);
  EXPECT_EQ(slot, (std::vector<int>{1, 5, 1001, 0}));
  memo.Entry(1001, 2, 0.1, 0.01)[KernelMemo::kCdfAtOne] = 1;
  EXPECT_EQ(memo.Entry(1001, 2, 0.1, 0.01)[KernelMemo::kCdfAtOne], 1);
}

}  // namespace
}  // namespace tpe_internal
}  // namespace hpo
