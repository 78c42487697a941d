// Helpers shared by the sampler tests (samplers/*/*_test.cc): builders for
// ParamSpec, creating a sampler through Settings, checking that a suggestion
// is legal for its space, and running a sampler on an objective the way the
// server would. Test-only.

#ifndef SAMPLERS_TESTING_SAMPLER_TEST_UTIL_H_
#define SAMPLERS_TESTING_SAMPLER_TEST_UTIL_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/history.h"
#include "core/search_space.h"
#include "core/settings.h"
#include "samplers/sampler.h"

namespace hpo {
namespace sampler_testing {

// A sampler factory as the samplers export it, e.g. CreateRandomSampler.
using SamplerFactory = absl::StatusOr<std::unique_ptr<Sampler>> (*)(
    const SearchSpace& space, Settings& settings);

// A continuous parameter on [low, high], optionally log-scaled and stepped.
ParamSpec DoubleParam(std::string name, double low, double high,
                      bool log = false, double step = 0);

// An integer parameter on [low, high], optionally log-scaled, with `step`.
ParamSpec IntParam(std::string name, double low, double high, bool log = false,
                   double step = 1);

// A continuous parameter on [low, high] rounded to multiples of `q`.
ParamSpec QuantizedParam(std::string name, double low, double high, double q);

// A continuous parameter on [low, high] with a normal prior N(mu, sigma),
// in log space when `log`.
ParamSpec NormalParam(std::string name, double low, double high, double mu,
                      double sigma, bool log = false);

// A categorical parameter whose values are the indices of `labels`.
ParamSpec CategoricalParam(std::string name, std::vector<std::string> labels);

// A parameter taking one of the listed numeric `values`.
ParamSpec DiscreteParam(std::string name, std::vector<double> values);

// `p` made conditional: active only while parameter `parent` takes one of
// `parent_values`.
ParamSpec ActiveWhen(ParamSpec p, int parent,
                     std::vector<double> parent_values);

// Creates a sampler with `factory` from the "algorithm.settings" `values`, as
// the registry does: expects creation to succeed and every setting to have
// been read (reporting unknown ones under `algorithm`). Returns nullptr if
// creation failed.
std::unique_ptr<Sampler> MakeSamplerReadingAllSettings(
    SamplerFactory factory, const SearchSpace& space,
    std::map<std::string, std::string> values, const std::string& algorithm);

// Creates a sampler with `factory` and default settings, without checking
// anything; for baselines such as random search.
std::unique_ptr<Sampler> MakeDefaultSampler(SamplerFactory factory,
                                            const SearchSpace& space);

// A trial record for history-building: its number, state, coordinates and
// objective values (none for a trial that has not completed).
TrialRecord MakeTrial(int64_t number, TrialState state,
                      std::vector<double> params,
                      std::vector<double> values = {});

// Expects `x` to be a legal suggestion for `space`: one coordinate per
// parameter, inactive exactly where SearchSpace::MaskInactive says, and every
// active coordinate accepted by ParamSpec::Contains.
void ExpectLegalForSpace(const SearchSpace& space,
                         const std::vector<double>& x);

// An objective over a suggestion's coordinates.
using Objective = std::function<double(const std::vector<double>&)>;

// Runs `budget` trials one after another, the server's way: each suggested
// with a fresh Rng seeded from `seed` and the trial number, checked legal for
// `space`, and completed with the objective's value (its sampler_data kept).
History RunTrials(Sampler& sampler, const SearchSpace& space,
                  const Objective& objective, int budget, uint64_t seed,
                  Goal goal = Goal::kMinimize);

// The best first-objective value of the completed trials, by the history's
// goal; an infinity of the wrong sign when none completed.
double BestValue(const History& history);

// The upper median (the middle element, or the larger of the middle two).
double Median(std::vector<double> values);

// Over seeds 1 to 11, the median of the best value found in `budget` trials
// of `objective` by a sampler from `make_a` and by one from `make_b` (a fresh
// one per seed, as a new experiment would get).
std::pair<double, double> MedianBests(
    const std::function<std::unique_ptr<Sampler>()>& make_a,
    const std::function<std::unique_ptr<Sampler>()>& make_b,
    const SearchSpace& space, const Objective& objective, int budget);

// Fifteen parameters of every kind (continuous, stepped, log, integer,
// quantized, normal and log-normal priors, categorical, discrete) with a
// conditional tree two levels deep: ca when c is a; cb when c is b or c; nest
// when c is b; deep when nest is x. Parameter 9 is c and 13 is nest.
SearchSpace EveryKind();

// An objective on EveryKind() preferring c = b, nest = x and the middle of
// every active parameter's unit range.
double EveryKindObjective(const SearchSpace& space,
                          const std::vector<double>& x);

}  // namespace sampler_testing
}  // namespace hpo

#endif  // SAMPLERS_TESTING_SAMPLER_TEST_UTIL_H_
