// Helpers shared by the sampler tests (samplers/*/*_test.cc): builders for
// ParamSpec, creating a sampler through Settings, and checking that a
// suggestion is legal for its space. Test-only.

#ifndef SAMPLERS_TESTING_SAMPLER_TEST_UTIL_H_
#define SAMPLERS_TESTING_SAMPLER_TEST_UTIL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
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

}  // namespace sampler_testing
}  // namespace hpo

#endif  // SAMPLERS_TESTING_SAMPLER_TEST_UTIL_H_
