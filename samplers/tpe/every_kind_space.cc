#include "samplers/tpe/every_kind_space.h"

#include <limits>

#include "samplers/testing/sampler_test_util.h"

namespace hpo {
namespace tpe_testing {

using ::hpo::sampler_testing::ActiveWhen;
using ::hpo::sampler_testing::CategoricalParam;
using ::hpo::sampler_testing::DiscreteParam;
using ::hpo::sampler_testing::DoubleParam;
using ::hpo::sampler_testing::IntParam;
using ::hpo::sampler_testing::QuantizedParam;

SearchSpace EveryKindSpace() {
  ParamSpec normal =
      DoubleParam("normal", -std::numeric_limits<double>::infinity(),
                  std::numeric_limits<double>::infinity());
  normal.prior = Prior::kNormal;
  normal.mu = 3;
  normal.sigma = 2;
  ParamSpec lognormal = DoubleParam("lognormal", 1e-4, 1, true);
  lognormal.prior = Prior::kNormal;
  lognormal.mu = -4;
  lognormal.sigma = 1.5;
  ParamSpec normal_int = IntParam("normal_int", 0, 64);
  normal_int.prior = Prior::kNormal;
  normal_int.mu = 16;
  normal_int.sigma = 8;
  return SearchSpace({
      DoubleParam("d", -2, 3),                                            // 0
      DoubleParam("dstep", 0.1, 2, false, 0.25),                          // 1
      DoubleParam("dlog", 1e-5, 1e-1, true),                              // 2
      IntParam("i", -5, 5),                                               // 3
      IntParam("ilog", 1, 1000, true),                                    // 4
      IntParam("istep", 0, 100, false, 7),                                // 5
      QuantizedParam("q", -1, 7.3, 0.5),                                  // 6
      normal,                                                             // 7
      lognormal,                                                          // 8
      normal_int,                                                         // 9
      CategoricalParam("opt", {"sgd", "adam", "rmsprop"}),                // 10
      DiscreteParam("batch", {16, 32, 64, 128}),                          // 11
      DiscreteParam("mixed", {3, 1, 2}),                                  // 12
      ActiveWhen(DoubleParam("momentum", 0, 1), 10, {0}),                 // 13
      ActiveWhen(CategoricalParam("beta", {"low", "high"}), 10, {1, 2}),  // 14
      ActiveWhen(DoubleParam("beta2", 0.9, 0.999), 14, {1}),              // 15
      ActiveWhen(IntParam("warmup", 0, 10), 14, {0, 1}),                  // 16
      DoubleParam("fixed", 2, 2),                                         // 17
      IntParam("one", 3, 3),                                              // 18
  });
}

}  // namespace tpe_testing
}  // namespace hpo
