#include "samplers/gp/output_warp.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/normal.h"

namespace hpo {
namespace gp {

void WarpWorseHalf(Eigen::VectorXd& y) {
  const Eigen::Index n = y.size();
  if (n < 3) return;
  std::vector<Eigen::Index> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&y](Eigen::Index a, Eigen::Index b) { return y[a] < y[b]; });
  const double median = n % 2 == 1
                            ? y[order[n / 2]]
                            : 0.5 * (y[order[n / 2 - 1]] + y[order[n / 2]]);
  double squares = 0;
  Eigen::Index better = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    if (y[i] <= median) {
      squares += (y[i] - median) * (y[i] - median);
      ++better;
    }
  }
  const double s = std::sqrt(squares / static_cast<double>(better));
  if (!(s > 0)) return;
  Eigen::VectorXd warped = y;
  for (Eigen::Index k = 0; k < n;) {
    Eigen::Index end = k + 1;
    while (end < n && y[order[end]] == y[order[k]]) ++end;
    if (y[order[k]] > median) {
      // Above the median the mean rank is at least (n - 1) / 2, so q > 1/2
      // and the warped value stays above m.
      const double rank = 0.5 * static_cast<double>(k + end - 1);
      const double q = (rank + 0.5) / static_cast<double>(n);
      for (Eigen::Index j = k; j < end; ++j) {
        warped[order[j]] = median + s * NormalQuantile(q);
      }
    }
    k = end;
  }
  y = warped;
}

void CompressOutliers(Eigen::VectorXd& y) {
  const Eigen::Index n = y.size();
  if (n < kOutlierMinValues) return;
  std::vector<double> sorted(y.data(), y.data() + n);
  std::sort(sorted.begin(), sorted.end());
  // Halves of differences throughout, which cannot overflow.
  for (Eigen::Index below = (n + 1) / 2; below < n; ++below) {
    const double best = sorted[0];
    const double worst = sorted[static_cast<size_t>(below - 1)];
    const double spread = worst - best;
    const double half_gap =
        0.5 * sorted[static_cast<size_t>(below)] - 0.5 * worst;
    if (!(spread > 0) || !(half_gap > 0.5 * kOutlierGap * spread)) continue;
    for (Eigen::Index i = 0; i < n; ++i) {
      if (!(y[i] > worst)) continue;
      const double half_excess = 0.5 * y[i] - 0.5 * worst;
      y[i] = worst + spread * (2 - 0.5 * spread / half_excess);
    }
    return;
  }
}

}  // namespace gp
}  // namespace hpo
