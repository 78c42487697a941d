#include "pruners/curve_fitting/learning_curve.h"

#include <algorithm>
#include <cmath>
#include <eigen3/Eigen/Dense>
#include <eigen3/Eigen/SVD>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/normal.h"

namespace hpo {
namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;

// Longer curves are thinned to this many points.
constexpr size_t kMaxPoints = 100;
// Fewer agreeing families than this, and the forecast is not trusted (NNI
// asks for 4 of its 12).
constexpr int kMinFamilies = 3;
constexpr int kMaxIterations = 100;
// Families weighing less than this against the leading one are too
// implausible to widen the range of forecasts.
constexpr double kPlausibleWeight = 0.01;

// A parametric learning curve z = f(x; p). Parameters that must be positive
// (rates, exponents) are stored as logarithms, so that Levenberg-Marquardt
// can move freely. Every family has an additive level and a signed amplitude,
// so it fits rising and falling curves alike (accuracies and losses).
struct Family {
  const char* name;
  int n_params;
  double (*f)(double x, const VectorXd& p);
  // The nonlinear parameters to start from (in stored form); for each, the
  // level and amplitude come from a linear least-squares fit.
  std::vector<std::vector<double>> (*shapes)(double x_last);
  // The basis g(x; shape) with f = p[0] + p[1] * g.
  double (*basis)(double x, const std::vector<double>& shape);
};

// z = p0 + p1 x
double Linear(double x, const VectorXd& p) { return p[0] + p[1] * x; }
// z = p0 + p1 ln x
double LogLinear(double x, const VectorXd& p) {
  return p[0] + p[1] * std::log(x);
}
// z = p0 - p1 / ln(x + 1) (NNI's ilog2, moved by one so x = 1 is finite)
double Ilog2(double x, const VectorXd& p) {
  return p[0] - p[1] / std::log(x + 1);
}
// z = p0 - p1 x^-a, a = e^p2
double Pow3(double x, const VectorXd& p) {
  return p[0] - p[1] * std::pow(x, -std::exp(p[2]));
}
// z = p0 - p1 e^(-k x), k = e^p2
double Exp3(double x, const VectorXd& p) {
  return p[0] - p[1] * std::exp(-std::exp(p[2]) * x);
}
// z = p0 - p1 e^(-k x^d), k = e^p2, d = e^p3 (Janoschek; Weibull is the same
// family)
double Janoschek(double x, const VectorXd& p) {
  return p[0] - p[1] * std::exp(-std::exp(p[2]) * std::pow(x, std::exp(p[3])));
}
// z = p0 - p1 / (1 + (k x)^d), k = e^p2, d = e^p3 (Morgan-Mercer-Flodin)
double Mmf(double x, const VectorXd& p) {
  return p[0] - p[1] / (1 + std::pow(std::exp(p[2]) * x, std::exp(p[3])));
}

std::vector<std::vector<double>> NoShape(double) { return {{}}; }
double XBasis(double x, const std::vector<double>&) { return x; }
double LogBasis(double x, const std::vector<double>&) { return std::log(x); }
double Ilog2Basis(double x, const std::vector<double>&) {
  return -1 / std::log(x + 1);
}

std::vector<std::vector<double>> Pow3Shapes(double) {
  return {{std::log(0.25)}, {std::log(0.75)}, {std::log(2.0)}};
}
double Pow3Basis(double x, const std::vector<double>& s) {
  return -std::pow(x, -std::exp(s[0]));
}

// Rates such that the curve has come 40%, 86% and nearly all the way to its
// level by the last point.
std::vector<std::vector<double>> Exp3Shapes(double x_last) {
  return {
      {std::log(0.5 / x_last)}, {std::log(2 / x_last)}, {std::log(6 / x_last)}};
}
double Exp3Basis(double x, const std::vector<double>& s) {
  return -std::exp(-std::exp(s[0]) * x);
}

std::vector<std::vector<double>> JanoschekShapes(double x_last) {
  std::vector<std::vector<double>> shapes;
  for (double d : {0.5, 1.5}) {
    shapes.push_back({std::log(2 / std::pow(x_last, d)), std::log(d)});
  }
  return shapes;
}
double JanoschekBasis(double x, const std::vector<double>& s) {
  return -std::exp(-std::exp(s[0]) * std::pow(x, std::exp(s[1])));
}

std::vector<std::vector<double>> MmfShapes(double x_last) {
  return {{std::log(1 / x_last), std::log(1.0)},
          {std::log(4 / x_last), std::log(2.0)}};
}
double MmfBasis(double x, const std::vector<double>& s) {
  return -1 / (1 + std::pow(std::exp(s[0]) * x, std::exp(s[1])));
}

const std::vector<Family>& Families() {
  static const auto* families = new std::vector<Family>{
      {"linear", 2, &Linear, &NoShape, &XBasis},
      {"log_linear", 2, &LogLinear, &NoShape, &LogBasis},
      {"ilog2", 2, &Ilog2, &NoShape, &Ilog2Basis},
      {"pow3", 3, &Pow3, &Pow3Shapes, &Pow3Basis},
      {"exp3", 3, &Exp3, &Exp3Shapes, &Exp3Basis},
      {"janoschek", 4, &Janoschek, &JanoschekShapes, &JanoschekBasis},
      {"mmf", 4, &Mmf, &MmfShapes, &MmfBasis},
  };
  return *families;
}

struct Fit {
  VectorXd p;
  double rss = std::numeric_limits<double>::infinity();
};

// z - f(x; p), false if f is not finite somewhere.
bool Residuals(const Family& family, const std::vector<double>& x,
               const std::vector<double>& z, const VectorXd& p, VectorXd* r) {
  for (size_t i = 0; i < x.size(); ++i) {
    const double f = family.f(x[i], p);
    if (!std::isfinite(f)) return false;
    (*r)[static_cast<Eigen::Index>(i)] = z[i] - f;
  }
  return true;
}

// The derivatives of f(x[i]; p) in p, by forward differences (four
// parameters at most: cheap), given base[i] = f(x[i]; p).
MatrixXd ForwardJacobian(const Family& family, const std::vector<double>& x,
                         const VectorXd& p, const VectorXd& base) {
  const Eigen::Index n = static_cast<Eigen::Index>(x.size());
  MatrixXd jacobian(n, p.size());
  for (Eigen::Index j = 0; j < p.size(); ++j) {
    const double h = 1e-7 * (std::abs(p[j]) + 1);
    VectorXd q = p;
    q[j] += h;
    for (Eigen::Index i = 0; i < n; ++i) {
      jacobian(i, j) = (family.f(x[static_cast<size_t>(i)], q) - base[i]) / h;
    }
  }
  return jacobian;
}

// Levenberg-Marquardt with Marquardt's diagonal scaling and a
// forward-difference Jacobian.
Fit LevenbergMarquardt(const Family& family, const std::vector<double>& x,
                       const std::vector<double>& z, VectorXd p) {
  const Eigen::Index n = static_cast<Eigen::Index>(x.size());
  const Eigen::Index m = p.size();
  VectorXd r(n);
  if (!Residuals(family, x, z, p, &r)) return {};
  double rss = r.squaredNorm();
  double lambda = 1e-3;
  const Eigen::Map<const VectorXd> observed(z.data(), n);
  for (int iteration = 0; iteration < kMaxIterations; ++iteration) {
    // f(p) = z - r.
    const MatrixXd jacobian = ForwardJacobian(family, x, p, observed - r);
    if (!jacobian.allFinite()) break;
    const MatrixXd normal = jacobian.transpose() * jacobian;
    const VectorXd gradient = jacobian.transpose() * r;
    bool improved = false;
    double previous_rss = rss;
    while (lambda < 1e10) {
      MatrixXd damped = normal;
      for (Eigen::Index d = 0; d < m; ++d) {
        damped(d, d) += lambda * std::max(normal(d, d), 1e-12);
      }
      const VectorXd delta = damped.ldlt().solve(gradient);
      if (delta.allFinite()) {
        const VectorXd q = p + delta;
        VectorXd rq(n);
        if (Residuals(family, x, z, q, &rq) && rq.squaredNorm() < rss) {
          p = q;
          r = rq;
          rss = rq.squaredNorm();
          lambda = std::max(lambda / 3, 1e-12);
          improved = true;
          break;
        }
      }
      lambda *= 4;
    }
    if (!improved || previous_rss - rss <= 1e-9 * previous_rss) {
      break;
    }
  }
  return {p, rss};
}

// The level and amplitude c0, c1 minimizing sum (z - c0 - c1 g)^2.
std::pair<double, double> LinearFit(const std::vector<double>& g,
                                    const std::vector<double>& z) {
  const double n = static_cast<double>(g.size());
  double sg = 0, sz = 0, sgg = 0, sgz = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    sg += g[i];
    sz += z[i];
    sgg += g[i] * g[i];
    sgz += g[i] * z[i];
  }
  const double det = n * sgg - sg * sg;
  if (!(std::abs(det) > 1e-300)) return {sz / n, 0};
  const double c1 = (n * sgz - sg * sz) / det;
  return {(sz - c1 * sg) / n, c1};
}

Fit FitFamily(const Family& family, const std::vector<double>& x,
              const std::vector<double>& z) {
  Fit best;
  for (const std::vector<double>& shape : family.shapes(x.back())) {
    std::vector<double> g(x.size());
    for (size_t i = 0; i < x.size(); ++i) g[i] = family.basis(x[i], shape);
    const auto [level, amplitude] = LinearFit(g, z);
    VectorXd start(family.n_params);
    start[0] = level;
    start[1] = amplitude;
    for (size_t k = 0; k < shape.size(); ++k) {
      start[static_cast<Eigen::Index>(k) + 2] = shape[k];
    }
    if (!start.allFinite()) continue;
    Fit fit = LevenbergMarquardt(family, x, z, start);
    if (fit.rss < best.rss) best = std::move(fit);
  }
  return best;
}

}  // namespace

double StudentQuantile(double p, int dof) {
  constexpr double kPi = 3.14159265358979323846;
  if (p <= 0.5) return 0;
  if (dof < 1) return std::numeric_limits<double>::infinity();
  if (dof == 1) return std::tan(kPi * (p - 0.5));  // Cauchy, exactly
  // The Cornish-Fisher expansion in 1 / dof around the normal quantile
  // (Abramowitz and Stegun 26.7.5), to the fourth order: within 0.01 of the
  // tables from 2 degrees of freedom for p up to 0.95, 0.03 up to 0.99.
  const double z = NormalQuantile(p);
  const double z2 = z * z;
  const double v = static_cast<double>(dof);
  const double g1 = (z2 + 1) * z / 4;
  const double g2 = ((5 * z2 + 16) * z2 + 3) * z / 96;
  const double g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384;
  const double g4 =
      ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160;
  return z + (g1 + (g2 + (g3 + g4 / v) / v) / v) / v;
}

double StudentCdf(double t, int dof) {
  constexpr double kPi = 3.14159265358979323846;
  if (std::isnan(t)) return t;
  if (std::isinf(t)) return t > 0 ? 1 : 0;
  dof = std::max(dof, 1);
  // A = P(|T| < t) (signed with t) as a finite sum in cos(theta).
  const double theta = std::atan(t / std::sqrt(static_cast<double>(dof)));
  const double c2 = std::cos(theta) * std::cos(theta);
  double a;
  if (dof % 2 == 1) {
    double term = std::cos(theta);
    double sum = dof > 1 ? term : 0;
    for (int k = 3; k <= dof - 2; k += 2) {
      term *= c2 * (k - 1) / k;
      sum += term;
    }
    a = 2 / kPi * (theta + std::sin(theta) * sum);
  } else {
    double term = 1;
    double sum = 1;
    for (int k = 2; k <= dof - 2; k += 2) {
      term *= c2 * (k - 1) / k;
      sum += term;
    }
    a = std::sin(theta) * sum;
  }
  return std::clamp(0.5 + a / 2, 0.0, 1.0);
}

double ChanceOfReaching(const CurveForecast& forecast, double y, bool below) {
  if (!forecast.ok || forecast.plausible.empty()) return 1;
  double total = 0;
  double reaching = 0;
  for (const CurveForecast::Fit& fit : forecast.plausible) {
    const double gap = below ? y - fit.value : fit.value - y;
    double chance;
    if (!std::isfinite(fit.spread)) {
      chance = 1;
    } else if (fit.spread > 0) {
      chance = StudentCdf(gap / fit.spread, fit.dof);
    } else {
      chance = gap >= 0 ? 1 : 0;
    }
    total += fit.weight;
    reaching += fit.weight * chance;
  }
  return reaching / total;
}

namespace {

// How far the family's forecast at target_x could be off, from the fit's own
// uncertainty: its standard error by the delta method, sqrt(g' C g), with
// C = s^2 (J'J)^-1 the parameters' covariance (s^2 =
// rss / (n - k)), J the fitted values' and g the forecast's derivatives in
// the parameters (forward differences, as in the fit). A few early points
// often leave a family's level undetermined (a curve still falling fast may
// flatten anywhere below): then the error is large, or infinite.
double ForecastSpread(const Family& family, const std::vector<double>& x,
                      const VectorXd& p, double rss, double target_x) {
  const Eigen::Index n = static_cast<Eigen::Index>(x.size());
  const Eigen::Index k = p.size();
  VectorXd fitted(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    fitted[i] = family.f(x[static_cast<size_t>(i)], p);
  }
  const MatrixXd jacobian = ForwardJacobian(family, x, p, fitted);
  const VectorXd g =
      ForwardJacobian(family, {target_x}, p,
                      VectorXd::Constant(1, family.f(target_x, p)))
          .row(0)
          .transpose();
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (!jacobian.allFinite() || !g.allFinite()) return kInf;
  // g' (J'J)^-1 g through J's singular values: a direction the points do
  // not pin down (a rate of a curve with no amplitude) is harmless when the
  // forecast does not move along it either, and makes the forecast
  // unbounded when it does.
  const Eigen::JacobiSVD<MatrixXd> svd(jacobian, Eigen::ComputeThinV);
  const VectorXd& sv = svd.singularValues();
  const VectorXd along = svd.matrixV().transpose() * g;
  double spread = 0;
  for (Eigen::Index i = 0; i < sv.size(); ++i) {
    if (sv[i] > 1e-12 * sv[0]) {
      spread += along[i] * along[i] / (sv[i] * sv[i]);
    } else if (std::abs(along[i]) > 1e-9 * (g.norm() + 1e-300)) {
      return kInf;
    }
  }
  const double s2 = rss / static_cast<double>(n - k);
  const double standard_error = std::sqrt(std::max(0.0, spread * s2));
  return std::isfinite(standard_error) ? standard_error : kInf;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

CurveForecast ForecastCurve(const std::vector<double>& x_in,
                            const std::vector<double>& y_in, double target_x,
                            double confidence) {
  CurveForecast out;
  if (x_in.size() != y_in.size() || x_in.size() < 3) {
    out.why_not = absl::StrCat(
        x_in.size(), " values are too few to fit a curve to (3 at least)");
    return out;
  }
  std::vector<double> x = x_in;
  std::vector<double> y = y_in;
  if (x.size() > kMaxPoints) {
    x.clear();
    y.clear();
    for (size_t k = 0; k < kMaxPoints; ++k) {
      const size_t i = static_cast<size_t>(std::llround(
          static_cast<double>(k) * static_cast<double>(x_in.size() - 1) /
          static_cast<double>(kMaxPoints - 1)));
      x.push_back(x_in[i]);
      y.push_back(y_in[i]);
    }
  }

  // Scaled to [0, 1], so that the starts, the tolerances and the outlier
  // test below do not depend on the metric's units.
  const auto [lo_it, hi_it] = std::minmax_element(y.begin(), y.end());
  const double lo = *lo_it;
  const double range = *hi_it - lo;
  if (!(range > 1e-12 * std::max(1.0, std::abs(*hi_it)))) {
    out.ok = true;
    out.value = out.low = out.high = y.back();
    out.leading_family = "flat";
    out.plausible.push_back({y.back(), 0, 1, 1});
    return out;
  }
  std::vector<double> z(y.size());
  for (size_t i = 0; i < y.size(); ++i) z[i] = (y[i] - lo) / range;
  double mean = 0;
  for (double v : z) mean += v;
  mean /= static_cast<double>(z.size());
  double total = 0;  // the residual sum of squares of a constant
  for (double v : z) total += (v - mean) * (v - mean);

  struct Candidate {
    const Family* family;
    double forecast;
    double bic;
    Fit fit;
  };
  std::vector<Candidate> candidates;
  const double n = static_cast<double>(z.size());
  for (const Family& family : Families()) {
    // Two points more than parameters, or the fit is an interpolation.
    if (z.size() < static_cast<size_t>(family.n_params) + 2) continue;
    Fit fit = FitFamily(family, x, z);
    if (!std::isfinite(fit.rss) || fit.rss > total * (1 + 1e-9)) continue;
    const double forecast = family.f(target_x, fit.p);
    if (!std::isfinite(forecast)) continue;
    // The floor keeps a perfect fit's log from being -inf.
    const double bic = n * std::log(std::max(fit.rss / n, 1e-14)) +
                       family.n_params * std::log(n);
    candidates.push_back({&family, forecast, bic, std::move(fit)});
  }

  if (static_cast<int>(candidates.size()) < kMinFamilies) {
    out.why_not =
        absl::StrCat("only ", candidates.size(), " curve families fit the ",
                     x_in.size(), " values (", kMinFamilies, " needed)");
    return out;
  }
  // The range counts every plausible fit, wild ones included, each with the
  // margin its own parameters leave open: the pruner stops a trial only when
  // even the most hopeful of them falls short. (Margins only for those: the
  // others' would go unread.)
  double best_bic = std::numeric_limits<double>::infinity();
  for (const Candidate& c : candidates) best_bic = std::min(best_bic, c.bic);
  double low = std::numeric_limits<double>::infinity();
  double high = -low;
  for (const Candidate& c : candidates) {
    const double weight = std::exp(-(c.bic - best_bic) / 2);
    if (weight >= kPlausibleWeight) {
      const int dof = static_cast<int>(x.size()) - c.family->n_params;
      const double spread =
          ForecastSpread(*c.family, x, c.fit.p, c.fit.rss, target_x);
      const double margin =
          confidence <= 0 ? 0 : StudentQuantile(confidence, dof) * spread;
      low = std::min(low, c.forecast - margin);
      high = std::max(high, c.forecast + margin);
      out.plausible.push_back(
          {lo + c.forecast * range, spread * range, dof, weight});
    }
  }

  // The mean leaves out forecasts far from the others' median: an
  // extrapolation gone wild (e.g. a line through a flattening curve) should
  // not drag the rest.
  std::vector<double> forecasts;
  for (const Candidate& c : candidates) forecasts.push_back(c.forecast);
  const double median = Median(forecasts);
  std::vector<double> deviations;
  for (double f : forecasts) deviations.push_back(std::abs(f - median));
  const double tolerance = 3 * 1.4826 * Median(deviations) + 0.25;
  candidates.erase(std::remove_if(candidates.begin(), candidates.end(),
                                  [&](const Candidate& c) {
                                    return std::abs(c.forecast - median) >
                                           tolerance;
                                  }),
                   candidates.end());
  if (static_cast<int>(candidates.size()) < kMinFamilies) {
    out.why_not =
        absl::StrCat("the curve families that fit the ", x_in.size(),
                     " values disagree: only ", candidates.size(),
                     " agree on a forecast (", kMinFamilies, " needed)");
    return out;
  }

  best_bic = std::numeric_limits<double>::infinity();
  for (const Candidate& c : candidates) best_bic = std::min(best_bic, c.bic);
  double weight_sum = 0;
  double forecast = 0;
  double leading_weight = -1;
  for (const Candidate& c : candidates) {
    const double w = std::exp(-(c.bic - best_bic) / 2);
    weight_sum += w;
    forecast += w * c.forecast;
    if (w > leading_weight) {
      leading_weight = w;
      out.leading_family = c.family->name;
    }
  }
  out.ok = true;
  out.value = lo + forecast / weight_sum * range;
  out.low = lo + low * range;
  out.high = lo + high * range;
  out.families = static_cast<int>(candidates.size());
  return out;
}

}  // namespace hpo
