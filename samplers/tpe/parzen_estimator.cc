#include "samplers/tpe/parzen_estimator.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include "core/normal.h"

namespace hpo {
namespace tpe_internal {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kLogSqrt2Pi = 0.91893853320467274178;
constexpr double kSqrt2Pi = 2.50662827463100050242;
constexpr double kSqrt1_2 = 0.70710678118654752440;
// Optuna's floor on bandwidths without the magic clip.
constexpr double kMinSigma = 1e-12;
// A bin narrower than this many kernel deviations gets the midpoint rule,
// density times width, instead of two erfc calls: the relative error is about
// (width / sigma)^2 / 24, under 0.2%.
constexpr double kMidpointWidth = 0.2;
// Kernels per block in a joint estimator's evaluation (see LogDensity): small
// enough that a block's kernels are all far from a candidate more often than
// not, large enough to vectorize.
constexpr int kBlock = 8;
using Block = Eigen::Array<double, kBlock, 1>;

// log of the standard normal's upper tail, Q(x) = 1 - Phi(x), for x >= 0.
double LogUpperTail(double x) {
  if (x < 30) return std::log(0.5 * std::erfc(x * kSqrt1_2));
  // erfc underflows beyond ~37; the asymptotic series is exact to ~1e-8 here.
  const double r = 1 / (x * x);
  return -0.5 * x * x - std::log(x) - kLogSqrt2Pi + std::log1p(-r + 3 * r * r);
}

double UpperTail(double x) { return 0.5 * std::erfc(x * kSqrt1_2); }

// The upper tail of the standard normal, Q(x) for x >= 0, from Abramowitz &
// Stegun 26.2.17: absolute error under 7.5e-8, and one exp instead of erfc.
double ApproxUpperTail(double x) {
  if (x > 9) return 0;  // under 1.2e-19
  const double t = 1 / (1 + 0.2316419 * x);
  const double poly =
      t * (0.319381530 +
           t * (-0.356563782 +
                t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  return poly * std::exp(-0.5 * x * x) / kSqrt2Pi;
}

// The masses of N(mu, sigma) over [0, 1], for mu in [0, 1]: at least 0.34, so
// the tails' absolute error is a relative error under 3e-7 in a normalizer,
// immaterial to TPE's ratios. Exact erfc calls here were a third of a
// multivariate suggestion.
Eigen::ArrayXd TruncationMass(const Eigen::ArrayXd& mu,
                              const Eigen::ArrayXd& sigma) {
  Eigen::ArrayXd mass(mu.size());
  for (Eigen::Index j = 0; j < mu.size(); ++j) {
    // Both ends 9 deviations away or more (most narrow kernels): the tails
    // are under 1.2e-19 each, and 1 minus them rounds to exactly 1.
    if (mu[j] >= 9 * sigma[j] && 1 - mu[j] >= 9 * sigma[j]) {
      mass[j] = 1;
      continue;
    }
    mass[j] = 1 - ApproxUpperTail((1 - mu[j]) / sigma[j]) -
              ApproxUpperTail(mu[j] / sigma[j]);
  }
  return mass;
}

bool StrictlyMonotone(const std::vector<double>& v) {
  bool increasing = true;
  bool decreasing = true;
  for (size_t i = 1; i < v.size(); ++i) {
    increasing = increasing && v[i] > v[i - 1];
    decreasing = decreasing && v[i] < v[i - 1];
  }
  return increasing || decreasing;
}

// Sorts (unit value, index) pairs, values in [0, 1], as std::sort would. A
// bucket pass first (one bucket per element, each then sorted), which is about
// linear for spread-out values and no worse than std::sort for clustered ones:
// this sort is the largest cost of a univariate suggestion.
void SortUnitPairs(std::vector<std::pair<double, int>>& v) {
  const size_t n = v.size();
  if (n < 64) {
    std::sort(v.begin(), v.end());
    return;
  }
  const double scale = static_cast<double>(n);
  auto bucket = [&](double u) {
    return std::min(n - 1, static_cast<size_t>(std::max(0.0, u) * scale));
  };
  std::vector<uint32_t> start(n + 1, 0);
  for (const auto& p : v) ++start[bucket(p.first) + 1];
  for (size_t b = 0; b < n; ++b) start[b + 1] += start[b];
  std::vector<std::pair<double, int>> out(n);
  std::vector<uint32_t> next(start.begin(), start.end() - 1);
  for (const auto& p : v) out[next[bucket(p.first)]++] = p;
  for (size_t b = 0; b < n; ++b) {
    const size_t size = start[b + 1] - start[b];
    if (size <= 1) continue;
    auto* first = out.data() + start[b];
    if (size > 16) {
      std::sort(first, first + size);
      continue;
    }
    // Buckets hold one element on average: an insertion sort in place,
    // cheaper than std::sort's call for a handful.
    for (size_t i = 1; i < size; ++i) {
      const std::pair<double, int> x = first[i];
      size_t k = i;
      for (; k > 0 && x < first[k - 1]; --k) first[k] = first[k - 1];
      first[k] = x;
    }
  }
  v.swap(out);
}

}  // namespace

Axis::Axis(const ParamSpec& spec, bool discrete_as_categorical)
    : spec_(&spec), cardinality_(spec.Cardinality()) {
  switch (spec.kind) {
    case ParamKind::kCategorical:
      kind_ = AxisKind::kCategorical;
      break;
    case ParamKind::kDiscrete:
      kind_ = !discrete_as_categorical && StrictlyMonotone(spec.values)
                  ? AxisKind::kBinned
                  : AxisKind::kCategorical;
      break;
    default:
      kind_ = cardinality_ > 0 ? AxisKind::kBinned : AxisKind::kContinuous;
  }
  if (!spec.IsIndexed() && spec.prior != Prior::kNormal) {
    // ParamSpec::ToUnit's interval, computed as it does (its DrawInterval),
    // so that Observe gives the same values bit for bit (a test checks).
    const double half = spec.step > 0 ? spec.step / 2 : 0;
    double lo = spec.low - half;
    double hi =
        (spec.step > 0 ? spec.NthValue(cardinality_ - 1) : spec.high) + half;
    if (spec.log) {
      lo = std::log(std::max(lo, spec.low / 2));
      hi = std::log(hi);
    }
    linear_ = true;
    unit_lo_ = lo;
    unit_hi_ = hi;
  }
}

double Axis::Observe(double x) const {
  if (!std::isfinite(x)) return kInactive;
  if (spec_->IsIndexed()) {
    if (x != std::round(x) || x < 0 || x >= static_cast<double>(cardinality_)) {
      return kInactive;
    }
    return kind_ == AxisKind::kCategorical ? x : spec_->ToUnit(x);
  }
  double u;
  if (linear_) {
    const double t = spec_->log ? std::log(x) : x;
    u = unit_hi_ <= unit_lo_
            ? 0.5
            : std::clamp((t - unit_lo_) / (unit_hi_ - unit_lo_), 0.0, 1.0);
  } else {
    u = spec_->ToUnit(x);
  }
  return std::isfinite(u) ? u : kInactive;
}

int64_t Axis::BinOf(double x) const {
  const ParamSpec& p = *spec_;
  int64_t k;
  if (p.IsIndexed()) {
    k = static_cast<int64_t>(x);
  } else if (p.step > 0) {
    k = std::llround((x - p.low) / p.step);
  } else {
    // NNI's q: values are multiples of q (the ends clamped), as NthValue.
    k = static_cast<int64_t>(std::nearbyint(x / p.q) -
                             std::nearbyint(p.low / p.q));
  }
  return std::clamp<int64_t>(k, 0, cardinality_ - 1);
}

void Axis::BinEdges(int64_t k, double* lo, double* hi) const {
  const ParamSpec& p = *spec_;
  if (p.IsIndexed()) {
    *lo = static_cast<double>(k) / static_cast<double>(cardinality_);
    *hi = static_cast<double>(k + 1) / static_cast<double>(cardinality_);
    return;
  }
  // The boundary between value j and j + 1 is where Snap's rounding flips;
  // ToUnit takes it to unit space (through the log and the prior's CDF).
  auto boundary = [&p](int64_t j) {
    const double half = static_cast<double>(j) + 0.5;
    return p.step > 0 ? p.low + half * p.step
                      : (std::nearbyint(p.low / p.q) + half) * p.q;
  };
  *lo = k == 0 ? 0.0 : p.ToUnit(boundary(k - 1));
  *hi = k == cardinality_ - 1 ? 1.0 : p.ToUnit(boundary(k));
  if (*hi < *lo) std::swap(*lo, *hi);
}

double LogNormalMass(double a, double b) {
  if (!(a < b)) return -kInf;
  if (a >= 0) {
    const double la = LogUpperTail(a);
    return la + std::log1p(-std::exp(LogUpperTail(b) - la));
  }
  if (b <= 0) return LogNormalMass(-b, -a);
  // Both tails beyond 9 deviations: the missing mass is under 3e-19.
  if (a < -9 && b > 9) return 0;
  return std::log1p(-(UpperTail(b) + UpperTail(-a)));
}

double TruncatedNormalDraw(double mu, double sigma, double u) {
  const double pa = NormalCdf(-mu / sigma);
  const double pb = NormalCdf((1 - mu) / sigma);
  const double x = mu + sigma * NormalQuantile(pa + u * (pb - pa));
  // Rounding at the extremes can step just outside, or to an infinity.
  return std::isnan(x) ? mu : std::clamp(x, 0.0, 1.0);
}

std::vector<double> ForgettingWeights(int64_t n, int64_t flat) {
  std::vector<double> w(static_cast<size_t>(n), 1.0);
  if (n < flat || n <= 0) return w;
  // numpy.linspace(1 / n, 1, n - flat) for the oldest ones.
  const int64_t ramp = n - flat;
  const double first = 1.0 / static_cast<double>(n);
  for (int64_t i = 0; i < ramp; ++i) {
    w[i] = ramp == 1 ? first
                     : first + (1 - first) * static_cast<double>(i) /
                                   static_cast<double>(ramp - 1);
  }
  return w;
}

ParzenEstimator::ParzenEstimator(const std::vector<const Axis*>& axes,
                                 const std::vector<double>& observations,
                                 const EstimatorOptions& options)
    : axes_(axes) {
  const size_t dims = axes.size();
  const int n = dims == 0 ? 0 : static_cast<int>(observations.size() / dims);
  const int kernels = n + 1;  // the prior's kernel is the last one

  // Mixture weights: forgetting weights for the observations, prior_weight for
  // the prior; the prior alone when there is nothing else.
  weight_ = ForgettingWeights(n, options.linear_forgetting);
  weight_.push_back(n == 0 ? 1.0 : options.prior_weight);
  const double total = std::accumulate(weight_.begin(), weight_.end(), 0.0);
  cumulative_weight_.resize(kernels);
  double running = 0;
  for (int j = 0; j < kernels; ++j) {
    weight_[j] /= total;
    running += weight_[j];
    cumulative_weight_[j] = running;
  }
  const double prior_share = weight_[n];
  // Several axes: per kernel, 1 / weight times the continuous axes' sigma
  // and truncation mass, not yet folded into constant_ (whose log is then
  // the log weight minus the normalizers: one log per kernel). A weight of 0
  // (the prior's, with prior_weight 0) gives an infinite scale and a term of
  // -inf, as it should.
  Eigen::ArrayXd scale;
  if (dims > 1) {
    constant_.setZero(kernels);
    scale = Eigen::Map<const Eigen::ArrayXd>(weight_.data(), kernels).inverse();
  }

  const double min_sigma =
      options.consider_magic_clip
          ? 1.0 / std::min(100.0, static_cast<double>(n + 2))
          : kMinSigma;
  numeric_.resize(dims);
  categorical_.resize(dims);
  for (size_t d = 0; d < dims; ++d) {
    const Axis& axis = *axes[d];
    auto obs = [&](int j) { return observations[j * dims + d]; };

    if (axis.kind() == AxisKind::kCategorical) {
      CategoricalAxis& c = categorical_[d];
      const double k = static_cast<double>(axis.cardinality());
      const double eps = options.prior_weight / static_cast<double>(n + 1);
      const double norm = 1 + k * eps;
      c.keep = 1 / norm;
      c.category.resize(kernels);
      for (int j = 0; j < n; ++j) c.category[j] = obs(j);
      c.category[n] = -1;
      if (dims == 1) {
        // The whole mixture is one distribution over the categories.
        std::vector<double> p(axis.cardinality(), 0.0);
        double observed = 0;
        for (int j = 0; j < n; ++j) {
          p[static_cast<size_t>(obs(j))] += weight_[j];
          observed += weight_[j];
        }
        category_log_prob_.resize(p.size());
        for (size_t i = 0; i < p.size(); ++i) {
          category_log_prob_[i] =
              std::log((p[i] + observed * eps) / norm + prior_share / k);
        }
        continue;
      }
      c.log_hit.resize(kernels);
      c.log_miss.resize(kernels);
      c.log_hit.head(n).setConstant(std::log((1 + eps) / norm));
      c.log_miss.head(n).setConstant(std::log(eps / norm));
      c.log_hit[n] = c.log_miss[n] = -std::log(k);
      continue;
    }

    NumericAxis& a = numeric_[d];
    a.mu.resize(kernels);
    a.sigma.resize(kernels);
    for (int j = 0; j < n; ++j) a.mu[j] = obs(j);
    a.mu[n] = 0.5;
    // The observations by increasing mu (ties by index, so the order is
    // fixed). The prior's kernel is not among them: Optuna 5 no longer counts
    // it as a neighbour.
    std::vector<std::pair<double, int>> sorted(n);
    for (int j = 0; j < n; ++j) sorted[j] = {a.mu[j], j};
    SortUnitPairs(sorted);
    // Optuna 5's bandwidths, in univariate and multivariate estimators alike
    // (it dropped Scott's rule): each observation's kernel is as wide as the
    // larger gap to its neighbours, the range's ends counting as neighbours,
    // except that without consider_endpoints the outermost kernels (with two
    // observations or more) take their inner gap only.
    auto at = [&](int i) {
      return i < 0 ? 0.0 : i >= n ? 1.0 : sorted[i].first;
    };
    for (int i = 0; i < n; ++i) {
      double s = std::max(at(i) - at(i - 1), at(i + 1) - at(i));
      if (!options.consider_endpoints && n >= 2) {
        if (i == 0) s = at(1) - at(0);
        if (i == n - 1) s = at(n - 1) - at(n - 2);
      }
      a.sigma[sorted[i].second] = s;
    }
    a.sigma = a.sigma.max(min_sigma).min(1.0);
    a.sigma[n] = 1.0;  // the prior's kernel spans the range

    if (dims > 1 && axis.kind() == AxisKind::kContinuous) {
      // What LogDensity needs per kernel: 1 / (2 sigma^2), and the product
      // of sigma and the truncation mass, whose log is folded into constant_
      // (one log per kernel rather than two per kernel and axis).
      a.half_precision = 0.5 * a.sigma.square().inverse();
      scale *= a.sigma * TruncationMass(a.mu, a.sigma);
      constant_ -= kLogSqrt2Pi;
      // A factor is at least 1e-12 * 0.34 (and 1 / weight >= 1): fold
      // before the product can underflow.
      if (scale.minCoeff() < 1e-250) {
        constant_ -= scale.log();
        scale.setOnes();
      }
      continue;
    }
    // The univariate buckets and the binned atoms want every kernel in
    // order, the prior's too (after observations of the same mu).
    sorted.insert(
        std::upper_bound(sorted.begin(), sorted.end(), std::make_pair(0.5, n)),
        {0.5, n});
    if (dims == 1) {
      BuildBuckets(sorted, prior_share);
      continue;
    }
    // Binned: kernels of equal mu and sigma share an atom. Runs of equal mu
    // are ordered by sigma so that equal ones are adjacent.
    a.atom.resize(kernels);
    for (size_t begin = 0; begin < sorted.size();) {
      size_t end = begin + 1;
      while (end < sorted.size() && sorted[end].first == sorted[begin].first) {
        ++end;
      }
      std::vector<std::pair<double, int>> run;
      for (size_t r = begin; r < end; ++r) {
        run.push_back({a.sigma[sorted[r].second], sorted[r].second});
      }
      std::sort(run.begin(), run.end());
      for (size_t r = 0; r < run.size(); ++r) {
        if (r == 0 || run[r].first != run[r - 1].first) {
          const double mu = sorted[begin].first;
          const double s = run[r].first;
          a.atom_mu.push_back(mu);
          a.atom_sigma.push_back(s);
          a.atom_log_z.push_back(0);  // below, all at once
        }
        a.atom[run[r].second] = static_cast<int>(a.atom_mu.size() - 1);
      }
      begin = end;
    }
    const Eigen::Map<const Eigen::ArrayXd> atom_mu(
        a.atom_mu.data(), static_cast<Eigen::Index>(a.atom_mu.size()));
    const Eigen::Map<const Eigen::ArrayXd> atom_sigma(
        a.atom_sigma.data(), static_cast<Eigen::Index>(a.atom_sigma.size()));
    Eigen::Map<Eigen::ArrayXd>(a.atom_log_z.data(), atom_mu.size()) =
        TruncationMass(atom_mu, atom_sigma).log();
  }
  if (dims > 1) {
    constant_ -= scale.log();
    // LogDensity's blocks are fixed-size Eigen arrays, which it vectorizes:
    // pad with kernels whose log term is -inf (they are never kept).
    const Eigen::Index padded = (kernels + kBlock - 1) / kBlock * kBlock;
    const Eigen::Index extra = padded - kernels;
    auto pad = [&](Eigen::ArrayXd& v, double value) {
      v.conservativeResize(padded);
      v.tail(extra).setConstant(value);
    };
    pad(constant_, -kInf);
    for (size_t d = 0; d < dims; ++d) {
      switch (axes[d]->kind()) {
        case AxisKind::kContinuous:
          pad(numeric_[d].mu, 0.5);
          pad(numeric_[d].half_precision, 0);
          break;
        case AxisKind::kBinned:
          numeric_[d].atom.resize(padded, 0);
          break;
        case AxisKind::kCategorical:
          pad(categorical_[d].category, -1);
          pad(categorical_[d].log_hit, 0);
          pad(categorical_[d].log_miss, 0);
          break;
      }
    }
  }
}

void ParzenEstimator::BuildBuckets(
    const std::vector<std::pair<double, int>>& sorted, double prior_share) {
  const NumericAxis& a = numeric_[0];
  const bool continuous = axes_[0]->kind() == AxisKind::kContinuous;
  // Atoms, in increasing mu: runs of equal mu split by sigma.
  struct Atom {
    double mu;
    double sigma;
    double weight;
  };
  std::vector<Atom> atoms;
  atoms.reserve(sorted.size());
  for (size_t begin = 0; begin < sorted.size();) {
    size_t end = begin + 1;
    while (end < sorted.size() && sorted[end].first == sorted[begin].first) {
      ++end;
    }
    const size_t first = atoms.size();
    for (size_t r = begin; r < end; ++r) {
      const int j = sorted[r].second;
      atoms.push_back({a.mu[j], a.sigma[j], weight_[j]});
    }
    if (end - begin > 1) {
      std::sort(atoms.begin() + first, atoms.end(),
                [](const Atom& x, const Atom& y) { return x.sigma < y.sigma; });
      size_t out = first;
      for (size_t r = first + 1; r < atoms.size(); ++r) {
        if (atoms[r].sigma == atoms[out].sigma) {
          atoms[out].weight += atoms[r].weight;
        } else {
          atoms[++out] = atoms[r];
        }
      }
      atoms.resize(out + 1);
    }
    begin = end;
  }

  // Buckets of sigma within a factor of sqrt(2), in increasing sigma. Keys
  // span a few dozen values at most (sigma is in [1e-12, 1]).
  std::vector<int> keys;
  keys.reserve(atoms.size());
  int lowest = 0;
  int highest = 0;
  for (const Atom& t : atoms) {
    keys.push_back(std::ilogb(t.sigma * t.sigma));
    lowest = std::min(lowest, keys.back());
    highest = std::max(highest, keys.back());
  }
  std::vector<int> slot(highest - lowest + 1, 0);
  for (int key : keys) slot[key - lowest] = 1;
  int count = 0;
  for (int& s : slot) s = s ? count++ : -1;
  for (int& key : keys) key = slot[key - lowest];
  buckets_.resize(count);
  std::vector<size_t> sizes(count, 0);
  for (int key : keys) ++sizes[key];
  for (int k = 0; k < count; ++k) {
    Bucket& b = buckets_[k];
    b.sigma_min = kInf;
    b.sigma_max = 0;
    b.mu.reserve(sizes[k]);
    b.inv_sigma.reserve(sizes[k]);
    b.factor.reserve(sizes[k]);
  }
  Eigen::ArrayXd atom_mu(atoms.size());
  Eigen::ArrayXd atom_sigma(atoms.size());
  for (size_t t = 0; t < atoms.size(); ++t) {
    atom_mu[t] = atoms[t].mu;
    atom_sigma[t] = atoms[t].sigma;
  }
  const Eigen::ArrayXd mass = TruncationMass(atom_mu, atom_sigma);
  for (size_t t = 0; t < atoms.size(); ++t) {
    const Atom& atom = atoms[t];
    if (atom.weight <= 0) continue;  // a prior of weight 0
    Bucket& b = buckets_[keys[t]];
    const double s = atom.sigma;
    b.sigma_min = std::min(b.sigma_min, s);
    b.sigma_max = std::max(b.sigma_max, s);
    b.mu.push_back(atom.mu);
    b.inv_sigma.push_back(1 / s);
    const double z = mass[t];
    b.factor.push_back(continuous ? atom.weight / (z * s * kSqrt2Pi)
                                  : atom.weight / z);
  }
  // How far an atom can be and still matter. The prior's kernel gives every
  // point of [0, 1] a density of at least 0.92 * prior_share; atoms farther
  // than `reach` deviations add, all together, less than 1e-10 of that (for
  // bins too: a bin narrower than 0.2 sigma gets density times width, a wider
  // one's mass is at most the density bound times 5 sigma). With a prior of
  // weight 0 there is no such floor and every atom is visited.
  for (Bucket& b : buckets_) {
    if (b.mu.empty()) continue;
    if (!(prior_share > 0)) {
      b.reach = kInf;
      continue;
    }
    const double log_target =
        std::log(1e-10 * prior_share * 0.05 * b.sigma_min);
    b.reach = std::sqrt(std::max(1.0, -2 * (log_target + kLogSqrt2Pi)));
  }
}

double ParzenEstimator::LogDensity1D(double lo, double hi, bool binned,
                                     std::vector<double>& exponents,
                                     std::vector<double>& factors) const {
  // The buffers hold one entry per kernel at least, so no bounds checks.
  size_t count = 0;
  const double width = hi - lo;
  const double mid = 0.5 * (lo + hi);
  const double log_width = binned ? std::log(width) : 0;
  for (const Bucket& b : buckets_) {
    if (b.mu.empty()) continue;
    const double margin = b.reach * b.sigma_max;
    const size_t begin =
        std::lower_bound(b.mu.begin(), b.mu.end(), lo - margin) - b.mu.begin();
    const size_t size = b.mu.size();
    const double limit = hi + margin;
    for (size_t t = begin; t < size && b.mu[t] <= limit; ++t, ++count) {
      const double mu = b.mu[t];
      const double inv = b.inv_sigma[t];
      if (!binned) {
        const double z = (lo - mu) * inv;
        exponents[count] = -0.5 * z * z;
        factors[count] = b.factor[t];
      } else if (width * inv <= kMidpointWidth) {
        const double z = (mid - mu) * inv;
        exponents[count] = log_width - 0.5 * z * z - kLogSqrt2Pi;
        factors[count] = b.factor[t] * inv;
      } else {
        exponents[count] = LogNormalMass((lo - mu) * inv, (hi - mu) * inv);
        factors[count] = b.factor[t];
      }
    }
  }
  if (count == 0) return -kInf;
  const Eigen::Index size = static_cast<Eigen::Index>(count);
  const Eigen::Map<const Eigen::ArrayXd> e(exponents.data(), size);
  const Eigen::Map<const Eigen::ArrayXd> f(factors.data(), size);
  const double m = e.maxCoeff();
  if (!(m > -kInf)) return -kInf;
  return m + std::log((f * (e - m).exp()).sum());
}

Candidates ParzenEstimator::Sample(int count, Rng& rng) const {
  const size_t dims = axes_.size();
  Candidates out;
  out.count = count;
  out.coordinate.assign(dims, std::vector<double>(count));
  out.unit.assign(dims, std::vector<double>(count));
  out.bin.assign(dims, std::vector<int64_t>(count));
  for (int c = 0; c < count; ++c) {
    const double pick = UnitDraw(rng) * cumulative_weight_.back();
    const int64_t j =
        std::min<int64_t>(std::upper_bound(cumulative_weight_.begin(),
                                           cumulative_weight_.end(), pick) -
                              cumulative_weight_.begin(),
                          kernels() - 1);
    for (size_t d = 0; d < dims; ++d) {
      const Axis& axis = *axes_[d];
      if (axis.kind() == AxisKind::kCategorical) {
        const CategoricalAxis& cat = categorical_[d];
        int64_t k;
        if (cat.category[j] >= 0 && UnitDraw(rng) < cat.keep) {
          k = static_cast<int64_t>(cat.category[j]);
        } else {
          k = std::min<int64_t>(
              static_cast<int64_t>(UnitDraw(rng) *
                                   static_cast<double>(axis.cardinality())),
              axis.cardinality() - 1);
        }
        out.coordinate[d][c] = static_cast<double>(k);
        out.bin[d][c] = k;
        continue;
      }
      const NumericAxis& a = numeric_[d];
      const double u = TruncatedNormalDraw(a.mu[j], a.sigma[j], UnitDraw(rng));
      out.unit[d][c] = u;
      out.coordinate[d][c] = axis.spec().FromUnit(u);
      if (axis.kind() == AxisKind::kBinned) {
        out.bin[d][c] = axis.BinOf(out.coordinate[d][c]);
      }
    }
  }
  return out;
}

Eigen::ArrayXd ParzenEstimator::LogDensity(const Candidates& cands) const {
  const size_t dims = axes_.size();
  Eigen::ArrayXd out(cands.count);
  if (!category_log_prob_.empty()) {
    for (int c = 0; c < cands.count; ++c) {
      out[c] = category_log_prob_[cands.bin[0][c]];
    }
    return out;
  }
  if (!buckets_.empty()) {
    std::vector<double> exponents(kernels());
    std::vector<double> factors(kernels());
    const bool binned = axes_[0]->kind() == AxisKind::kBinned;
    for (int c = 0; c < cands.count; ++c) {
      double lo = cands.unit[0][c];
      double hi = lo;
      if (binned) axes_[0]->BinEdges(cands.bin[0][c], &lo, &hi);
      out[c] = LogDensity1D(lo, hi, binned, exponents, factors);
    }
    return out;
  }
  // Binned axes: each distinct bin's log mass under each atom, computed once
  // (candidates often share bins, kernels often share atoms).
  std::vector<std::vector<std::vector<double>>> tables(dims);
  std::vector<std::vector<int>> row_of(dims);
  std::vector<std::vector<std::pair<double, double>>> edges(dims);
  for (size_t d = 0; d < dims; ++d) {
    if (axes_[d]->kind() != AxisKind::kBinned) continue;
    const NumericAxis& a = numeric_[d];
    std::vector<int64_t> bins = cands.bin[d];
    std::sort(bins.begin(), bins.end());
    bins.erase(std::unique(bins.begin(), bins.end()), bins.end());
    row_of[d].resize(cands.count);
    for (int c = 0; c < cands.count; ++c) {
      row_of[d][c] = static_cast<int>(
          std::lower_bound(bins.begin(), bins.end(), cands.bin[d][c]) -
          bins.begin());
    }
    // Entries are computed when first needed (NaN until then): the pruned
    // evaluation below never reads most of them after the first axis, and
    // with per-gap widths each costs two erfc calls.
    tables[d].assign(
        bins.size(),
        std::vector<double>(a.atom_mu.size(),
                            std::numeric_limits<double>::quiet_NaN()));
    edges[d].resize(bins.size());
    for (size_t r = 0; r < bins.size(); ++r) {
      axes_[d]->BinEdges(bins[r], &edges[d][r].first, &edges[d][r].second);
    }
  }
  // The log mass of bin row `r` of binned axis `d` under atom `t`, minus the
  // atom's log truncation mass.
  auto table_entry = [&](size_t d, int r, int t) {
    double& entry = tables[d][r][t];
    if (!std::isnan(entry)) return entry;
    const NumericAxis& a = numeric_[d];
    const double lo = edges[d][r].first;
    const double hi = edges[d][r].second;
    const double width = hi - lo;
    const double mu = a.atom_mu[t];
    const double s = a.atom_sigma[t];
    double log_mass;
    if (width <= kMidpointWidth * s) {
      const double z = (0.5 * (lo + hi) - mu) / s;
      log_mass = std::log(width) - 0.5 * z * z - std::log(s) - kLogSqrt2Pi;
    } else {
      log_mass = LogNormalMass((lo - mu) / s, (hi - mu) / s);
    }
    entry = log_mass - a.atom_log_z[t];
    return entry;
  };

  // The hot loop of a multivariate suggestion: every candidate against every
  // kernel ("above" has one per trial). A kernel's log term starts at its
  // constant and each axis adds a term <= 0 (minus a square for continuous
  // axes, a log probability for the others; up to rounding), so a partial
  // sum bounds the final term from above. Kernels go in blocks of kBlock,
  // axis by axis, and a block is dropped as soon as all its partial sums are
  // below `cutoff`: the best complete term so far (a lower bound of the
  // maximum) minus slack = 40 + log(K). Every dropped term then ends below
  // max - slack, so the K of them at most change the sum by less than e^-40
  // (4e-18) of it, below its rounding error: the result is exact up to
  // rounding. With Optuna 5's narrow per-gap kernels most blocks go after an
  // axis or two, and only the kept terms need an exp.
  const int n_kernels = kernels();
  const int n_blocks = (n_kernels + kBlock - 1) / kBlock;
  const double slack = 40 + std::log(static_cast<double>(n_kernels));
  std::vector<double> kept;
  kept.reserve(static_cast<size_t>(n_blocks * kBlock));
  for (int c = 0; c < cands.count; ++c) {
    // The log terms of the kernels of block `b` after all axes, or false
    // once they are all below `cutoff`.
    auto block = [&](int b, double cutoff, Block& tb) {
      const int begin = b * kBlock;
      tb = Block::Map(constant_.data() + begin);
      for (size_t d = 0; d < dims; ++d) {
        switch (axes_[d]->kind()) {
          case AxisKind::kContinuous: {
            // Eigen's fixed-size arrays, which it vectorizes (SSE2) where
            // GCC's -O2 would not (it cannot rule out aliasing).
            const NumericAxis& a = numeric_[d];
            const double x = cands.unit[d][c];
            tb -= (Block::Map(a.mu.data() + begin) - x).square() *
                  Block::Map(a.half_precision.data() + begin);
            break;
          }
          case AxisKind::kBinned: {
            const NumericAxis& a = numeric_[d];
            const int r = row_of[d][c];
            for (int j = 0; j < kBlock; ++j) {
              tb[j] += table_entry(d, r, a.atom[begin + j]);
            }
            break;
          }
          case AxisKind::kCategorical: {
            const CategoricalAxis& cat = categorical_[d];
            const double x = cands.coordinate[d][c];
            for (int j = 0; j < kBlock; ++j) {
              tb[j] += cat.category[begin + j] == x ? cat.log_hit[begin + j]
                                                    : cat.log_miss[begin + j];
            }
            break;
          }
        }
        if (tb.maxCoeff() < cutoff) return false;
      }
      return true;
    };
    Block tb;
    // The block of the prior's kernel (the last) first, complete: any
    // complete term bounds the maximum from below, and the prior's, spread
    // over the whole space, is seldom far below it.
    kept.clear();
    double best = -kInf;
    block(n_blocks - 1, -kInf, tb);
    for (int j = 0; j < kBlock; ++j) {
      kept.push_back(tb[j]);
      best = std::max(best, tb[j]);
    }
    for (int b = 0; b + 1 < n_blocks; ++b) {
      const double cutoff = best - slack;
      if (!block(b, cutoff, tb)) continue;
      for (int j = 0; j < kBlock; ++j) {
        if (tb[j] >= cutoff) {
          kept.push_back(tb[j]);
          best = std::max(best, tb[j]);
        }
      }
    }
    if (!(best > -kInf)) {
      out[c] = -kInf;
      continue;
    }
    const double cutoff = best - slack;
    double sum = 0;
    for (double v : kept) {
      if (v >= cutoff) sum += std::exp(v - best);
    }
    out[c] = best + std::log(sum);
  }
  return out;
}

}  // namespace tpe_internal
}  // namespace hpo
