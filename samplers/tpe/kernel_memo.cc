#include "samplers/tpe/kernel_memo.h"

#include <algorithm>
#include <limits>

namespace hpo {
namespace tpe_internal {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

void KernelMemo::AssignDenseSlots(const int* rows, int n, size_t dims,
                                  std::vector<int>& slot) {
  if (dims_ != dims || !dense_) {
    *this = KernelMemo();
    dims_ = dims;
    dense_ = true;
  }
  int top = -1;
  for (int j = 0; j < n; ++j) top = std::max(top, rows[j]);
  const size_t size = (static_cast<size_t>(top) + 2) * dims_ * kFields;
  if (entries_.size() < size) entries_.resize(size, kNaN);
  slot.resize(n + 1);
  for (int j = 0; j < n; ++j) slot[j] = rows[j] + 1;
  slot[n] = 0;
}

void KernelMemo::AssignSlots(const int* rows, int n, size_t dims,
                             std::vector<int>& slot) {
  if (dims_ != dims || dense_) *this = KernelMemo();
  dims_ = dims;
  // Rows gone since the last estimator give their slots back.
  size_t i = 0;
  for (int row : last_rows_) {
    while (i < static_cast<size_t>(n) && rows[i] < row) ++i;
    if (i < static_cast<size_t>(n) && rows[i] == row) continue;
    auto it = slot_of_row_.find(row);
    if (it != slot_of_row_.end()) {
      free_slots_.push_back(it->second);
      slot_of_row_.erase(it);
    }
  }
  slot.resize(n + 1);
  const size_t width = dims_ * kFields;
  for (int j = 0; j <= n; ++j) {
    const int row = j < n ? rows[j] : -1;
    auto [it, fresh] = slot_of_row_.try_emplace(row, 0);
    if (fresh) {
      if (!free_slots_.empty()) {
        it->second = free_slots_.back();
        free_slots_.pop_back();
      } else {
        it->second = static_cast<int>(entries_.size() / width);
        entries_.resize(entries_.size() + width);
      }
      std::fill_n(entries_.begin() + it->second * width, width, kNaN);
    }
    slot[j] = it->second;
  }
  last_rows_.assign(rows, rows + n);
}

}  // namespace tpe_internal
}  // namespace hpo
