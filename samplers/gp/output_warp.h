// Output warping for the GP: a monotone map of the observed values applied
// before they are standardized.

#ifndef HPO_SAMPLERS_GP_OUTPUT_WARP_H_
#define HPO_SAMPLERS_GP_OUTPUT_WARP_H_

#include <eigen3/Eigen/Dense>

namespace hpo {
namespace gp {

// Replaces the worse half of `y` (values to be minimized) by a normal tail, so
// that a few very bad trials (a quartic wall, a diverged run) do not set the
// model's scale and flatten everything near the optimum. The better half
// (values at or below the median m) is kept as it is; a value above m becomes
// m + s * Phi^-1(q), with q in (1/2, 1) its rank among all values as a
// quantile (ties share their mean rank) and s the better half's root mean
// square distance from m. The map is monotone, so the order of the values and
// the incumbent do not change. Fewer than 3 values, or a flat better half,
// are left alone. The idea is Vizier's half-rank output warping.
void WarpWorseHalf(Eigen::VectorXd& y);

// CompressOutliers' gap: values this many times the spread of the values
// below them above the rest are outliers.
inline constexpr double kOutlierGap = 100;
// Fewer values than this are left alone: a handful tells too little of what
// an ordinary spread is.
inline constexpr Eigen::Index kOutlierMinValues = 10;

// Pulls in values (to be minimized) far worse than all the others. Sorted,
// the values split at the first gap that leaves at least half of them below
// it and is more than kOutlierGap times their spread (worst minus best of
// those below); every value above such a gap, at w + g with w the worst value
// below it and s the spread, becomes w + s * (2 - s / g): just under one
// spread above w, still in their order. A penalty such as 1e10 returned for
// diverged runs among values near 1 would otherwise set the standardized
// outputs' scale alone and leave every other value within ~1e-10 of the
// next, which the model cannot tell apart. A heavy tail is no such gap, and
// no run of the benchmark suite has one (bench/README.md), so there this
// changes nothing. Values up to the largest double do not overflow.
void CompressOutliers(Eigen::VectorXd& y);

}  // namespace gp
}  // namespace hpo

#endif  // HPO_SAMPLERS_GP_OUTPUT_WARP_H_
