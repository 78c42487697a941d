// The CMA-ES search distribution and its update, in the unit cube: the
// (mu/mu_w, lambda)-CMA-ES of Hansen's tutorial ("The CMA Evolution Strategy:
// A Tutorial", arXiv:1604.00772, 2016; default parameters, negative weights
// for the covariance update), with the margin of Hamano et al. ("CMA-ES with
// Margin: Lower-Bounding Marginal Probability for Mixed-Integer Black-Box
// Optimization", GECCO 2022) for coordinates that take discrete values, and
// the termination criteria that trigger IPOP restarts.
//
// Internal to samplers/cmaes. Plain state and arithmetic: no history, no
// settings; deterministic for a given sequence of calls.

#ifndef HPO_SAMPLERS_CMAES_CMA_H_
#define HPO_SAMPLERS_CMAES_CMA_H_

#include <cstdint>
#include <deque>
#include <eigen3/Eigen/Dense>
#include <optional>
#include <utility>
#include <vector>

#include "core/search_space.h"
#include "samplers/sampler.h"

namespace hpo {
namespace cmaes_internal {

// Where a parameter with finitely many values puts them in the unit
// interval: ParamSpec::FromUnit sends each value's bin, an interval of u,
// to that value. The margin needs the bin edges around a point.
class Bins {
 public:
  // `param` must have Cardinality() >= 2.
  explicit Bins(ParamSpec param);

  struct Edges {
    // The bin's ends in u; nullopt at the ends of the unit interval (the
    // lowest and highest values' bins extend to -inf and +inf, since
    // FromUnit clamps).
    std::optional<double> low;
    std::optional<double> high;
  };
  // The edges of the bin of value k.
  Edges Of(int64_t k) const;
  // The edges of the bin containing u.
  Edges Around(double u) const { return Of(IndexOfUnit(u)); }

  // The index of a legal coordinate among the parameter's values.
  int64_t IndexOf(double coordinate) const;
  // The index of the value u rounds to.
  int64_t IndexOfUnit(double u) const;

 private:
  // The coordinate where rounding switches from value k to value k + 1.
  double Boundary(int64_t k) const;

  ParamSpec param_;
  int64_t size_;
};

class Cma {
 public:
  // A distribution N(mean, sigma^2 C) with C = I, for `lambda` candidates per
  // generation. bins[i] is set for discrete coordinates; `margin` turns on
  // the margin for them (otherwise they are plain rounded coordinates).
  Cma(Eigen::VectorXd mean, double sigma, int lambda,
      std::vector<std::optional<Bins>> bins, bool margin);

  int dimension() const { return static_cast<int>(mean_.size()); }
  int lambda() const { return lambda_; }
  // Generations told so far.
  int generation() const { return generation_; }
  const Eigen::VectorXd& mean() const { return mean_; }
  double sigma() const { return sigma_; }
  // The margin's diagonal scaling A (all ones without margin).
  const Eigen::VectorXd& scale() const { return scale_; }

  // One candidate, m + sigma * A * B * D * z with z standard normal from
  // `rng`, inside the unit cube: redrawn while a continuous coordinate falls
  // outside (up to a limit), then clipped. Discrete coordinates are clipped
  // only: beyond the cube they still round to the end values.
  Eigen::VectorXd Sample(Rng& rng) const;

  // Updates the distribution from exactly lambda() evaluated candidates, x in
  // unit coordinates and f to be minimized, in any order (ties keep the
  // given order).
  void Tell(const std::vector<Eigen::VectorXd>& x,
            const std::vector<double>& f);

  // True once the distribution has converged or stagnated (Hansen's TolX,
  // TolFun, NoEffectAxis, NoEffectCoord, ConditionCov and TolStagnation), when
  // IPOP restarts with a larger population.
  bool Converged() const;

 private:
  void UpdateEigen();
  void ApplyMargin();

  // Strategy parameters (the tutorial's defaults for n and lambda).
  int n_;
  int lambda_;
  int mu_;
  std::vector<double> weights_;  // lambda_ of them, the last ones negative
  double mu_eff_;
  double c_sigma_;
  double d_sigma_;
  double c_c_;
  double c_1_;
  double c_mu_;
  double chi_n_;  // E||N(0, I)||
  double alpha_;  // the margin

  std::vector<std::optional<Bins>> bins_;
  bool margin_;

  // State.
  Eigen::VectorXd mean_;
  double sigma_;
  Eigen::MatrixXd c_;
  Eigen::MatrixXd b_;  // eigenvectors of C
  Eigen::VectorXd d_;  // square roots of its eigenvalues
  Eigen::VectorXd p_sigma_;
  Eigen::VectorXd p_c_;
  Eigen::VectorXd scale_;
  int generation_ = 0;

  // For the termination criteria: each generation's best and median values
  // (the most recent last), and the last generation's range.
  std::deque<double> best_history_;
  std::deque<double> median_history_;
  double last_range_ = 0;
};

}  // namespace cmaes_internal
}  // namespace hpo

#endif  // HPO_SAMPLERS_CMAES_CMA_H_
