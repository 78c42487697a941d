// The search space TPE's tests run over: every kind of parameter, and a
// conditional tree two levels deep. tpe_golden_test's recorded suggestions are
// for exactly this space, so a change here needs new golden values.

#ifndef HPO_SAMPLERS_TPE_EVERY_KIND_SPACE_H_
#define HPO_SAMPLERS_TPE_EVERY_KIND_SPACE_H_

#include "core/search_space.h"

namespace hpo {
namespace tpe_testing {

// Parameters by index: 0 d, 1 dstep, 2 dlog, 3 i, 4 ilog, 5 istep, 6 q,
// 7 normal, 8 lognormal, 9 normal_int, 10 opt (categorical), 11 batch,
// 12 mixed (unsorted discrete), 13 momentum (when opt is sgd), 14 beta (when
// opt is adam or rmsprop), 15 beta2 (when beta is high), 16 warmup (when beta
// is set), 17 fixed and 18 one (single values).
SearchSpace EveryKindSpace();

}  // namespace tpe_testing
}  // namespace hpo

#endif  // HPO_SAMPLERS_TPE_EVERY_KIND_SPACE_H_
