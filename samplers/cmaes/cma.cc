#include "samplers/cmaes/cma.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/normal.h"

namespace hpo {
namespace cmaes_internal {
namespace {

// Candidates redrawn before clipping, as the cmaes library behind Optuna does.
constexpr int kMaxResample = 100;
// Bounds that keep the arithmetic finite.
constexpr double kMaxSigma = 1e32;
constexpr double kMinEigenvalue = 1e-30;
// Termination thresholds. TolX is in unit-cube units: 1e-7 of a parameter's
// range is far below any precision a hyperparameter search needs, and
// Hansen's 1e-12 * sigma0 would only delay restarts.
constexpr double kTolX = 1e-7;
constexpr double kTolFun = 1e-12;
constexpr double kMaxCondition = 1e14;

// A standard normal draw: the quantile of a uniform in (0, 1) (UnitDraw can
// return 0, whose quantile is -inf).
double NormalDraw(Rng& rng) {
  return NormalQuantile(UnitDraw(rng) + 0x1.0p-54);
}

double MedianOf(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

Bins::Bins(ParamSpec param)
    : param_(std::move(param)), size_(param_.Cardinality()) {}

int64_t Bins::IndexOf(double x) const {
  int64_t k;
  if (param_.IsIndexed()) {
    k = std::llround(x);
  } else if (param_.step > 0) {
    k = std::llround((x - param_.low) / param_.step);
  } else {
    k = std::llround(std::nearbyint(x / param_.q) -
                     std::nearbyint(param_.low / param_.q));
  }
  return std::clamp<int64_t>(k, 0, size_ - 1);
}

double Bins::Boundary(int64_t k) const {
  const double half = static_cast<double>(k) + 0.5;
  if (param_.IsIndexed()) return half;
  if (param_.step > 0) return param_.low + half * param_.step;
  // NNI's q counts from 0, and the end values are clipped to low and high, so
  // the rounding points are the half-multiples of q, not midpoints of values.
  return (std::nearbyint(param_.low / param_.q) + half) * param_.q;
}

int64_t Bins::IndexOfUnit(double u) const {
  return IndexOf(param_.FromUnit(std::clamp(u, 0.0, 1.0)));
}

Bins::Edges Bins::Of(int64_t k) const {
  Edges edges;
  if (k > 0) edges.low = param_.ToUnit(Boundary(k - 1));
  if (k < size_ - 1) edges.high = param_.ToUnit(Boundary(k));
  return edges;
}

Cma::Cma(Eigen::VectorXd mean, double sigma, int lambda,
         std::vector<std::optional<Bins>> bins, bool margin)
    : n_(static_cast<int>(mean.size())),
      lambda_(lambda),
      bins_(std::move(bins)),
      margin_(margin),
      mean_(std::move(mean)),
      sigma_(sigma) {
  const double n = n_;
  mu_ = lambda_ / 2;
  // Tutorial (49)-(53): log-linear preliminary weights; the positive ones sum
  // to 1, the negative ones are scaled so that the covariance update stays
  // positive definite.
  std::vector<double> raw(lambda_);
  for (int i = 0; i < lambda_; ++i) {
    raw[i] = std::log((lambda_ + 1) / 2.0) - std::log(i + 1.0);
  }
  double pos_sum = 0, pos_sq = 0, neg_sum = 0, neg_sq = 0;
  for (double w : raw) {
    if (w > 0) {
      pos_sum += w;
      pos_sq += w * w;
    } else {
      neg_sum += -w;
      neg_sq += w * w;
    }
  }
  mu_eff_ = pos_sum * pos_sum / pos_sq;
  const double mu_eff_neg = neg_sq > 0 ? neg_sum * neg_sum / neg_sq : 0;

  c_sigma_ = (mu_eff_ + 2) / (n + mu_eff_ + 5);
  d_sigma_ =
      1 + 2 * std::max(0.0, std::sqrt((mu_eff_ - 1) / (n + 1)) - 1) + c_sigma_;
  c_c_ = (4 + mu_eff_ / n) / (n + 4 + 2 * mu_eff_ / n);
  constexpr double kAlphaCov = 2;
  c_1_ = kAlphaCov / ((n + 1.3) * (n + 1.3) + mu_eff_);
  c_mu_ = std::min(1 - c_1_, kAlphaCov * (mu_eff_ - 2 + 1 / mu_eff_) /
                                 ((n + 2) * (n + 2) + kAlphaCov * mu_eff_ / 2));
  chi_n_ = std::sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n));

  const double alpha_mu_neg = 1 + c_1_ / c_mu_;
  const double alpha_mu_eff_neg = 1 + 2 * mu_eff_neg / (mu_eff_ + 2);
  const double alpha_posdef_neg = (1 - c_1_ - c_mu_) / (n * c_mu_);
  const double neg_scale =
      std::min({alpha_mu_neg, alpha_mu_eff_neg, alpha_posdef_neg});
  weights_.resize(lambda_);
  for (int i = 0; i < lambda_; ++i) {
    weights_[i] = raw[i] >= 0
                      ? raw[i] / pos_sum
                      : (neg_sum > 0 ? neg_scale * raw[i] / neg_sum : 0);
  }
  // Hamano et al.'s default margin, 1 / (n lambda), capped so that a tiny
  // population still leaves the bin holding the mean most of the mass.
  alpha_ = std::min(0.2, 1 / (n * lambda_));

  c_ = Eigen::MatrixXd::Identity(n_, n_);
  b_ = Eigen::MatrixXd::Identity(n_, n_);
  d_ = Eigen::VectorXd::Ones(n_);
  p_sigma_ = Eigen::VectorXd::Zero(n_);
  p_c_ = Eigen::VectorXd::Zero(n_);
  scale_ = Eigen::VectorXd::Ones(n_);
  if (margin_) ApplyMargin();
}

Eigen::VectorXd Cma::Sample(Rng& rng) const {
  Eigen::VectorXd z(n_);
  Eigen::VectorXd x(n_);
  for (int attempt = 0; attempt < kMaxResample; ++attempt) {
    for (int i = 0; i < n_; ++i) z[i] = NormalDraw(rng);
    x = mean_ + sigma_ * scale_.cwiseProduct(b_ * d_.cwiseProduct(z));
    bool inside = true;
    for (int i = 0; i < n_ && inside; ++i) {
      inside = bins_[i].has_value() || (x[i] >= 0 && x[i] <= 1);
    }
    if (inside) break;
  }
  return x.cwiseMax(0.0).cwiseMin(1.0);
}

void Cma::Tell(const std::vector<Eigen::VectorXd>& x,
               const std::vector<double>& f) {
  const double n = n_;
  std::vector<int> order(lambda_);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&f](int a, int b) { return f[a] < f[b]; });

  // Steps y_i = A^-1 (x_i - m) / sigma, best first.
  std::vector<Eigen::VectorXd> y(lambda_);
  Eigen::VectorXd y_w = Eigen::VectorXd::Zero(n_);
  for (int i = 0; i < lambda_; ++i) {
    y[i] = (x[order[i]] - mean_).cwiseQuotient(scale_) / sigma_;
    if (i < mu_) y_w += weights_[i] * y[i];
  }
  // C^-1/2 v = B D^-1 B^T v.
  const auto inv_sqrt_c = [this](const Eigen::VectorXd& v) {
    return Eigen::VectorXd(b_ * (b_.transpose() * v).cwiseQuotient(d_));
  };

  // Tutorial (41)-(47), c_m = 1.
  mean_ += sigma_ * scale_.cwiseProduct(y_w);
  p_sigma_ = (1 - c_sigma_) * p_sigma_ +
             std::sqrt(c_sigma_ * (2 - c_sigma_) * mu_eff_) * inv_sqrt_c(y_w);
  ++generation_;
  const double p_sigma_norm = p_sigma_.norm();
  const bool h_sigma =
      p_sigma_norm / std::sqrt(1 - std::pow(1 - c_sigma_, 2.0 * generation_)) <
      (1.4 + 2 / (n + 1)) * chi_n_;
  p_c_ = (1 - c_c_) * p_c_ +
         (h_sigma ? std::sqrt(c_c_ * (2 - c_c_) * mu_eff_) : 0.0) * y_w;

  Eigen::MatrixXd rank_mu = Eigen::MatrixXd::Zero(n_, n_);
  double weight_sum = 0;
  for (int i = 0; i < lambda_; ++i) {
    double w = weights_[i];
    weight_sum += w;
    if (w < 0) {
      // Negative weights act on directions rescaled to the expected length,
      // so that a far-off bad candidate does not shrink C too much.
      const double len2 = inv_sqrt_c(y[i]).squaredNorm();
      w *= n / std::max(len2, 1e-300);
    }
    rank_mu.noalias() += w * y[i] * y[i].transpose();
  }
  const double delta_h = h_sigma ? 0 : c_c_ * (2 - c_c_);
  c_ = (1 + c_1_ * delta_h - c_1_ - c_mu_ * weight_sum) * c_ +
       c_1_ * p_c_ * p_c_.transpose() + c_mu_ * rank_mu;

  sigma_ *= std::exp((c_sigma_ / d_sigma_) * (p_sigma_norm / chi_n_ - 1));
  // Flat fitness (a plateau, or a discrete space where the candidates round to
  // the same values): widen, or the step size would collapse on nothing.
  // Hansen's reference code compares the best with the ceil(0.7 lambda)-th.
  const int k = static_cast<int>(std::ceil(0.7 * lambda_)) - 1;
  if (f[order[0]] == f[order[std::clamp(k, 0, lambda_ - 1)]]) {
    sigma_ *= std::exp(0.2 + c_sigma_ / d_sigma_);
  }
  sigma_ = std::min(sigma_, kMaxSigma);

  UpdateEigen();
  if (margin_) ApplyMargin();

  std::vector<double> values(f.begin(), f.end());
  best_history_.push_back(f[order[0]]);
  median_history_.push_back(MedianOf(values));
  last_range_ = f[order[lambda_ - 1]] - f[order[0]];
  // Enough for TolStagnation's window.
  const size_t keep = 120 + static_cast<size_t>(30 * n / lambda_) + 20;
  while (best_history_.size() > keep) best_history_.pop_front();
  while (median_history_.size() > keep) median_history_.pop_front();
}

void Cma::UpdateEigen() {
  // Symmetrize against round-off before decomposing.
  c_ = (c_ + c_.transpose()) / 2;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(c_);
  Eigen::VectorXd eig = solver.eigenvalues();
  if (solver.info() != Eigen::Success || !eig.allFinite()) {
    // Numerically broken (only after an absurd number of generations): start
    // the shape afresh, keeping mean and step size.
    c_ = Eigen::MatrixXd::Identity(n_, n_);
    b_ = Eigen::MatrixXd::Identity(n_, n_);
    d_ = Eigen::VectorXd::Ones(n_);
    return;
  }
  eig = eig.cwiseMax(kMinEigenvalue);
  b_ = solver.eigenvectors();
  d_ = eig.cwiseSqrt();
  c_ = b_ * eig.asDiagonal() * b_.transpose();
}

void Cma::ApplyMargin() {
  // Hamano et al.: keep the probability that a discrete coordinate leaves the
  // value its mean rounds to at least alpha on each side that has values, by
  // moving the mean (end values) or by widening the coordinate through the
  // diagonal scaling A and re-centring (inner values).
  const double z_alpha = NormalQuantile(1 - alpha_);
  for (int j = 0; j < n_; ++j) {
    if (!bins_[j].has_value()) continue;
    const double base = sigma_ * std::sqrt(c_(j, j));
    const double s = std::max(base * scale_[j], 1e-300);
    const Bins::Edges edges = bins_[j]->Around(mean_[j]);
    if (!edges.low && !edges.high) continue;
    if (!edges.low) {
      mean_[j] = std::max(mean_[j], *edges.high - z_alpha * s);
      continue;
    }
    if (!edges.high) {
      mean_[j] = std::min(mean_[j], *edges.low + z_alpha * s);
      continue;
    }
    const double lo = *edges.low;
    const double hi = *edges.high;
    const double p_lo = NormalCdf((lo - mean_[j]) / s);
    const double p_hi = NormalCdf((mean_[j] - hi) / s);
    if (p_lo >= alpha_ && p_hi >= alpha_) continue;
    // Raise the small tails to alpha and take the difference from what lies
    // above alpha in proportion, so that all three still sum to 1; then find
    // the mean and width that give those tails at the two edges.
    const double p_mid = std::max(1 - p_lo - p_hi, alpha_);
    const double ex_lo = std::max(p_lo, alpha_) - alpha_;
    const double ex_hi = std::max(p_hi, alpha_) - alpha_;
    const double ex_mid = p_mid - alpha_;
    const double shrink = (1 - 3 * alpha_) / (ex_lo + ex_hi + ex_mid);
    const double q_lo = NormalQuantile(alpha_ + ex_lo * shrink);
    const double q_hi = NormalQuantile(1 - (alpha_ + ex_hi * shrink));
    const double width = (hi - lo) / (q_hi - q_lo);
    mean_[j] = lo - q_lo * width;
    scale_[j] = width / std::max(base, 1e-300);
  }
}

bool Cma::Converged() const {
  if (generation_ == 0) return false;
  const double n = n_;
  // TolX: every coordinate's deviation and evolution-path step are tiny.
  bool tol_x = true;
  for (int i = 0; i < n_ && tol_x; ++i) {
    tol_x = sigma_ * std::abs(p_c_[i]) < kTolX &&
            sigma_ * std::sqrt(c_(i, i)) < kTolX;
  }
  if (tol_x) return true;
  // TolFun: the recent best values and the last generation's all agree.
  const size_t fun_window =
      10 + static_cast<size_t>(std::ceil(30 * n / lambda_));
  if (best_history_.size() >= fun_window) {
    const auto first = best_history_.end() - fun_window;
    const auto [lo, hi] = std::minmax_element(first, best_history_.end());
    if (*hi - *lo < kTolFun && last_range_ < kTolFun) return true;
  }
  // NoEffectAxis: a tenth of a standard deviation along principal axis
  // (generation mod n) does not change the mean.
  {
    const int i = generation_ % n_;
    const Eigen::VectorXd step =
        0.1 * sigma_ * d_[i] * scale_.cwiseProduct(b_.col(i));
    if (((mean_ + step).array() == mean_.array()).all()) return true;
  }
  // NoEffectCoord: a fifth of a standard deviation along some coordinate.
  for (int i = 0; i < n_; ++i) {
    if (mean_[i] + 0.2 * sigma_ * scale_[i] * std::sqrt(c_(i, i)) == mean_[i]) {
      return true;
    }
  }
  // ConditionCov.
  if (d_.maxCoeff() * d_.maxCoeff() >
      kMaxCondition * d_.minCoeff() * d_.minCoeff()) {
    return true;
  }
  // TolStagnation: over the last 120 + 30 n / lambda generations, neither the
  // best nor the median values of the latest 30% improved on the earliest
  // 30%.
  const size_t window = 120 + static_cast<size_t>(30 * n / lambda_);
  if (best_history_.size() >= window) {
    const size_t part = std::max<size_t>(1, window * 3 / 10);
    const auto stalled = [window, part](const std::deque<double>& h) {
      const auto begin = h.end() - window;
      const double early = MedianOf(std::vector<double>(begin, begin + part));
      const double late =
          MedianOf(std::vector<double>(h.end() - part, h.end()));
      return late >= early;
    };
    if (stalled(best_history_) && stalled(median_history_)) return true;
  }
  return false;
}

}  // namespace cmaes_internal
}  // namespace hpo
