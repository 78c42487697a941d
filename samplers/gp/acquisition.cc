#include "samplers/gp/acquisition.h"

#include <cmath>

#include "core/normal.h"

namespace hpo {
namespace gp {
namespace {

constexpr double kSqrt2 = 1.4142135623730950488;
constexpr double kSqrtPi = 1.7724538509055160273;
constexpr double kSqrtHalfPi = 1.2533141373155002512;
constexpr double kLogSqrt2Pi = 0.91893853320467274178;

double LogNormalPdf(double z) { return -0.5 * z * z - kLogSqrt2Pi; }

}  // namespace

double Erfcx(double x) {
  // Below 26, exp(x^2) is still finite and erfc(x) is not yet subnormal, and
  // their product loses only the rounding of x^2 (about 1e-13 relative).
  if (x < 26) return std::exp(x * x) * std::erfc(x);
  // The asymptotic series; at x >= 26 the next term is below 1e-11.
  const double r = 1.0 / (x * x);
  return (1 - r * (0.5 - r * (0.75 - r * (1.875 - r * 6.5625)))) /
         (x * kSqrtPi);
}

double LogNormalCdf(double z) {
  if (z > 0) return std::log1p(-0.5 * std::erfc(z / kSqrt2));
  if (z > -1) return std::log(NormalCdf(z));
  // Phi(z) = erfc(-z / sqrt2) / 2 = erfcx(-z / sqrt2) exp(-z^2 / 2) / 2.
  return std::log(0.5 * Erfcx(-z / kSqrt2)) - 0.5 * z * z;
}

double LogH(double z) {
  if (z > -1) return std::log(NormalPdf(z) + z * NormalCdf(z));
  if (z > -30) {
    // h(z) = phi(z) (1 + z R(z)) with Mills' ratio R = Phi / phi; the
    // cancellation in 1 + z R costs about z^2 ulps, at most 1e-13 here.
    const double zr = z * kSqrtHalfPi * Erfcx(-z / kSqrt2);
    return LogNormalPdf(z) + std::log1p(zr);
  }
  // h(z) = phi(z) / z^2 (1 - 3/z^2 + 15/z^4 - 105/z^6 + 945/z^8 - ...).
  const double r = 1.0 / (z * z);
  return LogNormalPdf(z) + std::log(r) +
         std::log1p(-r * (3 - r * (15 - r * (105 - r * 945))));
}

double Acquisition::Value(double mu, double sigma, double* d_mu,
                          double* d_sigma) const {
  double value = 0;
  double dm = 0;
  double ds = 0;
  const double z = (best - xi - mu) / sigma;
  switch (kind) {
    case AcquisitionKind::kLogEi: {
      const double log_h = LogH(z);
      value = std::log(sigma) + log_h;
      // d log h / dz = Phi(z) / h(z).
      const double ratio = std::exp(LogNormalCdf(z) - log_h);
      dm = -ratio / sigma;
      ds = 1 / sigma - ratio * z / sigma;
      break;
    }
    case AcquisitionKind::kEi: {
      const double cdf = NormalCdf(z);
      const double pdf = NormalPdf(z);
      value = sigma * (pdf + z * cdf);
      dm = -cdf;
      ds = pdf;
      break;
    }
    case AcquisitionKind::kUcb:
      value = kappa * sigma - mu;
      dm = -1;
      ds = kappa;
      break;
    case AcquisitionKind::kPi: {
      const double log_cdf = LogNormalCdf(z);
      value = log_cdf;
      const double ratio = std::exp(LogNormalPdf(z) - log_cdf);
      dm = -ratio / sigma;
      ds = -ratio * z / sigma;
      break;
    }
  }
  if (d_mu != nullptr) *d_mu = dm;
  if (d_sigma != nullptr) *d_sigma = ds;
  return value;
}

}  // namespace gp
}  // namespace hpo
