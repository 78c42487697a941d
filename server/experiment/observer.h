// What an experiment tells whoever watches it as it happens: the server
// counts these for /metrics (server/service.cc), tests count them by hand.
// The experiment library knows nothing of metrics, and samplers and pruners
// know nothing of either.

#ifndef HPO_SERVER_EXPERIMENT_OBSERVER_H_
#define HPO_SERVER_EXPERIMENT_OBSERVER_H_

#include "absl/strings/string_view.h"

namespace hpo {

// Called under the experiment's lock, on the hot paths (suggest, report):
// implementations must be cheap, thread-safe (one observer serves every
// experiment), must not block and must not call back into the experiment.
// The string_views are valid only during the call.
class ExperimentObserver {
 public:
  virtual ~ExperimentObserver() = default;

  // The sampler was asked for a suggestion and answered (with a suggestion or
  // an error) after `seconds`. `algorithm` is the one that made it: the pick
  // of an algorithm that picks among others (auto: "gp", "tpe", ...), else
  // the experiment's algorithm name.
  virtual void SamplerCalled(absl::string_view algorithm, double seconds) = 0;

  // The early-stopping rule `rule` (the experiment's early_stopping.name)
  // judged a running trial's intermediate report: stop it or let it continue.
  virtual void EarlyStoppingDecided(absl::string_view rule, bool stop) = 0;

  // A running trial's lease ran out without a sign of life; the trial went
  // back to WAITING, to be handed out again with the same parameters.
  virtual void LeaseExpired() = 0;
};

}  // namespace hpo

#endif  // HPO_SERVER_EXPERIMENT_OBSERVER_H_
