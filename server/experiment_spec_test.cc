#include "server/experiment_spec.h"

#include <cmath>
#include <limits>
#include <string>

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace hpo {
namespace {

v1::Experiment Parse(const std::string& text) {
  v1::Experiment e;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &e)) << text;
  return e;
}

// A valid experiment, with `extra` merged in (repeated fields append).
v1::Experiment Valid() {
  return Parse(R"pb(
    name: "exp-1"
    parameters {
      name: "lr"
      double_range { min: 1e-5 max: 0.1 log: true }
    }
    parameters {
      name: "layers"
      int_range { min: 1 max: 4 }
    }
    parameters {
      name: "opt"
      categorical { values: [ "adam", "sgd" ] }
    }
    parameters {
      name: "batch"
      discrete { values: [ 16, 32, 64 ] }
    }
    objectives { name: "accuracy" goal: MAXIMIZE }
    max_trials: 10
  )pb");
}

TEST(ValidateExperimentTest, AcceptsAValidExperiment) {
  EXPECT_TRUE(ValidateExperiment(Valid()).ok());
}

struct BadCase {
  const char* description;
  const char* change;  // text proto merged into Valid() after clearing below
  bool clear_parameters;
  const char* expected_prefix;  // the message starts with the field path
};

class BadExperimentTest : public testing::TestWithParam<BadCase> {};

TEST_P(BadExperimentTest, IsInvalidArgumentNamingTheField) {
  const BadCase& c = GetParam();
  v1::Experiment e = Valid();
  if (c.clear_parameters) e.clear_parameters();
  e.MergeFrom(Parse(c.change));
  const absl::Status s = ValidateExperiment(e);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.description;
  EXPECT_EQ(s.message().substr(0, std::string(c.expected_prefix).size()),
            c.expected_prefix)
      << c.description << ": " << s.message();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadExperimentTest,
    testing::Values(
        BadCase{"upper-case name", R"pb(name: "Exp")pb", false,
                "experiment.name:"},
        BadCase{"name with space", R"pb(name: "a b")pb", false,
                "experiment.name:"},
        BadCase{
            "name too long",
            R"pb(name: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")pb",
            false, "experiment.name: must be at most 63"},
        BadCase{"no parameters", "", true,
                "experiment.parameters: at least one"},
        BadCase{"empty parameter name",
                R"pb(parameters { int_range { max: 1 } })pb", true,
                "experiment.parameters[0].name: must not be empty"},
        BadCase{"bad parameter name", R"pb(parameters {
                                             name: "a b"
                                             int_range { max: 1 }
                                           })pb",
                true, "experiment.parameters[0].name:"},
        BadCase{
            "duplicate parameter", R"pb(parameters {
                                          name: "lr"
                                          int_range { max: 1 }
                                        })pb",
            false,
            "experiment.parameters[4].name: duplicate parameter name \"lr\""},
        BadCase{"no domain", R"pb(parameters { name: "x" })pb", true,
                "experiment.parameters[0]: one of"},
        BadCase{"min > max", R"pb(parameters {
                                    name: "x"
                                    double_range { min: 2 max: 1 }
                                  })pb",
                true,
                "experiment.parameters[0].double_range.min: must be <= max"},
        BadCase{"int min > max", R"pb(parameters {
                                        name: "x"
                                        int_range { min: 2 max: 1 }
                                      })pb",
                true, "experiment.parameters[0].int_range.min: must be <= max"},
        BadCase{"log with min 0",
                R"pb(parameters {
                       name: "x"
                       double_range { min: 0 max: 1 log: true }
                     })pb",
                true,
                "experiment.parameters[0].double_range.min: must be > 0 on a "
                "log scale"},
        BadCase{"int log with min 0",
                R"pb(parameters {
                       name: "x"
                       int_range { min: 0 max: 8 log: true }
                     })pb",
                true,
                "experiment.parameters[0].int_range.min: must be >= 1 on a log "
                "scale"},
        BadCase{"infinite max", R"pb(parameters {
                                       name: "x"
                                       double_range { min: 0 max: inf }
                                     })pb",
                true,
                "experiment.parameters[0].double_range.max: must be finite"},
        BadCase{"nan min", R"pb(parameters {
                                  name: "x"
                                  double_range { min: nan max: 1 }
                                })pb",
                true,
                "experiment.parameters[0].double_range.min: must be finite"},
        BadCase{"step larger than range",
                R"pb(parameters {
                       name: "x"
                       double_range { min: 0 max: 1 step: 2 }
                     })pb",
                true,
                "experiment.parameters[0].double_range.step: is larger than "
                "the range"},
        BadCase{"int step larger than range",
                R"pb(parameters {
                       name: "x"
                       int_range { min: 0 max: 4 step: 5 }
                     })pb",
                true,
                "experiment.parameters[0].int_range.step: is larger than the "
                "range"},
        BadCase{"negative step", R"pb(parameters {
                                        name: "x"
                                        double_range { min: 0 max: 1 step: -1 }
                                      })pb",
                true,
                "experiment.parameters[0].double_range.step: must be >= 0"},
        BadCase{
            "empty categorical", R"pb(parameters {
                                        name: "x"
                                        categorical {}
                                      })pb",
            true,
            "experiment.parameters[0].categorical.values: must not be empty"},
        BadCase{
            "duplicate categorical", R"pb(parameters {
                                            name: "x"
                                            categorical { values: [ "a", "a" ] }
                                          })pb",
            true, "experiment.parameters[0].categorical.values[1]: duplicate"},
        BadCase{"empty discrete", R"pb(parameters {
                                         name: "x"
                                         discrete {}
                                       })pb",
                true,
                "experiment.parameters[0].discrete.values: must not be empty"},
        BadCase{"nan discrete", R"pb(parameters {
                                       name: "x"
                                       discrete { values: [ 1, nan ] }
                                     })pb",
                true,
                "experiment.parameters[0].discrete.values[1]: must be finite"},
        BadCase{"duplicate objective",
                R"pb(objectives { name: "accuracy" goal: MINIMIZE })pb", false,
                "experiment.objectives[1].name: duplicate objective"},
        BadCase{"objective without goal", R"pb(objectives { name: "loss" })pb",
                false,
                "experiment.objectives[1].goal: must be MINIMIZE or MAXIMIZE"},
        BadCase{"negative max_trials", R"pb(max_trials: -1)pb", false,
                "experiment.max_trials: must be >= 0"},
        BadCase{"negative parallel_trials", R"pb(parallel_trials: -2)pb", false,
                "experiment.parallel_trials: must be >= 0"},
        BadCase{"negative max_failed_trials", R"pb(max_failed_trials: -2)pb",
                false, "experiment.max_failed_trials: must be >= 0"}));

TEST(ValidateExperimentTest, NeedsAnObjective) {
  v1::Experiment e = Valid();
  e.clear_objectives();
  EXPECT_EQ(ValidateExperiment(e).message(),
            "experiment.objectives: at least one objective is required");
}

TEST(ValidateExperimentTest, AllowsAFixedRange) {
  v1::Experiment e = Valid();
  e.mutable_parameters(0)->mutable_double_range()->set_min(0.1);
  EXPECT_TRUE(ValidateExperiment(e).ok());
}

TEST(ParamsTest, RoundTripThroughTheApiForm) {
  const v1::Experiment e = Valid();
  const SearchSpace space = CompileSearchSpace(e);
  ASSERT_EQ(space.size(), 4u);
  EXPECT_EQ(space.param(1).kind, ParamKind::kInt);
  EXPECT_EQ(space.param(1).step, 1);

  v1::Trial trial;
  trial.set_number(3);
  ParamsToProto(space, {0.01, 3, 1, 2}, &trial);
  EXPECT_DOUBLE_EQ(trial.parameters().at("lr").number_value(), 0.01);
  EXPECT_EQ(trial.parameters().at("layers").number_value(), 3);
  EXPECT_EQ(trial.parameters().at("opt").string_value(), "sgd");
  EXPECT_EQ(trial.parameters().at("batch").number_value(), 64);

  auto back = ParamsFromProto(space, trial);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, (std::vector<double>{0.01, 3, 1, 2}));
}

TEST(ParamsTest, StoredParametersThatDoNotFitAreDataLoss) {
  const SearchSpace space = CompileSearchSpace(Valid());
  v1::Trial trial;
  ParamsToProto(space, {0.01, 3, 1, 2}, &trial);
  (*trial.mutable_parameters())["opt"].set_string_value("rmsprop");
  EXPECT_EQ(ParamsFromProto(space, trial).status().code(),
            absl::StatusCode::kDataLoss);
  trial.mutable_parameters()->erase("lr");
  EXPECT_EQ(ParamsFromProto(space, trial).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(ValidateReportTest, ChecksMetrics) {
  const v1::Experiment e = Valid();
  v1::ReportResultRequest r;
  (*r.mutable_metrics())["accuracy"] = 0.9;
  (*r.mutable_metrics())["loss"] = 0.3;
  EXPECT_TRUE(ValidateReport(e, r).ok());

  (*r.mutable_metrics())["loss"] = std::nan("");
  EXPECT_EQ(ValidateReport(e, r).message(),
            "metrics[\"loss\"]: must be finite, got nan");
  (*r.mutable_metrics())["loss"] = std::numeric_limits<double>::infinity();
  EXPECT_EQ(ValidateReport(e, r).code(), absl::StatusCode::kInvalidArgument);
  r.mutable_metrics()->erase("loss");

  r.mutable_metrics()->erase("accuracy");
  EXPECT_EQ(ValidateReport(e, r).message(),
            "metrics: missing the objective metric \"accuracy\"");
  r.set_failed(true);
  EXPECT_TRUE(ValidateReport(e, r).ok()) << "a failed trial needs no metrics";

  r.set_failed(false);
  (*r.mutable_metrics())["accuracy"] = 0.5;
  r.set_failure_reason("oops");
  EXPECT_EQ(ValidateReport(e, r).message(),
            "failure_reason: may be set only when failed is true");
}

}  // namespace
}  // namespace hpo
