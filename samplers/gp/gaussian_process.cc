#include "samplers/gp/gaussian_process.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include "samplers/gp/halton.h"
#include "samplers/gp/lbfgs.h"

namespace hpo {
namespace gp {
namespace {

constexpr double kLog2Pi = 1.8378770664093454836;

// Jitter added to the diagonal, relative to the signal variance, on each
// retry of a Cholesky factorization that failed: none first, then growing.
constexpr double kJitters[] = {0, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2};

// Priors on the hyperparameters.
//
// Numeric length scales (in unit-cube units) get a penalty
// kLengthPenalty * (l^2 + 1 / l^2), i.e. a density proportional to
// exp(-c (l^2 + 1/l^2)): flat-ish between about 0.3 and 3 (it costs 1.1 nats
// at 0.3 or 3.3, relative to 0.2 at 1) and steep outside (10 nats at 0.1 or
// 10). The short side is what fixed 10-D: 50 random points in the 10-D unit
// cube are about 0.74 from their nearest neighbour, so a length scale of 0.1
// on one axis cannot be checked by the data, yet the marginal likelihood often
// prefers it (a few such dimensions "explain" the variance by making the
// points nearly uncorrelated; fits of 0.06-0.3 were common on levy10). The
// model then predicts the prior mean away from the data, expected improvement
// follows the variance alone and the search is close to random search. The
// previous log-normal prior (centred on 0.4 sqrt(d), scale 1.5 in log space)
// charged only 1.4 nats for 0.1 in 10-D and let this happen. The long side
// counts too: keeping the log-normal's and adding only the short-side term
// recovered less. This is the shape Optuna's GPSampler puts on its inverse
// squared length scales; README.md has the benchmark numbers and the
// alternatives tried (a dimension-scaled log-normal did much worse).
constexpr double kLengthPenalty = 0.1;
// Categorical dimensions keep a log-normal prior: categories are at distance 1
// whatever the data, so there is no spacing for a length scale to undercut,
// and a long length scale (every category alike) must stay cheap, as it lets
// all trials share what they say about the other parameters.
constexpr double kCategoricalLengthPerSqrtDim = 0.4;
constexpr double kCategoricalLengthPriorScale = 1.5;
constexpr double kMinLength = 0.02;
constexpr double kMaxLength = 100;
// The signal variance is about 1 for standardized outputs. The noise prior
// leans towards a small noise, as most objectives here are deterministic or
// nearly so, but is wide enough for the data to overrule it.
constexpr double kSignalPriorScale = 1.5;
constexpr double kMinSignal = 0.05;
constexpr double kMaxSignal = 20;
constexpr double kNoisePriorMean = 1e-3;
constexpr double kNoisePriorScale = 3;
constexpr double kMaxNoise = 1;

bool Factor(Eigen::MatrixXd& k, double signal,
            Eigen::LLT<Eigen::MatrixXd>& llt) {
  double added = 0;
  for (double jitter : kJitters) {
    const double extra = jitter * signal - added;
    if (extra > 0) {
      k.diagonal().array() += extra;
      added += extra;
    }
    llt.compute(k);
    if (llt.info() == Eigen::Success &&
        llt.matrixLLT().diagonal().allFinite()) {
      return true;
    }
  }
  return false;
}

// Adds weight * SquaredDistance(kind, value, column[i]) to r2[i], i < n. The
// common cases (no inactive values anywhere) are plain loops the compiler can
// vectorize.
void AccumulateDistance(DimKind kind, double value, const double* column,
                        bool column_has_inactive, Eigen::Index n, double weight,
                        double* r2) {
  if (kind == DimKind::kCategorical) {
    if (IsInactive(value)) {
      for (Eigen::Index i = 0; i < n; ++i) {
        r2[i] += IsInactive(column[i]) ? 0 : weight;
      }
    } else {
      // A NaN compares unequal, so inactive entries count as different.
      for (Eigen::Index i = 0; i < n; ++i) {
        r2[i] += column[i] == value ? 0 : weight;
      }
    }
    return;
  }
  if (IsInactive(value)) {
    for (Eigen::Index i = 0; i < n; ++i) {
      const double c = column[i];
      r2[i] += IsInactive(c) ? 0 : weight * ((c - 0.5) * (c - 0.5) + 0.25);
    }
  } else if (!column_has_inactive) {
    for (Eigen::Index i = 0; i < n; ++i) {
      const double d = value - column[i];
      r2[i] += weight * d * d;
    }
  } else {
    const double against_inactive =
        weight * ((value - 0.5) * (value - 0.5) + 0.25);
    for (Eigen::Index i = 0; i < n; ++i) {
      const double d = value - column[i];
      r2[i] += IsInactive(column[i]) ? against_inactive : weight * d * d;
    }
  }
}

// The lower triangle of K^-1 = L^-T L^-1 from the Cholesky factor L (lower
// triangle of `factor`), in about n^3/2 flops where the straightforward
// solve-then-multiply takes 2n^3: this is most of the hyperparameter fit's
// time. Both steps skip the blocks the triangular shapes make zero.
Eigen::MatrixXd LowerInverse(const Eigen::MatrixXd& factor) {
  constexpr Eigen::Index kBlock = 32;
  const Eigen::Index n = factor.rows();
  // L^-1, a block of columns at a time: columns j.. of L^-1 are zero above
  // row j, so each block solves only the trailing part of L.
  Eigen::MatrixXd l_inverse = Eigen::MatrixXd::Zero(n, n);
  for (Eigen::Index j = 0; j < n; j += kBlock) {
    const Eigen::Index b = std::min(kBlock, n - j);
    const Eigen::Index m = n - j;
    Eigen::MatrixXd block = Eigen::MatrixXd::Zero(m, b);
    block.topRows(b).setIdentity();
    factor.bottomRightCorner(m, m).triangularView<Eigen::Lower>().solveInPlace(
        block);
    l_inverse.block(j, j, m, b) = block;
  }
  // L^-T L^-1 as a sum over blocks of rows of L^-1, each nonzero only in its
  // leading columns.
  Eigen::MatrixXd inverse = Eigen::MatrixXd::Zero(n, n);
  for (Eigen::Index r = 0; r < n; r += kBlock) {
    const Eigen::Index b = std::min(kBlock, n - r);
    const Eigen::Index c = r + b;
    inverse.topLeftCorner(c, c).selfadjointView<Eigen::Lower>().rankUpdate(
        l_inverse.block(r, 0, b, c).transpose());
  }
  return inverse;
}

// The rows of the fit subset when there are more than max_points: the best
// quarter (the region the search cares most about), then evenly spaced picks
// among the others in their original (trial) order.
std::vector<Eigen::Index> FitSubset(const Eigen::VectorXd& y, int max_points) {
  const Eigen::Index n = y.size();
  std::vector<Eigen::Index> order(n);
  std::iota(order.begin(), order.end(), 0);
  if (n <= max_points) return order;
  const Eigen::Index best = max_points / 4;
  std::stable_sort(order.begin(), order.end(),
                   [&](Eigen::Index a, Eigen::Index b) { return y[a] < y[b]; });
  std::vector<Eigen::Index> chosen(order.begin(), order.begin() + best);
  std::vector<Eigen::Index> rest(order.begin() + best, order.end());
  std::sort(rest.begin(), rest.end());
  const Eigen::Index want = max_points - best;
  for (Eigen::Index k = 0; k < want; ++k) {
    chosen.push_back(rest[static_cast<size_t>(
        k * static_cast<Eigen::Index>(rest.size()) / want)]);
  }
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

}  // namespace

double SquaredDistance(DimKind kind, double a, double b) {
  double r2 = 0;
  AccumulateDistance(kind, a, &b, IsInactive(b), 1, 1.0, &r2);
  return r2;
}

double MaternCorrelation(double nu, double r2, double* d_r2) {
  if (nu == 1.5) {
    const double s = std::sqrt(3 * r2);
    const double e = std::exp(-s);
    if (d_r2 != nullptr) *d_r2 = -1.5 * e;
    return (1 + s) * e;
  }
  const double s = std::sqrt(5 * r2);
  const double e = std::exp(-s);
  if (d_r2 != nullptr) *d_r2 = -(5.0 / 6.0) * (1 + s) * e;
  return (1 + s + s * s / 3) * e;
}

Eigen::VectorXd ToVector(const KernelParams& params) {
  const Eigen::Index d = params.log_length.size();
  Eigen::VectorXd theta(d + 2);
  theta.head(d) = params.log_length;
  theta[d] = params.log_signal;
  theta[d + 1] = params.log_noise;
  return theta;
}

KernelParams FromVector(const Eigen::VectorXd& theta) {
  const Eigen::Index d = theta.size() - 2;
  KernelParams params;
  params.log_length = theta.head(d);
  params.log_signal = theta[d];
  params.log_noise = theta[d + 1];
  return params;
}

FitObjective::FitObjective(const std::vector<DimKind>& kinds,
                           const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                           const FitOptions& options)
    : n_(static_cast<int>(x.rows())),
      dims_(static_cast<int>(x.cols())),
      nu_(options.nu),
      y_(y) {
  const Eigen::Index pairs = static_cast<Eigen::Index>(n_) * (n_ - 1) / 2;
  pair_distance_.resize(pairs, dims_);
  for (int d = 0; d < dims_; ++d) {
    const bool has_inactive = x.col(d).hasNaN();
    double* out = pair_distance_.col(d).data();
    for (int i = 0; i < n_; ++i) {
      const int below = n_ - 1 - i;
      std::fill(out, out + below, 0.0);
      AccumulateDistance(kinds[d], x(i, d), x.col(d).data() + i + 1,
                         has_inactive, below, 1.0, out);
      out += below;
    }
  }

  const int p = dims_ + 2;
  prior_mean_.resize(p);
  prior_scale_.resize(p);
  lower_.resize(p);
  upper_.resize(p);
  const double categorical_log_length = std::log(
      kCategoricalLengthPerSqrtDim * std::sqrt(static_cast<double>(dims_)));
  numeric_.assign(dims_, false);
  for (int d = 0; d < dims_; ++d) {
    numeric_[d] = kinds[d] == DimKind::kNumeric;
    // For numeric dimensions: the penalty's minimum (l = 1) and the scale of
    // its quadratic approximation there, c (l^2 + 1/l^2) ~ 2c + 4c log(l)^2;
    // they only place the fit's starting points.
    prior_mean_[d] = numeric_[d] ? 0.0 : categorical_log_length;
    prior_scale_[d] = numeric_[d] ? 1 / std::sqrt(8 * kLengthPenalty)
                                  : kCategoricalLengthPriorScale;
    lower_[d] = std::log(kMinLength);
    upper_[d] = std::log(kMaxLength);
  }
  prior_mean_[dims_] = 0;
  prior_scale_[dims_] = kSignalPriorScale;
  lower_[dims_] = std::log(kMinSignal);
  upper_[dims_] = std::log(kMaxSignal);
  const double min_noise = std::log(options.min_noise);
  prior_mean_[dims_ + 1] = std::max(std::log(kNoisePriorMean), min_noise);
  prior_scale_[dims_ + 1] = kNoisePriorScale;
  lower_[dims_ + 1] = min_noise;
  upper_[dims_ + 1] = options.fixed_noise
                          ? min_noise
                          : std::max(min_noise, std::log(kMaxNoise));
}

double FitObjective::operator()(const Eigen::VectorXd& theta,
                                Eigen::VectorXd* gradient) const {
  const Eigen::VectorXd weight = (-2.0 * theta.head(dims_)).array().exp();
  const double signal = std::exp(theta[dims_]);
  const double noise = std::exp(theta[dims_ + 1]);

  // Correlations and their r2-derivatives, pair by pair.
  const Eigen::VectorXd r2 = pair_distance_ * weight;
  Eigen::VectorXd corr(r2.size());
  Eigen::VectorXd d_corr(r2.size());
  for (Eigen::Index k = 0; k < r2.size(); ++k) {
    corr[k] = MaternCorrelation(nu_, r2[k], &d_corr[k]);
  }
  // Only the lower triangle: it is all the factorization reads.
  Eigen::MatrixXd k(n_, n_);
  for (int i = 0, pair = 0; i < n_; ++i) {
    k(i, i) = signal + noise;
    for (int j = i + 1; j < n_; ++j, ++pair) k(j, i) = signal * corr[pair];
  }
  Eigen::LLT<Eigen::MatrixXd> llt;
  if (!Factor(k, signal, llt)) return std::numeric_limits<double>::infinity();
  const Eigen::VectorXd alpha = llt.solve(y_);
  double value = 0.5 * y_.dot(alpha) +
                 llt.matrixLLT().diagonal().array().log().sum() +
                 0.5 * n_ * kLog2Pi;
  // Log-normal priors (standard normal z on the logs), except numeric length
  // scales: c (l^2 + 1/l^2) = c (e^(2 theta) + e^(-2 theta)).
  Eigen::VectorXd z = (theta - prior_mean_).cwiseQuotient(prior_scale_);
  Eigen::VectorXd prior_gradient = z.cwiseQuotient(prior_scale_);
  for (int d = 0; d < dims_; ++d) {
    if (!numeric_[d]) continue;
    const double square = std::exp(2 * theta[d]);
    value += kLengthPenalty * (square + 1 / square);
    prior_gradient[d] = 2 * kLengthPenalty * (square - 1 / square);
    z[d] = 0;
  }
  value += 0.5 * z.squaredNorm();
  if (gradient == nullptr) return value;

  // d value / d theta_j = -1/2 tr((alpha alpha^T - K^-1) dK/dtheta_j).
  const Eigen::MatrixXd inverse = LowerInverse(llt.matrixLLT());
  Eigen::VectorXd pair_weight(r2.size());
  double signal_term = 0;
  for (int i = 0, pair = 0; i < n_; ++i) {
    for (int j = i + 1; j < n_; ++j, ++pair) {
      const double w = alpha[i] * alpha[j] - inverse(j, i);
      signal_term += 2 * w * corr[pair];
      pair_weight[pair] = w * d_corr[pair];
    }
  }
  const double trace = alpha.squaredNorm() -
                       inverse.diagonal().sum();  // tr(alpha alpha^T - K^-1)
  signal_term += trace;
  gradient->resize(theta.size());
  // dK_ij/dlog(length_d) = signal k'(r2) * (-2 delta_d w_d); both triangles.
  gradient->head(dims_) =
      2 * signal *
      weight.cwiseProduct(pair_distance_.transpose() * pair_weight);
  (*gradient)[dims_] = -0.5 * signal * signal_term;
  (*gradient)[dims_ + 1] = -0.5 * noise * trace;
  *gradient += prior_gradient;
  return value;
}

KernelParams FitKernel(const std::vector<DimKind>& kinds,
                       const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                       const FitOptions& options, Rng& rng) {
  const std::vector<Eigen::Index> rows = FitSubset(y, options.max_points);
  Eigen::MatrixXd xs(rows.size(), x.cols());
  Eigen::VectorXd ys(rows.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    xs.row(r) = x.row(rows[r]);
    ys[r] = y[rows[r]];
  }
  const FitObjective objective(kinds, xs, ys, options);
  const Eigen::VectorXd& lower = objective.lower();
  const Eigen::VectorXd& upper = objective.upper();
  const Eigen::Index p = lower.size();

  // The prior's mean, then quasi-random points within a prior scale of it.
  std::vector<std::pair<double, Eigen::VectorXd>> starts;
  ScrambledHalton halton(static_cast<int>(p), rng);
  Eigen::VectorXd u(p);
  for (int s = 0; s < std::max(1, options.starts); ++s) {
    Eigen::VectorXd theta = objective.prior_mean();
    if (s > 0) {
      halton.Point(static_cast<uint64_t>(s - 1), u.data());
      theta.array() += objective.prior_scale().array() * (2 * u.array() - 1);
    }
    theta = theta.cwiseMax(lower).cwiseMin(upper);
    starts.emplace_back(objective(theta, nullptr), std::move(theta));
  }
  std::stable_sort(starts.begin(), starts.end(),
                   [](const auto& a, const auto& b) {
                     // NaN and inf sort last.
                     return a.first < b.first ||
                            (std::isfinite(a.first) && !std::isfinite(b.first));
                   });

  LbfgsOptions lbfgs;
  lbfgs.max_iterations = options.max_iterations;
  lbfgs.gradient_tolerance = 1e-4;
  lbfgs.relative_tolerance = 1e-7;
  double best_value = starts[0].first;
  Eigen::VectorXd best = starts[0].second;
  const int optimized =
      std::min<int>(std::max(1, options.optimized_starts), starts.size());
  for (int s = 0; s < optimized; ++s) {
    Eigen::VectorXd theta = starts[s].second;
    if (!std::isfinite(starts[s].first)) continue;
    const LbfgsResult result =
        MinimizeInBox(objective, lower, upper, theta, lbfgs);
    if (std::isfinite(result.value) &&
        (!std::isfinite(best_value) || result.value < best_value)) {
      best_value = result.value;
      best = theta;
    }
  }
  return FromVector(best);
}

bool Posterior::Build(const std::vector<DimKind>& kinds, Eigen::MatrixXd x,
                      Eigen::VectorXd y, const KernelParams& params, double nu,
                      Eigen::Index exact) {
  kinds_ = kinds;
  x_ = std::move(x);
  nu_ = nu;
  signal_ = std::exp(params.log_signal);
  weight_ = (-2.0 * params.log_length).array().exp();
  const Eigen::Index n = x_.rows();
  const Eigen::Index dims = x_.cols();
  has_inactive_.assign(dims, false);
  x_filled_ = x_;
  for (Eigen::Index d = 0; d < dims; ++d) {
    has_inactive_[d] = x_.col(d).hasNaN();
    if (has_inactive_[d]) {
      x_filled_.col(d) =
          x_.col(d).unaryExpr([](double v) { return IsInactive(v) ? 0.5 : v; });
    }
  }
  Eigen::MatrixXd k = Eigen::MatrixXd::Zero(n, n);
  for (Eigen::Index j = 0; j < n; ++j) {
    double* r2 = k.col(j).data();
    for (Eigen::Index d = 0; d < dims; ++d) {
      AccumulateDistance(kinds_[d], x_(j, d), x_.col(d).data(),
                         has_inactive_[d], j, weight_[d], r2);
    }
    for (Eigen::Index i = 0; i < j; ++i) {
      r2[i] = signal_ * MaternCorrelation(nu_, r2[i]);
    }
  }
  const double noise = std::exp(params.log_noise);
  k.diagonal().setConstant(signal_ + noise);
  exact = std::min(exact, n);
  k.diagonal().tail(exact).setConstant(signal_ +
                                       std::min(noise, 1e-6 * signal_));
  for (Eigen::Index j = 0; j < n; ++j) {
    for (Eigen::Index i = j + 1; i < n; ++i) k(i, j) = k(j, i);
  }
  if (!Factor(k, signal_, llt_)) return false;
  alpha_ = llt_.solve(y);
  return alpha_.allFinite();
}

void Posterior::ScaledDistances(const double* point, Eigen::Index stride,
                                double* r2) const {
  const Eigen::Index n = x_.rows();
  std::fill(r2, r2 + n, 0.0);
  for (Eigen::Index d = 0; d < x_.cols(); ++d) {
    AccumulateDistance(kinds_[d], point[d * stride], x_.col(d).data(),
                       has_inactive_[d], n, weight_[d], r2);
  }
}

void Posterior::Predict(const Eigen::MatrixXd& points, Eigen::VectorXd* mean,
                        Eigen::VectorXd* variance) const {
  const Eigen::Index n = x_.rows();
  const Eigen::Index m = points.rows();
  Eigen::MatrixXd cross(n, m);
  for (Eigen::Index j = 0; j < m; ++j) {
    double* column = cross.col(j).data();
    ScaledDistances(&points(j, 0), points.outerStride(), column);
    for (Eigen::Index i = 0; i < n; ++i) {
      column[i] = signal_ * MaternCorrelation(nu_, column[i]);
    }
  }
  *mean = cross.transpose() * alpha_;
  llt_.matrixL().solveInPlace(cross);
  *variance = (signal_ - cross.colwise().squaredNorm().array())
                  .transpose()
                  .max(1e-12 * signal_);
}

void Posterior::PredictWithGradient(const Eigen::VectorXd& point,
                                    const std::vector<int>& dims, double* mean,
                                    double* variance, Eigen::VectorXd* d_mean,
                                    Eigen::VectorXd* d_variance) const {
  const Eigen::Index n = x_.rows();
  Eigen::VectorXd k(n);
  Eigen::VectorXd dk(n);  // d k_i / d r2_i
  ScaledDistances(point.data(), 1, k.data());
  for (Eigen::Index i = 0; i < n; ++i) {
    double d;
    k[i] = signal_ * MaternCorrelation(nu_, k[i], &d);
    dk[i] = signal_ * d;
  }
  *mean = k.dot(alpha_);
  Eigen::VectorXd v = k;
  llt_.matrixL().solveInPlace(v);
  const double raw_variance = signal_ - v.squaredNorm();
  *variance = std::max(raw_variance, 1e-12 * signal_);
  llt_.matrixU().solveInPlace(v);  // now K^-1 k
  d_mean->resize(dims.size());
  d_variance->resize(dims.size());
  const Eigen::VectorXd a = alpha_.cwiseProduct(dk);
  const Eigen::VectorXd b = v.cwiseProduct(dk);
  for (size_t j = 0; j < dims.size(); ++j) {
    const int d = dims[j];
    // d r2_i / d x_d = 2 w_d (x_d - c_i), c_i the data value (0.5 if
    // inactive: see the embedding in the header).
    const Eigen::VectorXd diff = (point[d] - x_filled_.col(d).array()).matrix();
    (*d_mean)[j] = 2 * weight_[d] * a.dot(diff);
    (*d_variance)[j] =
        raw_variance > 1e-12 * signal_ ? -4 * weight_[d] * b.dot(diff) : 0.0;
  }
}

}  // namespace gp
}  // namespace hpo
