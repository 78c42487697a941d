// The one interface every early-stopping rule implements.
//
// A pruner sees the experiment's history (core/history.h: each trial's
// intermediate values of the first objective, as (step, value) with steps
// ascending, and completed trials' final values) and decides whether one
// running trial should stop now. Like a sampler it knows nothing of gRPC,
// storage or threads, keeps no state a restart would lose, and decides the
// same way given the same history.

#ifndef HPO_PRUNERS_PRUNER_H_
#define HPO_PRUNERS_PRUNER_H_

#include <cstdint>
#include <string>

#include "core/history.h"

namespace hpo {

struct PruneDecision {
  bool stop = false;
  // Why, for a person to read: e.g. "0.31 at step 4 is worse than the median
  // 0.52 of 6 trials at that step".
  std::string reason;
};

class Pruner {
 public:
  virtual ~Pruner() = default;

  // Whether history.trials[trial] (RUNNING, whose newest intermediate value
  // is at `step`) should stop. The goal is history.goals[0]. Trials in every
  // state may be in the history: completed ones (values set, and their
  // intermediate values), pruned ones, failed ones, running ones.
  virtual PruneDecision ShouldStop(const History& history, size_t trial,
                                   int64_t step) const = 0;

  // Rules with brackets (Hyperband) put each trial in one, by its number
  // alone; samplers then learn only from trials of the same bracket. -1: the
  // rule has no brackets.
  virtual int Bracket(int64_t trial_number) const { return -1; }
};

}  // namespace hpo

#endif  // HPO_PRUNERS_PRUNER_H_
