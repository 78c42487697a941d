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

}  // namespace gp
}  // namespace hpo

#endif  // HPO_SAMPLERS_GP_OUTPUT_WARP_H_
