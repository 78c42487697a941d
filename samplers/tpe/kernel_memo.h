// What a truncated-normal kernel of mean mu and width sigma costs erfc or exp
// calls to know: its CDF at both ends of [0, 1] (a draw inverts between them)
// and its truncation mass. Kept per observation row and axis from one
// estimator to the next: TPE's l, whose few good trials change by one now
// and then, and g in few dimensions, whose kernels' widths change only next
// to a new trial. An entry is checked against mu and sigma before use, so a
// stale one is never read.
//
// Internal to samplers/tpe; in a header for the estimators and their tests.

#ifndef HPO_SAMPLERS_TPE_KERNEL_MEMO_H_
#define HPO_SAMPLERS_TPE_KERNEL_MEMO_H_

#include <cstddef>
#include <limits>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace hpo {
namespace tpe_internal {

class KernelMemo {
 public:
  // Fields of an entry.
  enum Field { kMu, kSigma, kCdfAtZero, kCdfAtOne, kMass, kFields };

  // The slots of an estimator's kernels, in slot[0, n] (the prior's kernel,
  // which has no row, last): a slot for each row, kept for the rows of the
  // last estimator that are still here and given back for the others. `rows`
  // increasing.
  void AssignSlots(const int* rows, int n, size_t dims, std::vector<int>& slot);
  // The same with a slot per row number (row r in slot r + 1, the prior's
  // kernel in 0): no bookkeeping, for estimators of many rows; memory grows
  // with the largest row.
  void AssignDenseSlots(const int* rows, int n, size_t dims,
                        std::vector<int>& slot);

  // Slot `slot`'s fields along axis d, NaN where not computed yet for this mu
  // and sigma (reset when the slot held another kernel). Inline: the
  // estimators ask for one per kernel and axis.
  double* Entry(int slot, size_t d, double mu, double sigma) {
    double* e = &entries_[(slot * dims_ + d) * kFields];
    if (!(e[kMu] == mu && e[kSigma] == sigma)) {
      e[kMu] = mu;
      e[kSigma] = sigma;
      e[kCdfAtZero] = e[kCdfAtOne] = e[kMass] =
          std::numeric_limits<double>::quiet_NaN();
    }
    return e;
  }

 private:
  size_t dims_ = 0;
  bool dense_ = false;
  absl::flat_hash_map<int, int> slot_of_row_;  // the prior's kernel: row -1
  std::vector<int> free_slots_;
  std::vector<int> last_rows_;
  std::vector<double> entries_;  // [slot][axis][field]
};

}  // namespace tpe_internal
}  // namespace hpo

#endif  // HPO_SAMPLERS_TPE_KERNEL_MEMO_H_
