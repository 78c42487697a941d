// Acquisition functions: how much a point with predictive mean `mu` and
// standard deviation `sigma` is worth evaluating next, when minimizing and the
// best value so far is `best` (all in the model's standardized units).
//
// Expected improvement is computed in log space as in Ament et al., "Unexpected
// Improvements to Expected Improvement for Bayesian Optimization" (NeurIPS
// 2023): EI = sigma * h(z) with h(z) = phi(z) + z Phi(z) underflows to 0 for z
// below about -38, leaving a flat landscape the optimizer cannot climb, while
// log h(z) stays accurate for any z.

#ifndef HPO_SAMPLERS_GP_ACQUISITION_H_
#define HPO_SAMPLERS_GP_ACQUISITION_H_

namespace hpo {
namespace gp {

enum class AcquisitionKind {
  kLogEi,  // log expected improvement (the default)
  kEi,     // expected improvement
  kUcb,    // lower confidence bound when minimizing: kappa * sigma - mu
  kPi,     // probability of improvement, maximized as its log
};

struct Acquisition {
  AcquisitionKind kind = AcquisitionKind::kLogEi;
  // UCB's exploration weight.
  double kappa = 2.0;
  // EI's and PI's margin: improvement counts from best - xi.
  double xi = 0.0;
  // The incumbent (smallest standardized value observed).
  double best = 0.0;

  // The value to maximize, and its partial derivatives in mu and sigma when
  // the pointers are not null. sigma must be > 0.
  double Value(double mu, double sigma, double* d_mu = nullptr,
               double* d_sigma = nullptr) const;
};

// exp(x^2) erfc(x), accurate for x >= 0 however large.
double Erfcx(double x);
// log(Phi(z)), accurate for very negative z.
double LogNormalCdf(double z);
// log(phi(z) + z Phi(z)), accurate for very negative z.
double LogH(double z);

}  // namespace gp
}  // namespace hpo

#endif  // HPO_SAMPLERS_GP_ACQUISITION_H_
