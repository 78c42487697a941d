// Grid search: every combination of the parameters' values, one per trial, in a
// fixed order, until none is left.
//
// The order is that of nested loops over the parameters in the space's order,
// the last parameter innermost, each running through its values in increasing
// coordinate order. Each parameter's values are its legal ones: every integer
// (or every step) of a range, every index of a categorical or discrete
// parameter. A continuous double range has no finite set of values, so it takes
// the setting `grid_points` (an integer >= 2): that many points evenly spaced
// from min to max inclusive, evenly in log space if `log`.
//
// The sampler keeps no state. Each suggestion is the first grid point, in grid
// order, that no trial in the history (in any state) already has, so a restart,
// a failed trial or trials suggested out of order never repeat or skip a point.
// Once every point has a trial, Suggest returns OUT_OF_RANGE. The random source
// is not used.

#ifndef HPO_SAMPLERS_GRID_GRID_SAMPLER_H_
#define HPO_SAMPLERS_GRID_GRID_SAMPLER_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "core/search_space.h"
#include "core/settings.h"
#include "samplers/sampler.h"

namespace hpo {

// Grids larger than this are refused: they could not be finished, and are more
// likely a mistake (a fine step, a wide integer range) than an intent.
inline constexpr int64_t kMaxGridPoints = 10'000'000;

// Reads `grid_points`. INVALID_ARGUMENT naming the parameter for a continuous
// double range without `grid_points`, naming the setting when it is malformed
// or below 2, and giving the size when the grid has more than kMaxGridPoints
// points.
absl::StatusOr<std::unique_ptr<Sampler>> CreateGridSampler(
    const SearchSpace& space, Settings& settings);

}  // namespace hpo

#endif  // HPO_SAMPLERS_GRID_GRID_SAMPLER_H_
