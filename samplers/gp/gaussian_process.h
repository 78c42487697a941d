// A Gaussian-process regression model over the unit cube: a Matern kernel
// with one length scale per dimension (ARD), a signal variance and a noise
// variance, fitted by maximizing the marginal likelihood times priors (see
// gaussian_process.cc for their shapes and why).
//
// Inputs are one column per search-space parameter:
// - numeric dimensions hold the parameter's unit-cube coordinate;
// - categorical dimensions hold the category's index, and two points differ
//   in them by 1 (scaled by the length scale) if the categories differ, 0 if
//   not: the squared distance of one-hot codes, halved;
// - an inactive conditional parameter is kInactive (NaN). Two inactive values
//   are at distance 0; an inactive and an active one are as far apart as an
//   active value and the point (0.5, 0.5) of an extra "inactive" axis, i.e.
//   (u - 0.5)^2 + 0.25 (numeric) or 1 (categorical).
// Every rule is a squared Euclidean distance between embeddings of the
// values, so the kernel stays positive definite whatever the mix.
//
// Outputs are expected standardized (mean 0, variance 1); the prior mean is 0.

#ifndef HPO_SAMPLERS_GP_GAUSSIAN_PROCESS_H_
#define HPO_SAMPLERS_GP_GAUSSIAN_PROCESS_H_

#include <eigen3/Eigen/Dense>
#include <vector>

#include "samplers/sampler.h"

namespace hpo {
namespace gp {

enum class DimKind { kNumeric, kCategorical };

// The squared distance between values a and b of one dimension (see above).
double SquaredDistance(DimKind kind, double a, double b);

// The Matern kernel's correlation as a function of the scaled squared
// distance r2, and its derivative in r2. nu is 1.5 or 2.5.
double MaternCorrelation(double nu, double r2, double* d_r2 = nullptr);

// Hyperparameters, all as logs.
struct KernelParams {
  Eigen::VectorXd log_length;  // one per dimension
  double log_signal = 0;       // signal variance
  double log_noise = 0;        // noise variance
};

struct FitOptions {
  double nu = 2.5;
  // The noise variance's lower bound (standardized units).
  double min_noise = 1e-6;
  // Pin the noise variance at min_noise (a deterministic objective).
  bool fixed_noise = false;
  // Above this many points, the hyperparameters are fitted on a subset of
  // them (the best quarter and an even spread of the rest): the fit costs
  // O(n^3) per likelihood evaluation and needs dozens, while the model built
  // from the fit uses every point.
  int max_points = 128;
  // Starting points evaluated (a default, then quasi-random ones), and how
  // many of the best of them are optimized.
  int starts = 6;
  int optimized_starts = 2;
  int max_iterations = 40;
};

// The hyperparameter vector the fit optimizes: log lengths, log signal, log
// noise.
Eigen::VectorXd ToVector(const KernelParams& params);
KernelParams FromVector(const Eigen::VectorXd& theta);

// The negative log marginal likelihood plus the negative log prior of the
// hyperparameters theta (see ToVector), and its gradient when `gradient` is
// not null. x is n-by-D (a column per dimension), y has n entries. Exposed for
// tests; FitKernel is the entry point.
class FitObjective {
 public:
  FitObjective(const std::vector<DimKind>& kinds, const Eigen::MatrixXd& x,
               const Eigen::VectorXd& y, const FitOptions& options);
  double operator()(const Eigen::VectorXd& theta,
                    Eigen::VectorXd* gradient) const;

  // Where the prior on each hyperparameter peaks, its scale (for numeric
  // length scales, that of its quadratic approximation at the peak), and the
  // box the fit searches.
  const Eigen::VectorXd& prior_mean() const { return prior_mean_; }
  const Eigen::VectorXd& prior_scale() const { return prior_scale_; }
  const Eigen::VectorXd& lower() const { return lower_; }
  const Eigen::VectorXd& upper() const { return upper_; }

 private:
  int n_;
  int dims_;
  double nu_;
  // Per pair (i < j, ordered by i then j), per dimension: the unscaled squared
  // distance. Computed once; each evaluation is then one matrix-vector product.
  Eigen::MatrixXd pair_distance_;
  Eigen::VectorXd y_;
  Eigen::VectorXd prior_mean_;
  Eigen::VectorXd prior_scale_;
  Eigen::VectorXd lower_;
  Eigen::VectorXd upper_;
  // Per dimension: numeric (true) or categorical, for the length-scale prior.
  std::vector<bool> numeric_;
};

// Fits the hyperparameters to (x, y). Deterministic given `rng`'s state.
KernelParams FitKernel(const std::vector<DimKind>& kinds,
                       const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                       const FitOptions& options, Rng& rng);

// The posterior given data and fixed hyperparameters.
class Posterior {
 public:
  // False if the kernel matrix cannot be factored even with jitter up to 1e-2
  // of the signal variance (it can only happen with non-finite inputs).
  // The last `exact` rows are fantasies (running trials at their believed
  // value) and get (almost) no noise: a fantasy with the fitted noise would
  // leave the variance around it at the noise level, and parallel
  // suggestions would pile up next to each other.
  bool Build(const std::vector<DimKind>& kinds, Eigen::MatrixXd x,
             Eigen::VectorXd y, const KernelParams& params, double nu,
             Eigen::Index exact = 0);

  int size() const { return static_cast<int>(x_.rows()); }
  double signal() const { return signal_; }

  // Mean and variance of the latent function at each row of `points`
  // (m-by-D).
  void Predict(const Eigen::MatrixXd& points, Eigen::VectorXd* mean,
               Eigen::VectorXd* variance) const;
  // The same at one point, with the derivatives of mean and variance along
  // `dims` (numeric dimensions where the point is active).
  void PredictWithGradient(const Eigen::VectorXd& point,
                           const std::vector<int>& dims, double* mean,
                           double* variance, Eigen::VectorXd* d_mean,
                           Eigen::VectorXd* d_variance) const;

 private:
  // r2[i] = scaled squared distance from `point` to data point i.
  void ScaledDistances(const double* point, Eigen::Index stride,
                       double* r2) const;

  std::vector<DimKind> kinds_;
  Eigen::MatrixXd x_;
  // x_ with inactive entries replaced by 0.5, for the gradient.
  Eigen::MatrixXd x_filled_;
  std::vector<bool> has_inactive_;
  Eigen::VectorXd weight_;  // 1 / length^2
  double signal_ = 1;
  double nu_ = 2.5;
  Eigen::LLT<Eigen::MatrixXd> llt_;
  Eigen::VectorXd alpha_;  // K^-1 y
};

}  // namespace gp
}  // namespace hpo

#endif  // HPO_SAMPLERS_GP_GAUSSIAN_PROCESS_H_
