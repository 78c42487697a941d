#include "core/history.h"

#include <algorithm>

namespace hpo {

int64_t History::CountInState(TrialState state) const {
  return std::count_if(
      trials.begin(), trials.end(),
      [state](const TrialRecord& t) { return t.state == state; });
}

}  // namespace hpo
