#include "samplers/testing/sampler_test_util.h"

#include <utility>

#include "gtest/gtest.h"

namespace hpo {
namespace sampler_testing {

ParamSpec DoubleParam(std::string name, double low, double high, bool log,
                      double step) {
  ParamSpec p;
  p.name = std::move(name);
  p.kind = ParamKind::kDouble;
  p.low = low;
  p.high = high;
  p.log = log;
  p.step = step;
  return p;
}

ParamSpec IntParam(std::string name, double low, double high, bool log,
                   double step) {
  ParamSpec p = DoubleParam(std::move(name), low, high, log, step);
  p.kind = ParamKind::kInt;
  return p;
}

ParamSpec QuantizedParam(std::string name, double low, double high, double q) {
  ParamSpec p = DoubleParam(std::move(name), low, high);
  p.q = q;
  return p;
}

ParamSpec NormalParam(std::string name, double low, double high, double mu,
                      double sigma, bool log) {
  ParamSpec p = DoubleParam(std::move(name), low, high, log);
  p.prior = Prior::kNormal;
  p.mu = mu;
  p.sigma = sigma;
  return p;
}

ParamSpec CategoricalParam(std::string name, std::vector<std::string> labels) {
  ParamSpec p;
  p.name = std::move(name);
  p.kind = ParamKind::kCategorical;
  p.categories = std::move(labels);
  return p;
}

ParamSpec DiscreteParam(std::string name, std::vector<double> values) {
  ParamSpec p;
  p.name = std::move(name);
  p.kind = ParamKind::kDiscrete;
  p.values = std::move(values);
  return p;
}

ParamSpec ActiveWhen(ParamSpec p, int parent,
                     std::vector<double> parent_values) {
  p.parent = parent;
  p.parent_values = std::move(parent_values);
  return p;
}

std::unique_ptr<Sampler> MakeSamplerReadingAllSettings(
    SamplerFactory factory, const SearchSpace& space,
    std::map<std::string, std::string> values, const std::string& algorithm) {
  Settings settings(std::move(values), "algorithm.settings");
  absl::StatusOr<std::unique_ptr<Sampler>> sampler = factory(space, settings);
  EXPECT_TRUE(sampler.ok()) << sampler.status();
  EXPECT_TRUE(settings.CheckAllRead(algorithm).ok());
  return sampler.ok() ? *std::move(sampler) : nullptr;
}

std::unique_ptr<Sampler> MakeDefaultSampler(SamplerFactory factory,
                                            const SearchSpace& space) {
  Settings settings({}, "algorithm.settings");
  return *factory(space, settings);
}

TrialRecord MakeTrial(int64_t number, TrialState state,
                      std::vector<double> params, std::vector<double> values) {
  TrialRecord t;
  t.number = number;
  t.state = state;
  t.params = std::move(params);
  t.values = std::move(values);
  return t;
}

void ExpectLegalForSpace(const SearchSpace& space,
                         const std::vector<double>& x) {
  ASSERT_EQ(x.size(), space.size());
  std::vector<double> masked = x;
  space.MaskInactive(masked);
  for (size_t i = 0; i < space.size(); ++i) {
    const ParamSpec& p = space.param(i);
    EXPECT_EQ(IsInactive(x[i]), IsInactive(masked[i])) << p.name;
    if (!IsInactive(x[i])) {
      EXPECT_TRUE(p.Contains(x[i])) << p.name << " = " << x[i];
    }
  }
}

}  // namespace sampler_testing
}  // namespace hpo
