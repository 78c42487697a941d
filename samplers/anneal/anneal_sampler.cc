#include "samplers/anneal/anneal_sampler.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/history.h"
#include "samplers/draws.h"

namespace hpo {
namespace {

// How many times a suggestion that repeats a running trial is drawn again.
// Repeats happen once the window is narrow or the space small: the first half
// of the attempts anneal again, the second half draw from the prior, which gets
// out of a window too narrow to hold anything but the running trial.
constexpr int kMaxAttempts = 16;

struct Options {
  double avg_best_idx = 2.0;
  double shrink_coef = 0.1;
  int64_t n_startup_trials = 0;
  bool seeded = false;
  uint64_t seed = 0;
};

// A 0-based rank from the geometric distribution of mean avg_best_idx - 1:
// rank k with probability (1 - p)^k p, p = 1 / avg_best_idx, as hyperopt's
// rng.geometric(p) - 1. Drawn by inverting the CDF, P(K >= k) = (1 - p)^k.
int64_t GeometricRank(double avg_best_idx, Rng& rng) {
  if (avg_best_idx <= 1) return 0;
  const double fail = 1 - 1 / avg_best_idx;
  const double k = std::floor(std::log1p(-UnitDraw(rng)) / std::log(fail));
  // 1 - UnitDraw >= 2^-53, so k is finite; the bound only guards the cast.
  return k < 1e15 ? static_cast<int64_t>(k) : int64_t{1} << 50;
}

// A completed trial, for ranking.
struct Ranked {
  double loss;
  const std::vector<double>* params;
};

class AnnealSampler : public Sampler {
 public:
  explicit AnnealSampler(Options options) : options_(options) {}

  absl::StatusOr<Suggestion> Suggest(const SearchSpace& space,
                                     const History& history,
                                     Rng& server_rng) override {
    Rng storage;
    Rng& rng = UserSeeded(server_rng, options_.seeded, options_.seed, storage);

    const size_t d = space.size();
    const double sign =
        !history.goals.empty() && history.goals[0] == Goal::kMaximize ? -1 : 1;
    std::vector<Ranked> ranked;
    std::vector<const std::vector<double>*> running;
    // explored[i]: trials that have tried parameter i, hyperopt's T. Running
    // and pruned trials count (they are points already explored), failed
    // ones do not (they may never have run).
    std::vector<int64_t> explored(d, 0);
    // ranked_active[i]: completed trials where parameter i is active.
    std::vector<int64_t> ranked_active(d, 0);
    for (const TrialRecord& t : history.trials) {
      // A trial from an older spec cannot be read against this one.
      if (t.params.size() != d || t.state == TrialState::kFailed) continue;
      for (size_t i = 0; i < d; ++i) explored[i] += !IsInactive(t.params[i]);
      if (t.state == TrialState::kRunning || t.state == TrialState::kWaiting) {
        running.push_back(&t.params);
      } else if (t.state == TrialState::kCompleted && !t.values.empty() &&
                 !std::isnan(t.values[0])) {
        ranked.push_back({sign * t.values[0], &t.params});
        for (size_t i = 0; i < d; ++i) {
          ranked_active[i] += !IsInactive(t.params[i]);
        }
      }
    }
    // Stable, so ties go to the earlier trial and the order never depends on
    // the sort's implementation.
    std::stable_sort(
        ranked.begin(), ranked.end(),
        [](const Ranked& a, const Ranked& b) { return a.loss < b.loss; });

    const bool startup = ranked.empty() || static_cast<int64_t>(ranked.size()) <
                                               options_.n_startup_trials;
    std::vector<double> x;
    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
      x = startup || attempt >= kMaxAttempts / 2
              ? PriorDraw(space, rng)
              : Propose(space, ranked, explored, ranked_active, rng);
      const bool repeats = std::any_of(running.begin(), running.end(),
                                       [&](const std::vector<double>* r) {
                                         return SameConfiguration(*r, x);
                                       });
      // When every attempt repeats, the space is all but used up by running
      // trials, and the last draw is as good as any.
      if (!repeats) break;
    }
    return Suggestion{std::move(x), ""};
  }

 private:
  std::vector<double> Propose(const SearchSpace& space,
                              const std::vector<Ranked>& ranked,
                              const std::vector<int64_t>& explored,
                              const std::vector<int64_t>& ranked_active,
                              Rng& rng) const {
    const size_t d = space.size();
    std::vector<double> x(d, kInactive);
    // Positions in `ranked` of the trials drawn so far, in the order drawn:
    // the first is the trial explored around, the others runners-up for
    // parameters it did not have.
    std::vector<size_t> picked;
    for (size_t i = 0; i < d; ++i) {
      // Parents come first, so x holds every coordinate this reads.
      if (!space.IsActive(i, x)) continue;
      const ParamSpec& p = space.param(i);
      const std::vector<double>* source = nullptr;
      for (size_t pos : picked) {
        if (!IsInactive((*ranked[pos].params)[i])) {
          source = ranked[pos].params;
          break;
        }
      }
      if (source == nullptr && ranked_active[i] > 0) {
        int64_t k = std::min(GeometricRank(options_.avg_best_idx, rng),
                             ranked_active[i] - 1);
        for (size_t pos = 0; pos < ranked.size(); ++pos) {
          if (IsInactive((*ranked[pos].params)[i])) continue;
          if (k-- == 0) {
            picked.push_back(pos);
            source = ranked[pos].params;
            break;
          }
        }
      }
      if (source == nullptr) {
        x[i] = p.FromUnit(UnitDraw(rng));
        continue;
      }
      const double width =
          1 / (1 + static_cast<double>(explored[i]) * options_.shrink_coef);
      // Snap: a trial from an older spec may hold a value no longer legal.
      const double value = p.Snap((*source)[i]);
      if (p.IsIndexed()) {
        // hyperopt's mixture (1 - w) * onehot(value) + w * prior.
        x[i] = UnitDraw(rng) < 1 - width ? value : p.FromUnit(UnitDraw(rng));
      } else {
        const double half = width / 2;
        const double centre = std::clamp(p.ToUnit(value), half, 1 - half);
        x[i] = p.FromUnit(centre - half + width * UnitDraw(rng));
      }
    }
    return x;
  }

  Options options_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Sampler>> CreateAnnealSampler(
    const SearchSpace& space, Settings& settings) {
  Options options;
  absl::StatusOr<double> avg_best_idx = settings.GetDoubleAtLeast(
      "avg_best_idx", options.avg_best_idx, 1,
      "the mean 1-based rank of the trial to explore around");
  if (!avg_best_idx.ok()) return avg_best_idx.status();
  options.avg_best_idx = *avg_best_idx;

  absl::StatusOr<double> shrink_coef =
      settings.GetDoubleAtLeast("shrink_coef", options.shrink_coef, 0);
  if (!shrink_coef.ok()) return shrink_coef.status();
  options.shrink_coef = *shrink_coef;

  absl::StatusOr<int64_t> n_startup =
      settings.GetIntAtLeast("n_startup_trials", options.n_startup_trials, 0);
  if (!n_startup.ok()) return n_startup.status();
  options.n_startup_trials = *n_startup;

  // hyperopt and NNI call it random_state, Optuna seed.
  absl::StatusOr<Aliased<int64_t>> seed =
      settings.GetIntAliased({"seed", "random_state"}, 0);
  if (!seed.ok()) return seed.status();
  options.seeded = seed->given;
  options.seed = static_cast<uint64_t>(seed->value);

  // NNI's Anneal tuner takes optimize_mode; here the experiment's goal decides,
  // so it is only checked.
  if (absl::Status s = settings.CheckOptimizeMode(); !s.ok()) return s;
  return std::make_unique<AnnealSampler>(options);
}

}  // namespace hpo
