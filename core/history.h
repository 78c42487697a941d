// What the algorithms know of an experiment's past: its trials, as coordinates
// and objective values. Plain C++, no protobuf.

#ifndef HPO_CORE_HISTORY_H_
#define HPO_CORE_HISTORY_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace hpo {

enum class Goal { kMinimize, kMaximize };

enum class TrialState { kWaiting, kRunning, kCompleted, kPruned, kFailed };

struct TrialRecord {
  int64_t number = 0;
  TrialState state = TrialState::kRunning;
  // One coordinate per search-space parameter (see search_space.h); kInactive
  // for conditional parameters that were not active.
  std::vector<double> params;
  // One value per objective, in the experiment's order; empty unless completed.
  std::vector<double> values;
  // The first objective's intermediate values as (step, value), steps
  // ascending; what a pruned trial leaves as evidence.
  std::vector<std::pair<int64_t, double>> intermediate;
  // What the sampler attached when it suggested the trial (samplers/sampler.h);
  // empty for trials it did not suggest.
  std::string sampler_data;
};

struct History {
  // One goal per objective; the first objective is the one single-objective
  // algorithms optimize.
  std::vector<Goal> goals;
  // Every trial of the experiment, in number order: completed ones, running
  // ones (params set, no values), failed and pruned ones, and trials added
  // from outside (warm start), which look like completed ones.
  std::vector<TrialRecord> trials;
  // The experiment's seed (Experiment.seed), fixed for its whole life: for
  // the rare algorithm that needs the same randomness on every call (a
  // quasi-random sequence's scramble). Per-suggestion randomness comes from
  // the Rng given to Sampler::Suggest, which the server seeds from it too.
  uint64_t seed = 0;

  int64_t CountInState(TrialState state) const;
};

}  // namespace hpo

#endif  // HPO_CORE_HISTORY_H_
