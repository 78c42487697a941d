// The Parzen estimators of TPE (samplers/tpe/tpe_sampler.h): mixtures of
// product kernels over one parameter (univariate TPE) or a group of them
// (multivariate TPE), one kernel per observation plus one for the prior.
//
// Everything lives in each parameter's unit space (ParamSpec::ToUnit and
// FromUnit), where a uniform draw is a draw from the parameter's prior: log
// scales, normal priors, steps and quantization are all carried by that map,
// so a kernel is always a normal truncated to [0, 1]. A parameter is modelled
// as one of:
// - continuous: a truncated normal density;
// - binned (integers, steps, NNI's q, and discrete values that are monotone in
//   their given order): the truncated normal's mass over the interval of unit
//   space that FromUnit maps to the value, which is exactly the probability
//   that a draw from the kernel lands on that value (Optuna's discretized
//   kernels);
// - categorical: each observation's kernel puts 1 + eps on its category and
//   eps on every category, eps = prior_weight / (n + 1), normalized; the prior
//   kernel is uniform (Optuna's categorical estimator).
//
// Internal to samplers/tpe; in a header for the sampler and its tests.

#ifndef HPO_SAMPLERS_TPE_PARZEN_ESTIMATOR_H_
#define HPO_SAMPLERS_TPE_PARZEN_ESTIMATOR_H_

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <eigen3/Eigen/Dense>
#include <utility>
#include <vector>

#include "core/search_space.h"
#include "samplers/sampler.h"
#include "samplers/tpe/kernel_memo.h"
#include "samplers/tpe/unit_sort.h"

namespace hpo {
namespace tpe_internal {

enum class AxisKind { kContinuous, kBinned, kCategorical };

// How TPE models one parameter. Refers to the ParamSpec, which must outlive it.
class Axis {
 public:
  // Discrete (listed) values are binned when they are strictly monotone in
  // their given order, so that neighbours share evidence, and categorical
  // otherwise or when `discrete_as_categorical`.
  Axis(const ParamSpec& spec, bool discrete_as_categorical);

  AxisKind kind() const { return kind_; }
  const ParamSpec& spec() const { return *spec_; }
  // The number of values of binned and categorical axes.
  int64_t cardinality() const { return cardinality_; }

  // What a trial's coordinate is to the estimators: its unit coordinate for
  // continuous and binned axes, its index for categorical ones. NaN if the
  // coordinate is inactive or unusable (an index out of range, a non-finite
  // value).
  double Observe(double coordinate) const {
    // The common case inline (it runs for every trial and parameter): a
    // uniform prior without a log scale, where ToUnit is affine. Computed as
    // ObserveSlow would, bit for bit.
    if (plain_) {
      if (!std::isfinite(coordinate)) return kInactive;
      return unit_hi_ <= unit_lo_
                 ? 0.5
                 : std::clamp((coordinate - unit_lo_) / (unit_hi_ - unit_lo_),
                              0.0, 1.0);
    }
    return ObserveSlow(coordinate);
  }
  // ParamSpec::FromUnit(u), inline (and bit for bit the same) for continuous
  // ranges with a uniform prior and no log scale, step or q: TPE draws every
  // candidate's coordinates through it.
  double Coordinate(double u) const {
    if (plain_continuous_) {
      u = std::clamp(u, 0.0, 1.0);
      return std::clamp(unit_lo_ + u * (unit_hi_ - unit_lo_), spec_->low,
                        spec_->high);
    }
    return spec_->FromUnit(u);
  }
  // Binned axes: the position of a legal coordinate among the values, and the
  // interval of unit space that FromUnit maps to the k-th value.
  int64_t BinOf(double coordinate) const;
  void BinEdges(int64_t k, double* lo, double* hi) const;

 private:
  double ObserveSlow(double coordinate) const;

  const ParamSpec* spec_;
  AxisKind kind_;
  int64_t cardinality_ = -1;
  // Uniform priors: ToUnit's interval (its transformed ends), kept so that
  // Observe, called for every trial and parameter, need not recompute it.
  bool linear_ = false;
  // linear_ without a log scale: Observe's inline path.
  bool plain_ = false;
  // plain_ for a continuous double (no step or q): Coordinate's inline path.
  bool plain_continuous_ = false;
  double unit_lo_ = 0;
  double unit_hi_ = 0;
};

// log(Phi(b) - Phi(a)) for a <= b, the standard normal's log mass over [a, b],
// accurate in both tails (where Phi(b) - Phi(a) would cancel or underflow).
double LogNormalMass(double a, double b);

// A draw from N(mu, sigma) truncated to [0, 1] by inverting its CDF at u.
double TruncatedNormalDraw(double mu, double sigma, double u);

// Optuna's default weights with hyperopt's linear forgetting: ones for the
// newest `flat` observations and a linear ramp from 1/n up to 1 for the older
// ones. `n` observations, oldest first.
std::vector<double> ForgettingWeights(int64_t n, int64_t flat);
// The same into w[0, n).
void WriteForgettingWeights(int64_t n, int64_t flat, double* w);

// The sum of x[0, n) as numpy's sum computes it (pairwise, in blocks of 8),
// so that normalized weights are Optuna's bit for bit.
double PairwiseSum(const double* x, int64_t n);

// A lazy axis's widths (see ParzenEstimator::lazy_axis_): cells narrower than
// min_sigma over its kernels' mu, each with its smallest and largest mu, and
// the nearest mu outside the cell on each side (or what the outermost measure
// their outer gap from). A kernel whose mu is neither of its cell's ends has
// both neighbours within min_sigma, so its width is min_sigma; an end's gap on
// that side is to the adjacent non-empty cell. The same subtractions as the
// sorted pass, so the same widths, bit for bit.
struct WidthCells {
  double count = 0;  // cells, as a double: x * count is x's cell
  std::vector<double> lo, hi, before, after;
  std::vector<double> lo2, hi2;  // the second smallest and largest
};

// What an estimator leaves for the next one built over the same observation
// columns (TPE's l and g, from one suggestion to the next: mostly the same
// trials and a new one or two). When the new estimator's rows include every
// row it holds: the order along each sorted axis (the new rows merged in),
// the lazy axes' cell summaries (which do not depend on the order values came
// in, so adding the new rows' values gives what summing every row would) and
// the near-end counts; whatever the rows, the kernels' costly values
// (KernelMemo, checked before use). The caller keeps it, and clears it
// whenever the columns' values at its rows may have changed. Rows must be in
// increasing order.
struct EstimatorMemory {
  std::vector<const Axis*> axes;
  std::vector<int> rows;
  std::vector<WidthCells> cells;  // per axis; count 0 where none was built
  // Per axis: the observations sorted along it (empty where it was not).
  std::vector<SortedAxis> sorted;
  // Which axes were lazy, and per row on how many of them its value was near
  // an end of the range.
  std::vector<char> lazy;
  std::vector<double> near_end;
  // Estimators of few observations (l) keep their kernels' costly values.
  KernelMemo kernels;
  void Clear() {
    axes.clear();
    rows.clear();
    cells.clear();
    sorted.clear();
    lazy.clear();
    near_end.clear();
    kernels = KernelMemo();
  }
};

struct EstimatorOptions {
  double prior_weight = 1.0;
  bool consider_endpoints = false;
  bool consider_magic_clip = true;
  int64_t linear_forgetting = 25;
  // Lay the kernels out as evaluations reach them where that is possible
  // (see lazy_strips_), which gives the same estimator; false only for the
  // tests that compare the two.
  bool lazy_layout = true;
};

// Candidates drawn from an estimator, one entry per axis and candidate.
struct Candidates {
  int count = 0;
  // [axis][candidate]: the parameter's legal coordinate (an index for indexed
  // parameters), the unit value it was drawn as (continuous axes), and its bin
  // or category (binned and categorical axes).
  std::vector<std::vector<double>> coordinate;
  std::vector<std::vector<double>> unit;
  std::vector<std::vector<int64_t>> bin;
};

// Where an estimator reads its observations: row j's value along axis d is
// columns[d][row(j) * stride], row(j) = rows[j] (or j if rows is null).
struct ObservationView {
  std::vector<const double*> columns;
  ptrdiff_t stride = 1;
  const int* rows = nullptr;
  int n = 0;
};

// One axis of an ObservationView.
struct ColumnReader {
  const double* column;
  const int* rows;  // null: row j is j
  ptrdiff_t stride;
  double operator[](int j) const {
    return column[(rows == nullptr ? j : rows[j]) * stride];
  }
};

// Not thread-safe, const methods included: LogDensity, Sample and Sigma fill
// lazily computed values in (see lazy_axis_, KernelMemo). TPE builds l and g
// for each suggestion, each with the EstimatorMemory the last ones left.
class ParzenEstimator {
 public:
  // `observations` is row-major, n rows of axes.size() values from
  // Axis::Observe (none NaN), oldest trial first.
  ParzenEstimator(const std::vector<const Axis*>& axes,
                  const std::vector<double>& observations,
                  const EstimatorOptions& options);
  // The same from a view (e.g. columns of all trials and the rows to take),
  // whose columns must outlive the estimator (lazy axes read them when
  // evaluated); `memory`, if given, is read and then left for the next
  // estimator over the same columns.
  ParzenEstimator(const std::vector<const Axis*>& axes,
                  const ObservationView& observations,
                  const EstimatorOptions& options,
                  EstimatorMemory* memory = nullptr);

  // An estimator with no kernels, to Rebuild.
  ParzenEstimator() = default;
  // Makes this the estimator the constructor above would make, reusing this
  // one's buffers (TPE builds its estimators anew for each suggestion).
  void Rebuild(const std::vector<const Axis*>& axes,
               const ObservationView& observations,
               const EstimatorOptions& options,
               EstimatorMemory* memory = nullptr);

  // Lazy axes read the observations where they are (see LazyMu).
  ParzenEstimator(const ParzenEstimator&) = delete;
  ParzenEstimator& operator=(const ParzenEstimator&) = delete;

  // Draws `count` candidates from the mixture.
  Candidates Sample(int count, Rng& rng) const;

  // The log density of each candidate (log mass for binned and categorical
  // axes, log density for continuous ones).
  Eigen::ArrayXd LogDensity(const Candidates& candidates) const;
  // Cheaper bounds of the same: lower[c] <= LogDensity(candidates)[c] <=
  // upper[c], within a factor of about 1 + 2.5e-3 of each other; equal (the
  // density) for estimators of one axis, which are cheap.
  void LogDensityBounds(const Candidates& candidates, Eigen::ArrayXd& lower,
                        Eigen::ArrayXd& upper) const;
  // LogDensity at the candidates `which`, bit for bit, into out (resized to
  // the candidates' count; other entries may be kept or overwritten).
  void LogDensityOf(const Candidates& candidates, const std::vector<int>& which,
                    Eigen::ArrayXd& out) const;

  int kernels() const { return static_cast<int>(weight_.size()); }
  // The kernels' widths along a numeric axis, in unit space (observations in
  // the given order, then the prior's). For tests.
  Eigen::Map<const Eigen::ArrayXd> Sigma(size_t axis) const;

 private:
  // Several axes: LogDensity's layout. Kernels are evaluated in blocks of
  // kBlock, in "evaluation order": the observations (sorted by their first
  // axis when LogDensity can use that, see order_), then the prior's kernel at
  // position n, then padding to whole blocks.
  struct NumericAxis {
    // In kernel order (observations as given, then the prior's kernel), for
    // Sample and Sigma; mu empty for continuous axes of joint estimators,
    // which have eval_mu, and for lazy axes, which read it in place (LazyMu).
    // Both may be longer than the kernels (padded, as eval_mu is).
    Eigen::ArrayXd mu;
    mutable Eigen::ArrayXd sigma;
    // Continuous axes (with several axes), in evaluation order: mu and
    // 1 / (2 sigma^2). Filled block by block as LogDensity first needs them
    // on lazy axes (see lazy_axis_), and sigma only if Sigma asks.
    mutable Eigen::ArrayXd eval_mu;
    mutable Eigen::ArrayXd half_precision;
    // Binned axes (with several axes): kernels with the same (mu, sigma) share
    // an atom, whose log mass per bin is computed once; atom_log_z is the log
    // of each atom's truncation mass. `atom` is in evaluation order (built in
    // kernel order, then laid out); the rest is per atom.
    std::vector<int> atom;
    std::vector<double> atom_mu;
    std::vector<double> atom_sigma;
    std::vector<double> atom_log_z;
    // log(sigma) per atom, for the bounds of a binned first axis's log
    // masses (see LogDensity); the first axis only.
    std::vector<double> atom_log_sigma;
  };
  struct CategoricalAxis {
    // The observed category of each kernel, -1 for the uniform prior kernel:
    // in kernel order (Sample) and in evaluation order (several axes).
    Eigen::ArrayXd category;
    Eigen::ArrayXd eval_category;
    // Log probability of a kernel's own category and of any other one (with
    // several axes; evaluation order, which only moves observations, whose
    // values are all the same).
    Eigen::ArrayXd log_hit;
    Eigen::ArrayXd log_miss;
    // Probability that a kernel draws its own category rather than a uniform
    // one.
    double keep = 0;
  };

  // One numeric axis: the kernels merged into atoms (equal mu and sigma) and
  // bucketed by sigma, sorted by mu within a bucket, so that an evaluation
  // only visits the atoms near the point (see LogDensity1D).
  struct Bucket {
    double sigma_min = 0;
    double sigma_max = 0;
    // Atoms farther than reach * sigma_max from the point are skipped.
    double reach = 0;
    std::vector<double> mu;
    std::vector<double> inv_sigma;
    // weight / (truncation mass), and for continuous axes also / (sigma
    // sqrt(2 pi)): what multiplies the kernel's exp(-z^2 / 2) or mass.
    std::vector<double> factor;
  };
  // Several axes (or none of the one-axis tables): the blocked evaluation.
  bool Joint() const { return category_log_prob_.empty() && buckets_.empty(); }
  void OneAxisLogDensity(const Candidates& candidates,
                         Eigen::ArrayXd& out) const;
  // out[c] for the candidates `which` (all if null), leaving out terms more
  // than `slack` below the largest; with `upper`, also an upper bound there
  // (the terms left out at their largest).
  void JointLogDensity(const Candidates& candidates, double slack,
                       const std::vector<int>* which, double* out,
                       double* upper) const;
  void BuildBuckets(const std::vector<std::pair<double, int>>& sorted,
                    double prior_share);
  double LogDensity1D(double lo, double hi, bool binned,
                      std::vector<double>& exponents,
                      std::vector<double>& factors) const;
  // Several axes: the rest of the evaluation layout (categorical and binned
  // axes, padding) and, with sorted_first_axis_, the blocks' bounds along the
  // first axis.
  void BuildEvaluationLayout();
  // With sorted_first_axis_: orders the observations (order_[0, n), sorted
  // by their first axis) into strips along the second axis (strip_begin_),
  // when that pays.
  void SplitIntoStrips(const ObservationView& observations, int n,
                       double min_sigma);
  // strips_[s]'s second-axis range and smallest half precision, over its
  // positions [begin, end).
  void StripSecondAxis(size_t s, int begin, int end);
  // The constant_ of the kernel at evaluation position `p` with every
  // truncation mass computed, as the constructor would have computed it.
  double ExactConstant(int p) const;

  // False when the cells cannot stand in for the sort: few observations, a
  // min_sigma too small for cells to pay, or an end value occurring twice in
  // a cell (which copy has which neighbour is then the sort's tie order).
  // With `earlier` (cells over some of the observations, at the same count),
  // only the positions `added` are added to its summaries.
  bool BuildWidthCells(const ColumnReader& mu, int n, bool consider_endpoints,
                       WidthCells& cells, const WidthCells* earlier,
                       const std::vector<int>& added) const;
  double CellWidth(const WidthCells& c, double x) const {
    const int k = std::min(static_cast<int>(c.lo.size()) - 1,
                           static_cast<int>(x * c.count));
    // The gap on a side where it may exceed min_sigma, else 0, which leaves
    // the width to the other side or to min_sigma, as a gap of at most
    // min_sigma would.
    const double left = x == c.lo[k] ? x - c.before[k] : 0.0;
    const double right = x == c.hi[k] ? c.after[k] - x : 0.0;
    return std::min(std::max(std::max(left, right), min_sigma_), 1.0);
  }
  // Per kernel, on how many lazy axes its mu is within `edge` of an end of
  // the range (from `memory` for its rows, when given and counted over the
  // same axes; `added` are the other rows' positions).
  void CountNearEnds(int n, double edge, const EstimatorMemory* memory,
                     const std::vector<int>& added,
                     std::vector<double>& near_end) const;
  // Kernel j's mu along lazy axis d (kernel order, the prior's last).
  double LazyMu(size_t d, int j) const {
    if (j == kernels() - 1) return 0.5;
    return columns_[d][(rows_.empty() ? j : rows_[j]) * stride_];
  }
  // The constructors' work.
  void Build(const ObservationView& observations,
             const EstimatorOptions& options, EstimatorMemory* memory);
  // Kernel j's width along numeric axis d, in kernel order.
  double KernelSigma(size_t d, int j) const;
  // Fills lazy axis d's eval_mu and half_precision over block b.
  void Materialize(size_t d, int b) const;

  std::vector<const Axis*> axes_;
  // The observations when given as a vector (the view's columns point here).
  std::vector<double> owned_;
  // The view's columns, stride and rows (empty: row j is j), which lazy
  // axes read (LazyMu).
  std::vector<const double*> columns_;
  ptrdiff_t stride_ = 1;
  std::vector<int> rows_;
  std::vector<double> weight_;                     // per kernel, normalized
  mutable std::vector<double> cumulative_weight_;  // filled by Sample
  std::vector<NumericAxis> numeric_;          // per axis, empty if categorical
  std::vector<CategoricalAxis> categorical_;  // per axis, empty if numeric
  // One axis only: its buckets, or its categories' log probabilities.
  std::vector<Bucket> buckets_;
  std::vector<double> category_log_prob_;
  // Several axes: per kernel, log weight plus the continuous axes'
  // normalizing terms, in evaluation order (with lazy_strips_, filled block
  // by block).
  mutable Eigen::ArrayXd constant_;
  // Several axes: the kernel at each position of evaluation order (padding
  // positions map to themselves), and each kernel's position.
  std::vector<int> order_;
  std::vector<int> position_;
  // Observations in evaluation order by increasing mu along the first axis,
  // which is numeric, continuous or binned (see LogDensity); with many
  // observations and a continuous second axis, first split into strips along
  // the second axis (by its mu's cell, see WidthCells), each sorted along the
  // first, so that a candidate walks only the strips near it.
  bool sorted_first_axis_ = false;
  // Strip s holds positions [strip_begin_[s], strip_begin_[s + 1]).
  std::vector<int> strip_begin_;
  double strip_cells_ = 0;   // cells (as a double) the strips are made of,
  int cells_per_strip_ = 0;  // so many to a strip
  // Per strip: its blocks among those before the last (which holds the
  // prior's kernel and is visited first), found at [offset, offset + blocks)
  // in the block arrays below; over its positions in those blocks, the range
  // of their second-axis mu, the smallest second-axis half precision and the
  // largest constant_.
  struct Strip {
    // Its positions in evaluation order: [begin, end). Its first and last
    // blocks may hold other strips' kernels too.
    int begin = 0;
    int end = 0;
    int first_block = 0;
    int blocks = 0;
    int offset = 0;
    double lo = 0;
    double hi = 0;
    double min_half_precision = 0;
    double max_constant = 0;
  };
  std::vector<Strip> strips_;
  // Per block of a strip, over the strip's positions in it: the range of
  // their first-axis mu, and from it to the strip's first block (left_) or
  // last (right_), the largest constant_ and the smallest first-axis
  // half_precision.
  std::vector<double> block_lo_;
  std::vector<double> block_hi_;
  std::vector<double> left_max_constant_;
  std::vector<double> left_min_half_precision_;
  std::vector<double> right_max_constant_;
  std::vector<double> right_min_half_precision_;
  // A binned first axis: max_constant_ is the largest constant_ less the
  // atom's log truncation mass (plus a margin), and max_density_ the same less
  // log sigma (see LogDensity).
  std::vector<double> left_max_density_;
  std::vector<double> right_max_density_;
  // With lazy_tails_, pending_ marks (in evaluation order) the kernels whose
  // truncation mass along some axis was not computed: their constant_ is an
  // upper bound (kMassLowerBound standing in for those masses), and
  // LogDensity computes the exact one (ExactConstant) when it keeps them.
  // constant_chain_ is what every kernel's constant_ was before the log of
  // its scale was subtracted.
  bool lazy_tails_ = false;
  std::vector<char> pending_;
  double constant_chain_ = 0;
  // With lazy tails, the continuous axes but the first (which orders the
  // kernels) are lazy when their WidthCells build: the constructor computes
  // no width along them, only a bound of each kernel's constant_ (from
  // sigma >= min_sigma, and sigma times the truncation mass growing with
  // sigma), every kernel is pending, and LogDensity materializes a block's
  // values along a lazy axis when a block first gets that far. Most blocks
  // never do (see LogDensity), and sorting every axis for the widths was
  // most of building an estimator from many trials.
  double min_sigma_ = 0;
  std::vector<char> lazy_axis_;
  std::vector<WidthCells> cells_;
  mutable std::vector<char> ready_;  // [axis * blocks + block]
  // Kernel j's KernelMemo fields along axis d (reset when they were kept for
  // another mu or sigma), or null without a memo.
  double* Memo(int j, size_t d, double mu, double sigma) const;
  // Kernel j's truncation mass along axis d, TruncationTails (from the memo
  // when there is one).
  double TailedMass(int j, size_t d, double mu, double sigma) const;
  KernelMemo* memo_ = nullptr;  // the memory's
  std::vector<int> slot_;       // per kernel, in memo_

  // Lazy strips: with two or three axes, all continuous, and the kernels in
  // strips, what LogDensity reads per kernel (eval_mu, half_precision,
  // constant_) is laid out block by block when LogDensity first reads the
  // block (MaterializeBlock): the candidates, drawn from l, come near few of
  // g's kernels. The blocks' bounds along the first axis are then bounds
  // from the kernels' weights and widths (LazyBlockBounds), not the largest
  // constant_, which makes the walk along the first axis look at more
  // blocks but keep the same terms (a block it would not have visited has
  // every term below the cutoff). The same values, bit for bit, as without.
  bool lazy_strips_ = false;
  mutable std::vector<char> block_ready_;
  void MaterializeBlock(int b) const;
  void LazyBlockBounds(int lo, int hi, double* max_constant,
                       double* min_half_precision) const;
  // Per kernel (kernel order, the prior's not), a lower bound of its scale
  // before the fold, for LazyBlockBounds.
  void LeastScales();
  std::vector<double> least_scale_;

  // Build's working buffers, kept for the next Rebuild.
  Eigen::ArrayXd scale_;
  UnitSort sort_;
  std::vector<int> now_of_earlier_;
  std::vector<int> strip_scratch_[4];
};

// The first of the candidates of largest log l(x) - log g(x), TPE's choice,
// as computing every candidate's LogDensity under both would find it, from
// their bounds (LogDensityBounds) and the exact densities only of the
// candidates the bounds cannot separate.
int LargestRatio(const ParzenEstimator& l, const ParzenEstimator& g,
                 const Candidates& candidates);

}  // namespace tpe_internal
}  // namespace hpo

#endif  // HPO_SAMPLERS_TPE_PARZEN_ESTIMATOR_H_
