#include "samplers/gp/lbfgs.h"

#include <algorithm>
#include <cmath>
#include <deque>

namespace hpo {
namespace gp {
namespace {

// Armijo's sufficient-decrease constant.
constexpr double kArmijo = 1e-4;
constexpr int kMaxBacktracks = 30;

Eigen::VectorXd Clip(const Eigen::VectorXd& x, const Eigen::VectorXd& lower,
                     const Eigen::VectorXd& upper) {
  return x.cwiseMax(lower).cwiseMin(upper);
}

}  // namespace

LbfgsResult MinimizeInBox(const Objective& f, const Eigen::VectorXd& lower,
                          const Eigen::VectorXd& upper, Eigen::VectorXd& x,
                          const LbfgsOptions& options) {
  const Eigen::Index n = x.size();
  LbfgsResult result;
  x = Clip(x, lower, upper);
  Eigen::VectorXd g(n);
  double fx = f(x, &g);
  result.evaluations = 1;
  result.value = fx;
  if (!std::isfinite(fx)) return result;

  std::deque<Eigen::VectorXd> steps;    // s_k = x_{k+1} - x_k
  std::deque<Eigen::VectorXd> changes;  // y_k = g_{k+1} - g_k
  std::deque<double> rho;               // 1 / (s_k . y_k)
  Eigen::VectorXd free(n);
  Eigen::VectorXd gn(n);
  std::vector<double> alpha;

  for (int iteration = 0; iteration < options.max_iterations; ++iteration) {
    // Coordinates pinned at a bound by an outward gradient sit this step out.
    for (Eigen::Index i = 0; i < n; ++i) {
      const bool pinned = lower[i] >= upper[i] ||
                          (x[i] <= lower[i] && g[i] > 0) ||
                          (x[i] >= upper[i] && g[i] < 0);
      free[i] = pinned ? 0.0 : 1.0;
    }
    const Eigen::VectorXd pg = g.cwiseProduct(free);
    const double pg_norm = pg.lpNorm<Eigen::Infinity>();
    if (!(pg_norm > options.gradient_tolerance)) break;

    // Two-loop recursion for d = -H pg.
    Eigen::VectorXd q = pg;
    alpha.assign(steps.size(), 0.0);
    for (size_t k = steps.size(); k-- > 0;) {
      alpha[k] = rho[k] * steps[k].dot(q);
      q -= alpha[k] * changes[k];
    }
    double scale = 1.0;
    if (!steps.empty()) {
      scale = 1.0 / (rho.back() * changes.back().squaredNorm());
    }
    Eigen::VectorXd d = scale * q;
    for (size_t k = 0; k < steps.size(); ++k) {
      const double beta = rho[k] * changes[k].dot(d);
      d += steps[k] * (alpha[k] - beta);
    }
    d = -d.cwiseProduct(free);
    bool fresh = steps.empty();
    if (!(d.dot(pg) < 0)) {
      // The curvature pairs no longer describe this region: start over.
      steps.clear();
      changes.clear();
      rho.clear();
      d = -pg;
      fresh = true;
    }
    // Without curvature information the step length is a guess; keep the
    // first move to about one unit in the largest coordinate.
    double t = fresh ? std::min(1.0, 1.0 / d.lpNorm<Eigen::Infinity>()) : 1.0;

    bool accepted = false;
    Eigen::VectorXd xn;
    double fn = fx;
    for (int b = 0; b < kMaxBacktracks; ++b) {
      xn = Clip(x + t * d, lower, upper);
      fn = f(xn, &gn);
      ++result.evaluations;
      if (std::isfinite(fn) && fn <= fx + kArmijo * g.dot(xn - x)) {
        accepted = true;
        break;
      }
      t *= std::isfinite(fn) ? 0.5 : 0.1;
    }
    if (!accepted) {
      if (fresh) break;
      steps.clear();
      changes.clear();
      rho.clear();
      continue;
    }
    Eigen::VectorXd s = xn - x;
    Eigen::VectorXd y = gn - g;
    const double sy = s.dot(y);
    if (sy > 1e-12 * s.norm() * y.norm() && sy > 0) {
      steps.push_back(std::move(s));
      changes.push_back(std::move(y));
      rho.push_back(1.0 / sy);
      if (static_cast<int>(steps.size()) > options.memory) {
        steps.pop_front();
        changes.pop_front();
        rho.pop_front();
      }
    }
    const double improvement = fx - fn;
    x = xn;
    fx = fn;
    g = gn;
    if (improvement <=
        options.relative_tolerance * std::max(1.0, std::abs(fx))) {
      break;
    }
  }
  result.value = fx;
  return result;
}

}  // namespace gp
}  // namespace hpo
