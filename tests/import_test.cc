// Importing the seeds' specs over real gRPC: the server converts them, fills
// and overrides fields from the experiment sent beside, and refuses what
// cannot be converted with the path of the bad field.

#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "tests/server_process.h"
#include "tests/test_client.h"

namespace hpo {
namespace {

using testing::ServerProcess;
using testing::TestClient;

std::string Fixture(const std::string& name) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  std::ifstream in(std::string(srcdir ? srcdir : ".") +
                   "/hpo/server/import/testdata/" + name);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_FALSE(text.str().empty()) << name;
  return text.str();
}

class ImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start());
    client_ = std::make_unique<TestClient>(server_.NewStub());
  }

  grpc::Status Import(const std::string& format, const std::string& content,
                      const std::string& name, const v1::Experiment& beside,
                      v1::Experiment* out) {
    grpc::ClientContext ctx;
    v1::CreateExperimentRequest req;
    req.mutable_import_spec()->set_format(format);
    req.mutable_import_spec()->set_content(content);
    req.mutable_import_spec()->set_name(name);
    *req.mutable_experiment() = beside;
    return client_->stub()->CreateExperiment(&ctx, req, out);
  }

  ServerProcess server_;
  std::unique_ptr<TestClient> client_;
};

TEST_F(ImportTest, KatibIrisRunsLikeInKatib) {
  v1::Experiment e;
  ASSERT_TRUE(Import("katib", Fixture("katib-iris-experiment.yaml"), "iris",
                     v1::Experiment(), &e)
                  .ok());
  EXPECT_EQ(e.name(), "iris");
  EXPECT_EQ(e.max_trials(), 12);
  EXPECT_EQ(e.parallel_trials(), 3);
  EXPECT_EQ(e.max_failed_trials(), 3);
  ASSERT_EQ(e.objectives_size(), 1);
  EXPECT_EQ(e.objectives(0).name(), "accuracy");
  EXPECT_EQ(e.objectives(0).goal(), v1::Objective::MAXIMIZE);
  EXPECT_EQ(e.objectives(0).target(), 0.99);
  EXPECT_EQ(e.parameters_size(), 4);
  v1::Trial t;
  ASSERT_TRUE(client_->Suggest("iris", &t, "w").ok());
  EXPECT_EQ(t.parameters().at("penalty").string_value(), "l2");
  const double c = t.parameters().at("C").number_value();
  EXPECT_TRUE(c == 0.01 || c == 0.5 || c == 1.0) << c;
}

// Katib's hyperband without r_l: the rule's max_resource is the resource
// parameter's max, so the experiment is created and its trials get brackets.
TEST_F(ImportTest, KatibHyperbandWithoutRlRuns) {
  v1::Experiment e;
  grpc::Status s = Import("katib", R"(
parameters:
  - {name: epochs, parameterType: int, feasibleSpace: {min: "1", max: "9"}}
  - {name: lr, parameterType: double, feasibleSpace: {min: "0.01", max: "1"}}
objective: {type: minimize, objectiveMetricName: loss}
algorithm:
  algorithmName: hyperband
  algorithmSettings:
    - {name: resource_name, value: epochs}
    - {name: eta, value: "3"}
)",
                          "katib-hyperband", v1::Experiment(), &e);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(e.early_stopping().name(), "hyperband");
  EXPECT_EQ(e.early_stopping().settings().at("max_resource"), "9");
  v1::Trial t;
  ASSERT_TRUE(client_->Suggest("katib-hyperband", &t, "w").ok());
  v1::ReportIntermediateResponse r;
  ASSERT_TRUE(client_
                  ->Intermediate("katib-hyperband", t.number(), 1,
                                 {{"loss", 1}}, &r, "w")
                  .ok());
  // floor(log_3(9 / 1)) + 1 = 3 brackets.
  EXPECT_GE(r.bracket(), 0);
  EXPECT_LT(r.bracket(), 3);
}

TEST_F(ImportTest, NniSpaceTakesObjectiveAndLimitsFromBeside) {
  v1::Experiment beside;
  beside.set_max_trials(5);
  v1::Objective* o = beside.add_objectives();
  o->set_name("loss");
  o->set_goal(v1::Objective::MINIMIZE);
  v1::Experiment e;
  ASSERT_TRUE(
      Import("nni", Fixture("nni-all-types.json"), "nni-space", beside, &e)
          .ok());
  EXPECT_EQ(e.max_trials(), 5);
  ASSERT_EQ(e.objectives_size(), 1) << "replaced, not appended";
  EXPECT_EQ(e.objectives(0).name(), "loss");
  for (int i = 0; i < 5; ++i) {
    v1::Trial t;
    ASSERT_TRUE(client_->Suggest("nni-space", &t).ok());
    ASSERT_TRUE(client_->Report("nni-space", t.number(), {{"loss", 1}}).ok());
  }
  EXPECT_EQ(client_->Get("nni-space").state(), v1::Experiment::COMPLETED);
}

TEST_F(ImportTest, KruizeSearchSpace) {
  // The name inside is not a valid hpo name, so one is given; the algorithm
  // beside overrides the imported one.
  v1::Experiment beside;
  beside.mutable_algorithm()->set_name("random");
  v1::Experiment e;
  grpc::Status s = Import("kruize", Fixture("kruize-search-space.json"),
                          "petclinic", beside, &e);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(e.algorithm().name(), "random");
  EXPECT_EQ(e.max_trials(), 100);
  ASSERT_EQ(e.parameters_size(), 2);
  EXPECT_EQ(e.parameters(1).double_range().step(), 0.01);
  EXPECT_EQ(e.objectives(0).name(), "transaction_response_time");
  EXPECT_EQ(e.objectives(0).goal(), v1::Objective::MINIMIZE);
}

TEST_F(ImportTest, BadSpecsNameTheField) {
  v1::Experiment e;
  grpc::Status unknown =
      Import("nni", R"({"lr": {"_type": "loggy", "_value": [1, 2]}})", "x",
             v1::Experiment(), &e);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(unknown.error_message().find("import_spec.content: lr._type"),
            std::string::npos)
      << unknown.error_message();
  grpc::Status format = Import("optuna", "{}", "x", v1::Experiment(), &e);
  EXPECT_EQ(format.error_message(),
            "import_spec.format: unknown format \"optuna\" (known: katib, "
            "kruize, nni)");
  grpc::Status yaml =
      Import("katib", "spec:\n  parameters: [\n", "x", v1::Experiment(), &e);
  EXPECT_EQ(yaml.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(yaml.error_message().find("line"), std::string::npos);
  // A bare NNI space gets NNI's default metric, maximized.
  ASSERT_TRUE(Import("nni", R"({"lr": {"_type": "uniform", "_value": [0, 1]}})",
                     "bare", v1::Experiment(), &e)
                  .ok());
  EXPECT_EQ(e.objectives(0).name(), "default");
  EXPECT_EQ(e.objectives(0).goal(), v1::Objective::MAXIMIZE);
}

}  // namespace
}  // namespace hpo

namespace hpo {
namespace {

TEST_F(ImportTest, T9kAutoTuneExperimentRuns) {
  v1::Experiment e;
  grpc::Status s = Import("nni", Fixture("t9k-autotune-experiment.yaml"), "t9k",
                          v1::Experiment(), &e);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(e.algorithm().name(), "tpe");
  v1::Trial t;
  ASSERT_TRUE(client_->Suggest("t9k", &t, "w").ok());
  EXPECT_GT(t.parameters_size(), 0);
}

}  // namespace
}  // namespace hpo
