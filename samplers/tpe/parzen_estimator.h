// The Parzen estimators of TPE (samplers/tpe/tpe_sampler.h): mixtures of
// product kernels over one parameter (univariate TPE) or a group of them
// (multivariate TPE), one kernel per observation plus one for the prior.
//
// Everything lives in each parameter's unit space (ParamSpec::ToUnit and
// FromUnit), where a uniform draw is a draw from the parameter's prior: log
// scales, normal priors, steps and quantization are all carried by that map,
// so a kernel is always a normal truncated to [0, 1]. A parameter is modelled
// as one of:
// - continuous: a truncated normal density;
// - binned (integers, steps, NNI's q, and discrete values that are monotone in
//   their given order): the truncated normal's mass over the interval of unit
//   space that FromUnit maps to the value, which is exactly the probability
//   that a draw from the kernel lands on that value (Optuna's discretized
//   kernels);
// - categorical: each observation's kernel puts 1 + eps on its category and
//   eps on every category, eps = prior_weight / (n + 1), normalized; the prior
//   kernel is uniform (Optuna's categorical estimator).
//
// Internal to samplers/tpe; in a header for the sampler and its tests.

#ifndef HPO_SAMPLERS_TPE_PARZEN_ESTIMATOR_H_
#define HPO_SAMPLERS_TPE_PARZEN_ESTIMATOR_H_

#include <cstdint>
#include <eigen3/Eigen/Dense>
#include <utility>
#include <vector>

#include "core/search_space.h"
#include "samplers/sampler.h"

namespace hpo {
namespace tpe_internal {

enum class AxisKind { kContinuous, kBinned, kCategorical };

// How TPE models one parameter. Refers to the ParamSpec, which must outlive it.
class Axis {
 public:
  // Discrete (listed) values are binned when they are strictly monotone in
  // their given order, so that neighbours share evidence, and categorical
  // otherwise or when `discrete_as_categorical`.
  Axis(const ParamSpec& spec, bool discrete_as_categorical);

  AxisKind kind() const { return kind_; }
  const ParamSpec& spec() const { return *spec_; }
  // The number of values of binned and categorical axes.
  int64_t cardinality() const { return cardinality_; }

  // What a trial's coordinate is to the estimators: its unit coordinate for
  // continuous and binned axes, its index for categorical ones. NaN if the
  // coordinate is inactive or unusable (an index out of range, a non-finite
  // value).
  double Observe(double coordinate) const;
  // Binned axes: the position of a legal coordinate among the values, and the
  // interval of unit space that FromUnit maps to the k-th value.
  int64_t BinOf(double coordinate) const;
  void BinEdges(int64_t k, double* lo, double* hi) const;

 private:
  const ParamSpec* spec_;
  AxisKind kind_;
  int64_t cardinality_ = -1;
  // Uniform priors: ToUnit's interval (its transformed ends), kept so that
  // Observe, called for every trial and parameter, need not recompute it.
  bool linear_ = false;
  double unit_lo_ = 0;
  double unit_hi_ = 0;
};

// log(Phi(b) - Phi(a)) for a <= b, the standard normal's log mass over [a, b],
// accurate in both tails (where Phi(b) - Phi(a) would cancel or underflow).
double LogNormalMass(double a, double b);

// A draw from N(mu, sigma) truncated to [0, 1] by inverting its CDF at u.
double TruncatedNormalDraw(double mu, double sigma, double u);

// Optuna's default weights with hyperopt's linear forgetting: ones for the
// newest `flat` observations and a linear ramp from 1/n up to 1 for the older
// ones. `n` observations, oldest first.
std::vector<double> ForgettingWeights(int64_t n, int64_t flat);

struct EstimatorOptions {
  double prior_weight = 1.0;
  bool consider_endpoints = false;
  bool consider_magic_clip = true;
  int64_t linear_forgetting = 25;
};

// Candidates drawn from an estimator, one entry per axis and candidate.
struct Candidates {
  int count = 0;
  // [axis][candidate]: the parameter's legal coordinate (an index for indexed
  // parameters), the unit value it was drawn as (continuous axes), and its bin
  // or category (binned and categorical axes).
  std::vector<std::vector<double>> coordinate;
  std::vector<std::vector<double>> unit;
  std::vector<std::vector<int64_t>> bin;
};

class ParzenEstimator {
 public:
  // `observations` is row-major, n rows of axes.size() values from
  // Axis::Observe (none NaN), oldest trial first.
  ParzenEstimator(const std::vector<const Axis*>& axes,
                  const std::vector<double>& observations,
                  const EstimatorOptions& options);

  // Draws `count` candidates from the mixture.
  Candidates Sample(int count, Rng& rng) const;

  // The log density of each candidate (log mass for binned and categorical
  // axes, log density for continuous ones).
  Eigen::ArrayXd LogDensity(const Candidates& candidates) const;

  int kernels() const { return static_cast<int>(weight_.size()); }
  // The kernels' widths along a numeric axis, in unit space (observations in
  // the given order, then the prior's). For tests.
  const Eigen::ArrayXd& Sigma(size_t axis) const {
    return numeric_[axis].sigma;
  }

 private:
  struct NumericAxis {
    Eigen::ArrayXd mu;
    Eigen::ArrayXd sigma;
    // Continuous axes (with several axes): 1 / (2 sigma^2).
    Eigen::ArrayXd half_precision;
    // Binned axes (with several axes): kernels with the same (mu, sigma) share
    // an atom, whose log mass per bin is computed once; atom_log_z is the log
    // of each atom's truncation mass.
    std::vector<int> atom;
    std::vector<double> atom_mu;
    std::vector<double> atom_sigma;
    std::vector<double> atom_log_z;
  };
  struct CategoricalAxis {
    // The observed category of each kernel, -1 for the uniform prior kernel.
    Eigen::ArrayXd category;
    // Log probability of a kernel's own category and of any other one (with
    // several axes).
    Eigen::ArrayXd log_hit;
    Eigen::ArrayXd log_miss;
    // Probability that a kernel draws its own category rather than a uniform
    // one.
    double keep = 0;
  };

  // One numeric axis: the kernels merged into atoms (equal mu and sigma) and
  // bucketed by sigma, sorted by mu within a bucket, so that an evaluation
  // only visits the atoms near the point (see LogDensity1D).
  struct Bucket {
    double sigma_min = 0;
    double sigma_max = 0;
    // Atoms farther than reach * sigma_max from the point are skipped.
    double reach = 0;
    std::vector<double> mu;
    std::vector<double> inv_sigma;
    // weight / (truncation mass), and for continuous axes also / (sigma
    // sqrt(2 pi)): what multiplies the kernel's exp(-z^2 / 2) or mass.
    std::vector<double> factor;
  };
  void BuildBuckets(const std::vector<std::pair<double, int>>& sorted,
                    double prior_share);
  double LogDensity1D(double lo, double hi, bool binned,
                      std::vector<double>& exponents,
                      std::vector<double>& factors) const;

  std::vector<const Axis*> axes_;
  std::vector<double> weight_;  // per kernel, normalized
  std::vector<double> cumulative_weight_;
  std::vector<NumericAxis> numeric_;          // per axis, empty if categorical
  std::vector<CategoricalAxis> categorical_;  // per axis, empty if numeric
  // One axis only: its buckets, or its categories' log probabilities.
  std::vector<Bucket> buckets_;
  std::vector<double> category_log_prob_;
  // Several axes: per kernel, log weight plus the continuous axes'
  // normalizing terms.
  Eigen::ArrayXd constant_;
};

}  // namespace tpe_internal
}  // namespace hpo

#endif  // HPO_SAMPLERS_TPE_PARZEN_ESTIMATOR_H_
