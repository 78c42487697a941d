#include "pruners/median/median_pruner.h"

#include "pruners/percentile/percentile_pruner.h"

namespace hpo {

absl::StatusOr<std::unique_ptr<Pruner>> CreateMedianPruner(Settings& settings) {
  absl::StatusOr<PercentileOptions> options = ReadPercentileOptions(settings);
  if (!options.ok()) return options.status();
  return MakePercentilePruner(50, *options, "the median");
}

}  // namespace hpo
