// A small limited-memory BFGS minimizer over a box, for the Gaussian process's
// hyperparameters and the acquisition function's local refinement.
//
// The box is handled by projection: coordinates at a bound whose gradient
// points outward are frozen for the step, the quasi-Newton direction is
// computed on the others, and trial points are clipped back into the box. This
// is not L-BFGS-B's generalized Cauchy point, but for the few, well-scaled
// variables it sees here it converges as well and is a fraction of the code.

#ifndef HPO_SAMPLERS_GP_LBFGS_H_
#define HPO_SAMPLERS_GP_LBFGS_H_

#include <eigen3/Eigen/Dense>
#include <functional>

namespace hpo {
namespace gp {

// Returns f(x) and sets *gradient to its gradient. A non-finite value means
// "not here": the line search backs off.
using Objective =
    std::function<double(const Eigen::VectorXd& x, Eigen::VectorXd* gradient)>;

struct LbfgsOptions {
  int max_iterations = 50;
  // Past (step, gradient change) pairs kept for the inverse-Hessian estimate.
  int memory = 8;
  // Stops when every free coordinate's gradient is below this...
  double gradient_tolerance = 1e-6;
  // ...or when an iteration improves f by less than this, relative to |f|.
  double relative_tolerance = 1e-10;
};

struct LbfgsResult {
  double value = 0;
  int evaluations = 0;
};

// Minimizes `f` over lower <= x <= upper starting from `x` (clipped into the
// box first), leaving the best point found in `x`. A coordinate with
// lower == upper stays fixed.
LbfgsResult MinimizeInBox(const Objective& f, const Eigen::VectorXd& lower,
                          const Eigen::VectorXd& upper, Eigen::VectorXd& x,
                          const LbfgsOptions& options = LbfgsOptions());

}  // namespace gp
}  // namespace hpo

#endif  // HPO_SAMPLERS_GP_LBFGS_H_
