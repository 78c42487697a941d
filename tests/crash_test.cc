// Durability: every result the server acknowledged survives SIGKILL, and
// numbering continues where it stopped.

#include <signal.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "tests/server_process.h"

namespace hpo {
namespace {

using testing::ServerProcess;

v1::CreateExperimentRequest Experiment(const std::string& name) {
  v1::CreateExperimentRequest req;
  v1::Experiment* e = req.mutable_experiment();
  e->set_name(name);
  v1::Parameter* p = e->add_parameters();
  p->set_name("x");
  p->mutable_double_range()->set_min(-5);
  p->mutable_double_range()->set_max(5);
  v1::Objective* o = e->add_objectives();
  o->set_name("y");
  o->set_goal(v1::Objective::MINIMIZE);
  return req;
}

std::map<int, v1::Trial> AllTrials(v1::HpoService::Stub* stub,
                                   const std::string& exp) {
  std::map<int, v1::Trial> trials;
  std::string token;
  do {
    grpc::ClientContext ctx;
    v1::ListTrialsRequest req;
    req.set_experiment(exp);
    req.set_page_size(1000);
    req.set_page_token(token);
    v1::ListTrialsResponse resp;
    EXPECT_TRUE(stub->ListTrials(&ctx, req, &resp).ok());
    for (const auto& t : resp.trials()) trials[t.number()] = t;
    token = resp.next_page_token();
  } while (!token.empty());
  return trials;
}

// Workers suggest and report as fast as they can while the server is killed
// under them; every report that was acknowledged must be found after a restart.
TEST(CrashTest, AcknowledgedResultsSurviveSigkill) {
  ServerProcess server;
  ASSERT_TRUE(server.Start());
  {
    auto stub = server.NewStub();
    grpc::ClientContext ctx;
    v1::Experiment created;
    ASSERT_TRUE(
        stub->CreateExperiment(&ctx, Experiment("durable"), &created).ok());
  }

  std::mutex mu;
  std::map<int, double> acknowledged;  // trial number -> reported y
  std::atomic<bool> stop{false};
  std::atomic<int> reports{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 6; ++w) {
    workers.emplace_back([&] {
      auto stub = server.NewStub();
      while (!stop) {
        grpc::ClientContext ctx;
        v1::GetTrialConfigRequest req;
        req.set_experiment("durable");
        v1::Trial trial;
        if (!stub->GetTrialConfig(&ctx, req, &trial).ok()) return;
        const double x = trial.parameters().at("x").number_value();
        grpc::ClientContext rctx;
        v1::ReportResultRequest rep;
        rep.set_experiment("durable");
        rep.set_trial(trial.number());
        (*rep.mutable_metrics())["y"] = x * x;
        v1::Trial done;
        if (!stub->ReportResult(&rctx, rep, &done).ok()) return;
        std::lock_guard<std::mutex> lock(mu);
        acknowledged[trial.number()] = x * x;
        ++reports;
      }
    });
  }
  // Kill mid-stream, once a good number of results are in.
  while (reports < 300)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  server.Signal(SIGKILL);
  stop = true;
  for (auto& t : workers) t.join();
  ASSERT_GE(acknowledged.size(), 300u);

  ServerProcess restarted(server.db_path());
  ASSERT_TRUE(restarted.Start()) << restarted.Log();
  auto stub = restarted.NewStub();
  const std::map<int, v1::Trial> trials = AllTrials(stub.get(), "durable");
  for (const auto& [number, y] : acknowledged) {
    auto it = trials.find(number);
    ASSERT_NE(it, trials.end())
        << "acknowledged trial " << number << " was lost";
    EXPECT_EQ(it->second.state(), v1::Trial::COMPLETED) << number;
    EXPECT_EQ(it->second.metrics().at("y"), y) << number;
  }
  // Numbers are dense and continue after the last stored trial.
  int expected = 0;
  for (const auto& [number, trial] : trials) EXPECT_EQ(number, expected++);
  grpc::ClientContext ctx;
  v1::GetTrialConfigRequest req;
  req.set_experiment("durable");
  v1::Trial next;
  ASSERT_TRUE(stub->GetTrialConfig(&ctx, req, &next).ok());
  EXPECT_EQ(next.number(), static_cast<int>(trials.size()));

  // Trials that were running at the kill are still running, and can be reported
  // now.
  for (const auto& [number, trial] : trials) {
    if (trial.state() != v1::Trial::RUNNING) continue;
    grpc::ClientContext rctx;
    v1::ReportResultRequest rep;
    rep.set_experiment("durable");
    rep.set_trial(number);
    (*rep.mutable_metrics())["y"] = 1;
    v1::Trial done;
    EXPECT_TRUE(stub->ReportResult(&rctx, rep, &done).ok()) << number;
  }
}

TEST(CrashTest, ExperimentsAndStateSurviveARestart) {
  ServerProcess server;
  ASSERT_TRUE(server.Start());
  auto stub = server.NewStub();
  v1::CreateExperimentRequest create = Experiment("small");
  create.mutable_experiment()->set_max_trials(2);
  create.mutable_experiment()->set_seed(7);
  {
    grpc::ClientContext ctx;
    v1::Experiment created;
    ASSERT_TRUE(stub->CreateExperiment(&ctx, create, &created).ok());
  }
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext ctx;
    v1::GetTrialConfigRequest req;
    req.set_experiment("small");
    v1::Trial trial;
    ASSERT_TRUE(stub->GetTrialConfig(&ctx, req, &trial).ok());
    grpc::ClientContext rctx;
    v1::ReportResultRequest rep;
    rep.set_experiment("small");
    rep.set_trial(trial.number());
    (*rep.mutable_metrics())["y"] = i;
    v1::Trial done;
    ASSERT_TRUE(stub->ReportResult(&rctx, rep, &done).ok());
  }
  server.Signal(SIGKILL);

  ServerProcess restarted(server.db_path());
  ASSERT_TRUE(restarted.Start());
  auto stub2 = restarted.NewStub();
  grpc::ClientContext ctx;
  v1::GetExperimentRequest get;
  get.set_name("small");
  v1::Experiment e;
  ASSERT_TRUE(stub2->GetExperiment(&ctx, get, &e).ok());
  EXPECT_EQ(e.state(), v1::Experiment::COMPLETED);
  EXPECT_EQ(e.seed(), 7u);
  EXPECT_EQ(e.status().completed(), 2);
  EXPECT_EQ(e.status().message(), "all max_trials (2) trials have finished");
}

}  // namespace
}  // namespace hpo
