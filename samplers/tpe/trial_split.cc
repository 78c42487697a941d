#include "samplers/tpe/trial_split.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

namespace hpo {
namespace tpe_internal {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

inline bool Before(const RankedTrial& a, const RankedTrial& b) {
  return std::tie(a.tier, a.key1, a.key2, a.imputed, a.pos) <
         std::tie(b.tier, b.key1, b.key2, b.imputed, b.pos);
}

}  // namespace

Split SplitTrials(const History& history, size_t n_params,
                  const SplitOptions& options) {
  Split split;
  SplitTrials(history, n_params, options, &split);
  return split;
}

void SplitTrials(const History& history, size_t n_params,
                 const SplitOptions& options, Split* out) {
  const double sign =
      !history.goals.empty() && history.goals[0] == Goal::kMaximize ? -1 : 1;
  Split& split = *out;
  // Filled through indices into arrays sized up front rather than by
  // push_back of temporaries: building each element on the stack and copying
  // it stalled on store forwarding, and that was most of this loop. (Every
  // element used is written below, so what the buffers held does not
  // matter.)
  split.trials.resize(history.trials.size());
  std::vector<RankedTrial>& ranked = split.ranked;
  ranked.resize(history.trials.size());
  size_t n_trials = 0;
  size_t n_ranked = 0;
  std::vector<size_t>& running = split.running;
  running.clear();
  double best = kInf;
  double sum = 0;
  int64_t finite = 0;
  for (const TrialRecord& t : history.trials) {
    if (t.params.size() != n_params) continue;
    const size_t pos = n_trials;
    switch (t.state) {
      case TrialState::kCompleted: {
        // A completed trial without values cannot be ranked: as if failed.
        if (t.values.empty()) continue;
        const double loss = sign * t.values[0];
        RankedTrial& e = ranked[n_ranked++];
        e.key2 = 0;
        e.imputed = 0;
        e.pos = pos;
        if (std::isnan(loss)) {
          e.tier = 2;
          e.key1 = 0;
        } else {
          e.tier = 0;
          e.key1 = loss;
          best = std::min(best, loss);
          if (std::isfinite(loss)) {
            sum += loss;
            ++finite;
          }
        }
        SplitTrial& s = split.trials[n_trials++];
        s.trial = &t;
        s.below = false;
        s.finished = true;
        break;
      }
      case TrialState::kPruned: {
        RankedTrial& e = ranked[n_ranked++];
        e = RankedTrial{1, kInf, 0, 0, pos};
        if (!t.intermediate.empty()) {
          // Steps ascend, so the last entry is the furthest step reached.
          const auto& [step, value] = t.intermediate.back();
          e.key1 = -static_cast<double>(step);
          e.key2 = std::isnan(value) ? kInf : sign * value;
        }
        split.trials[n_trials++] = {&t, false, true};
        break;
      }
      case TrialState::kRunning:
      case TrialState::kWaiting:
        if (options.liar == Liar::kOff) continue;
        running.push_back(pos);
        split.trials[n_trials++] = {&t, false, false};
        break;
      case TrialState::kFailed:
        continue;
    }
  }
  split.trials.resize(n_trials);
  ranked.resize(n_ranked);
  split.n_finished = static_cast<int64_t>(ranked.size());

  // The imputing liars need a value to impute; without one they act as worst.
  const bool impute = (options.liar == Liar::kBest && best < kInf) ||
                      (options.liar == Liar::kMean && finite > 0);
  if (impute) {
    const double lie =
        options.liar == Liar::kBest ? best : sum / static_cast<double>(finite);
    for (size_t pos : running) ranked.push_back({0, lie, 0, 1, pos});
  }
  const double n = static_cast<double>(ranked.size());
  const double wanted = std::ceil(options.gamma * n);
  split.n_below = static_cast<int64_t>(
      std::min({wanted, static_cast<double>(options.linear_forgetting), n}));
  // Only the best n_below (at most linear_forgetting) need ordering; Before
  // is a total order (pos breaks ties), so they are the ones a full sort
  // would put first.
  // (A lambda rather than the function's pointer, so that it is inlined.)
  std::partial_sort(
      ranked.begin(), ranked.begin() + split.n_below, ranked.end(),
      [](const RankedTrial& a, const RankedTrial& b) { return Before(a, b); });
  for (int64_t k = 0; k < split.n_below; ++k) {
    split.trials[ranked[k].pos].below = true;
  }
}

}  // namespace tpe_internal
}  // namespace hpo
