// End-to-end: the real hpo-server binary, real gRPC over a real socket, a real
// database file.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "tests/http_client.h"
#include "tests/server_process.h"

namespace hpo {
namespace {

using testing::ServerProcess;

v1::Experiment ParseExperiment(const std::string& text) {
  v1::Experiment e;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &e)) << text;
  return e;
}

// The Katib iris example's space: lr and solver, accuracy maximized.
v1::Experiment Iris(const std::string& name) {
  v1::Experiment e = ParseExperiment(R"pb(
    parameters {
      name: "lr"
      double_range { min: 0.01 max: 0.05 }
    }
    parameters {
      name: "num-layers"
      int_range { min: 2 max: 5 }
    }
    parameters {
      name: "optimizer"
      categorical { values: [ "sgd", "adam", "ftrl" ] }
    }
    objectives { name: "accuracy" goal: MAXIMIZE }
  )pb");
  e.set_name(name);
  return e;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start());
    stub_ = server_.NewStub();
  }

  grpc::Status Create(const v1::Experiment& e, v1::Experiment* out = nullptr) {
    grpc::ClientContext ctx;
    v1::CreateExperimentRequest req;
    *req.mutable_experiment() = e;
    v1::Experiment ignored;
    return stub_->CreateExperiment(&ctx, req, out ? out : &ignored);
  }

  grpc::Status Suggest(const std::string& exp, v1::Trial* trial,
                       const std::string& worker = "w") {
    grpc::ClientContext ctx;
    v1::GetTrialConfigRequest req;
    req.set_experiment(exp);
    req.set_worker_id(worker);
    return stub_->GetTrialConfig(&ctx, req, trial);
  }

  grpc::Status Report(const std::string& exp, int trial,
                      const std::map<std::string, double>& metrics,
                      v1::Trial* out = nullptr, bool failed = false) {
    grpc::ClientContext ctx;
    v1::ReportResultRequest req;
    req.set_experiment(exp);
    req.set_trial(trial);
    req.set_failed(failed);
    for (const auto& [k, v] : metrics) (*req.mutable_metrics())[k] = v;
    v1::Trial ignored;
    return stub_->ReportResult(&ctx, req, out ? out : &ignored);
  }

  v1::Experiment Get(const std::string& name) {
    grpc::ClientContext ctx;
    v1::GetExperimentRequest req;
    req.set_name(name);
    v1::Experiment e;
    EXPECT_TRUE(stub_->GetExperiment(&ctx, req, &e).ok());
    return e;
  }

  ServerProcess server_;
  std::unique_ptr<v1::HpoService::Stub> stub_;
};

TEST_F(ServerTest, CreateFillsInDefaultsAndGetReturnsIt) {
  v1::Experiment created;
  ASSERT_TRUE(Create(Iris("iris"), &created).ok());
  EXPECT_EQ(created.algorithm().name(), "auto");
  EXPECT_TRUE(created.has_seed());
  EXPECT_EQ(created.state(), v1::Experiment::CREATED);
  EXPECT_GT(created.create_time().seconds(), 0);

  const v1::Experiment got = Get("iris");
  EXPECT_EQ(got.name(), "iris");
  EXPECT_EQ(got.seed(), created.seed());
  EXPECT_EQ(got.parameters_size(), 3);

  grpc::Status again = Create(Iris("iris"));
  EXPECT_EQ(again.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(again.error_message(),
            "experiment.name: experiment \"iris\" already exists");
}

TEST_F(ServerTest, SuggestReportBestListAndDelete) {
  ASSERT_TRUE(Create(Iris("flow")).ok());
  for (int i = 0; i < 6; ++i) {
    v1::Trial trial;
    ASSERT_TRUE(Suggest("flow", &trial, "worker-a").ok());
    EXPECT_EQ(trial.number(), i);
    EXPECT_EQ(trial.state(), v1::Trial::RUNNING);
    EXPECT_EQ(trial.worker_id(), "worker-a");
    const double lr = trial.parameters().at("lr").number_value();
    EXPECT_GE(lr, 0.01);
    EXPECT_LE(lr, 0.05);
    const double layers = trial.parameters().at("num-layers").number_value();
    EXPECT_EQ(layers, std::round(layers));
    EXPECT_TRUE(trial.parameters().at("optimizer").has_string_value());
    // Accuracy peaks at trial 3; trial 4 ties it but comes later.
    const double accuracy = i == 3 || i == 4 ? 0.97 : 0.5 + 0.01 * i;
    v1::Trial done;
    ASSERT_TRUE(Report("flow", i,
                       {{"accuracy", accuracy}, {"loss", 1 - accuracy}}, &done)
                    .ok());
    EXPECT_EQ(done.state(), v1::Trial::COMPLETED);
    EXPECT_EQ(done.metrics().at("loss"), 1 - accuracy);
  }

  {
    grpc::ClientContext ctx;
    v1::GetBestRequest req;
    req.set_experiment("flow");
    v1::GetBestResponse best;
    ASSERT_TRUE(stub_->GetBest(&ctx, req, &best).ok());
    ASSERT_EQ(best.trials_size(), 1);
    EXPECT_EQ(best.trials(0).number(), 3);
  }
  {
    // Pages of 4, then the rest.
    grpc::ClientContext ctx;
    v1::ListTrialsRequest req;
    req.set_experiment("flow");
    req.set_page_size(4);
    v1::ListTrialsResponse page;
    ASSERT_TRUE(stub_->ListTrials(&ctx, req, &page).ok());
    ASSERT_EQ(page.trials_size(), 4);
    EXPECT_EQ(page.trials(3).number(), 3);
    ASSERT_FALSE(page.next_page_token().empty());
    grpc::ClientContext ctx2;
    req.set_page_token(page.next_page_token());
    v1::ListTrialsResponse rest;
    ASSERT_TRUE(stub_->ListTrials(&ctx2, req, &rest).ok());
    ASSERT_EQ(rest.trials_size(), 2);
    EXPECT_EQ(rest.trials(0).number(), 4);
    EXPECT_TRUE(rest.next_page_token().empty());
  }
  const v1::Experiment e = Get("flow");
  EXPECT_EQ(e.status().trials(), 6);
  EXPECT_EQ(e.status().completed(), 6);
  EXPECT_EQ(e.status().running(), 0);
  {
    grpc::ClientContext ctx;
    v1::DeleteExperimentRequest req;
    req.set_name("flow");
    google::protobuf::Empty empty;
    ASSERT_TRUE(stub_->DeleteExperiment(&ctx, req, &empty).ok());
  }
  v1::Trial trial;
  grpc::Status gone = Suggest("flow", &trial);
  EXPECT_EQ(gone.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(gone.error_message(),
            "experiment: experiment \"flow\" does not exist");
  // The name is free again.
  EXPECT_TRUE(Create(Iris("flow")).ok());
  ASSERT_TRUE(Suggest("flow", &trial).ok());
  EXPECT_EQ(trial.number(), 0);
}

TEST_F(ServerTest, AutoSaysWhichAlgorithmItPickedAndTheStatusSurvivesRestart) {
  v1::Experiment e = Iris("auto");
  (*e.mutable_algorithm()->mutable_settings())["gp_max_trials"] = "3";
  ASSERT_TRUE(Create(e).ok());
  EXPECT_EQ(Get("auto").status().algorithm(), "");  // Nothing suggested yet.
  for (int i = 0; i < 5; ++i) {
    v1::Trial trial;
    ASSERT_TRUE(Suggest("auto", &trial).ok());
    // GP while fewer than 3 trials have completed, then TPE.
    EXPECT_EQ(trial.algorithm(), i < 3 ? "gp" : "tpe") << "trial " << i;
    const v1::Experiment::Status status = Get("auto").status();
    EXPECT_EQ(status.algorithm(), trial.algorithm());
    EXPECT_EQ(status.algorithm_reason(),
              i < 3 ? "3 parameters and fewer than 3 completed trials"
                    : "3 or more completed trials: GP hands over");
    ASSERT_TRUE(Report("auto", i, {{"accuracy", 0.5 + 0.1 * i}}).ok());
  }

  ASSERT_EQ(server_.Signal(SIGTERM), 0);
  ServerProcess restarted(server_.db_path());
  ASSERT_TRUE(restarted.Start());
  stub_ = restarted.NewStub();
  EXPECT_EQ(Get("auto").status().algorithm(), "tpe");
  grpc::ClientContext ctx;
  v1::ListTrialsRequest req;
  req.set_experiment("auto");
  v1::ListTrialsResponse trials;
  ASSERT_TRUE(stub_->ListTrials(&ctx, req, &trials).ok());
  ASSERT_EQ(trials.trials_size(), 5);
  EXPECT_EQ(trials.trials(0).algorithm(), "gp");
  EXPECT_EQ(trials.trials(4).algorithm(), "tpe");
}

TEST_F(ServerTest, ReleaseTrialHandsItBackToRunAgainWithoutCountingAFailure) {
  ASSERT_TRUE(Create(Iris("release")).ok());
  v1::Trial first;
  ASSERT_TRUE(Suggest("release", &first, "w1").ok());
  {
    grpc::ClientContext ctx;
    v1::ReportIntermediateRequest req;
    req.set_experiment("release");
    req.set_trial(first.number());
    req.set_step(3);
    (*req.mutable_metrics())["accuracy"] = 0.4;
    v1::ReportIntermediateResponse resp;
    ASSERT_TRUE(stub_->ReportIntermediate(&ctx, req, &resp).ok());
  }
  auto release = [&](const std::string& worker, v1::Trial* out) {
    grpc::ClientContext ctx;
    v1::ReleaseTrialRequest req;
    req.set_experiment("release");
    req.set_trial(first.number());
    req.set_worker_id(worker);
    req.set_reason("interrupted");
    return stub_->ReleaseTrial(&ctx, req, out);
  };
  v1::Trial released;
  grpc::Status wrong = release("w2", &released);
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(wrong.error_message().find("leased to worker \"w1\""),
            std::string::npos)
      << wrong.error_message();
  ASSERT_TRUE(release("w1", &released).ok());
  EXPECT_EQ(released.state(), v1::Trial::WAITING);
  EXPECT_EQ(released.intermediate_values_size(), 0);
  ASSERT_TRUE(release("w1", &released).ok()) << "a retry is answered again";

  // Another worker gets the same trial, runs it from its first step, and the
  // experiment counts no failure.
  v1::Trial again;
  ASSERT_TRUE(Suggest("release", &again, "w2").ok());
  EXPECT_EQ(again.number(), first.number());
  EXPECT_EQ(again.worker_id(), "w2");
  for (const auto& [k, v] : first.parameters()) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
        v, again.parameters().at(k)))
        << k;
  }
  {
    grpc::ClientContext ctx;
    v1::ReportIntermediateRequest req;
    req.set_experiment("release");
    req.set_trial(again.number());
    req.set_step(1);
    (*req.mutable_metrics())["accuracy"] = 0.3;
    v1::ReportIntermediateResponse resp;
    EXPECT_TRUE(stub_->ReportIntermediate(&ctx, req, &resp).ok());
  }
  ASSERT_TRUE(Report("release", again.number(), {{"accuracy", 0.9}}).ok());
  EXPECT_EQ(Get("release").status().failed(), 0);
  EXPECT_EQ(Get("release").status().completed(), 1);
  EXPECT_EQ(release("w2", &released).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION)
      << "a finished trial cannot be handed back";
}

TEST_F(ServerTest, ListExperimentsPagesInNameOrder) {
  for (const char* name : {"c", "a", "e", "b", "d"})
    ASSERT_TRUE(Create(Iris(name)).ok());
  std::vector<std::string> names;
  std::string token;
  int pages = 0;
  do {
    grpc::ClientContext ctx;
    v1::ListExperimentsRequest req;
    req.set_page_size(2);
    req.set_page_token(token);
    v1::ListExperimentsResponse resp;
    ASSERT_TRUE(stub_->ListExperiments(&ctx, req, &resp).ok());
    for (const auto& e : resp.experiments()) names.push_back(e.name());
    token = resp.next_page_token();
    ++pages;
  } while (!token.empty());
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(pages, 3);
}

TEST_F(ServerTest, ConcurrentWorkersGetUniqueTrialsUntilMaxTrials) {
  v1::Experiment e = Iris("busy");
  e.set_max_trials(120);
  ASSERT_TRUE(Create(e).ok());
  std::mutex mu;
  std::vector<int> numbers;
  std::vector<std::thread> workers;
  std::atomic<int> unexpected{0};
  for (int w = 0; w < 8; ++w) {
    workers.emplace_back([&, w] {
      auto stub = server_.NewStub();
      while (true) {
        grpc::ClientContext ctx;
        v1::GetTrialConfigRequest req;
        req.set_experiment("busy");
        req.set_worker_id("w" + std::to_string(w));
        v1::Trial trial;
        grpc::Status s = stub->GetTrialConfig(&ctx, req, &trial);
        if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) return;
        if (!s.ok()) {
          ++unexpected;
          return;
        }
        {
          std::lock_guard<std::mutex> lock(mu);
          numbers.push_back(trial.number());
        }
        grpc::ClientContext rctx;
        v1::ReportResultRequest rep;
        rep.set_experiment("busy");
        rep.set_trial(trial.number());
        (*rep.mutable_metrics())["accuracy"] =
            trial.parameters().at("lr").number_value();
        v1::Trial done;
        if (!stub->ReportResult(&rctx, rep, &done).ok()) ++unexpected;
      }
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(unexpected, 0);
  std::sort(numbers.begin(), numbers.end());
  ASSERT_EQ(numbers.size(), 120u);
  for (int i = 0; i < 120; ++i) EXPECT_EQ(numbers[i], i);

  const v1::Experiment done = Get("busy");
  EXPECT_EQ(done.state(), v1::Experiment::COMPLETED);
  EXPECT_EQ(done.status().completed(), 120);
  v1::Trial trial;
  grpc::Status s = Suggest("busy", &trial);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("COMPLETED"), std::string::npos)
      << s.error_message();
}

TEST_F(ServerTest, LimitsSayWhichLimit) {
  v1::Experiment e = Iris("limits");
  e.set_max_trials(3);
  e.set_parallel_trials(2);
  ASSERT_TRUE(Create(e).ok());
  v1::Trial t0, t1, t2, t3;
  ASSERT_TRUE(Suggest("limits", &t0, "a").ok());
  ASSERT_TRUE(Suggest("limits", &t1, "b").ok());
  grpc::Status busy = Suggest("limits", &t2, "c");
  EXPECT_EQ(busy.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(busy.error_message(),
            "experiment \"limits\" already runs parallel_trials (2) trials; "
            "report one "
            "of them first");
  ASSERT_TRUE(Report("limits", 0, {{"accuracy", 0.5}}).ok());
  ASSERT_TRUE(Suggest("limits", &t2, "c").ok());
  EXPECT_EQ(t2.number(), 2);
  ASSERT_TRUE(Report("limits", 1, {{"accuracy", 0.5}}).ok());
  grpc::Status full = Suggest("limits", &t3, "d");
  EXPECT_EQ(full.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(
      full.error_message(),
      "experiment \"limits\" has allocated all max_trials (3) trials; 1 still "
      "running");
  EXPECT_EQ(Get("limits").state(), v1::Experiment::RUNNING);
  ASSERT_TRUE(Report("limits", 2, {{"accuracy", 0.5}}).ok());
  EXPECT_EQ(Get("limits").state(), v1::Experiment::COMPLETED);
}

TEST_F(ServerTest, TooManyFailuresFailTheExperiment) {
  v1::Experiment e = Iris("fragile");
  e.set_max_failed_trials(1);
  ASSERT_TRUE(Create(e).ok());
  for (int i = 0; i < 2; ++i) {
    v1::Trial t;
    ASSERT_TRUE(Suggest("fragile", &t).ok());
    v1::Trial done;
    ASSERT_TRUE(Report("fragile", t.number(), {}, &done, /*failed=*/true).ok());
    EXPECT_EQ(done.state(), v1::Trial::FAILED);
  }
  const v1::Experiment failed = Get("fragile");
  EXPECT_EQ(failed.state(), v1::Experiment::FAILED);
  EXPECT_EQ(failed.status().message(),
            "2 trials failed, more than max_failed_trials (1)");
}

TEST_F(ServerTest, GetTrialConfigWithANumberReturnsThatTrial) {
  ASSERT_TRUE(Create(Iris("again")).ok());
  v1::Trial first;
  ASSERT_TRUE(Suggest("again", &first).ok());
  grpc::ClientContext ctx;
  v1::GetTrialConfigRequest req;
  req.set_experiment("again");
  req.set_trial(first.number());
  v1::Trial same;
  ASSERT_TRUE(stub_->GetTrialConfig(&ctx, req, &same).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(same, first))
      << same.DebugString() << " vs " << first.DebugString();

  grpc::ClientContext ctx2;
  req.set_trial(42);
  grpc::Status missing = stub_->GetTrialConfig(&ctx2, req, &same);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(missing.error_message(),
            "trial: experiment \"again\" has no trial 42");
}

TEST_F(ServerTest, RepeatedReportsAreRetriesOrRefused) {
  ASSERT_TRUE(Create(Iris("retry")).ok());
  v1::Trial t;
  ASSERT_TRUE(Suggest("retry", &t).ok());
  ASSERT_TRUE(Report("retry", 0, {{"accuracy", 0.8}}).ok());
  EXPECT_TRUE(Report("retry", 0, {{"accuracy", 0.8}}).ok())
      << "an identical retry is OK";
  grpc::Status different = Report("retry", 0, {{"accuracy", 0.9}});
  EXPECT_EQ(different.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(different.error_message(),
            "trial 0 of experiment \"retry\" is already COMPLETED; a different "
            "result "
            "cannot be reported for it");
  v1::Trial stored;
  ASSERT_TRUE(Report("retry", 0, {{"accuracy", 0.8}}, &stored).ok());
  EXPECT_EQ(stored.metrics().at("accuracy"), 0.8)
      << "the refused report changed nothing";
}

TEST_F(ServerTest, BadInputGetsTheRightStatusAndNamesTheField) {
  ASSERT_TRUE(Create(Iris("strict")).ok());
  v1::Trial t;
  ASSERT_TRUE(Suggest("strict", &t).ok());

  struct Case {
    grpc::Status status;
    grpc::StatusCode code;
    std::string message;
  };
  v1::Experiment bad_name = Iris("Bad Name");
  v1::Experiment bad_algo = Iris("algo");
  bad_algo.mutable_algorithm()->set_name("simulated-annealing-9000");
  v1::Experiment bad_setting = Iris("setting");
  bad_setting.mutable_algorithm()->set_name("random");
  (*bad_setting.mutable_algorithm()->mutable_settings())["gama"] = "0.25";
  v1::Experiment grid_no_step = Iris("grid");
  grid_no_step.mutable_algorithm()->set_name("grid");

  v1::Trial out;
  const std::vector<Case> cases = {
      {Create(bad_name), grpc::StatusCode::INVALID_ARGUMENT,
       "experiment.name:"},
      {Create(bad_algo), grpc::StatusCode::INVALID_ARGUMENT,
       "experiment.algorithm.name: unknown algorithm "
       "\"simulated-annealing-9000\""},
      {Create(bad_setting), grpc::StatusCode::INVALID_ARGUMENT,
       "experiment.algorithm.settings.gama: unknown setting"},
      {Create(grid_no_step), grpc::StatusCode::INVALID_ARGUMENT,
       "experiment.parameters[0] (lr):"},
      {Suggest("nope", &out), grpc::StatusCode::NOT_FOUND,
       "experiment: experiment \"nope\" does not exist"},
      {Suggest("", &out), grpc::StatusCode::INVALID_ARGUMENT,
       "experiment: must not be empty"},
      {Report("strict", 0, {{"accuracy", std::nan("")}}),
       grpc::StatusCode::INVALID_ARGUMENT,
       "metrics[\"accuracy\"]: must be finite"},
      {Report("strict", 0, {{"accuracy", INFINITY}}),
       grpc::StatusCode::INVALID_ARGUMENT,
       "metrics[\"accuracy\"]: must be finite"},
      {Report("strict", 0, {{"loss", 0.1}}), grpc::StatusCode::INVALID_ARGUMENT,
       "metrics: missing the objective metric \"accuracy\""},
      {Report("strict", 7, {{"accuracy", 0.1}}), grpc::StatusCode::NOT_FOUND,
       "trial: experiment \"strict\" has no trial 7"},
      {Report("strict", -1, {{"accuracy", 0.1}}),
       grpc::StatusCode::INVALID_ARGUMENT, "trial: must be >= 0"},
      {Report("nope", 0, {{"accuracy", 0.1}}), grpc::StatusCode::NOT_FOUND,
       "experiment: experiment \"nope\" does not exist"},
      // Bytes no protobuf string may hold (C++ clients can send them).
      {Suggest("\xff\xfe", &out), grpc::StatusCode::INVALID_ARGUMENT,
       "request: not a valid hpo.v1.GetTrialConfigRequest"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.status.error_code(), c.code) << c.message;
    EXPECT_EQ(c.status.error_message().substr(0, c.message.size()), c.message)
        << c.status.error_message();
  }
  // None of it touched the stored trial.
  v1::Trial still;
  ASSERT_TRUE(Report("strict", 0, {{"accuracy", 0.7}}, &still).ok());
  EXPECT_EQ(still.state(), v1::Trial::COMPLETED);
  grpc::Status twice = Report("strict", 0, {{"accuracy", 0.1}});
  EXPECT_EQ(twice.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ServerTest, GridRunsEveryCombinationInOrderThenCompletes) {
  v1::Experiment e = ParseExperiment(R"pb(
    name: "grid"
    algorithm { name: "grid" }
    parameters {
      name: "depth"
      int_range { min: 1 max: 2 }
    }
    parameters {
      name: "act"
      categorical { values: [ "relu", "tanh" ] }
    }
    objectives { name: "loss" goal: MINIMIZE }
  )pb");
  ASSERT_TRUE(Create(e).ok());
  std::vector<std::pair<double, std::string>> seen;
  for (int i = 0; i < 4; ++i) {
    v1::Trial t;
    ASSERT_TRUE(Suggest("grid", &t).ok());
    seen.emplace_back(t.parameters().at("depth").number_value(),
                      t.parameters().at("act").string_value());
    ASSERT_TRUE(Report("grid", t.number(), {{"loss", 1.0 * i}}).ok());
  }
  EXPECT_EQ(seen, (std::vector<std::pair<double, std::string>>{
                      {1, "relu"}, {1, "tanh"}, {2, "relu"}, {2, "tanh"}}));
  v1::Trial t;
  grpc::Status s = Suggest("grid", &t);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Get("grid").state(), v1::Experiment::COMPLETED);
}

TEST_F(ServerTest, SameSeedSameSuggestions) {
  v1::Experiment a = Iris("seed-a");
  a.set_seed(1234);
  v1::Experiment b = Iris("seed-b");
  b.set_seed(1234);
  v1::Experiment c = Iris("seed-c");
  c.set_seed(99);
  ASSERT_TRUE(Create(a).ok());
  ASSERT_TRUE(Create(b).ok());
  ASSERT_TRUE(Create(c).ok());
  for (int i = 0; i < 5; ++i) {
    v1::Trial ta, tb, tc;
    ASSERT_TRUE(Suggest("seed-a", &ta).ok());
    ASSERT_TRUE(Suggest("seed-b", &tb).ok());
    ASSERT_TRUE(Suggest("seed-c", &tc).ok());
    EXPECT_EQ(ta.parameters().at("lr").number_value(),
              tb.parameters().at("lr").number_value());
    EXPECT_NE(ta.parameters().at("lr").number_value(),
              tc.parameters().at("lr").number_value());
  }
}

TEST_F(ServerTest, HealthAndReflection) {
  auto health = grpc::health::v1::Health::NewStub(server_.channel());
  grpc::ClientContext ctx;
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  ASSERT_TRUE(health->Check(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  auto reflection =
      grpc::reflection::v1alpha::ServerReflection::NewStub(server_.channel());
  grpc::ClientContext rctx;
  auto stream = reflection->ServerReflectionInfo(&rctx);
  grpc::reflection::v1alpha::ServerReflectionRequest list;
  list.set_list_services("");
  ASSERT_TRUE(stream->Write(list));
  grpc::reflection::v1alpha::ServerReflectionResponse listed;
  ASSERT_TRUE(stream->Read(&listed));
  std::set<std::string> services;
  for (const auto& s : listed.list_services_response().service()) {
    services.insert(s.name());
  }
  EXPECT_TRUE(services.count("hpo.v1.HpoService")) << listed.DebugString();
  EXPECT_TRUE(services.count("grpc.health.v1.Health")) << listed.DebugString();

  // The full schema is there too, so a client needs no .proto file.
  grpc::reflection::v1alpha::ServerReflectionRequest symbol;
  symbol.set_file_containing_symbol("hpo.v1.HpoService");
  ASSERT_TRUE(stream->Write(symbol));
  grpc::reflection::v1alpha::ServerReflectionResponse file;
  ASSERT_TRUE(stream->Read(&file));
  EXPECT_GT(file.file_descriptor_response().file_descriptor_proto_size(), 0);

  // And the health service's, so grpcurl can call it by name as kubelet does.
  grpc::reflection::v1alpha::ServerReflectionRequest health_symbol;
  health_symbol.set_file_containing_symbol("grpc.health.v1.Health");
  ASSERT_TRUE(stream->Write(health_symbol));
  grpc::reflection::v1alpha::ServerReflectionResponse health_file;
  ASSERT_TRUE(stream->Read(&health_file));
  EXPECT_FALSE(health_file.has_error_response())
      << health_file.error_response().error_message();
  EXPECT_GT(health_file.file_descriptor_response().file_descriptor_proto_size(),
            0);
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(ServerTest, SigtermShutsDownCleanly) {
  ASSERT_TRUE(Create(Iris("bye")).ok());
  const int status = server_.Signal(SIGTERM);
  ASSERT_TRUE(WIFEXITED(status)) << server_.Log();
  EXPECT_EQ(WEXITSTATUS(status), 0) << server_.Log();
  EXPECT_NE(server_.Log().find("shutting down"), std::string::npos);
}

TEST_F(ServerTest, DebugTextLogNamesTheRequest) {
  grpc::ClientContext ctx;
  v1::GetExperimentRequest req;
  req.set_name("not-there");
  v1::Experiment e;
  ASSERT_EQ(stub_->GetExperiment(&ctx, req, &e).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // Written before the answer is sent.
  const std::string log = server_.Log();
  EXPECT_NE(log.find(" DEBUG GetExperiment: NOT_FOUND: "), std::string::npos)
      << log;
  EXPECT_NE(log.find(" rpc=GetExperiment "), std::string::npos) << log;
  EXPECT_NE(log.find(" status=NOT_FOUND "), std::string::npos) << log;
  EXPECT_NE(log.find(" experiment=not-there\n"), std::string::npos) << log;
}

// The server's log lines, each parsed as a JSON object.
std::vector<google::protobuf::Struct> JsonLogLines(const std::string& log) {
  std::vector<google::protobuf::Struct> lines;
  size_t start = 0;
  while (start < log.size()) {
    size_t end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    const std::string line = log.substr(start, end - start);
    start = end + 1;
    // Not a log line: printed on stdout (which the test's log file shares)
    // for kruize-demos.
    if (line.rfind("Access REST Service at ", 0) == 0) continue;
    google::protobuf::Struct object;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(line, &object).ok())
        << "not a JSON object: " << line;
    lines.push_back(std::move(object));
  }
  return lines;
}

TEST(LogFormatTest, JsonLogHasOneObjectPerRequest) {
  ServerProcess server;
  ASSERT_TRUE(server.Start({"--log_format=json", "--log_level=debug"}));
  auto stub = server.NewStub();
  {
    grpc::ClientContext ctx;
    v1::GetExperimentRequest req;
    req.set_name("missing-experiment");
    v1::Experiment e;
    ASSERT_EQ(stub->GetExperiment(&ctx, req, &e).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext ctx;
    v1::ReportResultRequest req;
    req.set_experiment("missing-too");
    req.set_trial(3);
    (*req.mutable_metrics())["accuracy"] = 0.5;
    v1::Trial t;
    ASSERT_EQ(stub->ReportResult(&ctx, req, &t).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  {
    const int http_port = testing::HttpPortFromLog(server.Log());
    ASSERT_GT(http_port, 0) << server.Log();
    testing::HttpClient http(http_port);
    ASSERT_EQ(http.Get("/v1/experiments/missing-over-http").status, 404);
  }
  // The line is written before the answer is sent.
  const std::string log = server.Log();
  ASSERT_FALSE(log.empty());
  ASSERT_EQ(log.back(), '\n') << log;
  const std::vector<google::protobuf::Struct> lines = JsonLogLines(log);
  const google::protobuf::Struct* get = nullptr;
  const google::protobuf::Struct* report = nullptr;
  const google::protobuf::Struct* http_get = nullptr;
  for (const google::protobuf::Struct& line : lines) {
    const auto& f = line.fields();
    ASSERT_TRUE(f.count("time") && f.count("level") && f.count("message"))
        << line.DebugString();
    if (f.count("http_method") > 0) http_get = &line;
    if (f.count("rpc") == 0) continue;
    // The first: the gRPC client's (the gateway's call comes later).
    if (f.at("rpc").string_value() == "GetExperiment" && get == nullptr) {
      get = &line;
    }
    if (f.at("rpc").string_value() == "ReportResult") report = &line;
  }
  ASSERT_NE(get, nullptr) << log;
  const auto& g = get->fields();
  EXPECT_EQ(g.at("level").string_value(), "debug");
  EXPECT_EQ(g.at("status").string_value(), "NOT_FOUND");
  EXPECT_EQ(g.at("experiment").string_value(), "missing-experiment");
  EXPECT_EQ(g.count("trial"), 0u);
  ASSERT_EQ(g.at("duration_ms").kind_case(),
            google::protobuf::Value::kNumberValue);
  EXPECT_GE(g.at("duration_ms").number_value(), 0);
  EXPECT_LT(g.at("duration_ms").number_value(), 60000);
  EXPECT_NE(g.at("peer").string_value().find("127.0.0.1"), std::string::npos);
  EXPECT_NE(g.at("message").string_value().find("NOT_FOUND"),
            std::string::npos);
  ASSERT_NE(report, nullptr) << log;
  const auto& r = report->fields();
  EXPECT_EQ(r.at("status").string_value(), "NOT_FOUND");
  EXPECT_EQ(r.at("experiment").string_value(), "missing-too");
  ASSERT_EQ(r.at("trial").kind_case(), google::protobuf::Value::kNumberValue);
  EXPECT_EQ(r.at("trial").number_value(), 3);
  // The HTTP gateway's own line, beside the call it made.
  ASSERT_NE(http_get, nullptr) << log;
  const auto& h = http_get->fields();
  EXPECT_EQ(h.at("http_method").string_value(), "GET");
  EXPECT_EQ(h.at("path").string_value(), "/v1/experiments/missing-over-http");
  EXPECT_EQ(h.at("http_status").number_value(), 404);
  EXPECT_GE(h.at("duration_ms").number_value(), 0);
  EXPECT_NE(h.at("peer").string_value().find("127.0.0.1"), std::string::npos);
}

TEST(LogFormatTest, JsonLogNamesTheCallerByItsTokenNeverTheToken) {
  const std::string tokens = testing::TempPath("log-tokens.csv");
  std::ofstream(tokens) << "secret-token-value-1234,ci-workers,worker\n";
  ServerProcess server;
  ASSERT_TRUE(server.Start(
      {"--log_format=json", "--log_level=debug", "--auth_tokens=" + tokens}));
  auto stub = server.NewStub();
  for (const char* authorization :
       {"Bearer secret-token-value-1234", "Bearer secret-token-value-9999"}) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", authorization);
    v1::GetExperimentRequest req;
    req.set_name("nobody");
    v1::Experiment e;
    stub->GetExperiment(&ctx, req, &e);
  }
  const std::string log = server.Log();
  EXPECT_EQ(log.find("secret-token-value"), std::string::npos) << log;
  std::vector<std::string> seen;
  for (const google::protobuf::Struct& line : JsonLogLines(log)) {
    const auto& f = line.fields();
    if (f.count("rpc") == 0) continue;
    seen.push_back(
        absl::StrCat(f.at("status").string_value(), " ",
                     f.count("caller") ? f.at("caller").string_value() : "-",
                     " ", f.count("auth") ? f.at("auth").string_value() : "-"));
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"NOT_FOUND ci-workers -",
                                            "UNAUTHENTICATED - unknown_token"}))
      << log;
}

TEST(LogFormatTest, UnknownLogFormatExitsNamingTheFlag) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  std::string binary = std::string(srcdir ? srcdir : ".") + "/" +
                       (workspace ? workspace : "hpo") + "/server/hpo-server";
  const std::string log_path = testing::TempPath("bad-format.log");
  std::string db = "--db=" + testing::TempPath("bad-format.db");
  std::string port = "--grpc_port=0", http = "--http=false",
              format = "--log_format=xml";
  const pid_t pid = fork();
  if (pid == 0) {
    const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    char* argv[] = {binary.data(), db.data(),     port.data(),
                    http.data(),   format.data(), nullptr};
    execv(argv[0], argv);
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  int status = 0;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      FAIL() << "hpo-server --log_format=xml kept running";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::ifstream in(log_path);
  const std::string log((std::istreambuf_iterator<char>(in)),
                        std::istreambuf_iterator<char>());
  ASSERT_TRUE(WIFEXITED(status)) << log;
  EXPECT_EQ(WEXITSTATUS(status), 2) << log;
  EXPECT_NE(log.find("--log_format"), std::string::npos) << log;
  EXPECT_NE(log.find("\"xml\""), std::string::npos) << log;
}

}  // namespace
}  // namespace hpo
