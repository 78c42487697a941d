#include "cli/spec_file.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "yaml-cpp/yaml.h"

namespace hpo::cli {
namespace {

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir ? dir : "/tmp";
}

// The spec as if read from DIR/specs/NAME.
struct Loaded {
  bool ok = false;
  v1::CreateExperimentRequest req;
  RunSettings run;
  std::string error;
};
Loaded Load(const std::string& content, const std::string& name = "s.yaml") {
  Loaded l;
  l.ok = LoadSpecContent(TempDir() + "/specs/" + name, content, &l.req, &l.run,
                         &l.error);
  return l;
}

// The import_spec's content, parsed back.
google::protobuf::Struct Content(const v1::CreateExperimentRequest& req) {
  google::protobuf::Struct s;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(
                  req.import_spec().content(), &s)
                  .ok())
      << req.import_spec().content();
  return s;
}

SpecFormat Detect(const std::string& yaml) {
  return DetectSpecFormat(YAML::Load(yaml));
}

TEST(DetectSpecFormatTest, EachFormatByItsMarks) {
  EXPECT_EQ(Detect("apiVersion: kubeflow.org/v1beta1\nkind: Experiment\n"),
            SpecFormat::kKatib);
  EXPECT_EQ(Detect("objective: {objectiveMetricName: acc}\n"),
            SpecFormat::kKatib);
  EXPECT_EQ(Detect("maxTrialCount: 3\n"), SpecFormat::kKatib);
  EXPECT_EQ(Detect("algorithm: {algorithmName: random}\n"), SpecFormat::kKatib);
  EXPECT_EQ(Detect("kind: AutoTuneExperiment\n"), SpecFormat::kT9k);
  EXPECT_EQ(Detect("x: {_type: uniform, _value: [0, 1]}\n"), SpecFormat::kNni);
  for (const char* key : {"searchSpace", "searchSpaceFile", "trialCommand",
                          "tuner", "trialConcurrency"}) {
    EXPECT_EQ(Detect(std::string(key) + ": x\n"), SpecFormat::kNni) << key;
  }
  // hpo's own: no mark of another format. `algorithm: {name: tpe}` is hpo's.
  EXPECT_EQ(Detect("name: q\nalgorithm: {name: tpe}\nmaxTrials: 3\n"),
            SpecFormat::kHpo);
  // A Kubernetes Experiment of another API group is not Katib's.
  EXPECT_EQ(Detect("apiVersion: example.org/v1\nkind: Experiment\n"),
            SpecFormat::kHpo);
  // Half a search space is not one.
  EXPECT_EQ(Detect("x: {_type: choice}\ny: 3\n"), SpecFormat::kHpo);
}

TEST(SpecFileTest, HposOwnSpecWithRunSettings) {
  Loaded l = Load(R"(
name: quadratic
parameters:
  - name: x
    doubleRange: {min: -2, max: 2}
objectives: [{name: loss, goal: MINIMIZE}]
maxTrials: 20
command: python3 train.py --x=${trialParameters.x}
metricsFile: metrics.txt
metricsPattern: '(\w+):(\S+)'
trialTimeout: 1.5
)");
  ASSERT_TRUE(l.ok) << l.error;
  EXPECT_FALSE(l.req.has_import_spec());
  const v1::Experiment& e = l.req.experiment();
  EXPECT_EQ(e.name(), "quadratic");
  ASSERT_EQ(e.parameters_size(), 1);
  EXPECT_EQ(e.parameters(0).double_range().min(), -2);
  EXPECT_EQ(e.objectives(0).goal(), v1::Objective::MINIMIZE);
  EXPECT_EQ(e.max_trials(), 20);
  EXPECT_EQ(l.run.command, "python3 train.py --x=${trialParameters.x}");
  EXPECT_EQ(l.run.metrics_file, "metrics.txt");
  EXPECT_EQ(l.run.metrics_pattern, "(\\w+):(\\S+)");
  EXPECT_EQ(l.run.trial_timeout, 1.5);
  EXPECT_EQ(l.run.working_dir, TempDir() + "/specs");
  EXPECT_FALSE(l.run.nni);
}

TEST(SpecFileTest, HposOwnSpecAsJson) {
  Loaded l = Load(R"({"name": "j", "command": "run.sh",
                      "parameters": [{"name": "n", "intRange": {"min": 1,
                      "max": 4}}]})",
                  "s.json");
  ASSERT_TRUE(l.ok) << l.error;
  ASSERT_EQ(l.req.experiment().parameters_size(), 1);
  EXPECT_EQ(l.req.experiment().parameters(0).int_range().max(), 4);
  EXPECT_EQ(l.run.command, "run.sh");
  // `trialCommand` is NNI's mark: beside an hpo experiment it makes the file
  // an NNI config, which the server then refuses.
  Loaded nni = Load("name: j\ntrialCommand: run.sh\n");
  ASSERT_TRUE(nni.ok) << nni.error;
  EXPECT_EQ(nni.req.import_spec().format(), "nni");
}

TEST(SpecFileTest, HposOwnSpecErrorsNameTheField) {
  Loaded unknown = Load("name: q\nmaxTrails: 3\n");
  EXPECT_FALSE(unknown.ok);
  EXPECT_EQ(unknown.error.rfind(TempDir() + "/specs/s.yaml: ", 0), 0u)
      << unknown.error;
  EXPECT_NE(unknown.error.find("maxTrails"), std::string::npos)
      << unknown.error;
  EXPECT_NE(unknown.error.find("unknown field"), std::string::npos)
      << unknown.error;
  Loaded wrong = Load("name: q\nmaxTrials: many\n");
  EXPECT_FALSE(wrong.ok);
  EXPECT_NE(wrong.error.find("max_trials: invalid value \"many\""),
            std::string::npos)
      << wrong.error;
}

TEST(SpecFileTest, SyntaxAndShapeErrors) {
  Loaded syntax = Load("name: [unclosed\n");
  EXPECT_FALSE(syntax.ok);
  EXPECT_EQ(syntax.error.rfind(TempDir() + "/specs/s.yaml: line ", 0), 0u)
      << syntax.error;
  EXPECT_EQ(syntax.error.find("yaml-cpp"), std::string::npos) << syntax.error;
  Loaded list = Load("- a\n- b\n");
  EXPECT_FALSE(list.ok);
  EXPECT_EQ(list.error, TempDir() + "/specs/s.yaml: not a mapping");
  Loaded kind = Load("kind: [1, 2]\n");
  EXPECT_FALSE(kind.ok);
  EXPECT_NE(kind.error.find("line 1, column 7"), std::string::npos)
      << kind.error;
  EXPECT_NE(kind.error.find("(a list or mapping where a single value belongs)"),
            std::string::npos)
      << kind.error;
  std::string error;
  v1::CreateExperimentRequest req;
  RunSettings run;
  EXPECT_FALSE(LoadSpec("/no/such/spec.yaml", &req, &run, &error));
  EXPECT_EQ(error, "cannot read /no/such/spec.yaml");
}

TEST(SpecFileTest, KatibExperiment) {
  Loaded l = Load(R"(
apiVersion: kubeflow.org/v1beta1
kind: Experiment
metadata: {name: iris}
spec:
  objective: {type: maximize, objectiveMetricName: accuracy}
  maxTrialCount: 12
  parameters:
    - name: lr
      parameterType: double
      feasibleSpace: {min: "0.01", max: "0.1"}
  trialTemplate:
    trialParameters:
      - {name: learningRate, reference: lr}
    trialSpec:
      spec:
        template:
          spec:
            containers:
              - name: train
                command: [sh, -c]
                args: ["python train.py --lr=${trialParameters.learningRate}"]
)");
  ASSERT_TRUE(l.ok) << l.error;
  EXPECT_EQ(l.req.import_spec().format(), "katib");
  EXPECT_FALSE(l.req.has_experiment());
  const google::protobuf::Struct content = Content(l.req);
  EXPECT_EQ(content.fields()
                .at("metadata")
                .struct_value()
                .fields()
                .at("name")
                .string_value(),
            "iris");
  // Quoted numbers stay strings, bare ones are numbers.
  const auto& spec = content.fields().at("spec").struct_value().fields();
  EXPECT_EQ(spec.at("maxTrialCount").number_value(), 12);
  EXPECT_EQ(spec.at("parameters")
                .list_value()
                .values(0)
                .struct_value()
                .fields()
                .at("feasibleSpace")
                .struct_value()
                .fields()
                .at("min")
                .string_value(),
            "0.01");
  EXPECT_EQ(l.run.command,
            "sh -c 'python train.py --lr=${trialParameters.learningRate}'");
  EXPECT_EQ(l.run.aliases.at("learningRate"), "lr");
  EXPECT_EQ(l.run.working_dir, TempDir() + "/specs");
  EXPECT_FALSE(l.run.nni);
}

TEST(SpecFileTest, NniConfigInlinesItsSearchSpaceFile) {
  const std::string dir = TempDir() + "/nni";
  ASSERT_EQ(std::system(("mkdir -p " + dir).c_str()), 0);
  std::ofstream(dir + "/space.json")
      << R"({"lr": {"_type": "loguniform", "_value": [0.0001, 0.1]}})";
  v1::CreateExperimentRequest req;
  RunSettings run;
  std::string error;
  ASSERT_TRUE(LoadSpecContent(dir + "/config.yml", R"(
searchSpaceFile: space.json
trialCommand: python3 mnist.py
trialCodeDirectory: code
trialConcurrency: 2
tuner: {name: TPE, classArgs: {optimize_mode: maximize}}
)",
                              &req, &run, &error))
      << error;
  EXPECT_EQ(req.import_spec().format(), "nni");
  const google::protobuf::Struct content = Content(req);
  EXPECT_FALSE(content.fields().contains("searchSpaceFile"));
  EXPECT_EQ(content.fields()
                .at("searchSpace")
                .struct_value()
                .fields()
                .at("lr")
                .struct_value()
                .fields()
                .at("_type")
                .string_value(),
            "loguniform");
  EXPECT_EQ(run.command, "python3 mnist.py");
  EXPECT_EQ(run.working_dir, dir + "/code");
  EXPECT_TRUE(run.nni);

  EXPECT_FALSE(LoadSpecContent(dir + "/config.yml",
                               "searchSpaceFile: missing.json\n", &req, &run,
                               &error));
  EXPECT_EQ(error.rfind(dir + "/missing.json: ", 0), 0u) << error;
}

TEST(SpecFileTest, BareNniSearchSpace) {
  Loaded l = Load(
      "x: {_type: uniform, _value: [0, 1]}\n"
      "opt: {_type: choice, _value: [sgd, adam]}\n");
  ASSERT_TRUE(l.ok) << l.error;
  EXPECT_EQ(l.req.import_spec().format(), "nni");
  EXPECT_TRUE(l.run.nni);
  EXPECT_EQ(l.run.command, "");
  EXPECT_EQ(l.run.working_dir, TempDir() + "/specs");
}

TEST(SpecFileTest, T9kAutoTuneExperiment) {
  Loaded l = Load(R"(
apiVersion: tensorstack.dev/v1beta1
kind: AutoTuneExperiment
metadata: {name: t9k}
spec:
  maxTrialNum: 4
  searchSpace: '{"lr": {"_type": "uniform", "_value": [0, 1]}}'
  trainingConfig:
    type: tensorflow
    tasks:
      - type: worker
        template:
          spec:
            containers:
              - command: [python, train.py, "--note=it's"]
                workingDir: work
)");
  ASSERT_TRUE(l.ok) << l.error;
  EXPECT_EQ(l.req.import_spec().format(), "nni");
  EXPECT_EQ(l.run.command, "python train.py '--note=it'\\''s'");
  EXPECT_EQ(l.run.working_dir, TempDir() + "/specs/work");
  EXPECT_TRUE(l.run.nni);
  Loaded absolute = Load(
      "kind: AutoTuneExperiment\nspec:\n  trainingConfig:\n    tasks:\n"
      "      - template: {spec: {containers: [{command: [a], workingDir: "
      "/abs}]}}\n");
  ASSERT_TRUE(absolute.ok) << absolute.error;
  EXPECT_EQ(absolute.run.working_dir, "/abs");
}

TEST(ContainerCommandTest, QuotesWhatTheShellWouldInterpret) {
  EXPECT_EQ(
      ContainerCommand(YAML::Load(
          "{command: [python, -u, a/b.py], args: [--lr=0.1, \"x:y,z@1%\"]}")),
      "python -u a/b.py --lr=0.1 x:y,z@1%");
  EXPECT_EQ(ContainerCommand(YAML::Load(R"({args: ["a b", "$HOME", ""]})")),
            "'a b' '$HOME' ''");
  EXPECT_EQ(ContainerCommand(YAML::Load(R"({command: ["it's"]})")),
            "'it'\\''s'");
  EXPECT_EQ(ContainerCommand(YAML::Load("{image: x}")), "");
}

TEST(YamlToJsonTest, PlainScalarsKeepTheirType) {
  EXPECT_EQ(YamlToJson(YAML::Load(
                "{a: 1, b: -2.5e3, c: true, d: null, e: ~, f: '1', g: x, "
                "h: [.5, \"no\"]}")),
            R"({"a":1,"b":-2.5e3,"c":true,"d":null,"e":null,"f":"1","g":"x",)"
            R"("h":[.5,"no"]})");
}

}  // namespace
}  // namespace hpo::cli
