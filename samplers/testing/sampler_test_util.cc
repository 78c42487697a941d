#include "samplers/testing/sampler_test_util.h"

#include <algorithm>
#include <cmath>
#include <limits>
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

History RunTrials(Sampler& sampler, const SearchSpace& space,
                  const Objective& objective, int budget, uint64_t seed,
                  Goal goal) {
  History history;
  history.goals = {goal};
  for (int t = 0; t < budget; ++t) {
    Rng rng(seed * 1000003 + static_cast<uint64_t>(t));
    absl::StatusOr<Suggestion> s = sampler.Suggest(space, history, rng);
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) break;
    ExpectLegalForSpace(space, s->params);
    TrialRecord record =
        MakeTrial(t, TrialState::kCompleted, s->params, {objective(s->params)});
    record.sampler_data = std::move(s->sampler_data);
    history.trials.push_back(std::move(record));
  }
  return history;
}

double BestValue(const History& history) {
  const bool maximize =
      !history.goals.empty() && history.goals[0] == Goal::kMaximize;
  double best = (maximize ? -1 : 1) * std::numeric_limits<double>::infinity();
  for (const TrialRecord& t : history.trials) {
    if (t.state != TrialState::kCompleted || t.values.empty()) continue;
    best = maximize ? std::max(best, t.values[0]) : std::min(best, t.values[0]);
  }
  return best;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

std::pair<double, double> MedianBests(
    const std::function<std::unique_ptr<Sampler>()>& make_a,
    const std::function<std::unique_ptr<Sampler>()>& make_b,
    const SearchSpace& space, const Objective& objective, int budget) {
  std::vector<double> a, b;
  for (uint64_t seed = 1; seed <= 11; ++seed) {
    a.push_back(
        BestValue(RunTrials(*make_a(), space, objective, budget, seed)));
    b.push_back(
        BestValue(RunTrials(*make_b(), space, objective, budget, seed)));
  }
  return {Median(a), Median(b)};
}

SearchSpace EveryKind() {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  return SearchSpace({
      DoubleParam("d", -2, 3),                                   // 0
      DoubleParam("dstep", 0.1, 2, false, 0.25),                 // 1
      DoubleParam("dlog", 1e-5, 1e-1, true),                     // 2
      IntParam("i", -5, 5),                                      // 3
      IntParam("ilog", 1, 1000, true),                           // 4
      IntParam("istep", 0, 100, false, 7),                       // 5
      QuantizedParam("q", 0, 10, 0.5),                           // 6
      NormalParam("n", -kInf, kInf, 1, 2),                       // 7
      NormalParam("lnorm", 1e-4, 1, std::log(1e-2), 1, true),    // 8
      CategoricalParam("c", {"a", "b", "c"}),                    // 9
      DiscreteParam("disc", {0.5, 1, 4, 16}),                    // 10
      ActiveWhen(DoubleParam("ca", 0, 1), 9, {0}),               // 11
      ActiveWhen(IntParam("cb", 1, 8), 9, {1, 2}),               // 12
      ActiveWhen(CategoricalParam("nest", {"x", "y"}), 9, {1}),  // 13
      ActiveWhen(DoubleParam("deep", 1e-3, 1, true), 13, {0}),   // 14
  });
}

double EveryKindObjective(const SearchSpace& space,
                          const std::vector<double>& x) {
  double y = 0;
  for (size_t i = 0; i < space.size(); ++i) {
    if (IsInactive(x[i])) continue;
    const double u = space.param(i).ToUnit(x[i]);
    y += (u - 0.5) * (u - 0.5);
  }
  y += x[9] == 1 ? 0 : 1;
  if (!IsInactive(x[13])) y += x[13] == 0 ? 0 : 0.5;
  return y;
}

}  // namespace sampler_testing
}  // namespace hpo
