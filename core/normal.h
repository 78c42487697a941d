// The standard normal distribution's density, CDF and quantile, which several
// samplers and the normal priors of the search space need.

#ifndef HPO_CORE_NORMAL_H_
#define HPO_CORE_NORMAL_H_

namespace hpo {

double NormalPdf(double z);
double NormalCdf(double z);
// The z with NormalCdf(z) == p, for p in (0, 1); -inf and +inf at 0 and 1.
double NormalQuantile(double p);

}  // namespace hpo

#endif  // HPO_CORE_NORMAL_H_
