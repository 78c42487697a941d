#include "samplers/tpe/parzen_estimator.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
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
// What the bounds of a binned axis's log mass (see LogDensity) add for the
// rounding of the masses they bound and of their own arithmetic.
constexpr double kBinnedBoundMargin = 1e-6;
// LogDensity: terms more than 40 + log K below the largest are left out, so
// that the K of them change the sum by less than e^-40 of it (see there).
double ExactSlack(int kernels) {
  return 40 + std::log(static_cast<double>(kernels));
}
// LogDensityBounds: the slack (plus log K) below the largest term under which
// terms are left out, which bounds the density within a factor of 1 + e^-6
// (2.5e-3), and what rounding may add to either bound, relatively.
constexpr double kBoundsSlack = 6;
constexpr double kBoundsMargin = 1e-9;
// A block's bound of its largest constant_ before it is laid out (see
// lazy_strips_): what log's rounding may take off, relatively.
constexpr double kFoldBoundMargin = 1e-12;
// Lazy strips are for estimators of two or three axes (more have lazy tails).
constexpr int kLazyStripsMaxAxes = 3;
// Kernels per block in a joint estimator's evaluation (see LogDensity): small
// enough that a block's kernels are all far from a candidate more often than
// not, large enough to vectorize.
constexpr int kBlock = 8;
// A lower bound of TruncationMass: a kernel's mass over [0, 1] is at least
// Phi(1) - Phi(0) = 0.3413 (mu in [0, 1], sigma <= 1), and the approximation
// errs by under 1.5e-7.
constexpr double kMassLowerBound = 0.3;
// Joint estimators with fewer continuous axes compute every truncation mass
// up front (see lazy_tails_).
constexpr int kLazyTailsMinAxes = 4;
// ... and observations: with few (l's), wide kernels reach most candidates,
// and their masses are needed anyway.
constexpr int kLazyTailsMinObservations = 64;
// Estimators of at most this many observations keep a KernelMemo in their
// memory (l's); with more, the memo would cost more than it saves.
constexpr int kMemoMaxObservations = 64;
// Joint estimators with fewer observations keep one strip (see
// SplitIntoStrips): with wide kernels every strip is within reach anyway.
constexpr int kStripMinObservations = 64;
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

// TruncationMass where a tail matters.
double TruncationTails(double mu, double sigma) {
  return 1 - ApproxUpperTail((1 - mu) / sigma) - ApproxUpperTail(mu / sigma);
}

// The mass of N(mu, sigma) over [0, 1], for mu in [0, 1]: at least 0.34, so
// the tails' absolute error is a relative error under 3e-7 in a normalizer,
// immaterial to TPE's ratios. Exact erfc calls here were a third of a
// multivariate suggestion.
inline double TruncationMass(double mu, double sigma) {
  // Both ends 9 deviations away or more (most narrow kernels): the tails are
  // under 1.2e-19 each, and 1 minus them rounds to exactly 1.
  if (mu >= 9 * sigma && 1 - mu >= 9 * sigma) return 1;
  return TruncationTails(mu, sigma);
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
    plain_ = !spec.log;
    plain_continuous_ = plain_ && spec.kind == ParamKind::kDouble &&
                        spec.step == 0 && spec.q == 0 &&
                        std::isfinite(spec.low) && std::isfinite(spec.high);
    unit_lo_ = lo;
    unit_hi_ = hi;
  }
}

double Axis::ObserveSlow(double x) const {
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
    // Q(a) - Q(b) directly, with one log, while Q(a) is far from underflow
    // and Q(b) at most e^-1/8 of it (b - a >= 1/2): the subtraction then
    // loses at most 3 bits.
    if (a < 25 && b - a >= 0.5) {
      return std::log(UpperTail(a) - UpperTail(b));
    }
    const double la = LogUpperTail(a);
    return la + std::log1p(-std::exp(LogUpperTail(b) - la));
  }
  if (b <= 0) return LogNormalMass(-b, -a);
  // Both tails beyond 9 deviations: the missing mass is under 3e-19.
  if (a < -9 && b > 9) return 0;
  return std::log1p(-(UpperTail(b) + UpperTail(-a)));
}

namespace {

// Most kernels are narrow and 9 deviations from both ends. There the lower
// end's CDF is under 1.2e-19, below half an ulp of any u >= 2^-9, and the
// upper end's rounds to exactly 1: the general formula's pa + u * (pb - pa)
// is u, bit for bit, and its two erfc calls can be skipped.
inline bool DrawNeedsEnds(double mu, double sigma, double u) {
  return !(u >= 0x1p-9 && mu >= 9 * sigma && 1 - mu >= 9 * sigma);
}

// The kernel's CDF at the ends of [0, 1].
inline void EndCdfs(double mu, double sigma, double* pa, double* pb) {
  *pa = NormalCdf(-mu / sigma);
  *pb = NormalCdf((1 - mu) / sigma);
}

// The draw at u between CDF values pa and pb (u itself without the ends).
inline double DrawBetween(double mu, double sigma, double pa, double pb,
                          double u, bool ends) {
  const double x = mu + sigma * NormalQuantile(ends ? pa + u * (pb - pa) : u);
  // Rounding at the extremes can step just outside, or to an infinity.
  return std::isnan(x) ? mu : std::clamp(x, 0.0, 1.0);
}

}  // namespace

double TruncatedNormalDraw(double mu, double sigma, double u) {
  const bool ends = DrawNeedsEnds(mu, sigma, u);
  double pa = 0;
  double pb = 1;
  if (ends) EndCdfs(mu, sigma, &pa, &pb);
  return DrawBetween(mu, sigma, pa, pb, u, ends);
}

void WriteForgettingWeights(int64_t n, int64_t flat, double* w) {
  std::fill_n(w, std::max<int64_t>(n, 0), 1.0);
  if (n <= flat || n <= 0) return;
  // numpy.linspace(1 / n, 1, n - flat) for the oldest ones, as numpy computes
  // it (i * step + start, the end exact), so that the weights are Optuna's
  // bit for bit.
  const int64_t ramp = n - flat;
  const double first = 1.0 / static_cast<double>(n);
  if (ramp == 1) {
    w[0] = first;
    return;
  }
  const double step = (1 - first) / static_cast<double>(ramp - 1);
  for (int64_t i = 0; i < ramp - 1; ++i) {
    w[i] = static_cast<double>(i) * step + first;
  }
  w[ramp - 1] = 1;
}

std::vector<double> ForgettingWeights(int64_t n, int64_t flat) {
  std::vector<double> w(static_cast<size_t>(std::max<int64_t>(n, 0)));
  WriteForgettingWeights(n, flat, w.data());
  return w;
}

double PairwiseSum(const double* x, int64_t n) {
  if (n < 8) {
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += x[i];
    return sum;
  }
  if (n <= 128) {
    double r[8];
    for (int j = 0; j < 8; ++j) r[j] = x[j];
    int64_t i = 8;
    for (; i < n - n % 8; i += 8) {
      for (int j = 0; j < 8; ++j) r[j] += x[i + j];
    }
    double sum =
        ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) sum += x[i];
    return sum;
  }
  int64_t half = n / 2;
  half -= half % 8;
  return PairwiseSum(x, half) + PairwiseSum(x + half, n - half);
}

namespace {

// Room for n elements in a buffer kept from one estimator to the next (they
// grow by a row or two each time): geometrically, where an exact reservation
// would reallocate every time.
template <typename Vector>
void Reserve(Vector& v, size_t n) {
  if (v.capacity() < n) v.reserve(std::max(n, 2 * v.capacity()));
}
template <typename Vector, typename Iterator>
void AssignGrowing(Vector& v, Iterator begin, Iterator end) {
  Reserve(v, static_cast<size_t>(end - begin));
  v.assign(begin, end);
}

// Whether the increasing rows `earlier` are all among the increasing rows
// rows[0, n), and if so the positions of the others in `added`.
bool RowsAdded(const std::vector<int>& earlier, const int* rows, int n,
               std::vector<int>& added) {
  added.clear();
  size_t i = 0;
  for (int j = 0; j < n; ++j) {
    if (j > 0 && rows[j] <= rows[j - 1]) return false;
    if (i < earlier.size() && earlier[i] < rows[j]) return false;
    if (i < earlier.size() && earlier[i] == rows[j]) {
      ++i;
    } else {
      added.push_back(j);
    }
  }
  return i == earlier.size();
}

ObservationView RowMajor(const std::vector<double>& observations, size_t dims) {
  ObservationView view;
  view.stride = static_cast<ptrdiff_t>(dims);
  view.n = dims == 0 ? 0 : static_cast<int>(observations.size() / dims);
  for (size_t d = 0; d < dims; ++d) {
    view.columns.push_back(observations.data() + d);
  }
  return view;
}

}  // namespace

ParzenEstimator::ParzenEstimator(const std::vector<const Axis*>& axes,
                                 const std::vector<double>& observations,
                                 const EstimatorOptions& options)
    : axes_(axes), owned_(observations) {
  Build(RowMajor(owned_, axes.size()), options, nullptr);
}

ParzenEstimator::ParzenEstimator(const std::vector<const Axis*>& axes,
                                 const ObservationView& observations,
                                 const EstimatorOptions& options,
                                 EstimatorMemory* memory)
    : axes_(axes) {
  Build(observations, options, memory);
}

void ParzenEstimator::Rebuild(const std::vector<const Axis*>& axes,
                              const ObservationView& observations,
                              const EstimatorOptions& options,
                              EstimatorMemory* memory) {
  // What Build leaves as a new estimator has it unless it sets it: cleared
  // here, keeping the buffers (Build resizes the rest, whose sizes mostly
  // stay, and overwrites them).
  axes_ = axes;
  owned_.clear();
  rows_.clear();
  cumulative_weight_.clear();
  for (NumericAxis& a : numeric_) {
    a.atom.clear();
    a.atom_mu.clear();
    a.atom_sigma.clear();
    a.atom_log_z.clear();
    a.atom_log_sigma.clear();
  }
  buckets_.clear();
  category_log_prob_.clear();
  strip_begin_.clear();
  strip_cells_ = 0;
  cells_per_strip_ = 0;
  strips_.clear();
  pending_.clear();
  cells_.clear();
  ready_.clear();
  memo_ = nullptr;
  Build(observations, options, memory);
}

void ParzenEstimator::Build(const ObservationView& observations,
                            const EstimatorOptions& options,
                            EstimatorMemory* memory) {
  const std::vector<const Axis*>& axes = axes_;
  const size_t dims = axes.size();
  const int n = observations.n;
  const int kernels = n + 1;  // the prior's kernel is the last one
  // Where lazy axes read their kernels' mu (see LazyMu).
  if (observations.rows != nullptr) {
    AssignGrowing(rows_, observations.rows, observations.rows + n);
  }
  stride_ = observations.stride;
  columns_ = observations.columns;

  // Mixture weights: forgetting weights for the observations, prior_weight for
  // the prior; the prior alone when there is nothing else.
  // (Optuna normalizes by numpy's sum, which is pairwise.)
  weight_.resize(kernels);
  WriteForgettingWeights(n, options.linear_forgetting, weight_.data());
  weight_[n] = n == 0 ? 1.0 : options.prior_weight;
  const double total = PairwiseSum(weight_.data(), kernels);
  // (Sample sums them up when it first draws: most estimators never do.)
  for (int j = 0; j < kernels; ++j) weight_[j] /= total;
  const double prior_share = weight_[n];
  // Several axes: per kernel (in evaluation order), 1 / weight times the
  // continuous axes' sigma and truncation mass, not yet folded into constant_
  // (whose log is then the log weight minus the normalizers: one log per
  // kernel). A weight of 0 (the prior's, with prior_weight 0) gives an
  // infinite scale and a term of -inf, as it should.
  const bool joint = dims > 1;
  // LogDensity can skip kernels far from a candidate along the first axis
  // when it is numeric, continuous or binned (see there).
  sorted_first_axis_ = joint && axes[0]->kind() != AxisKind::kCategorical;
  lazy_strips_ = false;  // (decided with the strips)
  int continuous = 0;
  int binned = 0;
  for (const Axis* axis : axes) {
    continuous += axis->kind() == AxisKind::kContinuous;
    binned += axis->kind() == AxisKind::kBinned;
  }
  const double min_sigma =
      options.consider_magic_clip
          ? 1.0 / std::min(100.0, static_cast<double>(n + 2))
          : kMinSigma;
  // LogDensity's blocks are fixed-size Eigen arrays, which it vectorizes:
  // padded with kernels whose log term is -inf (they are never kept).
  const int padded = (kernels + kBlock - 1) / kBlock * kBlock;
  Eigen::ArrayXd& scale = scale_;
  if (joint) {
    constant_.setZero(padded);
    scale.setOnes(padded);
    // The evaluation order: kernel order, or by the first axis once it is
    // sorted (and scale set then).
    order_.resize(padded);
    std::iota(order_.begin(), order_.end(), 0);
    if (!sorted_first_axis_) {
      for (int j = 0; j < kernels; ++j) scale[j] = 1 / weight_[j];
    }
  }
  // The truncation masses that need the tails (kernels within 9 deviations
  // of an end; an exp and two divisions each) are left for LogDensity to
  // compute for the kernels it keeps (see there), kMassLowerBound standing
  // in for them here. Only when no fold of the scale below can happen
  // (scale >= (min_sigma * kMassLowerBound)^continuous > 1e-240, with exact
  // masses or the bound): the fold's timing would depend on them. And only
  // in several dimensions, where LogDensity keeps few kernels; in two or
  // three it keeps many, and the masses are cheaper all at once.
  lazy_tails_ =
      sorted_first_axis_ && binned == 0 && continuous >= kLazyTailsMinAxes &&
      n >= kLazyTailsMinObservations &&
      continuous * std::log10(1 / (min_sigma * kMassLowerBound)) < 240;
  if (lazy_tails_) pending_.assign(padded, 0);
  // Kernels' costly values carry over (KernelMemo) for few observations
  // (l's), and for many when the masses are all computed here (g's in two or
  // three dimensions), in slots by row.
  if (memory != nullptr && observations.rows != nullptr) {
    if (n <= kMemoMaxObservations) {
      memory->kernels.AssignSlots(observations.rows, n, dims, slot_);
      memo_ = &memory->kernels;
    } else if (joint && !lazy_tails_) {
      memory->kernels.AssignDenseSlots(observations.rows, n, dims, slot_);
      memo_ = &memory->kernels;
    }
  }
  min_sigma_ = min_sigma;
  lazy_axis_.assign(dims, 0);
  if (lazy_tails_) cells_.resize(dims);
  // Lazy axes (see lazy_axis_): how many, and per kernel (kernel order) on
  // how many of them its mu is within 9 min_sigma of an end, where the
  // bound takes kMassLowerBound for its truncation mass.
  int lazy_axes = 0;
  // (Counted in doubles: the loop that counts them then vectorizes.)
  std::vector<double> near_end;
  const double edge = 9 * min_sigma;
  // What the last estimator over these columns left: usable when its rows
  // are among these; `added` are the positions of the others.
  if (!joint || observations.rows == nullptr) memory = nullptr;
  std::vector<int> added;
  const bool remembered = memory != nullptr && memory->axes == axes &&
                          RowsAdded(memory->rows, observations.rows, n, added);
  // With a memory: where each of its rows is now (its rows keep their order,
  // the added ones come in between).
  std::vector<int>& now_of_earlier = now_of_earlier_;
  now_of_earlier.clear();
  if (remembered) {
    Reserve(now_of_earlier, memory->rows.size());
    size_t next = 0;
    for (int j = 0; j < n; ++j) {
      if (next < added.size() && added[next] == j) {
        ++next;
      } else {
        now_of_earlier.push_back(j);
      }
    }
  }
  // Which axes leave a sorted order in the memory (the others' are emptied).
  std::vector<char> sorted_here(dims, 0);
  if (memory != nullptr) memory->sorted.resize(dims);
  // One log per kernel, the prior's last (at position n in either order).
  // (std::log: glibc's is twice as fast as Eigen's vectorized one.)
  auto fold_scale = [&] {
    for (int p = 0; p < kernels; ++p) constant_[p] -= std::log(scale[p]);
    scale.setOnes();
  };

  numeric_.resize(dims);
  categorical_.resize(dims);
  UnitSort& sort = sort_;
  for (size_t d = 0; d < dims; ++d) {
    const Axis& axis = *axes[d];
    const double* column = observations.columns[d];
    const ptrdiff_t stride = observations.stride;
    const int* rows = observations.rows;
    auto obs = [&](int j) {
      return column[(rows == nullptr ? j : rows[j]) * stride];
    };

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
    const bool joint_continuous = joint && axis.kind() == AxisKind::kContinuous;
    const bool may_be_lazy = lazy_tails_ && joint_continuous && d > 0;
    const WidthCells* earlier =
        remembered && memory->cells[d].count > 0 ? &memory->cells[d] : nullptr;
    // A lazy axis reads its kernels' mu where the observations are (LazyMu).
    if (may_be_lazy && BuildWidthCells(ColumnReader{column, rows, stride}, n,
                                       options.consider_endpoints, cells_[d],
                                       earlier, added)) {
      lazy_axis_[d] = 1;
      ++lazy_axes;
      a.sigma.resize(0);  // (filled if Sigma asks)
      a.eval_mu.resize(padded);
      a.half_precision.resize(padded);
      // The prior's kernel (never pending) exactly, as below.
      scale[n] *= 1.0 * TruncationTails(0.5, 1.0);
      continue;
    }
    // Each kernel's mu, in kernel order. (Padded, as sigma: kept buffers
    // then keep their size for 8 builds.)
    Eigen::ArrayXd& mu = a.mu;
    mu.resize(padded);
    if (rows == nullptr) {
      for (int j = 0; j < n; ++j) mu[j] = column[j * stride];
    } else {
      for (int j = 0; j < n; ++j) mu[j] = column[rows[j] * stride];
    }
    mu[n] = 0.5;
    a.sigma.resize(padded);
    // The observations by increasing mu (ties by index, so the order is
    // fixed). The prior's kernel is not among them: Optuna 5 no longer counts
    // it as a neighbour.
    if (remembered && joint_continuous &&
        memory->sorted[d].index.size() == now_of_earlier.size()) {
      // The earlier rows in their sorted order, and the added ones merged in.
      MergeSorted(memory->sorted[d], now_of_earlier, mu.data(), added, sort);
    } else {
      SortUnit(mu.data(), n, sort);
    }
    if (memory != nullptr && joint_continuous) {
      AssignGrowing(memory->sorted[d].value, sort.value.begin(),
                    sort.value.end());
      AssignGrowing(memory->sorted[d].index, sort.index.begin(),
                    sort.index.end());
      sorted_here[d] = 1;
    }
    if (d == 0 && sorted_first_axis_) {
      std::copy(sort.index.begin(), sort.index.end(), order_.begin());
      SplitIntoStrips(observations, n, min_sigma);
      // Every axis continuous, in strips, and no fold before the end (the
      // scale is then at least (min_sigma kMassLowerBound)^continuous):
      // the evaluation layout is filled block by block as LogDensity first
      // reads each (see lazy_strips_).
      lazy_strips_ =
          options.lazy_layout && continuous == static_cast<int>(dims) &&
          dims <= static_cast<size_t>(kLazyStripsMaxAxes) && !lazy_tails_ &&
          strip_begin_.size() > 2 &&
          continuous * std::log10(1 / (min_sigma * kMassLowerBound)) < 240;
      if (!lazy_strips_) {
        for (int p = 0; p < kernels; ++p) scale[p] = 1 / weight_[order_[p]];
      }
    }
    // Optuna 5's bandwidths, in univariate and multivariate estimators alike
    // (it dropped Scott's rule): each observation's kernel is as wide as the
    // larger gap to its neighbours, the range's ends counting as neighbours,
    // except that without consider_endpoints the outermost kernels (with two
    // observations or more) take their inner gap only. Then clipped to
    // [min_sigma, 1].
    const double* sorted_mu = sort.value.data();
    const int* sorted_index = sort.index.data();
    auto clip = [&](double s) { return std::min(std::max(s, min_sigma), 1.0); };
    auto at = [&](int i) { return i < 0 ? 0.0 : i >= n ? 1.0 : sorted_mu[i]; };
    auto outer = [&](int i) {
      double s = std::max(at(i) - at(i - 1), at(i + 1) - at(i));
      if (!options.consider_endpoints && n >= 2) {
        if (i == 0) s = at(1) - at(0);
        if (i == n - 1) s = at(n - 1) - at(n - 2);
      }
      a.sigma[sorted_index[i]] = clip(s);
    };
    if (n > 0) outer(0);
    for (int i = 1; i + 1 < n; ++i) {
      a.sigma[sorted_index[i]] = clip(std::max(
          sorted_mu[i] - sorted_mu[i - 1], sorted_mu[i + 1] - sorted_mu[i]));
    }
    if (n > 1) outer(n - 1);
    a.sigma[n] = 1.0;  // the prior's kernel spans the range

    if (joint_continuous) {
      // What LogDensity needs per kernel, in evaluation order: mu and
      // 1 / (2 sigma^2), and the product of sigma and the truncation mass,
      // whose log is folded into constant_ (one log per kernel rather than
      // two per kernel and axis).
      a.eval_mu.resize(padded);
      a.half_precision.resize(padded);
      if (lazy_strips_) {
        a.eval_mu.tail(padded - kernels).setConstant(0.5);
        a.half_precision.tail(padded - kernels).setZero();
        continue;  // (MaterializeBlock)
      }
      // Most kernels' widths are clipped to min_sigma (with the magic clip and
      // many observations): its half precision computed once, the same value.
      const double clipped_half_precision = 0.5 * (1 / (min_sigma * min_sigma));
      double smallest = kInf;
      const double* kernel_mu = mu.data();
      for (int p = 0; p < kernels; ++p) {
        const int j = order_[p];
        const double mu = kernel_mu[j];
        const double sigma = a.sigma[j];
        a.eval_mu[p] = mu;
        a.half_precision[p] = sigma == min_sigma ? clipped_half_precision
                                                 : 0.5 * (1 / (sigma * sigma));
        // TruncationMass: 1 for interior kernels, else the tails, which the
        // lazy path leaves (but the prior's kernel's, always visited first).
        // (& rather than &&: no branch to mispredict.)
        const bool interior = (mu >= 9 * sigma) & (1 - mu >= 9 * sigma);
        double mass;
        if (lazy_tails_ && p != n) {
          mass = interior ? 1 : kMassLowerBound;
          pending_[p] |= !interior;
        } else if (interior) {
          mass = 1;
        } else {
          mass = TailedMass(j, d, mu, sigma);
        }
        scale[p] *= sigma * mass;
        // (With lazy tails no fold happens in between: every constant_ is
        // constant_chain_ then, set once below.)
        if (!lazy_tails_) constant_[p] -= kLogSqrt2Pi;
        smallest = std::min(smallest, scale[p]);
      }
      a.eval_mu.tail(padded - kernels).setConstant(0.5);
      a.half_precision.tail(padded - kernels).setZero();
      // A factor is at least 1e-12 * 0.34 (and 1 / weight >= 1): fold
      // before the product can underflow.
      if (smallest < 1e-250) fold_scale();
      continue;
    }
    // The univariate buckets and the binned atoms want every kernel in
    // order, the prior's too (after observations of the same mu).
    std::vector<std::pair<double, int>> sorted(n);
    for (int i = 0; i < n; ++i) sorted[i] = {sorted_mu[i], sorted_index[i]};
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
    std::vector<std::pair<double, int>> run;
    for (size_t begin = 0; begin < sorted.size();) {
      size_t end = begin + 1;
      while (end < sorted.size() && sorted[end].first == sorted[begin].first) {
        ++end;
      }
      run.clear();
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
          a.atom_log_z.push_back(TruncationMass(mu, s));  // log below
        }
        a.atom[run[r].second] = static_cast<int>(a.atom_mu.size() - 1);
      }
      begin = end;
    }
    for (double& z : a.atom_log_z) z = std::log(z);
    if (d == 0 && sorted_first_axis_) {
      // What the walk along the first axis reads (see LogDensity), as for a
      // continuous first axis, and the atoms' log sigma for its bounds.
      a.atom_log_sigma.resize(a.atom_sigma.size());
      for (size_t t = 0; t < a.atom_sigma.size(); ++t) {
        a.atom_log_sigma[t] = std::log(a.atom_sigma[t]);
      }
      a.eval_mu.resize(padded);
      a.half_precision.resize(padded);
      for (int p = 0; p < kernels; ++p) {
        const double sigma = a.sigma[order_[p]];
        a.eval_mu[p] = a.mu[order_[p]];
        a.half_precision[p] = 0.5 * (1 / (sigma * sigma));
      }
      a.eval_mu.tail(padded - kernels).setConstant(0.5);
      a.half_precision.tail(padded - kernels).setZero();
    }
  }
  if (joint) {
    // Without a fold, every kernel's constant_ is this before the last one.
    constant_chain_ = 0;
    for (int k = 0; k < continuous; ++k) constant_chain_ -= kLogSqrt2Pi;
    // What subtracting kLogSqrt2Pi once per continuous axis gives, kernel by
    // kernel, when no fold came in between (always with lazy tails).
    if (lazy_tails_) constant_.head(kernels).setConstant(constant_chain_);
    if (lazy_axes > 0) {
      CountNearEnds(n, edge, remembered ? memory : nullptr, added, near_end);
      // Every observation's kernel is pending, its constant_ a bound from
      // sigma * mass >= min_sigma * (1, or kMassLowerBound near an end) along
      // each lazy axis.
      std::vector<double> factor(lazy_axes + 1);
      factor[0] = std::pow(min_sigma, lazy_axes);
      for (int k = 1; k <= lazy_axes; ++k) {
        factor[k] = factor[k - 1] * kMassLowerBound;
      }
      for (int p = 0; p < kernels; ++p) {
        if (p == n) continue;
        scale[p] *= factor[static_cast<int>(near_end[order_[p]])];
        pending_[p] = 1;
      }
    }
    if (!lazy_strips_) fold_scale();
    if (lazy_axes > 0) {
      // Rounding, and the tails' approximation (1.5e-7 at most per axis),
      // may put an exact constant a hair above its bound.
      const double margin = 1e-6 * lazy_axes;
      for (int p = 0; p < kernels; ++p) {
        if (p != n) constant_[p] += margin;
      }
      ready_.assign(dims * static_cast<size_t>(padded / kBlock), 0);
    }
    constant_.tail(padded - kernels).setConstant(-kInf);
    BuildEvaluationLayout();
    if (lazy_strips_) block_ready_.assign(padded / kBlock, 0);
  }
  if (memory != nullptr) {
    memory->axes = axes;
    AssignGrowing(memory->rows, observations.rows, observations.rows + n);
    memory->lazy = lazy_axis_;
    for (size_t d = 0; d < dims; ++d) {
      if (!sorted_here[d]) memory->sorted[d].index.clear();
    }
    // (Empty without lazy axes: then there is nothing to count.)
    memory->near_end = std::move(near_end);
    memory->cells.resize(dims);
    for (size_t d = 0; d < dims; ++d) {
      const bool built =
          d < cells_.size() && cells_[d].count > 0 &&
          cells_[d].lo.size() == static_cast<size_t>(cells_[d].count);
      memory->cells[d] = built ? cells_[d] : WidthCells();
    }
  }
}

void ParzenEstimator::BuildEvaluationLayout() {
  const size_t dims = axes_.size();
  const int kernels = this->kernels();
  const int padded = static_cast<int>(order_.size());
  position_.resize(kernels);
  for (int p = 0; p < kernels; ++p) position_[order_[p]] = p;
  for (size_t d = 0; d < dims; ++d) {
    switch (axes_[d]->kind()) {
      case AxisKind::kContinuous:
        break;  // done by the constructor
      case AxisKind::kBinned: {
        // Built in kernel order; LogDensity reads it by position.
        std::vector<int>& atom = numeric_[d].atom;
        std::vector<int> by_position(padded, 0);
        for (int p = 0; p < kernels; ++p) by_position[p] = atom[order_[p]];
        atom.swap(by_position);
        break;
      }
      case AxisKind::kCategorical: {
        CategoricalAxis& c = categorical_[d];
        c.eval_category.resize(padded);
        for (int p = 0; p < kernels; ++p) {
          c.eval_category[p] = c.category[order_[p]];
        }
        c.eval_category.tail(padded - kernels).setConstant(-1);
        auto pad = [&](Eigen::ArrayXd& v) {
          v.conservativeResize(padded);
          v.tail(padded - kernels).setZero();
        };
        pad(c.log_hit);
        pad(c.log_miss);
        break;
      }
    }
  }
  if (!sorted_first_axis_) return;
  // Blocks before the last hold observations only (the prior's kernel is at
  // position n, in the last block, which LogDensity visits first).
  const int walk_end = padded - kBlock;
  const Eigen::ArrayXd& mu = numeric_[0].eval_mu;
  const Eigen::ArrayXd& hp = numeric_[0].half_precision;
  const size_t n_strips = strip_begin_.size() - 1;
  strips_.assign(n_strips, Strip());
  block_lo_.clear();
  block_hi_.clear();
  right_max_constant_.clear();
  right_min_half_precision_.clear();
  right_max_density_.clear();
  // A binned first axis: the bounds of its log masses (see LogDensity) need,
  // per block, the largest constant_ less the atom's log truncation mass,
  // and the same less log sigma; the first takes the place of the largest
  // constant_.
  const bool binned_first = axes_[0]->kind() == AxisKind::kBinned;
  const NumericAxis& first_axis = numeric_[0];
  if (lazy_strips_) LeastScales();
  const size_t most = static_cast<size_t>(walk_end / kBlock) + n_strips;
  block_lo_.reserve(most);
  block_hi_.reserve(most);
  right_max_constant_.reserve(most);
  right_min_half_precision_.reserve(most);
  for (size_t s = 0; s < n_strips; ++s) {
    Strip& strip = strips_[s];
    const int begin = strip_begin_[s];
    const int end = std::min(strip_begin_[s + 1], walk_end);
    strip.offset = static_cast<int>(block_lo_.size());
    strip.begin = begin;
    strip.end = end;
    if (begin >= end) continue;
    strip.first_block = begin / kBlock;
    strip.blocks = (end - 1) / kBlock - strip.first_block + 1;
    for (int b = strip.first_block; b < strip.first_block + strip.blocks; ++b) {
      // The strip's positions in the block (all of them with one strip).
      const int lo = std::max(begin, b * kBlock);
      const int hi = std::min(end, (b + 1) * kBlock);
      double max_constant;
      double min_half_precision;
      if (lazy_strips_) {
        // Not laid out yet (MaterializeBlock): the first axis's mu read in
        // kernel order, and bounds from the kernels' weights and widths.
        block_lo_.push_back(first_axis.mu[order_[lo]]);
        block_hi_.push_back(first_axis.mu[order_[hi - 1]]);
        LazyBlockBounds(lo, hi, &max_constant, &min_half_precision);
        right_max_constant_.push_back(max_constant);
        right_min_half_precision_.push_back(min_half_precision);
        continue;
      }
      block_lo_.push_back(mu[lo]);
      block_hi_.push_back(mu[hi - 1]);
      if (binned_first) {
        max_constant = -kInf;
        double max_density = -kInf;
        min_half_precision = kInf;
        for (int p = lo; p < hi; ++p) {
          const int t = first_axis.atom[p];
          const double c = constant_[p] - first_axis.atom_log_z[t];
          max_constant = std::max(max_constant, c);
          max_density = std::max(max_density, c - first_axis.atom_log_sigma[t]);
          min_half_precision = std::min(min_half_precision, hp[p]);
        }
        max_constant += kBinnedBoundMargin;
        right_max_density_.push_back(max_density + kBinnedBoundMargin);
      } else if (hi - lo == kBlock) {  // fixed-size: vectorized
        max_constant = Block::Map(constant_.data() + lo).maxCoeff();
        min_half_precision = Block::Map(hp.data() + lo).minCoeff();
      } else {
        max_constant = -kInf;
        min_half_precision = kInf;
        for (int p = lo; p < hi; ++p) {
          max_constant = std::max(max_constant, constant_[p]);
          min_half_precision = std::min(min_half_precision, hp[p]);
        }
      }
      right_max_constant_.push_back(max_constant);
      right_min_half_precision_.push_back(min_half_precision);
    }
    if (n_strips > 1) StripSecondAxis(s, begin, end);
  }
  left_max_constant_ = right_max_constant_;
  left_min_half_precision_ = right_min_half_precision_;
  left_max_density_ = right_max_density_;
  for (Strip& strip : strips_) {
    const int first = strip.offset;
    const int last = strip.offset + strip.blocks - 1;
    for (int b = first + 1; b <= last; ++b) {
      if (binned_first) {
        left_max_density_[b] =
            std::max(left_max_density_[b], left_max_density_[b - 1]);
      }
      left_max_constant_[b] =
          std::max(left_max_constant_[b], left_max_constant_[b - 1]);
      left_min_half_precision_[b] = std::min(left_min_half_precision_[b],
                                             left_min_half_precision_[b - 1]);
    }
    for (int b = last - 1; b >= first; --b) {
      if (binned_first) {
        right_max_density_[b] =
            std::max(right_max_density_[b], right_max_density_[b + 1]);
      }
      right_max_constant_[b] =
          std::max(right_max_constant_[b], right_max_constant_[b + 1]);
      right_min_half_precision_[b] = std::min(right_min_half_precision_[b],
                                              right_min_half_precision_[b + 1]);
    }
    if (strip.blocks > 0) strip.max_constant = left_max_constant_[last];
  }
}

void ParzenEstimator::SplitIntoStrips(const ObservationView& observations,
                                      int n, double min_sigma) {
  strip_begin_ = {0, n};
  if (axes_.size() < 2 || axes_[1]->kind() != AxisKind::kContinuous ||
      n < kStripMinObservations || !(min_sigma > 0)) {
    return;
  }
  // The cells of WidthCells, so that a lazy second axis's cells say how wide
  // its kernels in a strip can be.
  const double count = std::ceil(1.001 / min_sigma);
  if (count > 4.0 * n) return;
  const int cells = static_cast<int>(count);
  // A candidate reaches about min_sigma sqrt(2 slack) along an axis from the
  // narrowest kernels (see LogDensity): strips about that wide leave two or
  // three within reach of a candidate.
  const double slack = ExactSlack(n + 1);
  const double reach = min_sigma * std::sqrt(2 * slack);
  const int per = std::max(1, static_cast<int>(std::ceil(reach * count)));
  const int strips = (cells + per - 1) / per;
  if (strips < 2) return;
  // Each observation's strip (read in row order, which is memory order),
  // then a stable counting sort of the sorted observations by strip.
  const double* column = observations.columns[1];
  const int* rows = observations.rows;
  // (A cell's strip from a table: a division per observation is slow.)
  std::vector<int>& strip_of_cell = strip_scratch_[0];
  strip_of_cell.resize(cells);
  for (int cell = 0; cell < cells; ++cell) strip_of_cell[cell] = cell / per;
  std::vector<int>& strip_of = strip_scratch_[1];
  strip_of.resize(n);
  std::vector<int>& begin = strip_begin_;
  begin.assign(strips + 1, 0);
  for (int j = 0; j < n; ++j) {
    const double x =
        column[(rows == nullptr ? j : rows[j]) * observations.stride];
    const int cell = std::min(cells - 1, static_cast<int>(x * count));
    strip_of[j] = strip_of_cell[cell];
    ++begin[strip_of[j] + 1];
  }
  for (int s = 0; s < strips; ++s) begin[s + 1] += begin[s];
  std::vector<int>& next = strip_scratch_[2];
  next.assign(begin.begin(), begin.end() - 1);
  std::vector<int>& order = strip_scratch_[3];
  AssignGrowing(order, order_.begin(), order_.begin() + n);
  for (int p = 0; p < n; ++p) order_[next[strip_of[order[p]]]++] = order[p];
  strip_cells_ = count;
  cells_per_strip_ = per;
}

void ParzenEstimator::StripSecondAxis(size_t s, int begin, int end) {
  Strip& strip = strips_[s];
  const NumericAxis& a = numeric_[1];
  const bool lazy = lazy_axis_[1] != 0;
  strip.lo = kInf;
  strip.hi = -kInf;
  if (lazy_strips_) {
    // Not laid out yet (MaterializeBlock): read in kernel order, the same
    // values.
    double widest = 0;
    for (int p = begin; p < end; ++p) {
      const int j = order_[p];
      strip.lo = std::min(strip.lo, a.mu[j]);
      strip.hi = std::max(strip.hi, a.mu[j]);
      widest = std::max(widest, a.sigma[j]);
    }
    strip.min_half_precision = widest == min_sigma_
                                   ? 0.5 * (1 / (min_sigma_ * min_sigma_))
                                   : 0.5 * (1 / (widest * widest));
    return;
  }
  for (int p = begin; p < end; ++p) {
    const double mu = lazy ? LazyMu(1, order_[p]) : a.eval_mu[p];
    strip.lo = std::min(strip.lo, mu);
    strip.hi = std::max(strip.hi, mu);
  }
  if (!lazy) {
    strip.min_half_precision =
        a.half_precision.segment(begin, end - begin).minCoeff();
    return;
  }
  // On a lazy axis only a cell's smallest and largest mu can be wider than
  // min_sigma: the widest of them bounds every width in the strip, and the
  // half precision, as Materialize computes it, shrinks with the width.
  const WidthCells& c = cells_[1];
  const int first_cell = static_cast<int>(s) * cells_per_strip_;
  const int end_cell =
      std::min(static_cast<int>(c.lo.size()), first_cell + cells_per_strip_);
  double widest = min_sigma_;
  for (int k = first_cell; k < end_cell; ++k) {
    if (!(c.lo[k] <= 1)) continue;  // empty
    widest = std::max({widest, CellWidth(c, c.lo[k]), CellWidth(c, c.hi[k])});
  }
  strip.min_half_precision = widest == min_sigma_
                                 ? 0.5 * (1 / (min_sigma_ * min_sigma_))
                                 : 0.5 * (1 / (widest * widest));
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
  for (size_t t = 0; t < atoms.size(); ++t) {
    const Atom& atom = atoms[t];
    if (atom.weight <= 0) continue;  // a prior of weight 0
    Bucket& b = buckets_[keys[t]];
    const double s = atom.sigma;
    b.sigma_min = std::min(b.sigma_min, s);
    b.sigma_max = std::max(b.sigma_max, s);
    b.mu.push_back(atom.mu);
    b.inv_sigma.push_back(1 / s);
    const double z = TruncationMass(atom.mu, s);
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

// Adds values to cells' two smallest and two largest (equal when an end
// occurs twice), without a branch: the values are in random order. The
// result does not depend on the order values are added in.
void AddToWidthCells(const ColumnReader& mu, const int* which, int m,
                     WidthCells& c) {
  const int last = static_cast<int>(c.lo.size()) - 1;
  double* lo = c.lo.data();
  double* hi = c.hi.data();
  double* lo2 = c.lo2.data();
  double* hi2 = c.hi2.data();
  for (int i = 0; i < m; ++i) {
    const double x = mu[which == nullptr ? i : which[i]];
    const int k = std::min(last, static_cast<int>(x * c.count));
    lo2[k] = std::min(lo2[k], std::max(lo[k], x));
    lo[k] = std::min(lo[k], x);
    hi2[k] = std::max(hi2[k], std::min(hi[k], x));
    hi[k] = std::max(hi[k], x);
  }
}

bool ParzenEstimator::BuildWidthCells(const ColumnReader& mu, int n,
                                      bool consider_endpoints, WidthCells& c,
                                      const WidthCells* earlier,
                                      const std::vector<int>& added) const {
  if (n < 64 || !(min_sigma_ > 0)) return false;
  // Values in one cell are less than 1 / count <= min_sigma / 1.001 apart:
  // their rounded difference is at most min_sigma.
  c.count = std::ceil(1.001 / min_sigma_);
  if (c.count > 4.0 * n) return false;
  const int cells = static_cast<int>(c.count);
  if (earlier != nullptr && earlier->count == c.count) {
    c.lo = earlier->lo;
    c.hi = earlier->hi;
    c.lo2 = earlier->lo2;
    c.hi2 = earlier->hi2;
    AddToWidthCells(mu, added.data(), static_cast<int>(added.size()), c);
  } else {
    c.lo.assign(cells, kInf);
    c.hi.assign(cells, -kInf);
    c.lo2.assign(cells, kInf);
    c.hi2.assign(cells, -kInf);
    AddToWidthCells(mu, nullptr, n, c);
  }
  const double* lo = c.lo.data();
  const double* hi = c.hi.data();
  const double* lo2 = c.lo2.data();
  const double* hi2 = c.hi2.data();
  bool unique = true;
  for (int k = 0; k < cells; ++k) {
    unique &= (lo[k] > 1) | ((lo2[k] != lo[k]) & (hi2[k] != hi[k]));
  }
  if (!unique) return false;
  // The outermost observations' outer gap is to the range's end with
  // consider_endpoints, and ignored without (measured from themselves: 0).
  c.before.resize(cells);
  c.after.resize(cells);
  double seen = consider_endpoints ? 0.0 : kInf;
  for (int k = 0; k < cells; ++k) {
    c.before[k] = seen == kInf ? c.lo[k] : seen;
    if (c.hi[k] >= 0) seen = c.hi[k];
  }
  seen = consider_endpoints ? 1.0 : kInf;
  for (int k = cells - 1; k >= 0; --k) {
    c.after[k] = seen == kInf ? c.hi[k] : seen;
    if (c.lo[k] <= 1) seen = c.lo[k];
  }
  return true;
}

void ParzenEstimator::CountNearEnds(int n, double edge,
                                    const EstimatorMemory* memory,
                                    const std::vector<int>& added,
                                    std::vector<double>& near_end) const {
  // Per kernel, on how many lazy axes its mu is within `edge` of an end.
  // What the memory holds for its rows stands when it was counted over the
  // same lazy axes; then only the added rows are counted.
  const bool reuse = memory != nullptr && memory->lazy == lazy_axis_ &&
                     memory->near_end.size() == memory->rows.size();
  near_end.assign(n, 0);
  auto count = [&](int j) {
    double near = 0;
    for (size_t d = 0; d < lazy_axis_.size(); ++d) {
      if (!lazy_axis_[d]) continue;
      const double x = LazyMu(d, j);
      near += (x < edge) | (1 - x < edge) ? 1.0 : 0.0;
    }
    return near;
  };
  if (!reuse) {
    for (int j = 0; j < n; ++j) near_end[j] = count(j);
    return;
  }
  size_t next = 0;  // in added
  size_t k = 0;     // in the memory's rows
  for (int j = 0; j < n; ++j) {
    if (next < added.size() && added[next] == j) {
      near_end[j] = count(j);
      ++next;
    } else {
      near_end[j] = memory->near_end[k++];
    }
  }
}

double ParzenEstimator::KernelSigma(size_t d, int j) const {
  if (!lazy_axis_[d]) return numeric_[d].sigma[j];
  if (j == kernels() - 1) return 1.0;  // the prior's
  return CellWidth(cells_[d], LazyMu(d, j));
}

void ParzenEstimator::Materialize(size_t d, int b) const {
  const NumericAxis& a = numeric_[d];
  const int kernels = this->kernels();
  const double clipped_half_precision = 0.5 * (1 / (min_sigma_ * min_sigma_));
  const WidthCells& cells = cells_[d];
  for (int p = b * kBlock; p < (b + 1) * kBlock; ++p) {
    if (p >= kernels) {  // padding
      a.eval_mu[p] = 0.5;
      a.half_precision[p] = 0;
      continue;
    }
    const int j = order_[p];
    const double mu = LazyMu(d, j);
    // (KernelSigma, with mu read once.)
    const double sigma = j == kernels - 1 ? 1.0 : CellWidth(cells, mu);
    a.eval_mu[p] = mu;
    a.half_precision[p] = sigma == min_sigma_ ? clipped_half_precision
                                              : 0.5 * (1 / (sigma * sigma));
  }
  ready_[d * (order_.size() / kBlock) + b] = 1;
}

double ParzenEstimator::TailedMass(int j, size_t d, double mu,
                                   double sigma) const {
  double* e = Memo(j, d, mu, sigma);
  if (e == nullptr) return TruncationTails(mu, sigma);
  if (std::isnan(e[KernelMemo::kMass])) {
    e[KernelMemo::kMass] = TruncationTails(mu, sigma);
  }
  return e[KernelMemo::kMass];
}

void ParzenEstimator::MaterializeBlock(int b) const {
  const int kernels = this->kernels();
  const double clipped_half_precision = 0.5 * (1 / (min_sigma_ * min_sigma_));
  for (int p = b * kBlock; p < std::min(kernels, (b + 1) * kBlock); ++p) {
    // What the constructor computes for position p without lazy strips, in
    // the same order of operations: scale and constant_ axis by axis, then
    // the fold.
    const int j = order_[p];
    double scale = 1 / weight_[j];
    double constant = 0;
    for (size_t d = 0; d < axes_.size(); ++d) {
      const NumericAxis& a = numeric_[d];
      const double mu = a.mu[j];
      const double sigma = a.sigma[j];
      a.eval_mu[p] = mu;
      a.half_precision[p] = sigma == min_sigma_ ? clipped_half_precision
                                                : 0.5 * (1 / (sigma * sigma));
      const bool interior = (mu >= 9 * sigma) & (1 - mu >= 9 * sigma);
      const double mass = interior ? 1 : TailedMass(j, d, mu, sigma);
      scale *= sigma * mass;
      constant -= kLogSqrt2Pi;
    }
    constant_[p] = constant - std::log(scale);
  }
  block_ready_[b] = 1;
}

void ParzenEstimator::LazyBlockBounds(int lo, int hi, double* max_constant,
                                      double* min_half_precision) const {
  double smallest = kInf;
  double widest = 0;
  const double* sigma0 = numeric_[0].sigma.data();
  for (int p = lo; p < hi; ++p) {
    const int j = order_[p];
    smallest = std::min(smallest, least_scale_[j]);
    widest = std::max(widest, sigma0[j]);
  }
  double bound = constant_chain_ - std::log(smallest);
  if (std::isfinite(bound)) {
    bound += kFoldBoundMargin * std::max(1.0, std::abs(bound));
  }
  *max_constant = bound;
  *min_half_precision = widest == min_sigma_
                            ? 0.5 * (1 / (min_sigma_ * min_sigma_))
                            : 0.5 * (1 / (widest * widest));
}

void ParzenEstimator::LeastScales() {
  // A kernel's scale is (1 / weight) times sigma times the truncation mass
  // per axis, in that order; the mass is 1 for kernels 9 widths from both
  // ends and at least kMassLowerBound for the others. Rounding is monotone,
  // so this is at most the scale MaterializeBlock computes; log's rounding
  // is what kFoldBoundMargin covers. In kernel order: no gathers.
  const int n = kernels() - 1;
  least_scale_.resize(n);
  for (int j = 0; j < n; ++j) least_scale_[j] = 1 / weight_[j];
  for (size_t d = 0; d < axes_.size(); ++d) {
    const double* mu = numeric_[d].mu.data();
    const double* sigma = numeric_[d].sigma.data();
    for (int j = 0; j < n; ++j) {
      const bool interior =
          (mu[j] >= 9 * sigma[j]) & (1 - mu[j] >= 9 * sigma[j]);
      least_scale_[j] *= sigma[j] * (interior ? 1.0 : kMassLowerBound);
    }
  }
}

Eigen::Map<const Eigen::ArrayXd> ParzenEstimator::Sigma(size_t axis) const {
  const NumericAxis& a = numeric_[axis];
  if (lazy_axis_[axis] && a.sigma.size() == 0) {
    a.sigma.resize(kernels());
    for (int j = 0; j < kernels(); ++j) a.sigma[j] = KernelSigma(axis, j);
  }
  return Eigen::Map<const Eigen::ArrayXd>(a.sigma.data(), kernels());
}

double* ParzenEstimator::Memo(int j, size_t d, double mu, double sigma) const {
  return memo_ == nullptr ? nullptr : memo_->Entry(slot_[j], d, mu, sigma);
}

double ParzenEstimator::ExactConstant(int p) const {
  const int j = order_[p];
  double scale = 1 / weight_[j];
  for (size_t d = 0; d < axes_.size(); ++d) {
    if (axes_[d]->kind() != AxisKind::kContinuous) continue;
    const NumericAxis& a = numeric_[d];
    const double sigma = KernelSigma(d, j);
    const double mu = lazy_axis_[d] ? LazyMu(d, j) : a.eval_mu[p];
    double* e = Memo(j, d, mu, sigma);
    if (e != nullptr && std::isnan(e[KernelMemo::kMass])) {
      e[KernelMemo::kMass] = TruncationMass(mu, sigma);
    }
    scale *= sigma *
             (e != nullptr ? e[KernelMemo::kMass] : TruncationMass(mu, sigma));
  }
  // The same log as the constructor's, for the same bits.
  return constant_chain_ - std::log(scale);
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
    if (cumulative_weight_.empty()) {
      cumulative_weight_.resize(weight_.size());
      double running = 0;
      for (size_t j = 0; j < weight_.size(); ++j) {
        running += weight_[j];
        cumulative_weight_[j] = running;
      }
    }
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
      // (Joint estimators keep a continuous axis's mu in evaluation order.)
      const double mu = lazy_axis_[d]     ? LazyMu(d, static_cast<int>(j))
                        : a.mu.size() > 0 ? a.mu[j]
                                          : a.eval_mu[position_[j]];
      const double sigma = KernelSigma(d, static_cast<int>(j));
      // TruncatedNormalDraw, with each kernel's end CDFs computed once (see
      // KernelMemo): l's kernels, wide, mostly need them.
      const double unit_draw = UnitDraw(rng);
      const bool ends = DrawNeedsEnds(mu, sigma, unit_draw);
      double pa = 0;
      double pb = 1;
      if (ends) {
        double* e = Memo(static_cast<int>(j), d, mu, sigma);
        if (e == nullptr) {
          EndCdfs(mu, sigma, &pa, &pb);
        } else {
          if (std::isnan(e[KernelMemo::kCdfAtZero])) {
            EndCdfs(mu, sigma, &e[KernelMemo::kCdfAtZero],
                    &e[KernelMemo::kCdfAtOne]);
          }
          pa = e[KernelMemo::kCdfAtZero];
          pb = e[KernelMemo::kCdfAtOne];
        }
      }
      const double u = DrawBetween(mu, sigma, pa, pb, unit_draw, ends);
      out.unit[d][c] = u;
      out.coordinate[d][c] = axis.Coordinate(u);
      if (axis.kind() == AxisKind::kBinned) {
        out.bin[d][c] = axis.BinOf(out.coordinate[d][c]);
      }
    }
  }
  return out;
}

Eigen::ArrayXd ParzenEstimator::LogDensity(const Candidates& cands) const {
  Eigen::ArrayXd out(cands.count);
  if (!Joint()) {
    OneAxisLogDensity(cands, out);
    return out;
  }
  JointLogDensity(cands, ExactSlack(kernels()), nullptr, out.data(), nullptr);
  return out;
}

void ParzenEstimator::LogDensityBounds(const Candidates& cands,
                                       Eigen::ArrayXd& lower,
                                       Eigen::ArrayXd& upper) const {
  lower.resize(cands.count);
  upper.resize(cands.count);
  if (!Joint()) {
    OneAxisLogDensity(cands, lower);
    upper = lower;
    return;
  }
  JointLogDensity(cands,
                  kBoundsSlack + std::log(static_cast<double>(kernels())),
                  nullptr, lower.data(), upper.data());
  // What rounding may add to either side (the sums differ in their terms).
  for (int c = 0; c < cands.count; ++c) {
    lower[c] -= kBoundsMargin * std::max(1.0, std::abs(lower[c]));
    upper[c] += kBoundsMargin * std::max(1.0, std::abs(upper[c]));
  }
}

void ParzenEstimator::LogDensityOf(const Candidates& cands,
                                   const std::vector<int>& which,
                                   Eigen::ArrayXd& out) const {
  out.resize(cands.count);
  if (!Joint()) {
    OneAxisLogDensity(cands, out);
    return;
  }
  JointLogDensity(cands, ExactSlack(kernels()), &which, out.data(), nullptr);
}

void ParzenEstimator::OneAxisLogDensity(const Candidates& cands,
                                        Eigen::ArrayXd& out) const {
  if (!category_log_prob_.empty()) {
    for (int c = 0; c < cands.count; ++c) {
      out[c] = category_log_prob_[cands.bin[0][c]];
    }
    return;
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
    return;
  }
}

void ParzenEstimator::JointLogDensity(const Candidates& cands, double slack,
                                      const std::vector<int>* which,
                                      double* out, double* upper) const {
  const size_t dims = axes_.size();
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
  // rounding. (LogDensityBounds passes a smaller slack, and adds K e^-slack
  // of the sum for the upper bound.) With Optuna 5's narrow per-gap kernels
  // most blocks go after an axis or two, and only the kept terms need an exp.
  //
  // The sum is taken as the blocks are visited, of exp(term - best so far),
  // rescaled when a larger term comes: no second pass over the kept terms.
  // Terms that were above the cutoff when added stay in it even if the final
  // maximum puts them below; they only make it more exact. The visits'
  // order follows from the estimator alone (its layout and the candidate),
  // so an estimator gives the same bits however it was built (see
  // EstimatorMemory).
  const int n_kernels = kernels();
  const int n_blocks = static_cast<int>(order_.size()) / kBlock;
  // Every axis continuous (the common case): a loop without the switch.
  bool all_continuous = true;
  std::vector<const double*> eval_mu(dims);
  std::vector<const double*> half_precision(dims);
  for (size_t d = 0; d < dims; ++d) {
    all_continuous &= axes_[d]->kind() == AxisKind::kContinuous;
    eval_mu[d] = numeric_[d].eval_mu.data();
    half_precision[d] = numeric_[d].half_precision.data();
  }
  std::vector<double> x(dims);
  // Lazy axes' values over a block, filled when first needed.
  auto materialize = [&](size_t d, int b) {
    if (lazy_axis_[d] && !ready_[d * n_blocks + b]) Materialize(d, b);
  };
  // Pending kernels' exact constants, computed once needed (NaN until then).
  std::vector<double> exact_constant;
  if (lazy_tails_) {
    exact_constant.assign(order_.size(),
                          std::numeric_limits<double>::quiet_NaN());
  }
  const int count =
      which == nullptr ? cands.count : static_cast<int>(which->size());
  for (int i = 0; i < count; ++i) {
    const int c = which == nullptr ? i : (*which)[i];
    for (size_t d = 0; d < dims; ++d) x[d] = cands.unit[d][c];
    // The log terms of the kernels of block `b` after all axes, or false
    // once they are all below `cutoff`.
    auto block = [&](int b, double cutoff, Block& tb) {
      const int begin = b * kBlock;
      if (lazy_strips_ && !block_ready_[b]) MaterializeBlock(b);
      tb = Block::Map(constant_.data() + begin);
      if (all_continuous) {
        // Eigen's fixed-size arrays, which it vectorizes (SSE2) where GCC
        // would not (it cannot rule out aliasing).
        for (size_t d = 0; d < dims; ++d) {
          materialize(d, b);
          tb -= (Block::Map(eval_mu[d] + begin) - x[d]).square() *
                Block::Map(half_precision[d] + begin);
          if (tb.maxCoeff() < cutoff) return false;
        }
        return true;
      }
      for (size_t d = 0; d < dims; ++d) {
        switch (axes_[d]->kind()) {
          case AxisKind::kContinuous:
            materialize(d, b);
            tb -= (Block::Map(eval_mu[d] + begin) - x[d]).square() *
                  Block::Map(half_precision[d] + begin);
            break;
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
            const double k = cands.coordinate[d][c];
            for (int j = 0; j < kBlock; ++j) {
              tb[j] += cat.eval_category[begin + j] == k
                           ? cat.log_hit[begin + j]
                           : cat.log_miss[begin + j];
            }
            break;
          }
        }
        if (tb.maxCoeff() < cutoff) return false;
      }
      return true;
    };
    // The term of a pending kernel (see lazy_tails_), whose block went
    // through with its constant_ an upper bound: recomputed from the exact
    // constant, as block() would have computed it.
    auto exact_term = [&](int position) {
      double& constant = exact_constant[position];
      if (std::isnan(constant)) constant = ExactConstant(position);
      double t = constant;
      for (size_t d = 0; d < dims; ++d) {
        if (axes_[d]->kind() == AxisKind::kContinuous) {
          const double diff = eval_mu[d][position] - x[d];
          t -= diff * diff * half_precision[d][position];
        } else {
          const CategoricalAxis& cat = categorical_[d];
          t += cat.eval_category[position] == cands.coordinate[d][c]
                   ? cat.log_hit[position]
                   : cat.log_miss[position];
        }
      }
      return t;
    };
    Block tb;
    double best = -kInf;
    double sum = 0;  // of exp(term - best) over the terms kept so far
    // Adds the terms of block `b` at positions [lo, hi) to the sum (a block
    // at a strip's end is visited once per strip, for its own positions).
    auto visit = [&](int b, int lo, int hi) {
      const double cutoff = best - slack;
      if (!block(b, cutoff, tb)) return;
      for (int j = 0; j < kBlock; ++j) {
        const int position = b * kBlock + j;
        if (position < lo || position >= hi) {
          tb[j] = -kInf;
        } else if (lazy_tails_ && pending_[position] && tb[j] >= cutoff) {
          // A pending kernel's exact term is at most tb[j] (rounding is
          // monotone): only kept ones need it.
          tb[j] = exact_term(position);
        }
      }
      const double top = tb.maxCoeff();
      if (top == -kInf) return;
      if (top > best) {
        if (best > -kInf) sum *= std::exp(best - top);
        best = top;
      }
      const double keep = best - slack;
      for (int j = 0; j < kBlock; ++j) {
        if (tb[j] >= keep) sum += std::exp(tb[j] - best);
      }
    };
    auto visit_whole = [&](int b) { visit(b, b * kBlock, (b + 1) * kBlock); };
    // The block of the prior's kernel (the last) first, complete: any
    // complete term bounds the maximum from below, and the prior's, spread
    // over the whole space, is seldom far below it.
    visit_whole(n_blocks - 1);
    if (!sorted_first_axis_) {
      for (int b = 0; b + 1 < n_blocks; ++b) visit_whole(b);
    } else {
      // The other blocks hold observations by increasing first-axis mu:
      // visit them outwards from the candidate's, nearest first (finding
      // large terms early, so that the cutoff rises early), and stop on each
      // side at the first block whose bound is below the cutoff. A kernel at
      // first-axis distance >= dist from x has a partial sum after the first
      // axis of at most fl(C - fl(fl(dist^2) h)), C the largest constant and
      // h the smallest first-axis half precision of that block and all
      // beyond it (rounding is monotone, so the bound holds in floating
      // point), and the later axes only lower it: the block and those beyond
      // it would have been dropped.
      //
      // With strips, the same within each strip, and the bound also
      // subtracts fl(fl(d1^2) h1), d1 the second-axis distance from x to the
      // strip's range and h1 its smallest second-axis half precision: the
      // kernel's own second subtraction is at least that. A strip whose
      // bound at first-axis distance 0 is below the cutoff is skipped.
      //
      // A binned first axis adds the log mass of the candidate's bin [x_lo,
      // x_hi] less the atom's log truncation mass. With the kernel's mu at
      // distance dist from the bin, the mass is at most 1 and at most the
      // bin's width w times the density at its nearest edge, (w / s)
      // phi(dist / s); the midpoint rule's value is below the second too. So
      // a block's bound is min(A, B + log w - log sqrt(2 pi)) - dist^2 h, A
      // and B the largest constant_ - log z and constant_ - log z - log s of
      // the block and beyond (each with kBinnedBoundMargin for rounding), h
      // as before.
      const bool binned_first = axes_[0]->kind() == AxisKind::kBinned;
      double x_lo = x[0];
      double x_hi = x[0];
      double density_shift = 0;
      if (binned_first) {
        const int r = row_of[0][c];
        x_lo = edges[0][r].first;
        x_hi = edges[0][r].second;
        density_shift = std::log(x_hi - x_lo) - kLogSqrt2Pi;
      }
      const bool striped = strips_.size() > 1;
      const double x1 = striped ? x[1] : 0;
      auto walk = [&](const Strip& strip) {
        double d1 = 0;
        if (striped) {
          d1 = x1 < strip.lo   ? strip.lo - x1
               : x1 > strip.hi ? x1 - strip.hi
                               : 0.0;
        }
        const double term1 = d1 * d1 * strip.min_half_precision;
        if (strip.blocks == 0 || strip.max_constant - term1 < best - slack) {
          return;
        }

        const double* lo = block_lo_.data() + strip.offset;
        const double* hi = block_hi_.data() + strip.offset;
        const double* left_c = left_max_constant_.data() + strip.offset;
        const double* left_h = left_min_half_precision_.data() + strip.offset;
        const double* right_c = right_max_constant_.data() + strip.offset;
        const double* right_h = right_min_half_precision_.data() + strip.offset;
        const double* left_b =
            binned_first ? left_max_density_.data() + strip.offset : nullptr;
        const double* right_b =
            binned_first ? right_max_density_.data() + strip.offset : nullptr;
        // The largest term a block's kernels can start from: C, or for a
        // binned first axis min(A, B + log w - log sqrt(2 pi)).
        auto top = [&](const double* c, const double* b, int k) {
          return binned_first ? std::min(c[k], b[k] + density_shift) : c[k];
        };
        const int blocks = strip.blocks;
        int right =
            static_cast<int>(std::lower_bound(hi, hi + blocks, x_lo) - hi);
        int left = right - 1;
        while (left >= 0 || right < blocks) {
          // Distances to the nearest kernel of the next block on each side,
          // as the kernels' own (mu - x) would round.
          const double right_dist =
              right < blocks ? std::max(0.0, lo[right] - x_hi) : kInf;
          const double left_dist =
              left >= 0 ? std::max(0.0, x_lo - hi[left]) : kInf;
          const double cutoff = best - slack;
          if (right_dist <= left_dist) {
            const double bound = (top(right_c, right_b, right) -
                                  right_dist * right_dist * right_h[right]) -
                                 term1;
            if (bound < cutoff) {
              right = blocks;
            } else {
              visit(strip.first_block + right++, strip.begin, strip.end);
            }
          } else {
            const double bound = (top(left_c, left_b, left) -
                                  left_dist * left_dist * left_h[left]) -
                                 term1;
            if (bound < cutoff) {
              left = -1;
            } else {
              visit(strip.first_block + left--, strip.begin, strip.end);
            }
          }
        }
      };
      const int n_strips = static_cast<int>(strips_.size());
      // The candidate's own strip first, then outwards.
      const int home =
          striped ? std::min(n_strips - 1,
                             std::min(static_cast<int>(strip_cells_) - 1,
                                      static_cast<int>(x1 * strip_cells_)) /
                                 cells_per_strip_)
                  : 0;
      walk(strips_[home]);
      for (int k = 1; home - k >= 0 || home + k < n_strips; ++k) {
        if (home - k >= 0) walk(strips_[home - k]);
        if (home + k < n_strips) walk(strips_[home + k]);
      }
    }
    out[c] = best > -kInf ? best + std::log(sum) : -kInf;
    if (upper != nullptr) {
      // Every term left out is below best - slack.
      upper[c] = best > -kInf
                     ? best + std::log(sum + n_kernels * std::exp(-slack))
                     : -kInf;
    }
  }
}

int LargestRatio(const ParzenEstimator& l, const ParzenEstimator& g,
                 const Candidates& cands) {
  if (cands.count == 0) return 0;
  Eigen::ArrayXd l_lower;
  Eigen::ArrayXd l_upper;
  Eigen::ArrayXd g_lower;
  Eigen::ArrayXd g_upper;
  l.LogDensityBounds(cands, l_lower, l_upper);
  g.LogDensityBounds(cands, g_lower, g_upper);
  // The largest score some candidate surely reaches; a candidate that surely
  // stays below it cannot be the first of largest score.
  double reached = -kInf;
  for (int c = 0; c < cands.count; ++c) {
    const double low = l_lower[c] - g_upper[c];
    if (low > reached) reached = low;
  }
  std::vector<int> contenders;
  for (int c = 0; c < cands.count; ++c) {
    // (NaN bounds, never expected, make a contender.)
    if (!(l_upper[c] - g_lower[c] < reached)) contenders.push_back(c);
  }
  if (contenders.size() == 1) return contenders[0];
  // Exact bounds (one axis) are the density; the others are computed.
  auto exact = [&](const ParzenEstimator& e, const Eigen::ArrayXd& lower,
                   const Eigen::ArrayXd& upper) {
    Eigen::ArrayXd log_density = lower;
    std::vector<int> unknown;
    for (int c : contenders) {
      if (lower[c] != upper[c]) unknown.push_back(c);
    }
    if (!unknown.empty()) e.LogDensityOf(cands, unknown, log_density);
    return log_density;
  };
  const Eigen::ArrayXd log_l = exact(l, l_lower, l_upper);
  const Eigen::ArrayXd log_g = exact(g, g_lower, g_upper);
  int best = contenders.empty() ? 0 : contenders[0];
  double best_score = -kInf;
  for (int c : contenders) {
    const double score = log_l[c] - log_g[c];
    // NaN (never expected) loses; ties go to the first drawn.
    if (score > best_score) {
      best_score = score;
      best = c;
    }
  }
  return best;
}

}  // namespace tpe_internal
}  // namespace hpo
