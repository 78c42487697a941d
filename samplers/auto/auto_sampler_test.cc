#include "samplers/auto/auto_sampler.h"

#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/history.h"
#include "core/search_space.h"
#include "core/settings.h"
#include "gtest/gtest.h"
#include "samplers/gp/gp_sampler.h"
#include "samplers/sampler.h"
#include "samplers/testing/sampler_test_util.h"

namespace hpo {
namespace {

using ::hpo::sampler_testing::ActiveWhen;
using ::hpo::sampler_testing::CategoricalParam;
using ::hpo::sampler_testing::DiscreteParam;
using ::hpo::sampler_testing::DoubleParam;
using ::hpo::sampler_testing::ExpectLegalForSpace;
using ::hpo::sampler_testing::IntParam;
using ::hpo::sampler_testing::MakeSamplerReadingAllSettings;
using ::hpo::sampler_testing::MakeTrial;

SearchSpace Space(int dims) {
  std::vector<ParamSpec> params;
  for (int i = 0; i < dims; ++i) {
    params.push_back(DoubleParam("x" + std::to_string(i), -5, 5));
  }
  return SearchSpace(std::move(params));
}

// A history of `completed` finished trials of a sphere, one running trial.
History SphereHistory(const SearchSpace& space, int completed) {
  History history;
  history.goals = {Goal::kMinimize};
  for (int n = 0; n < completed; ++n) {
    std::vector<double> x;
    double value = 0;
    for (size_t i = 0; i < space.size(); ++i) {
      x.push_back(std::sin(n * 1.3 + static_cast<double>(i)) * 4);
      value += x.back() * x.back();
    }
    history.trials.push_back(
        MakeTrial(n, TrialState::kCompleted, std::move(x), {value}));
  }
  return history;
}

TEST(AutoChoiceTest, GpWhileFewTrialsThenTpe) {
  const AutoRules rules;
  const SearchSpace space = Space(4);
  EXPECT_EQ(ChooseAlgorithm(rules, space, SphereHistory(space, 0)).algorithm,
            "gp");
  EXPECT_EQ(ChooseAlgorithm(rules, space,
                            SphereHistory(space, rules.gp_max_trials - 1))
                .algorithm,
            "gp");
  const AutoChoice late =
      ChooseAlgorithm(rules, space, SphereHistory(space, rules.gp_max_trials));
  EXPECT_EQ(late.algorithm, "tpe");
  EXPECT_EQ(late.reason, "200 or more completed trials: GP hands over")
      << late.reason;
}

TEST(AutoChoiceTest, ManyNumericParametersUseCmaEs) {
  const AutoRules rules;
  const SearchSpace ten = Space(10);
  const AutoChoice choice = ChooseAlgorithm(rules, ten, SphereHistory(ten, 3));
  EXPECT_EQ(choice.algorithm, "cmaes");
  EXPECT_EQ(choice.reason,
            "10 numeric parameters: CMA-ES for the first 30 completed trials");
  // Not with a categorical or a conditional parameter among them.
  std::vector<ParamSpec> params = ten.params();
  params.push_back(CategoricalParam("c", {"a", "b"}));
  EXPECT_EQ(ChooseAlgorithm(rules, SearchSpace(params), History()).algorithm,
            "gp");
  params = ten.params();
  params.push_back(ActiveWhen(DoubleParam("y", 0, 1), 0, {}));
  EXPECT_EQ(ChooseAlgorithm(rules, SearchSpace(params), History()).algorithm,
            "gp");
}

TEST(AutoChoiceTest, CmaEsHandsOverToWarpedGpThenTpe) {
  const AutoRules rules;
  const SearchSpace ten = Space(10);
  const AutoChoice last_cmaes = ChooseAlgorithm(
      rules, ten, SphereHistory(ten, rules.cmaes_max_trials - 1));
  EXPECT_EQ(last_cmaes.algorithm, "cmaes");
  const AutoChoice gp =
      ChooseAlgorithm(rules, ten, SphereHistory(ten, rules.cmaes_max_trials));
  EXPECT_EQ(gp.algorithm, "gp");
  EXPECT_TRUE(gp.warped);
  EXPECT_EQ(gp.reason,
            "10 numeric parameters and 30 or more completed trials: GP with "
            "output warping");
  // Past the plain GP's window too: TPE stalls on these problems.
  EXPECT_TRUE(
      ChooseAlgorithm(rules, ten, SphereHistory(ten, rules.gp_max_trials))
          .warped);
  const AutoChoice tpe = ChooseAlgorithm(
      rules, ten, SphereHistory(ten, rules.cmaes_gp_max_trials));
  EXPECT_EQ(tpe.algorithm, "tpe");
  EXPECT_EQ(tpe.reason, "500 or more completed trials: GP hands over");
  // Where GP does not apply, and with cmaes_max_trials 0, CMA-ES stays.
  AutoRules no_gp = rules;
  no_gp.gp_max_dimensions = 9;
  AutoRules always = rules;
  always.cmaes_max_trials = 0;
  AutoRules never_gp = rules;
  never_gp.gp_max_trials = 0;
  for (const AutoRules& r : {no_gp, always, never_gp}) {
    const AutoChoice late = ChooseAlgorithm(r, ten, SphereHistory(ten, 300));
    EXPECT_EQ(late.algorithm, "cmaes");
    EXPECT_EQ(late.reason, "10 numeric parameters: at least 8 for CMA-ES");
  }
  // Low-dimensional spaces get plain GP.
  EXPECT_FALSE(
      ChooseAlgorithm(rules, Space(4), SphereHistory(Space(4), 40)).warped);
}

// After CMA-ES, auto's suggestion is GP's with warp_outputs, from the same
// history and draws; unless the experiment sets gp.warp_outputs itself.
TEST(AutoSamplerTest, AfterCmaEsTheGpWarpsItsOutputs) {
  const SearchSpace ten = Space(10);
  History history = SphereHistory(ten, 40);
  // A few huge values, where warping changes the model.
  for (int n = 0; n < 40; n += 7) history.trials[n].values[0] *= 1e4;
  auto suggest = [&](Sampler& sampler) {
    Rng rng(5);
    auto s = sampler.Suggest(ten, history, rng);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? s->params : std::vector<double>();
  };
  auto with_auto = [&](std::map<std::string, std::string> settings) {
    auto sampler = MakeSamplerReadingAllSettings(&CreateAutoSampler, ten,
                                                 settings, "auto");
    return suggest(*sampler);
  };
  auto with_gp = [&](std::map<std::string, std::string> settings) {
    auto sampler =
        MakeSamplerReadingAllSettings(&CreateGpSampler, ten, settings, "gp");
    return suggest(*sampler);
  };
  const std::vector<double> warped = with_gp({{"warp_outputs", "true"}});
  const std::vector<double> plain = with_gp({});
  ASSERT_NE(warped, plain);
  EXPECT_EQ(with_auto({}), warped);
  EXPECT_EQ(with_auto({{"gp.warp_outputs", "false"}}), plain);
}

TEST(AutoChoiceTest, ManyParametersNeverUseGp) {
  AutoRules rules;
  rules.gp_max_dimensions = 3;
  rules.cmaes_min_dimensions = 0;
  const AutoChoice choice =
      ChooseAlgorithm(rules, Space(4), SphereHistory(Space(4), 1));
  EXPECT_EQ(choice.algorithm, "tpe");
  EXPECT_EQ(choice.reason, "4 parameters: more than GP's 3");
}

TEST(AutoSamplerTest, SuggestionsNameTheAlgorithmAndAreLegal) {
  const SearchSpace space({DoubleParam("lr", 1e-4, 1, /*log=*/true),
                           IntParam("layers", 1, 8),
                           CategoricalParam("opt", {"sgd", "adam"}),
                           ActiveWhen(DoubleParam("momentum", 0, 1), 2, {0}),
                           DiscreteParam("batch", {16, 32, 64})});
  auto sampler = MakeSamplerReadingAllSettings(
      &CreateAutoSampler, space, {{"gp_max_trials", "12"}}, "auto");
  ASSERT_NE(sampler, nullptr);
  History history;
  history.goals = {Goal::kMinimize};
  for (int n = 0; n < 16; ++n) {
    Rng rng(n);
    auto s = sampler->Suggest(space, history, rng);
    ASSERT_TRUE(s.ok()) << s.status();
    ExpectLegalForSpace(space, s->params);
    EXPECT_EQ(s->algorithm, n < 12 ? "gp" : "tpe") << "trial " << n;
    EXPECT_FALSE(s->algorithm_reason.empty());
    std::vector<double> x = s->params;
    const double value = std::log10(x[0]) + x[1] + x[2];
    history.trials.push_back(
        MakeTrial(n, TrialState::kCompleted, std::move(x), {value}));
  }
}

TEST(AutoSamplerTest, SameSeedAndHistorySameSuggestion) {
  const SearchSpace space = Space(3);
  const History history = SphereHistory(space, 15);
  auto a = MakeSamplerReadingAllSettings(&CreateAutoSampler, space, {}, "auto");
  auto b = MakeSamplerReadingAllSettings(&CreateAutoSampler, space, {}, "auto");
  Rng ra(7), rb(7);
  auto sa = a->Suggest(space, history, ra);
  auto sb = b->Suggest(space, history, rb);
  ASSERT_TRUE(sa.ok() && sb.ok());
  EXPECT_EQ(sa->params, sb->params);
}

TEST(AutoSamplerTest, SettingsReachTheAlgorithmsAndErrorsNameThem) {
  const SearchSpace space = Space(2);
  EXPECT_NE(MakeSamplerReadingAllSettings(
                &CreateAutoSampler, space,
                {{"seed", "3"}, {"tpe.n_startup_trials", "5"}}, "auto"),
            nullptr);
  Settings bad({{"tpe.n_startup_trials", "many"}}, "algorithm.settings");
  EXPECT_EQ(CreateAutoSampler(space, bad).status().message(),
            "algorithm.settings.tpe.n_startup_trials: must be an integer, got "
            "\"many\"");
  Settings unknown({{"gp.no_such_thing", "1"}}, "algorithm.settings");
  const absl::Status status = CreateAutoSampler(space, unknown).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("algorithm.settings.gp.no_such_thing"),
            std::string::npos)
      << status.message();
  Settings negative({{"gp_max_trials", "-1"}}, "algorithm.settings");
  EXPECT_EQ(CreateAutoSampler(space, negative).status().message(),
            "algorithm.settings.gp_max_trials: must be at least 0");
  Settings cmaes_negative({{"cmaes_max_trials", "-5"}}, "algorithm.settings");
  EXPECT_EQ(CreateAutoSampler(space, cmaes_negative).status().message(),
            "algorithm.settings.cmaes_max_trials: must be at least 0");
}

TEST(AutoSamplerTest, AFiniteSpaceIsNeverRepeatedAndThenExhausted) {
  const SearchSpace space(
      {IntParam("a", 1, 3), CategoricalParam("b", {"x", "y"})});
  auto sampler =
      MakeSamplerReadingAllSettings(&CreateAutoSampler, space, {}, "auto");
  History history;
  history.goals = {Goal::kMinimize};
  for (int n = 0; n < 6; ++n) {
    Rng rng(n);
    auto s = sampler->Suggest(space, history, rng);
    ASSERT_TRUE(s.ok()) << s.status();
    for (const TrialRecord& t : history.trials) {
      EXPECT_NE(t.params, s->params) << "repeat at trial " << n;
    }
    history.trials.push_back(
        MakeTrial(n, TrialState::kCompleted, s->params, {s->params[0]}));
  }
  Rng rng(6);
  EXPECT_EQ(sampler->Suggest(space, history, rng).status().code(),
            absl::StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace hpo
