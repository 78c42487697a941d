#include "samplers/gp/gp_sampler.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <eigen3/Eigen/Dense>
#include <initializer_list>
#include <limits>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/history.h"
#include "core/normal.h"
#include "samplers/draws.h"
#include "samplers/gp/acquisition.h"
#include "samplers/gp/gaussian_process.h"
#include "samplers/gp/halton.h"
#include "samplers/gp/lbfgs.h"
#include "samplers/gp/output_warp.h"

namespace hpo {
namespace {

using gp::AcquisitionKind;
using gp::DimKind;

struct GpConfig {
  gp::Acquisition acquisition;
  int64_t n_startup = 10;
  int64_t n_candidates = 1024;
  int64_t n_restarts = 5;
  uint64_t seed = 0;
  bool warp_outputs = false;
  bool compress_outliers = true;
  bool consider_pruned_trials = true;
  gp::FitOptions fit;
};

// Ranges with more legal values than this are refined by gradient steps as if
// continuous (and snapped afterwards); smaller ones by coordinate search.
constexpr int64_t kMaxCoordinateValues = 64;
// Coordinate search tries every category, every value of ordered parameters
// with at most this many, and exponentially spaced neighbours (+-1, 2, 4, ...)
// of larger ones (whose order means something, unlike categories').
constexpr int64_t kEnumerateValues = 16;
constexpr int kCoordinateSweeps = 3;
// Candidates are scored in blocks of this many, to bound memory.
constexpr Eigen::Index kBlock = 512;
// Local candidates (perturbations of the best trials) per global candidate,
// and how many of the best trials they are spread over.
constexpr int kLocalDivisor = 4;
constexpr int kLocalCenters = 5;

// A point of the acquisition search.
struct Point {
  // One unit-cube coordinate per parameter, inactive ones included: if a
  // parent's change activates a parameter, this is where it starts.
  std::vector<double> unit;
  // The legal coordinates FromUnit gives, with inactive ones masked.
  std::vector<double> params;
  // The model's input: see Encode.
  Eigen::VectorXd feature;
  double value = -std::numeric_limits<double>::infinity();
};

class GpSampler : public Sampler {
 public:
  GpSampler(const SearchSpace& space, GpConfig config)
      : config_(std::move(config)) {
    const size_t n = space.size();
    kinds_.resize(n);
    is_parent_.assign(n, false);
    for (size_t i = 0; i < n; ++i) {
      const ParamSpec& p = space.param(i);
      kinds_[i] = DimKind::kNumeric;
      if (p.kind == ParamKind::kCategorical) kinds_[i] = DimKind::kCategorical;
      if (p.kind == ParamKind::kDiscrete && !Monotone(p.values)) {
        // Numbers in no order have no useful distance between them.
        kinds_[i] = DimKind::kCategorical;
      }
      if (p.parent >= 0) is_parent_[static_cast<size_t>(p.parent)] = true;
    }
  }

  absl::StatusOr<Suggestion> Suggest(const SearchSpace& space,
                                     const History& history, Rng& rng) override;

 private:
  static bool Monotone(const std::vector<double>& values) {
    bool up = true;
    bool down = true;
    for (size_t i = 1; i < values.size(); ++i) {
      up = up && values[i] > values[i - 1];
      down = down && values[i] < values[i - 1];
    }
    return up || down;
  }

  // The model input of legal, masked coordinates: the unit-cube coordinate of
  // numeric parameters, the index of categorical ones, kInactive for inactive
  // ones.
  Eigen::VectorXd Encode(const SearchSpace& space,
                         const std::vector<double>& params) const {
    Eigen::VectorXd f(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      const ParamSpec& p = space.param(i);
      if (IsInactive(params[i])) {
        f[i] = kInactive;
      } else if (kinds_[i] == DimKind::kCategorical) {
        f[i] = p.Snap(params[i]);
      } else {
        f[i] = p.ToUnit(p.Snap(params[i]));
      }
    }
    return f;
  }

  // Sets params and feature from unit.
  void Legalize(const SearchSpace& space, Point& point) const {
    point.params.resize(space.size());
    for (size_t i = 0; i < space.size(); ++i) {
      point.params[i] = space.param(i).FromUnit(point.unit[i]);
    }
    space.MaskInactive(point.params);
    point.feature = Encode(space, point.params);
  }

  // Sets every point's acquisition value.
  void Score(const gp::Posterior& model, const gp::Acquisition& acquisition,
             std::vector<Point>& points) const;

  void Refine(const SearchSpace& space, const gp::Posterior& model,
              const gp::Acquisition& acquisition, Point& point) const;
  // One L-BFGS run over the point's active, continuous parameters. True if
  // the point improved.
  bool GradientStep(const SearchSpace& space, const gp::Posterior& model,
                    const gp::Acquisition& acquisition, Point& point) const;
  // Sweeps over the parameters with few values. True if the point improved.
  bool CoordinateSweep(const SearchSpace& space, const gp::Posterior& model,
                       const gp::Acquisition& acquisition, Point& point) const;

  GpConfig config_;
  std::vector<DimKind> kinds_;
  std::vector<bool> is_parent_;
};

void GpSampler::Score(const gp::Posterior& model,
                      const gp::Acquisition& acquisition,
                      std::vector<Point>& points) const {
  const Eigen::Index dims = static_cast<Eigen::Index>(kinds_.size());
  Eigen::VectorXd mean;
  Eigen::VectorXd variance;
  for (size_t begin = 0; begin < points.size(); begin += kBlock) {
    const size_t end = std::min(points.size(), begin + kBlock);
    Eigen::MatrixXd block(static_cast<Eigen::Index>(end - begin), dims);
    for (size_t j = begin; j < end; ++j) {
      block.row(static_cast<Eigen::Index>(j - begin)) =
          points[j].feature.transpose();
    }
    model.Predict(block, &mean, &variance);
    for (size_t j = begin; j < end; ++j) {
      const Eigen::Index r = static_cast<Eigen::Index>(j - begin);
      const double v = acquisition.Value(mean[r], std::sqrt(variance[r]));
      points[j].value =
          std::isnan(v) ? -std::numeric_limits<double>::infinity() : v;
    }
  }
}

bool GpSampler::GradientStep(const SearchSpace& space,
                             const gp::Posterior& model,
                             const gp::Acquisition& acquisition,
                             Point& point) const {
  std::vector<int> dims;
  for (size_t i = 0; i < space.size(); ++i) {
    const int64_t values = space.param(i).Cardinality();
    if (kinds_[i] == DimKind::kNumeric && !IsInactive(point.params[i]) &&
        !is_parent_[i] && (values < 0 || values > kMaxCoordinateValues)) {
      dims.push_back(static_cast<int>(i));
    }
  }
  if (dims.empty()) return false;
  const Eigen::Index k = static_cast<Eigen::Index>(dims.size());
  // Continuous parameters' features are their unit coordinates, so the
  // search runs on the features directly; large stepped ranges are relaxed
  // to continuous here and snapped below.
  Eigen::VectorXd feature = point.feature;
  Eigen::VectorXd v(k);
  for (Eigen::Index j = 0; j < k; ++j) v[j] = point.unit[dims[j]];
  Eigen::VectorXd d_mean;
  Eigen::VectorXd d_variance;
  auto objective = [&](const Eigen::VectorXd& x, Eigen::VectorXd* gradient) {
    for (Eigen::Index j = 0; j < k; ++j) feature[dims[j]] = x[j];
    double mean;
    double variance;
    model.PredictWithGradient(feature, dims, &mean, &variance, &d_mean,
                              &d_variance);
    const double sigma = std::sqrt(variance);
    double a_mean;
    double a_sigma;
    const double a = acquisition.Value(mean, sigma, &a_mean, &a_sigma);
    *gradient = -(a_mean * d_mean + (a_sigma / (2 * sigma)) * d_variance);
    return -a;
  };
  gp::LbfgsOptions options;
  options.max_iterations = 30;
  options.gradient_tolerance = 1e-7;
  options.relative_tolerance = 1e-9;
  gp::MinimizeInBox(objective, Eigen::VectorXd::Zero(k),
                    Eigen::VectorXd::Ones(k), v, options);

  Point moved = point;
  for (Eigen::Index j = 0; j < k; ++j) moved.unit[dims[j]] = v[j];
  Legalize(space, moved);
  std::vector<Point> one = {std::move(moved)};
  Score(model, acquisition, one);
  if (one[0].value > point.value) {
    point = std::move(one[0]);
    return true;
  }
  return false;
}

bool GpSampler::CoordinateSweep(const SearchSpace& space,
                                const gp::Posterior& model,
                                const gp::Acquisition& acquisition,
                                Point& point) const {
  bool improved = false;
  std::vector<Point> variants;
  for (size_t i = 0; i < space.size(); ++i) {
    const ParamSpec& p = space.param(i);
    const int64_t count = p.Cardinality();
    if (IsInactive(point.params[i]) || count < 2) continue;
    if (kinds_[i] == DimKind::kNumeric && count > kMaxCoordinateValues &&
        !is_parent_[i]) {
      continue;  // the gradient step's
    }
    // The current value's position: indices are the coordinate itself, and
    // NthValue increases with k.
    int64_t current;
    if (p.IsIndexed()) {
      current = static_cast<int64_t>(point.params[i]);
    } else {
      int64_t lo = 0;
      int64_t hi = count - 1;
      while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (p.NthValue(mid) < point.params[i]) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      current = lo;
    }
    std::vector<int64_t> tries;
    if (count <= kEnumerateValues || kinds_[i] == DimKind::kCategorical) {
      for (int64_t k = 0; k < count; ++k) {
        if (k != current) tries.push_back(k);
      }
    } else {
      for (int64_t step = 1; step < count; step *= 2) {
        if (current - step >= 0) tries.push_back(current - step);
        if (current + step < count) tries.push_back(current + step);
      }
    }
    variants.clear();
    for (int64_t k : tries) {
      Point variant = point;
      variant.unit[i] = p.IsIndexed() ? (static_cast<double>(k) + 0.5) / count
                                      : p.ToUnit(p.NthValue(k));
      Legalize(space, variant);
      variants.push_back(std::move(variant));
    }
    Score(model, acquisition, variants);
    for (Point& variant : variants) {
      if (variant.value > point.value) {
        point = std::move(variant);
        improved = true;
      }
    }
  }
  return improved;
}

void GpSampler::Refine(const SearchSpace& space, const gp::Posterior& model,
                       const gp::Acquisition& acquisition, Point& point) const {
  GradientStep(space, model, acquisition, point);
  bool changed = false;
  for (int sweep = 0; sweep < kCoordinateSweeps; ++sweep) {
    if (!CoordinateSweep(space, model, acquisition, point)) break;
    changed = true;
  }
  // A new category or branch moves the continuous optimum.
  if (changed) GradientStep(space, model, acquisition, point);
}

absl::StatusOr<Suggestion> GpSampler::Suggest(const SearchSpace& space,
                                              const History& history,
                                              Rng& rng) {
  // The `seed` setting perturbs the server's stream, so that two experiments
  // differing only in it search differently.
  Rng local(rng() ^ (config_.seed * 0x9E3779B97F4A7C15ULL));
  const size_t dims = space.size();
  if (dims == 0) return Suggestion{{}, ""};
  const bool maximize =
      !history.goals.empty() && history.goals[0] == Goal::kMaximize;

  // Completed trials (finite first value), pruned ones and pending ones
  // (running or waiting). Failed trials have no value to learn from.
  std::vector<std::vector<double>> observed;
  std::vector<double> values;
  std::vector<std::vector<double>> pending;
  std::vector<std::vector<double>> pruned;
  std::vector<double> pruned_last;  // NaN: pruned before any report
  for (const TrialRecord& trial : history.trials) {
    if (trial.params.size() != dims) continue;
    const bool done =
        trial.state == TrialState::kCompleted && !trial.values.empty();
    const bool running = trial.state == TrialState::kRunning ||
                         trial.state == TrialState::kWaiting;
    const bool stopped =
        trial.state == TrialState::kPruned && config_.consider_pruned_trials;
    if (!done && !running && !stopped) continue;
    if (done && std::isnan(trial.values[0])) continue;
    std::vector<double> x = trial.params;
    space.MaskInactive(x);
    bool usable = true;
    for (size_t i = 0; i < dims; ++i) {
      if (space.IsActive(i, x) && !std::isfinite(x[i])) usable = false;
    }
    if (!usable) continue;
    if (done) {
      observed.push_back(std::move(x));
      values.push_back(maximize ? -trial.values[0] : trial.values[0]);
    } else if (stopped) {
      pruned.push_back(std::move(x));
      const double last = trial.intermediate.empty()
                              ? std::numeric_limits<double>::quiet_NaN()
                              : trial.intermediate.back().second;
      pruned_last.push_back(maximize ? -last : last);
    } else {
      pending.push_back(std::move(x));
    }
  }
  // A pruned trial was stopped for looking worse than the others at some
  // step, and its last value is at a smaller budget than the completed
  // trials' values. It joins the data at the worse of that value and the
  // completed trials' median: evidence that its region is not where the
  // optimum is, without letting a noisy early value pass for a good final
  // one. Without completed trials there is nothing to compare it with.
  if (!pruned.empty() && !values.empty()) {
    std::vector<double> sorted = values;
    std::sort(sorted.begin(), sorted.end());
    const size_t m = sorted.size();
    const double median =
        m % 2 == 1 ? sorted[m / 2] : 0.5 * (sorted[m / 2 - 1] + sorted[m / 2]);
    for (size_t k = 0; k < pruned.size(); ++k) {
      observed.push_back(std::move(pruned[k]));
      values.push_back(std::isnan(pruned_last[k])
                           ? median
                           : std::max(pruned_last[k], median));
    }
  }
  if (static_cast<int64_t>(observed.size()) <
      std::max<int64_t>(config_.n_startup, 2)) {
    // A draw that repeats a running trial (likely in a small finite space,
    // with parallel workers) is drawn again; after kStartupRedraws repeats the
    // space is all but taken, and the last draw is as good as any.
    constexpr int kStartupRedraws = 64;
    std::vector<double> x = PriorDraw(space, local);
    for (int attempt = 0; attempt < kStartupRedraws; ++attempt) {
      const bool running = std::any_of(pending.begin(), pending.end(),
                                       [&](const std::vector<double>& p) {
                                         return SameConfiguration(p, x);
                                       });
      if (!running) break;
      x = PriorDraw(space, local);
    }
    return Suggestion{std::move(x), ""};
  }

  // Standardize; an infinite value counts as the worst finite one.
  const Eigen::Index n = static_cast<Eigen::Index>(observed.size());
  double worst = -std::numeric_limits<double>::infinity();
  for (double v : values) {
    if (std::isfinite(v)) worst = std::max(worst, v);
  }
  if (!std::isfinite(worst)) return Suggestion{PriorDraw(space, local), ""};
  Eigen::VectorXd y(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    y[i] = std::isfinite(values[i]) ? values[i] : worst;
  }
  if (config_.warp_outputs) gp::WarpWorseHalf(y);
  if (config_.compress_outliers) gp::CompressOutliers(y);
  // Near the largest double the mean and the squares below would overflow;
  // standardizing does not depend on the values' scale, so shrink them first.
  const double largest = y.cwiseAbs().maxCoeff();
  if (largest > 1e150) y /= largest;
  const double mean = y.mean();
  double scale = std::sqrt((y.array() - mean).square().mean());
  if (!(scale > 1e-12 * std::max(1.0, std::abs(mean)))) scale = 1;
  y = (y.array() - mean) / scale;

  Eigen::MatrixXd x(n, static_cast<Eigen::Index>(dims));
  for (Eigen::Index i = 0; i < n; ++i) {
    x.row(i) = Encode(space, observed[i]).transpose();
  }
  const gp::KernelParams params =
      gp::FitKernel(kinds_, x, y, config_.fit, local);
  gp::Posterior model;
  if (!model.Build(kinds_, x, y, params, config_.fit.nu)) {
    return Suggestion{PriorDraw(space, local), ""};
  }

  // Kriging believer: pending trials join the data at the model's mean, as if
  // they had returned it, so the variance there collapses and, with the
  // incumbent updated too, so does the expected improvement.
  double incumbent = y.minCoeff();
  if (!pending.empty()) {
    const Eigen::Index r = static_cast<Eigen::Index>(pending.size());
    Eigen::MatrixXd xp(r, static_cast<Eigen::Index>(dims));
    for (Eigen::Index i = 0; i < r; ++i) {
      xp.row(i) = Encode(space, pending[i]).transpose();
    }
    Eigen::VectorXd believed;
    Eigen::VectorXd unused;
    model.Predict(xp, &believed, &unused);
    incumbent = std::min(incumbent, believed.minCoeff());
    Eigen::MatrixXd xa(n + r, static_cast<Eigen::Index>(dims));
    xa << x, xp;
    Eigen::VectorXd ya(n + r);
    ya << y, believed;
    if (!model.Build(kinds_, std::move(xa), std::move(ya), params,
                     config_.fit.nu, r)) {
      return Suggestion{PriorDraw(space, local), ""};
    }
  }

  gp::Acquisition acquisition = config_.acquisition;
  acquisition.best = incumbent;

  // Candidates: a scrambled Halton set over the whole space, and
  // perturbations of the best trials for the exploitation the global set is
  // too coarse for.
  std::vector<Point> candidates;
  candidates.reserve(static_cast<size_t>(config_.n_candidates +
                                         config_.n_candidates / kLocalDivisor));
  gp::ScrambledHalton halton(static_cast<int>(dims), local);
  for (int64_t c = 0; c < config_.n_candidates; ++c) {
    Point point;
    point.unit.resize(dims);
    halton.Point(static_cast<uint64_t>(c), point.unit.data());
    Legalize(space, point);
    candidates.push_back(std::move(point));
  }
  std::vector<Eigen::Index> order(n);
  std::iota(order.begin(), order.end(), 0);
  const Eigen::Index centers = std::min<Eigen::Index>(kLocalCenters, n);
  std::partial_sort(
      order.begin(), order.begin() + centers, order.end(),
      [&](Eigen::Index a, Eigen::Index b) { return y[a] < y[b]; });
  const double perturb_probability =
      std::min(1.0, 5.0 / static_cast<double>(dims));
  const int64_t local_count = config_.n_candidates / kLocalDivisor;
  for (int64_t c = 0; c < local_count; ++c) {
    const std::vector<double>& center = observed[order[c % centers]];
    // Alternate a fine and a coarse radius.
    const double radius = (c / centers) % 2 == 0 ? 0.02 : 0.1;
    Point point;
    point.unit.resize(dims);
    bool moved = false;
    for (size_t i = 0; i < dims; ++i) {
      const ParamSpec& p = space.param(i);
      const double draw = UnitDraw(local);
      const double other = UnitDraw(local);
      if (IsInactive(center[i])) {
        point.unit[i] = other;
        continue;
      }
      const double at = kinds_[i] == DimKind::kCategorical
                            ? (p.Snap(center[i]) + 0.5) / p.Cardinality()
                            : p.ToUnit(p.Snap(center[i]));
      point.unit[i] = at;
      if (draw >= perturb_probability) continue;
      moved = true;
      if (kinds_[i] == DimKind::kCategorical) {
        point.unit[i] = other;
      } else {
        const double z = NormalQuantile(std::clamp(other, 1e-12, 1 - 1e-12));
        point.unit[i] = std::clamp(at + radius * z, 0.0, 1.0);
      }
    }
    if (!moved) {
      const size_t i = static_cast<size_t>(UnitDraw(local) * dims) % dims;
      point.unit[i] = UnitDraw(local);
    }
    Legalize(space, point);
    candidates.push_back(std::move(point));
  }
  Score(model, acquisition, candidates);

  // Refine the best few distinct candidates; keep the best result.
  std::vector<size_t> rank(candidates.size());
  std::iota(rank.begin(), rank.end(), 0);
  std::stable_sort(rank.begin(), rank.end(), [&](size_t a, size_t b) {
    return candidates[a].value > candidates[b].value;
  });
  std::vector<Point> starts;
  for (size_t r : rank) {
    if (static_cast<int64_t>(starts.size()) >= config_.n_restarts) break;
    const Point& c = candidates[r];
    const bool seen =
        std::any_of(starts.begin(), starts.end(), [&](const Point& s) {
          return s.feature.cwiseEqual(c.feature).all() || s.params == c.params;
        });
    if (!seen) starts.push_back(c);
  }
  for (Point& start : starts) Refine(space, model, acquisition, start);
  std::stable_sort(
      starts.begin(), starts.end(),
      [](const Point& a, const Point& b) { return a.value > b.value; });

  // Expected improvement can prefer re-evaluating the incumbent to anything
  // new, which wastes a trial on a deterministic objective; in spaces small
  // enough for it to happen (exact repeats are all but impossible in
  // continuous ones), the best point no trial has is taken instead.
  auto is_new = [&](const std::vector<double>& x) {
    auto same = [&](const std::vector<double>& other) {
      for (size_t i = 0; i < dims; ++i) {
        if (IsInactive(x[i]) != IsInactive(other[i])) return false;
        if (!IsInactive(x[i]) && x[i] != other[i]) return false;
      }
      return true;
    };
    return std::none_of(observed.begin(), observed.end(), same) &&
           std::none_of(pending.begin(), pending.end(), same);
  };
  for (const Point& start : starts) {
    if (is_new(start.params)) return Suggestion{start.params, ""};
  }
  for (size_t r : rank) {
    if (is_new(candidates[r].params)) {
      return Suggestion{candidates[r].params, ""};
    }
  }
  return Suggestion{
      starts.empty() ? candidates[rank[0]].params : starts[0].params, ""};
}

}  // namespace

absl::StatusOr<std::unique_ptr<Sampler>> CreateGpSampler(
    const SearchSpace& space, Settings& settings) {
  GpConfig config;

  // The acquisition function, by its name here or NNI's `utility`.
  absl::StatusOr<std::string> name = settings.GetString("acquisition", "");
  if (!name.ok()) return name.status();
  absl::StatusOr<std::string> utility = settings.GetString("utility", "");
  if (!utility.ok()) return utility.status();
  std::string kind = absl::AsciiStrToLower(*name);
  if (kind.empty()) kind = "logei";
  if (!name->empty() &&
      !(kind == "logei" || kind == "ei" || kind == "ucb" || kind == "pi")) {
    return settings.Invalid(
        "acquisition",
        absl::StrCat("must be logei, ei, ucb or pi, got \"", *name, "\""));
  }
  if (!utility->empty()) {
    std::string u = absl::AsciiStrToLower(*utility);
    if (u == "poi") u = "pi";
    if (!(u == "ei" || u == "ucb" || u == "pi")) {
      return settings.Invalid(
          "utility",
          absl::StrCat("must be ei, ucb or poi, got \"", *utility, "\""));
    }
    if (!name->empty() && u != kind) {
      return settings.Invalid(
          "utility",
          absl::StrCat("conflicts with acquisition \"", *name, "\""));
    }
    kind = u;
  }
  config.acquisition.kind = kind == "ei"    ? AcquisitionKind::kEi
                            : kind == "ucb" ? AcquisitionKind::kUcb
                            : kind == "pi"  ? AcquisitionKind::kPi
                                            : AcquisitionKind::kLogEi;
  absl::StatusOr<double> kappa = settings.GetDoubleAtLeast("kappa", 2.0, 0);
  if (!kappa.ok()) return kappa.status();
  config.acquisition.kappa = *kappa;
  absl::StatusOr<double> xi = settings.GetDoubleAtLeast("xi", 0.0, 0);
  if (!xi.ok()) return xi.status();
  config.acquisition.xi = *xi;

  absl::StatusOr<Aliased<int64_t>> startup = settings.GetIntAliased(
      {"n_startup_trials", "n_initial_points", "cold_start_num"}, 10);
  if (!startup.ok()) return startup.status();
  if (startup->value < 0) return settings.Invalid(startup->key, "must be >= 0");
  config.n_startup = startup->value;
  absl::StatusOr<Aliased<int64_t>> candidates =
      settings.GetIntAliased({"n_candidates", "selection_num_warm_up"}, 1024);
  if (!candidates.ok()) return candidates.status();
  if (candidates->value < 1 || candidates->value > 1000000) {
    return settings.Invalid(candidates->key, "must be in [1, 1000000]");
  }
  config.n_candidates = candidates->value;
  absl::StatusOr<Aliased<int64_t>> restarts = settings.GetIntAliased(
      {"n_restarts", "selection_num_starting_points"}, 5);
  if (!restarts.ok()) return restarts.status();
  if (restarts->value < 1 || restarts->value > 10000) {
    return settings.Invalid(restarts->key, "must be in [1, 10000]");
  }
  config.n_restarts = restarts->value;
  absl::StatusOr<Aliased<int64_t>> seed =
      settings.GetIntAliased({"seed", "random_state"}, 0);
  if (!seed.ok()) return seed.status();
  config.seed = static_cast<uint64_t>(seed->value);

  if (absl::Status s = settings.CheckOptimizeMode(); !s.ok()) return s;

  absl::StatusOr<double> nu = settings.GetDouble("nu", 2.5);
  if (!nu.ok()) return nu.status();
  if (*nu != 1.5 && *nu != 2.5) {
    return settings.Invalid("nu", "must be 1.5 or 2.5");
  }
  config.fit.nu = *nu;
  absl::StatusOr<double> alpha = settings.GetDoubleInRange("alpha", 1e-6, 0, 1);
  if (!alpha.ok()) return alpha.status();
  config.fit.min_noise = std::max(*alpha, 1e-10);
  absl::StatusOr<bool> deterministic =
      settings.GetBool("deterministic_objective", false);
  if (!deterministic.ok()) return deterministic.status();
  config.fit.fixed_noise = *deterministic;
  absl::StatusOr<bool> pruned =
      settings.GetBool("consider_pruned_trials", true);
  if (!pruned.ok()) return pruned.status();
  config.consider_pruned_trials = *pruned;
  absl::StatusOr<bool> warp = settings.GetBool("warp_outputs", false);
  if (!warp.ok()) return warp.status();
  config.warp_outputs = *warp;
  absl::StatusOr<bool> compress = settings.GetBool("compress_outliers", true);
  if (!compress.ok()) return compress.status();
  config.compress_outliers = *compress;

  for (size_t i = 0; i < space.size(); ++i) {
    const ParamSpec& p = space.param(i);
    const std::string where =
        absl::StrCat("parameters[", i, "] (", p.name, "): ");
    if (p.IsIndexed() && p.Cardinality() < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "needs at least one value"));
    }
    if (!p.IsIndexed() && p.prior == Prior::kUniform &&
        !(std::isfinite(p.low) && std::isfinite(p.high))) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "an unbounded range needs a normal prior"));
    }
  }
  return std::make_unique<GpSampler>(space, std::move(config));
}

}  // namespace hpo
