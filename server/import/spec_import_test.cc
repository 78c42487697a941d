#include "server/import/spec_import.h"

#include <cctype>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace hpo {
namespace {

using ::google::protobuf::util::MessageDifferencer;

std::string ReadTestdata(const std::string& file) {
  // Bazel runs tests from the workspace root of the runfiles tree.
  const std::string path = "server/import/testdata/" + file;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

v1::Experiment Proto(const std::string& text) {
  v1::Experiment e;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &e)) << text;
  return e;
}

absl::StatusOr<v1::Experiment> Import(const std::string& format,
                                      const std::string& content,
                                      const std::string& name = "") {
  v1::ImportSpec spec;
  spec.set_format(format);
  spec.set_content(content);
  spec.set_name(name);
  return ImportExperiment(spec);
}

// Doubles computed by the importer (Katib's mu and sigma) are compared to a
// few ulps.
void ExpectEqual(const v1::Experiment& want, const v1::Experiment& got) {
  MessageDifferencer differencer;
  differencer.set_float_comparison(MessageDifferencer::APPROXIMATE);
  std::string diff;
  differencer.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differencer.Compare(want, got)) << diff << "\ngot:\n"
                                              << got.DebugString();
}

void ExpectImports(const std::string& format, const std::string& file,
                   const v1::Experiment& want) {
  SCOPED_TRACE(file);
  absl::StatusOr<v1::Experiment> got = Import(format, ReadTestdata(file));
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectEqual(want, *got);
}

std::string ErrorOf(const std::string& format, const std::string& content) {
  absl::StatusOr<v1::Experiment> got = Import(format, content);
  if (got.ok()) return "OK: " + got->DebugString();
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(got.status().message());
}

// ---------------------------------------------------------------------------
// The seed documents' specs

TEST(KatibTest, IrisExperiment) {
  ExpectImports("katib", "katib-iris-experiment.yaml", Proto(R"pb(
                  name: "katib-experiment"
                  parameters {
                    name: "penalty"
                    categorical { values: "l2" }
                  }
                  parameters {
                    name: "tol"
                    categorical { values: [ "0.001", "0.0001", "0.00001" ] }
                  }
                  parameters {
                    name: "C"
                    discrete { values: [ 0.01, 0.5, 1 ] }
                  }
                  parameters {
                    name: "max_iter"
                    discrete { values: [ 3, 5, 10 ] }
                  }
                  objectives { name: "accuracy" goal: MAXIMIZE target: 0.99 }
                  algorithm { name: "random" }
                  max_trials: 12
                  parallel_trials: 3
                  max_failed_trials: 3
                )pb"));
}

TEST(KatibTest, EveryTypeAndDistribution) {
  v1::Experiment want = Proto(R"pb(
    name: "katib-distributions"
    description: "Katib additionalMetricNames: accuracy, f1"
    parameters {
      name: "lr"
      double_range { min: 0.0001 max: 0.1 log: true }
    }
    parameters {
      name: "momentum"
      double_range { min: 0.5 max: 0.9 step: 0.1 }
    }
    parameters {
      name: "dropout"
      double_range { min: 0.1 max: 0.7 distribution: NORMAL mu: 0.4 sigma: 0.1 }
    }
    parameters {
      name: "weight_decay"
      double_range { min: 0.00001 max: 0.1 distribution: LOG_NORMAL }
    }
    parameters {
      name: "num_layers"
      int_range { min: 2 max: 8 step: 2 }
    }
    parameters {
      name: "hidden"
      int_range { min: 16 max: 1024 log: true }
    }
    parameters {
      name: "batch_size"
      discrete { values: [ 16, 32, 64 ] }
    }
    parameters {
      name: "optimizer"
      categorical { values: [ "sgd", "adam", "ftrl" ] }
    }
    objectives { name: "loss" goal: MINIMIZE target: 0.001 }
    algorithm {
      name: "tpe"
      settings { key: "multivariate" value: "true" }
      settings { key: "n_startup_trials" value: "5" }
    }
    early_stopping {
      name: "median"
      settings { key: "min_trials_required" value: "2" }
    }
    max_trials: 20
    parallel_trials: 2
    seed: 42
  )pb");
  // logNormal: mu and sigma of log(value), from log(min) and log(max).
  v1::DoubleRange* r = want.mutable_parameters(3)->mutable_double_range();
  r->set_mu((std::log(0.00001) + std::log(0.1)) / 2);
  r->set_sigma((std::log(0.1) - std::log(0.00001)) / 6);
  ExpectImports("katib", "katib-distributions.yaml", want);
}

TEST(KatibTest, BareSpecInJson) {
  ExpectImports("katib", "katib-spec.json", Proto(R"pb(
                  parameters {
                    name: "lr"
                    double_range { min: 0.01 max: 0.05 }
                  }
                  parameters {
                    name: "num-layers"
                    int_range { min: 2 max: 5 }
                  }
                  objectives { name: "Validation-accuracy" goal: MAXIMIZE }
                  algorithm {
                    name: "gp"
                    settings { key: "n_initial_points" value: "10" }
                  }
                  max_trials: 12
                  parallel_trials: 3
                )pb"));
}

TEST(NniTest, T9kAutoTuneExperiment) {
  ExpectImports("nni", "t9k-autotune-experiment.yaml", Proto(R"pb(
                  name: "experiment-sample"
                  parameters {
                    name: "batch_size"
                    discrete { values: [ 512, 1024, 2048, 4096, 8092 ] }
                  }
                  parameters {
                    name: "learning_rate"
                    discrete { values: [ 0.0001, 0.001, 0.01, 0.1 ] }
                  }
                  objectives { name: "default" goal: MINIMIZE }
                  algorithm {
                    name: "tpe"
                    settings { key: "constant_liar_type" value: "min" }
                  }
                  max_trials: 50
                  parallel_trials: 3
                  max_duration { seconds: 7200 }
                )pb"));
}

TEST(NniTest, T9kSearchSpaceAlone) {
  ExpectImports("nni", "t9k-search-space.json", Proto(R"pb(
                  parameters {
                    name: "batch_size"
                    discrete { values: [ 512, 1024, 2048, 4096, 8092 ] }
                  }
                  parameters {
                    name: "learning_rate"
                    discrete { values: [ 0.0001, 0.001, 0.01, 0.1 ] }
                  }
                  objectives { name: "default" goal: MAXIMIZE }
                )pb"));
}

TEST(KruizeTest, SearchSpaceExample) {
  ExpectImports(
      "kruize", "kruize-search-space.json", Proto(R"pb(
        name: "petclinic-sample-2-75884c5549-npvgd"
        parameters {
          name: "memoryRequest"
          double_range { min: 150 max: 300 step: 1 }
        }
        parameters {
          name: "cpuRequest"
          double_range { min: 1 max: 3 step: 0.01 }
        }
        objectives { name: "transaction_response_time" goal: MINIMIZE }
        algorithm { name: "tpe" }
        max_trials: 100
        parallel_trials: 1
      )pb"));
}

TEST(KruizeTest, GenerateNewRequestWithAnExpression) {
  ExpectImports(
      "kruize", "kruize-generate-new.json", Proto(R"pb(
        name: "quarkus-resteasy"
        description: "Kruize objective_function: (( throughput / transaction_response_time) / max_response_time) * 100"
        parameters {
          name: "cpuRequest"
          double_range { min: 1 max: 3 step: 0.01 }
        }
        parameters {
          name: "memoryRequest"
          int_range { min: 270 max: 1024 step: 8 }
        }
        parameters {
          name: "gc"
          categorical { values: [ "G1GC", "ParallelGC", "SerialGC" ] }
        }
        objectives { name: "objective_function" goal: MAXIMIZE }
        algorithm {
          name: "tpe"
          settings { key: "multivariate" value: "true" }
        }
        max_trials: 50
        parallel_trials: 1
      )pb"));
}

TEST(NniTest, RunAiWalkthroughAsNniConfig) {
  ExpectImports("nni", "runai-hpo1.nni.yaml", Proto(R"pb(
                  name: "hpo1"
                  parameters {
                    name: "batch_size"
                    discrete { values: [ 32, 64, 128 ] }
                  }
                  parameters {
                    name: "lr"
                    discrete { values: [ 1, 0.1, 0.01, 0.001 ] }
                  }
                  objectives { name: "default" goal: MAXIMIZE }
                  algorithm { name: "grid" }
                  max_trials: 12
                  parallel_trials: 3
                )pb"));
}

// ---------------------------------------------------------------------------
// NNI

TEST(NniTest, AllTenTypesAndATwoLevelNestedChoice) {
  ExpectImports(
      "nni", "nni-all-types.json", Proto(R"pb(
        parameters {
          name: "optimizer"
          categorical { values: [ "sgd", "adam", "rmsprop" ] }
        }
        parameters {
          name: "batch_size"
          discrete { values: [ 16, 32, 64 ] }
        }
        parameters {
          name: "activation"
          categorical { values: [ "relu", "0", "1.5" ] }
        }
        parameters {
          name: "num_layers"
          int_range { min: 1 max: 4 }
        }
        parameters {
          name: "dropout"
          double_range { min: 0.1 max: 0.5 }
        }
        parameters {
          name: "hidden"
          double_range { min: 32 max: 256 q: 32 }
        }
        parameters {
          name: "lr"
          double_range { min: 1e-5 max: 0.1 log: true }
        }
        parameters {
          name: "embedding"
          double_range { min: 8 max: 512 log: true q: 8 }
        }
        parameters {
          name: "init_scale"
          double_range { distribution: NORMAL mu: 0 sigma: 1 }
        }
        parameters {
          name: "warmup"
          double_range { distribution: NORMAL mu: 100 sigma: 20 q: 10 }
        }
        parameters {
          name: "weight_decay"
          double_range { distribution: LOG_NORMAL mu: -9.2 sigma: 1.5 }
        }
        parameters {
          name: "epochs"
          double_range { distribution: LOG_NORMAL mu: 3 sigma: 0.5 q: 1 }
        }
        parameters {
          name: "layer"
          categorical { values: [ "empty", "conv", "pool" ] }
        }
        parameters {
          name: "layer/conv/kernel_size"
          discrete { values: [ 1, 3, 5 ] }
          condition {
            parent: "layer"
            values { string_value: "conv" }
          }
        }
        parameters {
          name: "layer/conv/act"
          categorical { values: [ "tanh", "leaky_relu" ] }
          condition {
            parent: "layer"
            values { string_value: "conv" }
          }
        }
        parameters {
          name: "layer/conv/act/leaky_relu/alpha"
          double_range { min: 0.01 max: 0.3 }
          condition {
            parent: "layer/conv/act"
            values { string_value: "leaky_relu" }
          }
        }
        parameters {
          name: "layer/pool/pooling_size"
          int_range { min: 2 max: 5 }
          condition {
            parent: "layer"
            values { string_value: "pool" }
          }
        }
        objectives { name: "default" goal: MAXIMIZE }
      )pb"));
}

TEST(NniTest, ExperimentConfig) {
  ExpectImports("nni", "nni-experiment-config.yml", Proto(R"pb(
                  name: "mnist"
                  parameters {
                    name: "batch_size"
                    discrete { values: [ 16, 32, 64 ] }
                  }
                  parameters {
                    name: "learning_rate"
                    double_range { min: 0.0001 max: 0.1 log: true }
                  }
                  objectives { name: "default" goal: MINIMIZE }
                  algorithm { name: "tpe" }
                  early_stopping { name: "median" }
                  max_trials: 100
                  parallel_trials: 2
                  max_duration { seconds: 86400 }
                  seed: 7
                )pb"));
}

TEST(NniTest, JsonIndentedWithTabs) {
  ExpectImports("nni", "nni-tabs.json", Proto(R"pb(
                  parameters {
                    name: "optimizer"
                    categorical { values: [ "sgd", "adam" ] }
                  }
                  parameters {
                    name: "lr"
                    double_range { min: 1e-5 max: 0.1 log: true }
                  }
                  objectives { name: "default" goal: MAXIMIZE }
                )pb"));
}

TEST(NniTest, QuotedNumbersAreLabels) {
  absl::StatusOr<v1::Experiment> e =
      Import("nni", R"({"x": {"_type": "choice", "_value": ["1", "2"]}})");
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_TRUE(e->parameters(0).has_categorical());
  EXPECT_EQ(e->parameters(0).categorical().values(1), "2");
}

TEST(NniTest, OldOneElementRandint) {
  absl::StatusOr<v1::Experiment> e =
      Import("nni", R"({"seed": {"_type": "randint", "_value": [10]}})");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->parameters(0).int_range().min(), 0);
  EXPECT_EQ(e->parameters(0).int_range().max(), 9);
}

TEST(NniTest, ExperimentDurations) {
  const struct {
    const char* text;
    int64_t seconds;
    int32_t nanos;
  } cases[] = {
      {"1h", 3600, 0},         {"30m", 1800, 0},  {"45s", 45, 0},
      {"2d", 172800, 0},       {"0.5h", 1800, 0}, {"90", 90, 0},
      {"1.25s", 1, 250000000},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    absl::StatusOr<v1::Experiment> e =
        Import("nni", absl::StrCat("maxExperimentDuration: \"", c.text,
                                   "\"\nsearchSpace: {x: {_type: uniform, "
                                   "_value: [0, 1]}}\n"));
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_EQ(e->max_duration().seconds(), c.seconds);
    EXPECT_EQ(e->max_duration().nanos(), c.nanos);
  }
}

TEST(NniTest, V1ConfigAndSnakeCaseFields) {
  absl::StatusOr<v1::Experiment> e = Import("nni", R"(
authorName: someone
experimentName: v1
maxExecDuration: 2h
maxTrialNum: 8
trial_concurrency: 4
searchSpace: '{"x": {"_type": "uniform", "_value": [0, 1]}}'
tuner:
  builtinTunerName: Evolution
  classArgs: {optimize_mode: maximize, population_size: 32}
)");
  ASSERT_TRUE(e.ok()) << e.status();
  ExpectEqual(Proto(R"pb(
                name: "v1"
                parameters {
                  name: "x"
                  double_range { min: 0 max: 1 }
                }
                objectives { name: "default" goal: MAXIMIZE }
                algorithm {
                  name: "evolution"
                  settings { key: "population_size" value: "32" }
                }
                max_trials: 8
                parallel_trials: 4
                max_duration { seconds: 7200 }
              )pb"),
              *e);
}

TEST(NniTest, TunerNames) {
  const struct {
    const char* nni;
    const char* hpo;
  } cases[] = {
      {"TPE", "tpe"},       {"Random", "random"},       {"GridSearch", "grid"},
      {"Anneal", "anneal"}, {"Evolution", "evolution"}, {"GP", "gp"},
      {"GPTuner", "gp"},    {"gridsearch", "grid"},     {"Hyperband", "random"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.nni);
    absl::StatusOr<v1::Experiment> e = Import(
        "nni", absl::StrCat("tuner: {name: ", c.nni,
                            "}\nsearchSpace: {x: {_type: uniform, _value: "
                            "[0, 1]}}\n"));
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_EQ(e->algorithm().name(), c.hpo);
  }
}

TEST(NniTest, HyperbandIsRandomSearchWithTheHyperbandRule) {
  absl::StatusOr<v1::Experiment> e = Import("nni", R"(
searchSpace: {x: {_type: uniform, _value: [0, 1]}}
advisor:
  name: Hyperband
  classArgs: {R: 60, eta: 3, optimize_mode: minimize}
)");
  ASSERT_TRUE(e.ok()) << e.status();
  ExpectEqual(Proto(R"pb(
                parameters {
                  name: "x"
                  double_range { min: 0 max: 1 }
                }
                objectives { name: "default" goal: MINIMIZE }
                algorithm { name: "random" }
                early_stopping {
                  name: "hyperband"
                  settings { key: "R" value: "60" }
                  settings { key: "eta" value: "3" }
                }
              )pb"),
              *e);
}

TEST(NniTest, T9kAssessor) {
  absl::StatusOr<v1::Experiment> e = Import("nni", R"(
apiVersion: tensorstack.dev/v1beta1
kind: AutoTuneExperiment
spec:
  searchSpace: '{"lr": {"_type": "choice", "_value": [0.1, 0.01]}}'
  tuner:
    builtinTunerName: "Anneal"
    classArgs: |-
      {"optimize_mode": "minimize"}
  assessor:
    builtinAssessorName: "Curvefitting"
    classArgs: |-
      {
        "optimize_mode": "minimize",
        "epoch_num": 20,
        "threshold": 0.95
      }
)");
  ASSERT_TRUE(e.ok()) << e.status();
  ExpectEqual(Proto(R"pb(
                parameters {
                  name: "lr"
                  discrete { values: [ 0.1, 0.01 ] }
                }
                objectives { name: "default" goal: MINIMIZE }
                algorithm { name: "anneal" }
                early_stopping {
                  name: "curve_fitting"
                  settings { key: "epoch_num" value: "20" }
                  settings { key: "threshold" value: "0.95" }
                }
              )pb"),
              *e);
}

TEST(NniTest, T9kSearchSpaceMayBeAnObject) {
  absl::StatusOr<v1::Experiment> e = Import("nni", R"(
kind: AutoTuneExperiment
spec:
  searchSpace:
    lr: {_type: loguniform, _value: [0.001, 0.1]}
  tuner:
    builtinTunerName: Random
    classArgs: {seed: 3}
)");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->parameters(0).name(), "lr");
  EXPECT_EQ(e->algorithm().name(), "random");
  EXPECT_EQ(e->seed(), 3u);
}

// ---------------------------------------------------------------------------
// Names, algorithms, objectives

TEST(ImportTest, ImportSpecNameOverridesTheDocument) {
  absl::StatusOr<v1::Experiment> e =
      Import("katib", ReadTestdata("katib-iris-experiment.yaml"), "iris-2");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->name(), "iris-2");
}

TEST(ImportTest, InvalidNamesAreLeftForValidation) {
  absl::StatusOr<v1::Experiment> e = Import(
      "nni",
      "experimentName: MNIST Run\nsearchSpace: {x: {_type: uniform, _value: "
      "[0, 1]}}\n");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->name(), "MNIST Run");
}

TEST(KatibTest, AlgorithmNames) {
  const struct {
    const char* katib;
    const char* hpo;
  } cases[] = {
      {"random", "random"},
      {"grid", "grid"},
      {"tpe", "tpe"},
      {"multivariate-tpe", "tpe"},
      {"bayesianoptimization", "gp"},
      {"cmaes", "cmaes"},
      {"sobol", "sobol"},
      {"hyperband", "random"},
      // hpo's own names pass through; CreateExperiment checks them.
      {"auto", "auto"},
      {"gp", "gp"},
      {"anneal", "anneal"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.katib);
    absl::StatusOr<v1::Experiment> e =
        Import("katib", absl::StrCat(R"({"parameters": [{"name": "x",
           "parameterType": "double", "feasibleSpace": {"min": "0", "max": "1"}}],
           "objective": {"type": "minimize", "objectiveMetricName": "loss"},
           "algorithm": {"algorithmName": ")",
                                     c.katib, R"("}})"));
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_EQ(e->algorithm().name(), c.hpo);
  }
}

// Katib's bayesianoptimization is scikit-optimize's: its settings in the
// terms of hpo's GP.
TEST(KatibTest, BayesianOptimizationSettings) {
  const auto import = [](const std::string& settings) {
    return Import("katib", absl::StrCat(R"({"parameters": [{"name": "x",
           "parameterType": "double", "feasibleSpace": {"min": "0", "max": "1"}}],
           "objective": {"type": "minimize", "objectiveMetricName": "loss"},
           "algorithm": {"algorithmName": "bayesianoptimization",
                         "algorithmSettings": [)",
                                        settings, "]}}"));
  };
  absl::StatusOr<v1::Experiment> e = import(
      R"({"name": "base_estimator", "value": "GP"},
         {"name": "acq_func", "value": "LCB"},
         {"name": "acq_optimizer", "value": "lbfgs"},
         {"name": "n_initial_points", "value": "5"})");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->algorithm().name(), "gp");
  EXPECT_EQ(e->algorithm().settings().size(), 2);
  EXPECT_EQ(e->algorithm().settings().at("acquisition"), "ucb");
  EXPECT_EQ(e->algorithm().settings().at("n_initial_points"), "5");
  e = import(R"({"name": "base_estimator", "value": "RF"})");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(),
            "import_spec.content: algorithm.algorithmSettings[0].value: "
            "base_estimator: \"RF\" is not supported (known: GP)");
}

TEST(KatibTest, HyperbandIsRandomSearchWithTheHyperbandRule) {
  absl::StatusOr<v1::Experiment> e = Import("katib", R"(
parameters:
  - {name: epochs, parameterType: int, feasibleSpace: {min: "1", max: "9"}}
objective: {type: maximize, objectiveMetricName: acc}
algorithm:
  algorithmName: hyperband
  algorithmSettings:
    - {name: resource_name, value: epochs}
    - {name: eta, value: "3"}
    - {name: random_state, value: "11"}
)");
  ASSERT_TRUE(e.ok()) << e.status();
  ExpectEqual(Proto(R"pb(
                parameters {
                  name: "epochs"
                  int_range { min: 1 max: 9 }
                }
                objectives { name: "acc" goal: MAXIMIZE }
                algorithm { name: "random" }
                early_stopping {
                  name: "hyperband"
                  settings { key: "resource_name" value: "epochs" }
                  settings { key: "eta" value: "3" }
                  settings { key: "max_resource" value: "9" }
                }
                seed: 11
              )pb"),
              *e);
}

// Without r_l, the largest budget is the resource parameter's largest value.
TEST(KatibTest, HyperbandMaxResourceFromTheResourceParameter) {
  const auto hyperband = [](const std::string& parameter,
                            const std::string& settings) {
    return Import("katib", absl::StrCat(R"({"parameters": [)", parameter,
                                        R"(], "objective": {"type": "minimize",
        "objectiveMetricName": "loss"}, "algorithm": {"algorithmName":
        "hyperband", "algorithmSettings": [)",
                                        settings, "]}}"));
  };
  const std::string epochs =
      R"({"name": "epochs", "parameterType": "int",
          "feasibleSpace": {"min": "1", "max": "27"}})";
  const std::string resource =
      R"({"name": "resource_name", "value": "epochs"})";
  absl::StatusOr<v1::Experiment> e = hyperband(epochs, resource);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->early_stopping().settings().at("max_resource"), "27");

  // r_l given: kept, nothing added.
  e = hyperband(epochs, resource + R"(, {"name": "r_l", "value": "9"})");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->early_stopping().settings().at("r_l"), "9");
  EXPECT_FALSE(e->early_stopping().settings().contains("max_resource"));

  // Double and discrete resources: their largest value, when whole.
  e = hyperband(R"({"name": "epochs", "parameterType": "double",
                    "feasibleSpace": {"min": "0.5", "max": "81"}})",
                resource);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->early_stopping().settings().at("max_resource"), "81");
  e = hyperband(R"({"name": "epochs", "parameterType": "discrete",
                    "feasibleSpace": {"list": ["3", "30", "10"]}})",
                resource);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->early_stopping().settings().at("max_resource"), "30");

  // No resource_name either: left to the rule, which asks for max_resource.
  e = hyperband(epochs, R"({"name": "eta", "value": "3"})");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_FALSE(e->early_stopping().settings().contains("max_resource"));
}

TEST(KatibTest, HyperbandResourceParameterErrors) {
  const auto error = [](const std::string& parameter,
                        const std::string& resource_name) {
    return ErrorOf("katib", absl::StrCat(R"({"parameters": [)", parameter,
                                         R"(], "objective": {"type": "minimize",
        "objectiveMetricName": "loss"}, "algorithm": {"algorithmName":
        "hyperband", "algorithmSettings": [{"name": "resource_name",
        "value": ")",
                                         resource_name, R"("}]}})"));
  };
  EXPECT_EQ(error(R"({"name": "epochs", "parameterType": "int",
                      "feasibleSpace": {"min": "1", "max": "9"}})",
                  "steps"),
            "import_spec.content: algorithm.algorithmSettings: "
            "resource_name: no parameter named \"steps\"");
  EXPECT_EQ(error(R"({"name": "epochs", "parameterType": "double",
                      "feasibleSpace": {"min": "1", "max": "9.5"}})",
                  "epochs"),
            "import_spec.content: algorithm.algorithmSettings: r_l is not "
            "set, and the largest value of the resource parameter \"epochs\" "
            "is 9.5, not a whole number >= 1: set r_l");
  EXPECT_EQ(error(R"({"name": "epochs", "parameterType": "categorical",
                      "feasibleSpace": {"list": ["a", "b"]}})",
                  "epochs"),
            "import_spec.content: algorithm.algorithmSettings: r_l is not "
            "set, and the largest value of the resource parameter \"epochs\" "
            "is unknown: set r_l");
}

TEST(KruizeTest, AlgorithmNames) {
  const struct {
    const char* kruize;
    const char* hpo;
    bool multivariate;
  } cases[] = {
      {"optuna_tpe", "tpe", false},  {"optuna_tpe_multivariate", "tpe", true},
      {"optuna_skopt", "gp", false}, {"optuna_scikit", "gp", false},
      {"random", "random", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.kruize);
    absl::StatusOr<v1::Experiment> e = Import(
        "kruize",
        absl::StrCat(R"({"direction": "minimize", "objective_function": "t",
          "tunables": [{"name": "x", "value_type": "integer",
                        "lower_bound": 1, "upper_bound": 4}],
          "hpo_algo_impl": ")",
                     c.kruize, R"("})"));
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_EQ(e->algorithm().name(), c.hpo);
    EXPECT_EQ(e->algorithm().settings().count("multivariate"),
              c.multivariate ? 1u : 0u);
  }
}

TEST(KruizeTest, ObjectiveFunctionNamesAndExpressions) {
  const struct {
    const char* function;
    const char* objective;
  } cases[] = {
      {"throughput", "throughput"},
      {"http_server_requests_seconds:rate1m",
       "http_server_requests_seconds:rate1m"},
      {"request_sum/request_count", "objective_function"},
      {"throughput - 2", "objective_function"},
      {"1/latency", "objective_function"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.function);
    absl::StatusOr<v1::Experiment> e = Import(
        "kruize",
        absl::StrCat(R"({"direction": "maximize", "tunables": [{"name": "x",
          "value_type": "categorical", "choices": ["a", "b"]}],
          "objective_function": ")",
                     c.function, R"("})"));
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_EQ(e->objectives(0).name(), c.objective);
  }
}

TEST(ImportTest, AliasCyclesAndAliasBombsAreRefused) {
  EXPECT_EQ(ErrorOf("nni", "a: &x [1, *x]\n").substr(0, 32),
            "import_spec.content: a[1][1][1][");
  EXPECT_NE(ErrorOf("nni", "a: &x [1, *x]\n")
                .find(": nested more than 64 levels deep"),
            std::string::npos);

  std::string bomb = "l0: &l0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n";
  for (int i = 1; i <= 6; ++i) {
    absl::StrAppend(&bomb, "l", i, ": &l", i, " [");
    for (int k = 0; k < 10; ++k)
      absl::StrAppend(&bomb, k ? ", " : "", "*l", i - 1);
    absl::StrAppend(&bomb, "]\n");
  }
  EXPECT_EQ(ErrorOf("nni", bomb),
            "import_spec.content: has more than 100000 values (counting "
            "aliases each time)");
}

TEST(ImportTest, DeepNestingIsAParseError) {
  const std::string deep(5000, '[');
  EXPECT_EQ(
      ErrorOf("katib", deep).rfind("import_spec.content: line 1, column ", 0),
      0u);
}

// ---------------------------------------------------------------------------
// Errors: every message starts with the path of the bad field.

struct ErrorCase {
  const char* description;
  const char* format;
  const char* content;
  const char* message;  // the whole message
};

class ImportErrorTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(ImportErrorTest, NamesTheField) {
  const ErrorCase& c = GetParam();
  EXPECT_EQ(ErrorOf(c.format, c.content), c.message);
}

// Lists in lists, past yaml-cpp's depth limit.
const std::string kDeeplyNested =
    std::string(3000, '[') + std::string(3000, ']');

const ErrorCase kErrorCases[] = {
    {"unknown format", "foo", "{}",
     "import_spec.format: unknown format \"foo\" (known: katib, kruize, nni)"},
    {"no format", "", "{}",
     "import_spec.format: is required (known: katib, kruize, nni)"},
    {"empty content", "nni", "", "import_spec.content: is empty"},
    {"malformed YAML", "katib", "spec:\n  parameters: [1, 2\n  objective: {}\n",
     "import_spec.content: line 3, column 12: end of sequence flow not found"},
    {"malformed JSON", "nni",
     "{\n  \"x\": {\"_type\": \"uniform\",\n         \"_value\": [0, 1]\n}",
     "import_spec.content: line 4, column 1: end of map flow not found"},
    {"not an object", "nni", "[1, 2]",
     "import_spec.content: must be a JSON or YAML object, got a list"},
    {"two documents", "nni", "{\"x\": 1} {\"y\": 2}",
     "import_spec.content: line 1, column 10: a second document starts here; "
     "import one JSON object or YAML document"},
    {"nested too deep", "nni", kDeeplyNested.c_str(),
     "import_spec.content: line 1, column 1: nested too deeply (the YAML "
     "parser stops at 500 levels)"},
    // yaml-cpp's LoadAll never returned on this (empty documents at the
    // stray "}" forever, each allocating, until memory ran out).
    {"a stray closing brace", "katib",
     "{\"objective\": {\"type\": \"maximize\"},\n  \"a\": [1]},\n  "
     "\"maxTrialCount\": 12\n}\n",
     "import_spec.content: line 2, column 12: a second document starts here; "
     "import one JSON object or YAML document"},
    {"duplicate key", "nni",
     "x: {_type: uniform, _value: [0, 1]}\nx: {_type: uniform, _value: [0, "
     "2]}\n",
     "import_spec.content: x: duplicate key \"x\" (line 2)"},

    // NNI search spaces
    {"unknown _type", "nni", R"({"lr": {"_type": "foo", "_value": [1]}})",
     "import_spec.content: lr._type: unknown _type \"foo\" (known: choice, "
     "randint, uniform, quniform, loguniform, qloguniform, normal, qnormal, "
     "lognormal, qlognormal)"},
    {"nested unknown _type", "nni",
     R"({"l": {"_type": "choice", "_value": [{"_name": "a",
         "k": {"_type": "bogus", "_value": [1]}}]}})",
     "import_spec.content: l._value[0].k._type: unknown _type \"bogus\" "
     "(known: choice, randint, uniform, quniform, loguniform, qloguniform, "
     "normal, qnormal, lognormal, qlognormal)"},
    {"missing _type", "nni", R"({"lr": {"_value": [1]}})",
     "import_spec.content: lr._type: is required"},
    {"missing _value", "nni", R"({"lr": {"_type": "uniform"}})",
     "import_spec.content: lr._value: is required"},
    {"parameter not an object", "nni", R"({"lr": 0.1})",
     "import_spec.content: lr: must be an object {\"_type\": ..., \"_value\": "
     "...}, got 0.1"},
    {"randint low == high", "nni",
     R"({"n": {"_type": "randint", "_value": [5, 5]}})",
     "import_spec.content: n._value: randint needs lower < upper (upper is "
     "exclusive), got lower 5, upper 5"},
    {"randint low > high", "nni",
     R"({"n": {"_type": "randint", "_value": [7, 2]}})",
     "import_spec.content: n._value: randint needs lower < upper (upper is "
     "exclusive), got lower 7, upper 2"},
    {"randint fraction", "nni",
     R"({"n": {"_type": "randint", "_value": [1, 2.5]}})",
     "import_spec.content: n._value[1]: 2.5 is not a whole number"},
    {"bad number", "nni",
     R"({"x": {"_type": "uniform", "_value": [0, "abc"]}})",
     "import_spec.content: x._value[1]: \"abc\" is not a number"},
    {"wrong arity", "nni", R"({"x": {"_type": "quniform", "_value": [0, 1]}})",
     "import_spec.content: x._value: quniform takes [low, high, q], got 2 "
     "values"},
    {"uniform low > high", "nni",
     R"({"x": {"_type": "uniform", "_value": [2, 1]}})",
     "import_spec.content: x._value: uniform needs low <= high, got low 2, "
     "high 1"},
    {"loguniform low 0", "nni",
     R"({"x": {"_type": "loguniform", "_value": [0, 1]}})",
     "import_spec.content: x._value[0]: low must be > 0 for loguniform (a log "
     "scale), got 0"},
    {"q 0", "nni", R"({"x": {"_type": "qnormal", "_value": [0, 1, 0]}})",
     "import_spec.content: x._value[2]: q must be > 0, got 0"},
    {"sigma 0", "nni", R"({"x": {"_type": "lognormal", "_value": [0, 0]}})",
     "import_spec.content: x._value[1]: sigma must be > 0, got 0"},
    {"empty choice", "nni", R"({"x": {"_type": "choice", "_value": []}})",
     "import_spec.content: x._value: must not be empty"},
    {"duplicate choice", "nni",
     R"({"x": {"_type": "choice", "_value": [1, 2, 1.0]}})",
     "import_spec.content: x._value[2]: duplicate option \"1.0\""},
    {"nested option without _name", "nni",
     R"({"x": {"_type": "choice", "_value": [{"k": {"_type": "uniform",
         "_value": [0, 1]}}]}})",
     "import_spec.content: x._value[0]._name: is required: an option that is "
     "an object is a nested search space, and _name is the value the choice "
     "takes for it"},
    {"null option", "nni", R"({"x": {"_type": "choice", "_value": [1, null]}})",
     "import_spec.content: x._value[1]: must be a number, a string or an "
     "object with _name, got null"},

    // NNI configs and T9k
    {"search space file", "nni",
     "searchSpaceFile: search_space.json\ntuner: {name: TPE}\n",
     "import_spec.content: searchSpaceFile: \"search_space.json\" is a file on "
     "the client, which the server cannot read: inline the search space as "
     "searchSpace, or import the file's content"},
    {"no search space", "nni", "tuner: {name: TPE}\n",
     "import_spec.content: searchSpace: is required"},
    {"unsupported tuner", "nni",
     "tuner: {name: SMAC}\nsearchSpace: {x: {_type: uniform, _value: [0, "
     "1]}}\n",
     "import_spec.content: tuner.name: unsupported tuner \"SMAC\" (supported: "
     "Anneal, Evolution, GP (GPTuner), GridSearch, Hyperband, Random, TPE)"},
    {"BOHB", "nni",
     "advisor: {name: BOHB}\nsearchSpace: {x: {_type: uniform, _value: [0, "
     "1]}}\n",
     "import_spec.content: advisor.name: unsupported tuner \"BOHB\" "
     "(supported: Anneal, Evolution, GP (GPTuner), GridSearch, Hyperband, "
     "Random, TPE)"},
    {"unsupported assessor", "nni",
     "assessor: {name: Custom}\nsearchSpace: {x: {_type: uniform, _value: [0, "
     "1]}}\n",
     "import_spec.content: assessor.name: unsupported assessor \"Custom\" "
     "(supported: Curvefitting, Medianstop)"},
    {"Hyperband with an assessor", "nni",
     "advisor: {name: Hyperband}\nassessor: {name: Medianstop}\n"
     "searchSpace: {x: {_type: uniform, _value: [0, 1]}}\n",
     "import_spec.content: assessor: cannot be combined with the Hyperband "
     "tuner, which already stops trials early"},
    {"optimize_mode disagreement", "nni",
     "tuner: {name: TPE, classArgs: {optimize_mode: maximize}}\n"
     "assessor: {name: Medianstop, classArgs: {optimize_mode: minimize}}\n"
     "searchSpace: {x: {_type: uniform, _value: [0, 1]}}\n",
     "import_spec.content: assessor.classArgs.optimize_mode: \"minimize\" "
     "disagrees with tuner.classArgs.optimize_mode"},
    {"custom tuner", "nni",
     "tuner: {className: my.Tuner, codeDirectory: .}\nsearchSpace: {x: "
     "{_type: uniform, _value: [0, 1]}}\n",
     "import_spec.content: tuner: custom tuners (className, codeDirectory) "
     "are not supported: hpo runs only its own algorithms"},
    {"bad optimize_mode", "nni",
     "tuner: {name: TPE, classArgs: {optimize_mode: up}}\nsearchSpace: {x: "
     "{_type: uniform, _value: [0, 1]}}\n",
     "import_spec.content: tuner.classArgs.optimize_mode: must be "
     "\"maximize\" or \"minimize\", got \"up\""},
    {"bad seed", "nni",
     "tuner: {name: TPE, classArgs: {seed: -1}}\nsearchSpace: {x: {_type: "
     "uniform, _value: [0, 1]}}\n",
     "import_spec.content: tuner.classArgs.seed: must be between 0 and "
     "4294967295, got -1"},
    {"bad duration", "nni",
     "maxExperimentDuration: 1 week\nsearchSpace: {x: {_type: uniform, "
     "_value: [0, 1]}}\n",
     "import_spec.content: maxExperimentDuration: \"1 week\" is not a "
     "duration: write a number and s, m, h or d, e.g. \"30m\" or \"1.5h\""},
    {"zero duration", "nni",
     "maxExperimentDuration: 0s\nsearchSpace: {x: {_type: uniform, _value: "
     "[0, 1]}}\n",
     "import_spec.content: maxExperimentDuration: must be positive, got 0"},
    {"negative trial count", "nni",
     "maxTrialNumber: -3\nsearchSpace: {x: {_type: uniform, _value: [0, "
     "1]}}\n",
     "import_spec.content: maxTrialNumber: must be between 0 and 2147483647, "
     "got -3"},
    {"T9k search space string malformed", "nni",
     "kind: AutoTuneExperiment\nspec:\n  searchSpace: |-\n    {\n      "
     "\"x\": {\"_type\": \"choice\", \"_value\": [1, 2}\n    }\n",
     "import_spec.content: spec.searchSpace: line 2, column 43: illegal flow "
     "end"},
    {"T9k missing search space", "nni",
     "kind: AutoTuneExperiment\nspec: {maxTrialNum: 3}\n",
     "import_spec.content: spec.searchSpace: is required"},
    {"Katib Experiment given as nni", "nni",
     "kind: Experiment\nspec: {parameters: []}\n",
     "import_spec.content: kind: \"Experiment\" is not a T9k "
     "AutoTuneExperiment (for a Katib Experiment use format \"katib\")"},

    // Katib
    {"Katib bad number", "katib", R"(
spec:
  objective: {type: maximize, objectiveMetricName: acc}
  parameters:
    - {name: a, parameterType: double, feasibleSpace: {min: "0", max: "1"}}
    - {name: b, parameterType: int, feasibleSpace: {min: "0", max: "9"}}
    - {name: c, parameterType: double, feasibleSpace: {min: "0", max: "abc"}}
)",
     "import_spec.content: spec.parameters[2].feasibleSpace.max: \"abc\" is "
     "not a number"},
    {"Katib missing feasibleSpace", "katib",
     R"({"spec": {"parameters": [{"name": "a", "parameterType": "double"}]}})",
     "import_spec.content: spec.parameters[0].feasibleSpace: is required"},
    {"Katib missing max", "katib",
     R"({"parameters": [{"name": "a", "parameterType": "double",
         "feasibleSpace": {"min": "1"}}]})",
     "import_spec.content: parameters[0].feasibleSpace.max: is required"},
    {"Katib min > max", "katib",
     R"({"parameters": [{"name": "a", "parameterType": "int",
         "feasibleSpace": {"min": "5", "max": "1"}}]})",
     "import_spec.content: parameters[0].feasibleSpace.min: must be <= max "
     "(min 5, max 1)"},
    {"Katib int fraction", "katib",
     R"({"parameters": [{"name": "a", "parameterType": "int",
         "feasibleSpace": {"min": "0.5", "max": "3"}}]})",
     "import_spec.content: parameters[0].feasibleSpace.min: \"0.5\" is not a "
     "whole number"},
    {"Katib int log step", "katib",
     R"({"parameters": [{"name": "a", "parameterType": "int",
         "feasibleSpace": {"min": "1", "max": "64", "step": "2",
                           "distribution": "logUniform"}}]})",
     "import_spec.content: parameters[0].feasibleSpace.step: cannot be "
     "combined with logUniform in hpo, got 2"},
    {"Katib logUniform min 0", "katib",
     R"({"parameters": [{"name": "a", "parameterType": "double",
         "feasibleSpace": {"min": "0", "max": "1",
                           "distribution": "logUniform"}}]})",
     "import_spec.content: parameters[0].feasibleSpace.min: must be > 0 for a "
     "logUniform distribution, got 0"},
    {"Katib normal without max", "katib",
     R"({"parameters": [{"name": "a", "parameterType": "double",
         "feasibleSpace": {"min": "0", "distribution": "normal"}}]})",
     "import_spec.content: parameters[0].feasibleSpace.max: is required: "
     "Katib derives a normal's mu and sigma from min and max"},
    {"Katib unknown distribution", "katib",
     R"({"parameters": [{"name": "a", "parameterType": "double",
         "feasibleSpace": {"min": "0", "max": "1", "distribution": "beta"}}]})",
     "import_spec.content: parameters[0].feasibleSpace.distribution: unknown "
     "distribution \"beta\" (known: uniform, logUniform, normal, logNormal)"},
    {"Katib unknown parameterType", "katib",
     R"({"parameters": [{"name": "a", "parameterType": "float",
         "feasibleSpace": {"min": "0", "max": "1"}}]})",
     "import_spec.content: parameters[0].parameterType: unknown parameterType "
     "\"float\" (known: int, double, categorical, discrete)"},
    {"Katib discrete not a number", "katib",
     R"({"parameters": [{"name": "a", "parameterType": "discrete",
         "feasibleSpace": {"list": ["1", "two"]}}]})",
     "import_spec.content: parameters[0].feasibleSpace.list[1]: \"two\" is "
     "not a number"},
    {"Katib empty list", "katib",
     R"({"parameters": [{"name": "a", "parameterType": "categorical",
         "feasibleSpace": {"list": []}}]})",
     "import_spec.content: parameters[0].feasibleSpace.list: must not be "
     "empty"},
    {"Katib duplicate discrete", "katib",
     R"({"parameters": [{"name": "a", "parameterType": "discrete",
         "feasibleSpace": {"list": ["0.5", "0.50"]}}]})",
     "import_spec.content: parameters[0].feasibleSpace.list[1]: duplicate "
     "value 0.5"},
    {"Katib missing objective", "katib",
     R"({"parameters": [{"name": "a", "parameterType": "categorical",
         "feasibleSpace": {"list": ["x"]}}]})",
     "import_spec.content: objective: is required"},
    {"Katib bad objective type", "katib",
     R"({"parameters": [{"name": "a", "parameterType": "categorical",
         "feasibleSpace": {"list": ["x"]}}],
         "objective": {"type": "max", "objectiveMetricName": "m"}})",
     "import_spec.content: objective.type: must be \"maximize\" or "
     "\"minimize\", got \"max\""},
    {"Katib darts", "katib",
     R"({"parameters": [{"name": "a", "parameterType": "categorical",
         "feasibleSpace": {"list": ["x"]}}],
         "objective": {"type": "maximize", "objectiveMetricName": "m"},
         "algorithm": {"algorithmName": "darts"}})",
     "import_spec.content: algorithm.algorithmName: unsupported algorithm "
     "\"darts\": neural architecture search is not something hpo does"},
    {"Katib pbt", "katib",
     R"({"parameters": [{"name": "a", "parameterType": "categorical",
         "feasibleSpace": {"list": ["x"]}}],
         "objective": {"type": "maximize", "objectiveMetricName": "m"},
         "algorithm": {"algorithmName": "pbt"}})",
     "import_spec.content: algorithm.algorithmName: unsupported algorithm "
     "\"pbt\": hpo has no population based training"},
    {"Katib empty algorithm", "katib",
     R"({"parameters": [{"name": "a", "parameterType": "categorical",
         "feasibleSpace": {"list": ["x"]}}],
         "objective": {"type": "maximize", "objectiveMetricName": "m"},
         "algorithm": {"algorithmName": ""}})",
     "import_spec.content: algorithm.algorithmName: is required"},
    {"Katib unknown early stopping", "katib",
     R"({"parameters": [{"name": "a", "parameterType": "categorical",
         "feasibleSpace": {"list": ["x"]}}],
         "objective": {"type": "maximize", "objectiveMetricName": "m"},
         "earlyStopping": {"algorithmName": "asha"}})",
     "import_spec.content: earlyStopping.algorithmName: unknown early "
     "stopping algorithm \"asha\" (known: medianstop)"},
    {"Katib hyperband with early stopping", "katib",
     R"({"parameters": [{"name": "a", "parameterType": "categorical",
         "feasibleSpace": {"list": ["x"]}}],
         "objective": {"type": "maximize", "objectiveMetricName": "m"},
         "algorithm": {"algorithmName": "hyperband"},
         "earlyStopping": {"algorithmName": "medianstop"}})",
     "import_spec.content: earlyStopping: cannot be combined with algorithm "
     "hyperband, which already stops trials early"},
    {"Katib negative count", "katib",
     R"({"parameters": [{"name": "a", "parameterType": "categorical",
         "feasibleSpace": {"list": ["x"]}}],
         "objective": {"type": "maximize", "objectiveMetricName": "m"},
         "maxTrialCount": -1})",
     "import_spec.content: maxTrialCount: must be between 0 and 2147483647, "
     "got -1"},
    {"Katib wrong kind", "katib", "kind: Job\nspec: {}\n",
     "import_spec.content: kind: must be \"Experiment\", got \"Job\""},
    {"Katib NAS", "katib",
     "kind: Experiment\nspec:\n  nasConfig: {graphConfig: {numLayers: 8}}\n",
     "import_spec.content: spec.nasConfig: neural architecture search is not "
     "supported: hpo imports spec.parameters only"},
    {"Katib neither", "katib", "{\"foo\": 1}",
     "import_spec.content: is neither a Katib Experiment (no spec) nor an "
     "ExperimentSpec (no parameters or objective)"},

    // Kruize
    {"Kruize unknown algorithm", "kruize",
     R"({"direction": "minimize", "objective_function": "t",
         "hpo_algo_impl": "optuna_nsga2",
         "tunables": [{"name": "x", "value_type": "double",
                       "lower_bound": 0, "upper_bound": 1}]})",
     "import_spec.content: hpo_algo_impl: unknown hpo_algo_impl "
     "\"optuna_nsga2\" (known: optuna_tpe, optuna_tpe_multivariate, "
     "optuna_skopt, optuna_scikit, optuna_random, random)"},
    {"Kruize unknown value_type", "kruize",
     R"({"direction": "minimize", "objective_function": "t",
         "tunables": [{"name": "x", "value_type": "float",
                       "lower_bound": 0, "upper_bound": 1}]})",
     "import_spec.content: tunables[0].value_type: unknown value_type "
     "\"float\" (known: double, integer, categorical)"},
    {"Kruize lower > upper", "kruize",
     R"({"search_space": {"direction": "minimize", "objective_function": "t",
         "tunables": [{"name": "x", "value_type": "double",
                       "lower_bound": 3, "upper_bound": 1}]}})",
     "import_spec.content: search_space.tunables[0].lower_bound: must be <= "
     "upper_bound (3 > 1)"},
    {"Kruize integer fraction", "kruize",
     R"({"direction": "minimize", "objective_function": "t",
         "tunables": [{"name": "x", "value_type": "integer",
                       "lower_bound": 1, "upper_bound": 10, "step": 0.5}]})",
     "import_spec.content: tunables[0].step: 0.5 is not a whole number"},
    {"Kruize missing direction", "kruize",
     R"({"objective_function": "t",
         "tunables": [{"name": "x", "value_type": "double",
                       "lower_bound": 0, "upper_bound": 1}]})",
     "import_spec.content: direction: is required"},
    {"Kruize bad direction", "kruize",
     R"({"direction": "down", "objective_function": "t",
         "tunables": [{"name": "x", "value_type": "double",
                       "lower_bound": 0, "upper_bound": 1}]})",
     "import_spec.content: direction: must be \"maximize\" or \"minimize\", "
     "got \"down\""},
    {"Kruize other operation", "kruize",
     R"({"operation": "EXP_TRIAL_RESULT", "experiment_name": "e"})",
     "import_spec.content: operation: \"EXP_TRIAL_RESULT\" carries no search "
     "space (import an EXP_TRIAL_GENERATE_NEW request or its search_space)"},
    {"Kruize request without search space", "kruize",
     R"({"operation": "EXP_TRIAL_GENERATE_NEW"})",
     "import_spec.content: search_space: is required"},
    {"Kruize no tunables", "kruize",
     R"({"direction": "minimize", "objective_function": "t"})",
     "import_spec.content: tunables: is required"},
};

INSTANTIATE_TEST_SUITE_P(All, ImportErrorTest, testing::ValuesIn(kErrorCases),
                         [](const testing::TestParamInfo<ErrorCase>& info) {
                           std::string name;
                           for (const char* p = info.param.description; *p;
                                ++p) {
                             name +=
                                 std::isalnum(static_cast<unsigned char>(*p))
                                     ? *p
                                     : '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace hpo
