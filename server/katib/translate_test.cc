#include "server/katib/translate.h"

#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "server/import/spec_import.h"
#include "server/katib/medianstop.h"

namespace hpo::katib {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

kapi::Experiment Iris() {
  kapi::Experiment e;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        name: "katib-experiment"
        spec {
          parameter_specs {
            parameters {
              name: "penalty"
              parameter_type: CATEGORICAL
              feasible_space { list: "l2" }
            }
            parameters {
              name: "C"
              parameter_type: DISCRETE
              feasible_space { list: [ "0.01", "0.50", "1.00" ] }
            }
            parameters {
              name: "max_iter"
              parameter_type: INT
              feasible_space { min: "3" max: "10" step: "1" }
            }
            parameters {
              name: "lr"
              parameter_type: DOUBLE
              feasible_space {
                min: "0.001"
                max: "0.1"
                distribution: LOG_UNIFORM
              }
            }
          }
          objective {
            type: MAXIMIZE
            goal: 0.99
            objective_metric_name: "accuracy"
            additional_metric_names: "loss"
          }
          algorithm {
            algorithm_name: "multivariate-tpe"
            algorithm_settings { name: "random_state" value: "7" }
          }
          parallel_trial_count: 3
          max_trial_count: 12
        }
      )pb",
      &e));
  return e;
}

v1::Experiment Imported(const kapi::Experiment& e) {
  absl::StatusOr<v1::CreateExperimentRequest> request = CreateRequest(e);
  EXPECT_TRUE(request.ok()) << request.status();
  absl::StatusOr<v1::Experiment> imported =
      ImportExperiment(request->import_spec());
  EXPECT_TRUE(imported.ok()) << imported.status();
  return imported.ok() ? *imported : v1::Experiment();
}

TEST(KatibTranslate, SpecBecomesTheImportedExperiment) {
  const v1::Experiment e = Imported(Iris());
  EXPECT_EQ(e.name(), ExperimentName(Iris()));
  ASSERT_EQ(e.parameters_size(), 4);
  EXPECT_THAT(e.parameters(0).categorical().values(), ElementsAre("l2"));
  EXPECT_THAT(e.parameters(1).discrete().values(), ElementsAre(0.01, 0.5, 1.0));
  EXPECT_EQ(e.parameters(2).int_range().min(), 3);
  EXPECT_EQ(e.parameters(2).int_range().max(), 10);
  EXPECT_EQ(e.parameters(2).int_range().step(), 1);
  EXPECT_TRUE(e.parameters(3).double_range().log());
  EXPECT_DOUBLE_EQ(e.parameters(3).double_range().min(), 0.001);
  ASSERT_EQ(e.objectives_size(), 1);
  EXPECT_EQ(e.objectives(0).name(), "accuracy");
  EXPECT_EQ(e.objectives(0).goal(), v1::Objective::MAXIMIZE);
  EXPECT_DOUBLE_EQ(e.objectives(0).target(), 0.99);
  EXPECT_EQ(e.algorithm().name(), "tpe");
  EXPECT_EQ(e.algorithm().settings().at("multivariate"), "true");
  EXPECT_EQ(e.seed(), 7u);
  // Katib counts its trials itself.
  EXPECT_EQ(e.max_trials(), 0);
  EXPECT_EQ(e.parallel_trials(), 0);
}

TEST(KatibTranslate, DistributionsAndHpoNames) {
  kapi::Experiment k = Iris();
  auto* p = k.mutable_spec()->mutable_parameter_specs()->mutable_parameters(3);
  p->mutable_feasible_space()->set_distribution(kapi::NORMAL);
  k.mutable_spec()->mutable_algorithm()->set_algorithm_name("auto");
  k.mutable_spec()->mutable_objective()->set_goal(0);
  const v1::Experiment e = Imported(k);
  EXPECT_EQ(e.parameters(3).double_range().distribution(), v1::NORMAL);
  EXPECT_DOUBLE_EQ(e.parameters(3).double_range().mu(), (0.001 + 0.1) / 2);
  EXPECT_EQ(e.algorithm().name(), "auto");
  EXPECT_FALSE(e.objectives(0).has_target());  // 0 is Katib's "no goal"
}

TEST(KatibTranslate, BadSpecsNameTheField) {
  kapi::Experiment k = Iris();
  k.mutable_spec()
      ->mutable_parameter_specs()
      ->mutable_parameters(2)
      ->set_parameter_type(kapi::UNKNOWN_TYPE);
  EXPECT_THAT(std::string(CreateRequest(k).status().message()),
              HasSubstr("experiment.spec.parameter_specs.parameters[2]."
                        "parameter_type"));
  k = Iris();
  k.mutable_spec()->mutable_objective()->set_type(kapi::UNKNOWN);
  EXPECT_THAT(std::string(CreateRequest(k).status().message()),
              HasSubstr("experiment.spec.objective.type"));
  k = Iris();
  k.mutable_spec()
      ->mutable_parameter_specs()
      ->mutable_parameters(2)
      ->mutable_feasible_space()
      ->set_min("abc");
  absl::StatusOr<v1::CreateExperimentRequest> r = CreateRequest(k);
  ASSERT_TRUE(r.ok());
  absl::StatusOr<v1::Experiment> imported = ImportExperiment(r->import_spec());
  ASSERT_FALSE(imported.ok());
  EXPECT_EQ(KatibMessage(imported.status().message()),
            "spec.parameters[2].feasibleSpace.min: \"abc\" is not a number");
}

TEST(KatibTranslate, NamesAreIdempotentAndFollowTheSpec) {
  const kapi::Experiment a = Iris();
  EXPECT_EQ(ExperimentName(a), ExperimentName(Iris()));
  EXPECT_LE(ExperimentName(a).size(), 63u);
  EXPECT_EQ(ExperimentName(a).rfind("katib-experiment-", 0), 0u);
  // Katib lets users raise the counts of a running experiment: same one.
  kapi::Experiment counts = Iris();
  counts.mutable_spec()->set_max_trial_count(100);
  counts.mutable_spec()->set_parallel_trial_count(9);
  EXPECT_EQ(ExperimentName(counts), ExperimentName(a));
  // Any other change is a new experiment.
  kapi::Experiment changed = Iris();
  changed.mutable_spec()
      ->mutable_parameter_specs()
      ->mutable_parameters(2)
      ->mutable_feasible_space()
      ->set_max("11");
  EXPECT_NE(ExperimentName(changed), ExperimentName(a));
  EXPECT_NE(TrialName(changed, "1.0", 4), TrialName(a, "1.0", 4));

  kapi::Experiment odd = Iris();
  odd.set_name(std::string(80, 'X') + ".y");
  const std::string name = ExperimentName(odd);
  EXPECT_LE(name.size(), 63u);
  EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-"),
            std::string::npos);
}

TEST(KatibTranslate, TrialNamesAreDns1123AndReadBack) {
  kapi::Experiment long_name = Iris();
  long_name.set_name(std::string(70, 'a'));
  for (const kapi::Experiment& e : {Iris(), long_name}) {
    for (int n : {0, 7, 12345, 2147483647}) {
      const std::string name = TrialName(e, "1765000000.5", n);
      EXPECT_LE(name.size(), 63u) << name;
      EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-"),
                std::string::npos)
          << name;
      EXPECT_NE(name.front(), '-');
      EXPECT_NE(name.back(), '-');
      EXPECT_EQ(TrialNumber(e, "1765000000.5", name), n);
      // Another incarnation (a server that lost its database) names apart.
      EXPECT_EQ(TrialNumber(e, "1765000001.5", name), std::nullopt);
    }
  }
  EXPECT_EQ(TrialNumber(Iris(), "1.0", "katib-experiment-x8k2mq9z"),
            std::nullopt);
  EXPECT_EQ(TrialNumber(Iris(), "1.0", TrialName(Iris(), "1.0", 3) + "x"),
            std::nullopt);
  kapi::Experiment other = Iris();
  other.mutable_spec()->mutable_objective()->set_goal(0.5);
  EXPECT_EQ(TrialNumber(other, "1.0", TrialName(Iris(), "1.0", 3)),
            std::nullopt);
}

TEST(KatibTranslate, AssignmentsRoundTrip) {
  const kapi::Experiment k = Iris();
  Params params;
  params["penalty"].set_string_value("l2");
  params["C"].set_number_value(0.5);
  params["max_iter"].set_number_value(7);
  params["lr"].set_number_value(0.0123);
  const std::vector<kapi::ParameterAssignment> out =
      AssignmentsFromParams(k.spec(), params);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].value(), "l2");
  EXPECT_EQ(out[1].value(), "0.50");  // the list's own text
  EXPECT_EQ(out[2].value(), "7");     // an integer, not "7.0"
  EXPECT_EQ(out[3].value(), "0.0123");
  google::protobuf::RepeatedPtrField<kapi::ParameterAssignment> back(
      out.begin(), out.end());
  absl::StatusOr<Params> read = ParamsFromAssignments(k.spec(), back, "a");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(ParamsKey(*read), ParamsKey(params));

  back[2].set_value("seven");
  EXPECT_EQ(ParamsFromAssignments(k.spec(), back, "a").status().message(),
            "a[2].value: \"seven\" is not a number");
  back[2].set_value("7");
  back[1].set_name("D");
  EXPECT_THAT(
      std::string(
          ParamsFromAssignments(k.spec(), back, "a").status().message()),
      HasSubstr("a[1].name: no parameter named \"D\""));
}

kapi::Trial Listed(kapi::TrialStatus::TrialConditionType condition,
                   std::vector<std::pair<std::string, std::string>> metrics) {
  kapi::Trial t;
  t.set_name("t");
  t.mutable_status()->set_condition(condition);
  for (const auto& [name, value] : metrics) {
    kapi::Metric* m = t.mutable_status()->mutable_observation()->add_metrics();
    m->set_name(name);
    m->set_value(value);
  }
  return t;
}

TEST(KatibTranslate, TrialConditions) {
  const kapi::ExperimentSpec spec = Iris().spec();
  TrialOutcome o = OutcomeOf(
      spec, Listed(kapi::TrialStatus::SUCCEEDED,
                   {{"accuracy", "0.93"}, {"loss", "0.2"}, {"x", "n/a"}}));
  EXPECT_EQ(o.kind, TrialOutcome::kCompleted);
  EXPECT_EQ(o.metrics.size(), 2u);
  EXPECT_DOUBLE_EQ(o.metrics["accuracy"], 0.93);
  EXPECT_EQ(OutcomeOf(spec, Listed(kapi::TrialStatus::SUCCEEDED,
                                   {{"accuracy", "unavailable"}}))
                .kind,
            TrialOutcome::kFailed);
  EXPECT_EQ(OutcomeOf(spec, Listed(kapi::TrialStatus::EARLYSTOPPED,
                                   {{"accuracy", "0.5"}}))
                .kind,
            TrialOutcome::kPruned);
  EXPECT_EQ(OutcomeOf(spec, Listed(kapi::TrialStatus::KILLED, {})).kind,
            TrialOutcome::kFailed);
  EXPECT_EQ(
      OutcomeOf(spec, Listed(kapi::TrialStatus::METRICSUNAVAILABLE, {})).kind,
      TrialOutcome::kFailed);
  EXPECT_EQ(OutcomeOf(spec, Listed(kapi::TrialStatus::RUNNING, {})).kind,
            TrialOutcome::kRunning);
  EXPECT_EQ(OutcomeOf(spec, Listed(kapi::TrialStatus::CREATED, {})).kind,
            TrialOutcome::kRunning);
}

TEST(KatibMedianStop, RuleFromTheCompletedCurves) {
  kapi::ExperimentSpec spec = Iris().spec();
  // Averages of the first 2 values: 0.5, 0.7, then 0.9.
  EXPECT_THAT(CurveOf(spec, Listed(kapi::TrialStatus::SUCCEEDED,
                                   {{"accuracy", "0.7"},
                                    {"loss", "1"},
                                    {"accuracy", "x"},
                                    {"accuracy", "0.7"}})),
              ElementsAre(0.7, 0.7));
  std::vector<Curve> curves = {{0.4, 0.6, 0.99}, {0.7, 0.7}, {}};
  MedianStopSettings settings;
  settings.min_trials_required = 3;
  settings.start_step = 2;
  EXPECT_TRUE(MedianStopRules(spec, curves, settings).empty());
  curves.push_back({0.9, 0.9});
  std::vector<kapi::EarlyStoppingRule> rules =
      MedianStopRules(spec, curves, settings);
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].name(), "accuracy");
  EXPECT_EQ(rules[0].value(), "0.7");
  EXPECT_EQ(rules[0].comparison(), kapi::LESS);
  EXPECT_EQ(rules[0].start_step(), 2);
  spec.mutable_objective()->set_type(kapi::MINIMIZE);
  EXPECT_EQ(MedianStopRules(spec, curves, settings)[0].comparison(),
            kapi::GREATER);
  // An even count: the middle two's mean.
  curves.push_back({1.0, 1.0});
  EXPECT_EQ(MedianStopRules(spec, curves, settings)[0].value(), "0.8");
}

TEST(KatibMedianStop, SettingsNameTheirFault) {
  google::protobuf::RepeatedPtrField<kapi::EarlyStoppingSetting> s;
  EXPECT_EQ(ReadMedianStopSettings(s, "f")->start_step, 4);
  EXPECT_EQ(ReadMedianStopSettings(s, "f")->min_trials_required, 3);
  kapi::EarlyStoppingSetting* one = s.Add();
  one->set_name("start_step");
  one->set_value("0");
  EXPECT_EQ(ReadMedianStopSettings(s, "f").status().message(),
            "f[0] (start_step): start_step must be >= 1, got 0");
  one->set_value("x");
  EXPECT_THAT(std::string(ReadMedianStopSettings(s, "f").status().message()),
              HasSubstr("start_step"));
  one->set_name("min_trials");
  EXPECT_THAT(std::string(ReadMedianStopSettings(s, "f").status().message()),
              HasSubstr("unknown setting \"min_trials\""));
}

}  // namespace
}  // namespace hpo::katib
