// End-to-end: Kruize HPO's REST API (POST/GET /experiment_trials, /health) on
// the real hpo-server binary, as Kruize Autotune and kruize-demos drive it,
// with each of Kruize's error answers, and the experiments it makes seen over
// gRPC and kept across a restart.

#include <signal.h>

#include <cmath>
#include <set>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "hpo/v1/hpo.pb.h"
#include "tests/http_client.h"
#include "tests/server_process.h"
#include "tests/test_client.h"

namespace hpo {
namespace {

using testing::HttpClient;
using testing::HttpResult;
using testing::ServerProcess;

// kruize/hpo's own test search space, with an integer and a categorical
// tunable added.
constexpr char kNew[] = R"({"operation": "EXP_TRIAL_GENERATE_NEW",
  "search_space": {
    "experiment_name": "NAME", "experiment_id": "a123",
    "total_trials": TOTAL, "parallel_trials": PARALLEL,
    "value_type": "double", "hpo_algo_impl": "ALGO",
    "objective_function": "transaction_response_time",
    "tunables": [
      {"value_type": "double", "lower_bound": 150, "name": "memoryRequest",
       "upper_bound": 300, "step": 1},
      {"value_type": "double", "lower_bound": 1, "name": "cpuRequest",
       "upper_bound": 3, "step": 0.01},
      {"value_type": "integer", "lower_bound": 1, "name": "threads",
       "upper_bound": 16, "step": 1},
      {"value_type": "categorical", "name": "gc",
       "choices": ["G1GC", "ParallelGC", "SerialGC"]}],
    "direction": "DIRECTION"}})";

std::string NewExperiment(const std::string& name, int total = 20,
                          int parallel = 1,
                          const std::string& algo = "optuna_tpe",
                          const std::string& direction = "minimize") {
  return absl::StrReplaceAll(kNew, {{"NAME", name},
                                    {"TOTAL", absl::StrCat(total)},
                                    {"PARALLEL", absl::StrCat(parallel)},
                                    {"ALGO", algo},
                                    {"DIRECTION", direction}});
}

std::string Result(const std::string& name, int trial, double value,
                   const std::string& status = "success",
                   const std::string& type = "\"double\"") {
  return absl::StrCat(
      R"({"experiment_name": ")", name, R"(", "trial_number": )", trial,
      R"(, "trial_result": ")", status, R"(", "result_value_type": )", type,
      R"(, "result_value": )", value, R"(, "operation": "EXP_TRIAL_RESULT"})");
}

std::string Subsequent(const std::string& name) {
  return absl::StrCat(R"({"experiment_name": ")", name,
                      R"(", "operation": "EXP_TRIAL_GENERATE_SUBSEQUENT"})");
}

class KruizeTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(); }

  void StartServer() {
    ASSERT_TRUE(server_->Start());
    port_ = testing::HttpPortFromLog(server_->Log());
    ASSERT_GT(port_, 0) << server_->Log();
    http_ = std::make_unique<HttpClient>(port_);
  }

  HttpResult Post(const std::string& body) {
    return http_->Post("/experiment_trials", body);
  }

  HttpResult Config(const std::string& name, const std::string& trial) {
    return http_->Get(absl::StrCat("/experiment_trials?experiment_name=", name,
                                   "&trial_number=", trial));
  }

  void Expect(const HttpResult& r, int status, const std::string& body) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.body, body);
  }

  std::unique_ptr<ServerProcess> server_ = std::make_unique<ServerProcess>();
  int port_ = 0;
  std::unique_ptr<HttpClient> http_;
};

// The trial's configuration, checked against the search space.
void CheckConfig(const HttpResult& r) {
  ASSERT_EQ(r.status, 200) << r.body;
  google::protobuf::ListValue list;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  absl::StrCat("[", r.body.substr(1)), &list)
                  .ok())
      << r.body;
  ASSERT_EQ(list.values_size(), 4) << r.body;
  std::vector<std::string> names;
  for (const auto& v : list.values()) {
    const auto& f = v.struct_value().fields();
    ASSERT_EQ(f.size(), 2u);
    const std::string& name = f.at("tunable_name").string_value();
    const auto& value = f.at("tunable_value");
    names.push_back(name);
    if (name == "memoryRequest") {
      EXPECT_GE(value.number_value(), 150);
      EXPECT_LE(value.number_value(), 300);
    } else if (name == "cpuRequest") {
      EXPECT_GE(value.number_value(), 1);
      EXPECT_LE(value.number_value(), 3);
    } else if (name == "threads") {
      EXPECT_EQ(value.number_value(), std::floor(value.number_value()));
      EXPECT_GE(value.number_value(), 1);
      EXPECT_LE(value.number_value(), 16);
    } else {
      EXPECT_TRUE(value.string_value() == "G1GC" ||
                  value.string_value() == "ParallelGC" ||
                  value.string_value() == "SerialGC")
          << r.body;
    }
  }
  // Kruize's order: the search space's; each entry name first.
  EXPECT_EQ(names, (std::vector<std::string>{"memoryRequest", "cpuRequest",
                                             "threads", "gc"}));
  EXPECT_EQ(r.body.find("[{\"tunable_name\": \"memoryRequest\""), 0u) << r.body;
}

TEST_F(KruizeTest, TwentyTrialFlow) {
  const std::string name = "petclinic-sample-2-75884c5549-npvgd";
  Expect(Post(NewExperiment(name)), 200, "0");
  for (int trial = 0; trial < 20; ++trial) {
    // The trial is ready the moment its number is returned.
    CheckConfig(Config(name, absl::StrCat(trial)));
    Expect(Post(Result(name, trial, 100.0 - trial)), 200,
           "Result posted successfully!");
    HttpResult next = Post(Subsequent(name));
    if (trial < 19) {
      Expect(next, 200, absl::StrCat(trial + 1));
    } else {
      Expect(next, 400,
             absl::StrCat("Trials completed for experiment: ", name));
    }
  }
  EXPECT_EQ(http_->connects(), 1);

  // An ordinary hpo experiment underneath.
  testing::TestClient grpc_client(server_->NewStub());
  v1::Experiment e = grpc_client.Get(name);
  EXPECT_EQ(e.state(), v1::Experiment::COMPLETED);
  EXPECT_EQ(e.status().completed(), 20);
  EXPECT_EQ(e.max_trials(), 20);
  ASSERT_EQ(e.objectives_size(), 1);
  EXPECT_EQ(e.objectives(0).name(), "transaction_response_time");
  EXPECT_EQ(e.objectives(0).goal(), v1::Objective::MINIMIZE);
  HttpResult best = http_->Get(absl::StrCat("/v1/experiments/", name, "/best"));
  EXPECT_NE(best.body.find("\"transaction_response_time\":81"),
            std::string::npos)
      << best.body;
}

TEST_F(KruizeTest, PostErrors) {
  const std::string name = "errors";
  // Content type.
  Expect(http_->Post("/experiment_trials", NewExperiment(name), "text/plain"),
         400, "Invalid content type. Should be application/json!");
  Expect(http_->Post("/experiment_trials", NewExperiment(name), ""), 400,
         "Invalid content type. Should be application/json!");
  // Malformed JSON: answered, not dropped.
  HttpResult bad = Post("{\"operation\": ");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body.find("Invalid JSON structure: "), 0u) << bad.body;
  // Nesting no request has, refused before parsing (which took ~10 s for
  // 40 kB of nested arrays).
  Expect(Post(std::string(20000, '[') + std::string(20000, ']')), 400,
         "Invalid JSON structure: nested deeper than 64 levels");
  // Operations.
  Expect(Post(R"({"operation": "EXP_TRIAL_GENERATE_CURRENT"})"), 400,
         "Invalid Operation value!");
  Expect(Post(R"({"operation": " "})"), 400,
         "Parameters cannot be empty or null!");
  Expect(Post(R"({"operation": null})"), 400,
         "Parameters cannot be empty or null!");
  Expect(Post(R"({"search_space": {}})"), 400,
         "'operation' is a required property");
  // The search space.
  Expect(Post(absl::StrReplaceAll(NewExperiment(name), {{"\"a123\"", "null"}})),
         400, "Parameters cannot be empty or null!");
  Expect(
      Post(absl::StrReplaceAll(NewExperiment(name), {{"\"errors\"", "\" \""}})),
      400, "Parameters cannot be empty or null!");
  Expect(Post(absl::StrReplaceAll(NewExperiment(name),
                                  {{"\"experiment_id\": \"a123\",", ""}})),
         400, "'experiment_id' is a required property");
  Expect(Post(NewExperiment(name, 0)), 400,
         "Total trials should be greater than 0!");
  Expect(Post(NewExperiment(name, 20, 1, "optuna_tpe", "xyz")), 400,
         "Direction not supported!");
  Expect(Post(NewExperiment(name, 20, 1, "hyperband")), 400,
         "HPO algorithm not supported!");
  Expect(Post(absl::StrReplaceAll(NewExperiment(name),
                                  {{"\"value_type\": \"double\", \"hpo",
                                    "\"value_type\": \"xyz\", \"hpo"}})),
         400, "Unsupported value type!");
  Expect(
      Post(absl::StrReplaceAll(NewExperiment(name),
                               {{"\"operation\": \"EXP_TRIAL_GENERATE_NEW\",",
                                 "\"operation\": \"EXP_TRIAL_GENERATE_NEW\", "
                                 "\"cpu\": \"cputunable\","}})),
      400, "Additional properties are not allowed ('cpu' was unexpected)");
  // Created once; the second time it exists.
  Expect(Post(NewExperiment(name)), 200, "0");
  Expect(Post(NewExperiment(name)), 400, "Experiment already exists!");
  // Subsequent.
  Expect(Post(Subsequent("nope")), 404, "Experiment not found!");
  // Results.
  Expect(Post(Result("nope", 0, 1)), 404, "Experiment not found!");
  Expect(Post(Result(name, -1, 1)), 400, "Trial number cannot be negative!");
  Expect(Post(Result(name, 5, 1)), 400,
         "Requested trial exceeds the completed trial limit!");
  Expect(Post(Result(name, 0, 1, "xyz")), 400,
         "Trial result status is invalid!");
  Expect(Post(Result(name, 0, 1, "success", "\"xyz\"")), 400,
         "Unsupported value type!");
  Expect(Post(absl::StrReplaceAll(
             Result(name, 0, 1),
             {{"\"result_value\": 1", "\"result_value\": \"abc\""}})),
         400, "Value and value type do not match!");
  Expect(Post(Result(name, 0, 1.5, "success", "\"int\"")), 400,
         "Value and value type do not match!");
  Expect(Post(absl::StrReplaceAll(
             Result(name, 0, 1),
             {{"\"trial_number\": 0", "\"trial_number\": null"}})),
         400, "Parameters cannot be empty or null!");
  Expect(Post(absl::StrReplaceAll(Result(name, 0, 1),
                                  {{"\"trial_result\": \"success\", ", ""}})),
         400, "'trial_result' is a required property");
  Expect(Post(absl::StrReplaceAll(
             Result(name, 0, 1),
             {{"\"operation\"",
               "\"tunable_name\": \"cpuRequest\", \"operation\""}})),
         400,
         "Additional properties are not allowed ('tunable_name' was "
         "unexpected)");
  Expect(Post(Result(name, 0, 98.78)), 200, "Result posted successfully!");
  // The same report again is a harmless retry; a different one is refused.
  Expect(Post(Result(name, 0, 98.78)), 200, "Result posted successfully!");
  Expect(Post(Result(name, 0, 89.78)), 400,
         "Requested trial is already completed!");
  // Delete.
  Expect(Post(R"({"experiment_name": "errors", "operation": "EXP_DELETE"})"),
         200, "Experiment deleted!");
  Expect(Post(R"({"experiment_name": "errors", "operation": "EXP_DELETE"})"),
         404, "Experiment not found!");
  // Paths Kruize does not have.
  Expect(http_->Post("/experiment_trials/x", "{}"), 404,
         "Could not be find requested resource. Please check the URL!");
  Expect(http_->Get("/experiment_trials/x"), 404,
         "Could not be find requested resource. Please check the URL!");
  // Every error above came back on the one connection.
  EXPECT_EQ(http_->connects(), 1);
}

TEST_F(KruizeTest, GetErrors) {
  Expect(Post(NewExperiment("getter")), 200, "0");
  Expect(http_->Get("/experiment_trials"), 400,
         "Missing required parameters: experiment_name, trial_number");
  Expect(http_->Get("/experiment_trials?experiment_name=getter"), 400,
         "Missing required parameters: experiment_name, trial_number");
  Expect(http_->Get("/experiment_trials?trial_number=0"), 400,
         "Missing required parameters: experiment_name, trial_number");
  Expect(Config("", "0"), 400, "Parameters cannot be empty or null!");
  Expect(Config("getter", "null"), 400, "Parameters cannot be empty or null!");
  Expect(Config("getter", "x"), 400, "Only Integer value is allowed!");
  Expect(Config("%ff%fe", "0"), 400, "experiment_name is not valid UTF-8");
  Expect(Config("nope", "0"), 404, "Experiment not found!");
  Expect(Config("getter", "-1"), 400, "Trial number cannot be negative!");
  Expect(Config("getter", "3"), 400,
         "Requested trial exceeds the completed trial limit!");
  CheckConfig(Config("getter", "0"));
}

TEST_F(KruizeTest, Health) { Expect(http_->Get("/health"), 200, "OK"); }

TEST_F(KruizeTest, ParallelTrials) {
  const std::string name = "parallel";
  Expect(Post(NewExperiment(name, 10, 3)), 200, "0");
  Expect(Post(Subsequent(name)), 200, "1");
  Expect(Post(Subsequent(name)), 200, "2");
  // Three running: the fourth waits for a result.
  EXPECT_EQ(Post(Subsequent(name)).status, 429);
  for (int t = 0; t < 3; ++t) CheckConfig(Config(name, absl::StrCat(t)));
  Expect(Post(Result(name, 1, 5)), 200, "Result posted successfully!");
  Expect(Post(Subsequent(name)), 200, "3");
}

TEST_F(KruizeTest, FailureAndErrorResults) {
  const std::string name = "faulty";
  testing::TestClient grpc_client(server_->NewStub());
  Expect(Post(NewExperiment(name, 10)), 200, "0");
  Expect(Post(Result(name, 0, 0, "failure")), 200,
         "Result posted successfully!");
  EXPECT_EQ(grpc_client.Trials(name).trials(0).state(), v1::Trial::FAILED);
  Expect(Post(Subsequent(name)), 200, "1");
  // "error": Kruize ends the experiment.
  Expect(Post(Result(name, 1, 0, "error")), 200, "Result posted successfully!");
  EXPECT_EQ(grpc_client.Get(name).state(), v1::Experiment::STOPPED);
  EXPECT_EQ(Post(Subsequent(name)).status, 400);
}

TEST_F(KruizeTest, ExperimentsSurviveARestart) {
  const std::string name = "durable";
  Expect(Post(NewExperiment(name, 5)), 200, "0");
  const HttpResult before = Config(name, "0");
  CheckConfig(before);
  http_.reset();
  const std::string db = server_->db_path();
  EXPECT_EQ(server_->Signal(SIGTERM), 0);
  server_ = std::make_unique<ServerProcess>(db);
  StartServer();
  const HttpResult after = Config(name, "0");
  EXPECT_EQ(after.body, before.body);
  Expect(Post(Result(name, 0, 3)), 200, "Result posted successfully!");
  Expect(Post(Subsequent(name)), 200, "1");
}

TEST_F(KruizeTest, GrpcCreatedExperimentsWorkThroughKruize) {
  testing::TestClient grpc_client(server_->NewStub());
  v1::Experiment e = testing::ParseExperiment(R"pb(
    name: "native"
    parameters {
      name: "x"
      int_range { min: 1 max: 3 }
    }
    objectives { name: "score" goal: MAXIMIZE }
    max_trials: 2
  )pb");
  ASSERT_TRUE(grpc_client.Create(e).ok());
  Expect(Post(Subsequent("native")), 200, "0");
  HttpResult config = Config("native", "0");
  ASSERT_EQ(config.status, 200);
  EXPECT_EQ(config.body.find("[{\"tunable_name\": \"x\", \"tunable_value\": "),
            0u)
      << config.body;
  Expect(Post(Result("native", 0, 7, "success", "\"int\"")), 200,
         "Result posted successfully!");
  EXPECT_DOUBLE_EQ(grpc_client.Trials("native").trials(0).metrics().at("score"),
                   7);
}

}  // namespace
}  // namespace hpo
