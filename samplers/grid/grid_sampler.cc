#include "samplers/grid/grid_sampler.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/history.h"

namespace hpo {
namespace {

// One parameter's values along the grid.
struct Axis {
  ParamSpec spec;
  // The values of a continuous double range, increasing. Empty for every other
  // parameter, whose k-th value is spec.NthValue(k): they can have millions of
  // values, which are not worth storing.
  std::vector<double> points;
  int64_t size = 0;

  double Value(int64_t k) const {
    return points.empty() ? spec.NthValue(k) : points[k];
  }

  // The position along the axis of a trial's coordinate, or -1 if it is on no
  // grid point. A coordinate counts as the point its Snap equals, so that a
  // trial from another algorithm, or from an older spec, still uses up its
  // nearest legal value.
  int64_t IndexOf(double coordinate) const {
    if (!std::isfinite(coordinate)) return -1;
    const double snapped = spec.Snap(coordinate);
    if (!points.empty()) {
      // Continuous: Snap only clamps, so only an exact match is on the grid.
      auto it = std::lower_bound(points.begin(), points.end(), snapped);
      if (it == points.end() || *it != snapped) return -1;
      return it - points.begin();
    }
    const int64_t k = spec.IsIndexed() ? static_cast<int64_t>(snapped)
                                       : static_cast<int64_t>(std::llround(
                                             (snapped - spec.low) / spec.step));
    return std::clamp<int64_t>(k, 0, size - 1);
  }
};

// `n` >= 2 points from spec.low to spec.high inclusive, evenly spaced (in log
// space if spec.log), without duplicates: a range with low == high, or one so
// narrow that neighbours round to the same double, would otherwise suggest the
// same point forever, since a trial there only ever marks the first copy used.
std::vector<double> EvenPoints(const ParamSpec& spec, int64_t n) {
  std::vector<double> points;
  points.reserve(n);
  for (int64_t k = 0; k < n; ++k) {
    const double t = static_cast<double>(k) / static_cast<double>(n - 1);
    // Computed from the ends each time, not by accumulation, so errors do not
    // add up; pow keeps round numbers round (1, 10, 100) where exp(log) would
    // not.
    const double x = spec.log ? spec.low * std::pow(spec.high / spec.low, t)
                              : spec.low + (spec.high - spec.low) * t;
    points.push_back(std::clamp(x, spec.low, spec.high));
  }
  points.front() = spec.low;
  points.back() = spec.high;
  std::sort(points.begin(), points.end());
  points.erase(std::unique(points.begin(), points.end()), points.end());
  return points;
}

class GridSampler : public Sampler {
 public:
  explicit GridSampler(std::vector<Axis> axes) : axes_(std::move(axes)) {
    // Mixed-radix strides: the last axis varies fastest.
    strides_.resize(axes_.size());
    int64_t stride = 1;
    for (size_t i = axes_.size(); i-- > 0;) {
      strides_[i] = stride;
      stride *= axes_[i].size;
    }
    total_ = stride;
  }

  absl::StatusOr<Suggestion> Suggest(const SearchSpace& space,
                                     const History& history,
                                     Rng& rng) override {
    if (space.size() != axes_.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "grid search: the space has ", space.size(),
          " parameters but the grid was built for ", axes_.size()));
    }
    // The grid indices already taken; the answer is the first free one.
    // Recomputed on every call (no state to lose): O(n) in the history.
    absl::flat_hash_set<int64_t> used;
    used.reserve(history.trials.size());
    for (const TrialRecord& trial : history.trials) {
      const int64_t index = GridIndex(trial.params);
      if (index >= 0) used.insert(index);
    }
    const bool conditional = space.HasConditions();
    std::vector<double> coordinates(axes_.size());
    for (int64_t next = 0; next < total_; ++next) {
      if (used.contains(next)) continue;
      for (size_t i = 0; i < axes_.size(); ++i) {
        coordinates[i] = axes_[i].Value((next / strides_[i]) % axes_[i].size);
      }
      if (conditional) {
        // Points that differ only in inactive parameters are one
        // configuration; its canonical index has those digits at 0.
        std::vector<double> masked = coordinates;
        space.MaskInactive(masked);
        bool canonical = true;
        for (size_t i = 0; i < axes_.size() && canonical; ++i) {
          canonical = !IsInactive(masked[i]) ||
                      (next / strides_[i]) % axes_[i].size == 0;
        }
        if (!canonical) continue;
        coordinates = std::move(masked);
      }
      return Suggestion{std::move(coordinates), ""};
    }
    return absl::OutOfRangeError(absl::StrCat(
        "every grid point has been tried (", used.size(), " points)"));
  }

 private:
  // The grid index of a trial's coordinates, or -1 if they are not a grid
  // point.
  int64_t GridIndex(const std::vector<double>& coordinates) const {
    if (coordinates.size() != axes_.size()) return -1;
    int64_t index = 0;
    for (size_t i = 0; i < axes_.size(); ++i) {
      // An inactive parameter sits at digit 0: the canonical point.
      const int64_t k =
          IsInactive(coordinates[i]) ? 0 : axes_[i].IndexOf(coordinates[i]);
      if (k < 0) return -1;
      index += k * strides_[i];
    }
    return index;
  }

  std::vector<Axis> axes_;
  std::vector<int64_t> strides_;
  int64_t total_ = 1;
};

// "parameters[2] (lr)", as the experiment's spec would name it.
std::string ParamName(size_t i, const ParamSpec& spec) {
  return absl::StrCat("parameters[", i, "] (", spec.name, ")");
}

}  // namespace

absl::StatusOr<std::unique_ptr<Sampler>> CreateGridSampler(
    const SearchSpace& space, Settings& settings) {
  // Read even when no parameter needs it, so that setting it is never an error.
  const absl::StatusOr<int64_t> grid_points = settings.GetInt("grid_points", 0);
  if (!grid_points.ok()) return grid_points.status();
  const bool has_grid_points = settings.Has("grid_points");
  if (has_grid_points && *grid_points < 2) {
    return settings.Invalid(
        "grid_points", absl::StrCat("must be at least 2, got ", *grid_points));
  }

  // Sizes first, so that an oversized grid is refused before anything is
  // allocated. The count is kept as a double: it is exact while below 2^53, far
  // above the limit, and beyond that only needs to be roughly right for the
  // message.
  std::vector<int64_t> sizes(space.size());
  double count = 1;
  for (size_t i = 0; i < space.size(); ++i) {
    const ParamSpec& spec = space.param(i);
    if (spec.kind == ParamKind::kDouble && !(spec.step > 0)) {
      if (!has_grid_points) {
        return absl::InvalidArgumentError(absl::StrCat(
            ParamName(i, spec),
            ": a double_range needs a step for grid search, or set "
            "algorithm.settings.grid_points"));
      }
      sizes[i] = *grid_points;
    } else {
      sizes[i] = spec.Cardinality();
      if (sizes[i] < 1) {
        return absl::InvalidArgumentError(
            absl::StrCat(ParamName(i, spec), ": has no values to search"));
      }
    }
    count *= static_cast<double>(sizes[i]);
  }
  if (count > static_cast<double>(kMaxGridPoints)) {
    const std::string how_many = count < 0x1.0p53
                                     ? absl::StrCat(static_cast<int64_t>(count))
                                     : absl::StrFormat("about %.3g", count);
    return absl::InvalidArgumentError(absl::StrCat(
        "grid search: the grid has ", how_many,
        " points, more than the limit of ", kMaxGridPoints,
        "; use larger steps, fewer grid_points or another algorithm"));
  }

  std::vector<Axis> axes(space.size());
  for (size_t i = 0; i < space.size(); ++i) {
    Axis& axis = axes[i];
    axis.spec = space.param(i);
    if (axis.spec.kind == ParamKind::kDouble && !(axis.spec.step > 0)) {
      axis.points = EvenPoints(axis.spec, sizes[i]);
      axis.size = static_cast<int64_t>(axis.points.size());
    } else {
      axis.size = sizes[i];
    }
  }
  return std::make_unique<GridSampler>(std::move(axes));
}

}  // namespace hpo
