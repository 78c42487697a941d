#include "samplers/qmc/qmc_sampler.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "samplers/qmc/sequences.h"

namespace hpo {
namespace {

struct QmcOptions {
  // The scramble's seed; without the setting, the experiment's (History::seed).
  std::optional<uint64_t> seed;
  bool scramble = true;
  uint64_t skip = 0;
};

absl::StatusOr<QmcOptions> ReadOptions(absl::string_view name,
                                       Settings& settings) {
  QmcOptions options;
  absl::StatusOr<int64_t> seed = settings.GetInt("seed", 0);
  if (!seed.ok()) return seed.status();
  // Any integer is a seed; negative ones wrap, which is still deterministic.
  if (settings.Has("seed")) options.seed = static_cast<uint64_t>(*seed);
  absl::StatusOr<bool> scramble = settings.GetBool("scramble", true);
  if (!scramble.ok()) return scramble.status();
  options.scramble = *scramble;
  absl::StatusOr<int64_t> skip = settings.GetIntAtLeast("skip", 0, 0);
  if (!skip.ok()) return skip.status();
  options.skip = static_cast<uint64_t>(*skip);
  // Optuna picks the sequence with qmc_type; here the algorithm name does, so
  // the setting may only confirm it.
  absl::StatusOr<std::string> type =
      settings.GetString("qmc_type", std::string(name));
  if (!type.ok()) return type.status();
  if (*type != name) {
    return settings.Invalid(
        "qmc_type", absl::StrCat("is \"", *type, "\" but the algorithm is \"",
                                 name, "\"; choose the sequence by name"));
  }
  return options;
}

template <typename Sequence>
class QmcSampler : public Sampler {
 public:
  // `sequence` is built already when the seed is known (or unused: no
  // scramble); otherwise it is built from the first history's seed.
  QmcSampler(int dimension, std::optional<Sequence> sequence,
             QmcOptions options)
      : dimension_(dimension),
        sequence_(std::move(sequence)),
        options_(options) {}

  absl::StatusOr<Suggestion> Suggest(const SearchSpace& space,
                                     const History& history,
                                     Rng& rng) override {
    std::vector<double> coordinates(space.size());
    if (dimension_ > 0) {
      // The experiment's seed does not change, so this builds once per
      // sampler; a sampler shared by experiments would rebuild as needed.
      const bool follows_history = options_.scramble && !options_.seed;
      if (follows_history &&
          (!sequence_.has_value() || sequence_seed_ != history.seed)) {
        absl::StatusOr<Sequence> seq =
            Sequence::Create(dimension_, options_.scramble, history.seed);
        if (!seq.ok()) return seq.status();  // the factory checked the size
        sequence_ = *std::move(seq);
        sequence_seed_ = history.seed;
      }
      // Unscrambled point 0 is the origin: every parameter at its lowest
      // value (or prior's lowest quantile), a poor and biased first trial.
      const uint64_t index = static_cast<uint64_t>(history.trials.size()) +
                             options_.skip + (options_.scramble ? 0 : 1);
      sequence_->Point(index, coordinates.data());
      for (size_t i = 0; i < space.size(); ++i) {
        coordinates[i] = space.param(i).FromUnit(coordinates[i]);
      }
      space.MaskInactive(coordinates);
    }
    return Suggestion{std::move(coordinates), ""};
  }

 private:
  int dimension_;
  std::optional<Sequence> sequence_;
  // Which History::seed sequence_ was built from, when it was.
  uint64_t sequence_seed_ = 0;
  QmcOptions options_;
};

template <typename Sequence>
absl::StatusOr<std::unique_ptr<Sampler>> CreateQmcSampler(
    absl::string_view name, const SearchSpace& space, Settings& settings) {
  absl::StatusOr<QmcOptions> options = ReadOptions(name, settings);
  if (!options.ok()) return options.status();
  const int dimension = static_cast<int>(space.size());
  std::optional<Sequence> sequence;
  if (dimension > 0) {
    // Built here even when the history's seed will pick the scramble: this
    // is where a space that is too large is refused.
    absl::StatusOr<Sequence> seq = Sequence::Create(
        dimension, options->scramble, options->seed.value_or(0));
    if (!seq.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "parameters: ", space.size(), " parameters are more than ", name,
          " supports (", seq.status().message(), ")"));
    }
    // Kept when it is the one every call uses: a given seed, or no scramble.
    if (options->seed.has_value() || !options->scramble) {
      sequence = *std::move(seq);
    }
  }
  return std::make_unique<QmcSampler<Sequence>>(dimension, std::move(sequence),
                                                *options);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Sampler>> CreateSobolSampler(
    const SearchSpace& space, Settings& settings) {
  return CreateQmcSampler<SobolSequence>("sobol", space, settings);
}

absl::StatusOr<std::unique_ptr<Sampler>> CreateHaltonSampler(
    const SearchSpace& space, Settings& settings) {
  return CreateQmcSampler<HaltonSequence>("halton", space, settings);
}

}  // namespace hpo
