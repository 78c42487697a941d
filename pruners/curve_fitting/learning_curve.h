// Extrapolating a learning curve, after NNI's Curvefitting assessor
// (Domhan et al., "Speeding up Automatic Hyperparameter Optimization of Deep
// Neural Networks by Extrapolation of Learning Curves", IJCAI 2015).
//
// Seven parametric families (linear, log-linear, ilog2, pow3, exp3,
// Janoschek/Weibull, MMF; see learning_curve.cc) are fitted by nonlinear
// least squares (Levenberg-Marquardt from a few deterministic starts) to the
// values, scaled to [0, 1]; fits worse than a constant are dropped. The
// forecast is the families' mean weighted by exp(-BIC / 2), a cheap stand-in
// for NNI's MCMC over the weights that prefers families that fit well with
// few parameters, leaving out forecasts far from the families' median (a line
// through a flattening curve). Beside it, a range says how much the data
// leave open: the plausible fits' forecasts (weight at least 1% of the
// best's, outliers included), each widened by how far its own parameters
// could move it (a one-sided bound at a given confidence, by the delta
// method: a few early points of a curve still falling fast may flatten
// almost anywhere below). The plausible fits, each with its standard error,
// also give the chance that the curve reaches a value (ChanceOfReaching).
// Deterministic: no sampling.

#ifndef HPO_PRUNERS_CURVE_FITTING_LEARNING_CURVE_H_
#define HPO_PRUNERS_CURVE_FITTING_LEARNING_CURVE_H_

#include <string>
#include <vector>

namespace hpo {

struct CurveForecast {
  // False when no forecast can be trusted; `why_not` says why.
  bool ok = false;
  std::string why_not;
  // The forecast value at the target: the families' weighted mean.
  double value = 0;
  // The lowest and highest forecasts of the families that carry weight (at
  // least 1% of the leading one's), each less or plus its margin: how far
  // the plausible fits disagree and how loosely the points hold each. May
  // be infinite (a family whose forecast the points do not pin down).
  double low = 0;
  double high = 0;
  // How many families were combined (0 for a flat curve, forecast flat).
  int families = 0;
  // The family with the largest weight.
  std::string leading_family;
  // The plausible fits' forecasts as distributions: each is `value` plus
  // `spread` times Student's t with `dof` degrees of freedom (the delta
  // method's standard error of the forecast; infinite when the points do not
  // pin it down), and `weight` is exp(-BIC / 2) against the leading family's.
  // A flat curve has one, its value, with no spread.
  struct Fit {
    double value = 0;
    double spread = 0;
    int dof = 1;
    double weight = 1;
  };
  std::vector<Fit> plausible;
};

// Forecasts y at `target_x` from the points (x[i], y[i]): x >= 1 ascending,
// y finite, at least 3 points. Curves with more than 100 points are thinned
// evenly (first and last kept) to bound the work. `confidence` in [0, 1):
// each family's margin is a one-sided bound at this level (Student's t with
// the fit's residual degrees of freedom); 0 gives no margins, the range of
// the point forecasts alone.
CurveForecast ForecastCurve(const std::vector<double>& x,
                            const std::vector<double>& y, double target_x,
                            double confidence);

// The chance that the curve's value at the target ends below `y` (above it,
// with `below` false) under the mixture of the plausible fits, weighted as
// above: Domhan et al.'s probability that a curve ends better than the best
// so far, with the fits' own uncertainty in place of their MCMC. A fit whose
// forecast the points do not pin down counts as reaching `y`: it rules
// nothing out. 1 when the forecast is not ok.
double ChanceOfReaching(const CurveForecast& forecast, double y, bool below);

// P(T <= t) for Student's t with `dof` >= 1 degrees of freedom, exactly (the
// finite sums of Abramowitz and Stegun 26.7.3 and 26.7.4).
double StudentCdf(double t, int dof);

// The p-quantile of Student's t with `dof` degrees of freedom, p in [0.5, 1)
// (0 at p <= 0.5): exact for 1 degree of freedom, the Cornish-Fisher
// expansion (Abramowitz and Stegun 26.7.5) for more.
double StudentQuantile(double p, int dof);

}  // namespace hpo

#endif  // HPO_PRUNERS_CURVE_FITTING_LEARNING_CURVE_H_
