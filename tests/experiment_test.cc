// End-to-end tests of experiment semantics over real gRPC: lifecycle, leases,
// warm start, queues, conditional spaces, restarts and many workers at once.

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/server_process.h"
#include "tests/test_client.h"

namespace hpo {
namespace {

using testing::ParseExperiment;
using testing::ServerProcess;
using testing::TestClient;

void SleepMs(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

v1::Experiment Simple(const std::string& name) {
  v1::Experiment e = ParseExperiment(R"pb(
    parameters {
      name: "lr"
      double_range { min: 0.001 max: 0.1 log: true }
    }
    parameters {
      name: "units"
      int_range { min: 8 max: 64 step: 8 }
    }
    objectives { name: "accuracy" goal: MAXIMIZE }
  )pb");
  e.set_name(name);
  return e;
}

google::protobuf::Value Number(double v) {
  google::protobuf::Value value;
  value.set_number_value(v);
  return value;
}

google::protobuf::Value String(const std::string& v) {
  google::protobuf::Value value;
  value.set_string_value(v);
  return value;
}

class ExperimentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start());
    client_ = std::make_unique<TestClient>(server_.NewStub());
  }
  ServerProcess server_;
  std::unique_ptr<TestClient> client_;
};

TEST_F(ExperimentTest, StatesFromCreatedToCompleted) {
  v1::Experiment e = Simple("states");
  e.set_max_trials(2);
  ASSERT_TRUE(client_->Create(e).ok());
  EXPECT_EQ(client_->Get("states").state(), v1::Experiment::CREATED);
  v1::Trial a, b;
  ASSERT_TRUE(client_->Suggest("states", &a, "w1").ok());
  EXPECT_EQ(client_->Get("states").state(), v1::Experiment::RUNNING);
  ASSERT_TRUE(client_->Suggest("states", &b, "w2").ok());
  ASSERT_TRUE(client_->Report("states", a.number(), {{"accuracy", 0.5}}).ok());
  ASSERT_TRUE(client_->Report("states", b.number(), {{"accuracy", 0.6}}).ok());
  const v1::Experiment done = client_->Get("states");
  EXPECT_EQ(done.state(), v1::Experiment::COMPLETED);
  EXPECT_EQ(done.status().completed(), 2);
}

TEST_F(ExperimentTest, StopAndResume) {
  ASSERT_TRUE(client_->Create(Simple("pause")).ok());
  v1::Trial t;
  ASSERT_TRUE(client_->Suggest("pause", &t, "w1").ok());
  v1::Experiment stopped;
  ASSERT_TRUE(client_->Stop("pause", &stopped).ok());
  EXPECT_EQ(stopped.state(), v1::Experiment::STOPPED);
  EXPECT_TRUE(client_->Stop("pause").ok()) << "stopping twice is harmless";

  v1::Trial refused;
  grpc::Status s = client_->Suggest("pause", &refused, "w2");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("is STOPPED"), std::string::npos)
      << s.error_message();
  // The running trial may still report.
  EXPECT_TRUE(client_->Report("pause", t.number(), {{"accuracy", 0.7}}).ok());

  v1::Experiment resumed;
  ASSERT_TRUE(client_->Resume("pause", &resumed).ok());
  EXPECT_EQ(resumed.state(), v1::Experiment::RUNNING);
  EXPECT_TRUE(client_->Resume("pause").ok()) << "resuming twice is harmless";
  EXPECT_TRUE(client_->Suggest("pause", &t, "w2").ok());
}

TEST_F(ExperimentTest, TerminalExperimentsCannotBeStoppedOrResumed) {
  v1::Experiment e = Simple("over");
  e.set_max_trials(1);
  ASSERT_TRUE(client_->Create(e).ok());
  v1::Trial t;
  ASSERT_TRUE(client_->Suggest("over", &t).ok());
  ASSERT_TRUE(client_->Report("over", 0, {{"accuracy", 1}}).ok());
  grpc::Status stop = client_->Stop("over");
  EXPECT_EQ(stop.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(stop.error_message(),
            "experiment \"over\" is COMPLETED; only a CREATED or RUNNING "
            "experiment can be stopped");
  grpc::Status resume = client_->Resume("over");
  EXPECT_EQ(resume.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(client_->Stop("nope").error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ExperimentTest, ReachingTheTargetCompletesTheExperiment) {
  v1::Experiment e = Simple("goal");
  e.mutable_objectives(0)->set_target(0.9);
  ASSERT_TRUE(client_->Create(e).ok());
  v1::Trial a, b;
  ASSERT_TRUE(client_->Suggest("goal", &a, "w1").ok());
  ASSERT_TRUE(client_->Suggest("goal", &b, "w2").ok());
  ASSERT_TRUE(client_->Report("goal", a.number(), {{"accuracy", 0.85}}).ok());
  EXPECT_EQ(client_->Get("goal").state(), v1::Experiment::RUNNING);
  ASSERT_TRUE(client_->Report("goal", b.number(), {{"accuracy", 0.93}}).ok());
  const v1::Experiment done = client_->Get("goal");
  EXPECT_EQ(done.state(), v1::Experiment::COMPLETED);
  EXPECT_EQ(done.status().message(),
            "objective \"accuracy\" reached its target 0.9 (trial 1: 0.93)");
  v1::Trial c;
  EXPECT_EQ(client_->Suggest("goal", &c, "w3").error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ExperimentTest, MaxDurationTimesOut) {
  v1::Experiment e = Simple("hurry");
  e.mutable_max_duration()->set_nanos(600 * 1000 * 1000);
  ASSERT_TRUE(client_->Create(e).ok());
  v1::Trial t;
  ASSERT_TRUE(client_->Suggest("hurry", &t, "w1").ok());
  SleepMs(900);
  const v1::Experiment late = client_->Get("hurry");
  EXPECT_EQ(late.state(), v1::Experiment::TIMED_OUT);
  EXPECT_EQ(late.status().message(), "max_duration (600ms) has passed");
  v1::Trial refused;
  EXPECT_EQ(client_->Suggest("hurry", &refused, "w2").error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(client_->Report("hurry", t.number(), {{"accuracy", 0.5}}).ok())
      << "a running trial still reports after the time is up";
}

TEST_F(ExperimentTest, AnExpiredLeaseHandsTheSameTrialOutAgain) {
  v1::Experiment e = Simple("lease");
  e.mutable_trial_lease()->set_nanos(500 * 1000 * 1000);
  ASSERT_TRUE(client_->Create(e).ok());
  v1::Trial first;
  ASSERT_TRUE(client_->Suggest("lease", &first, "preempted").ok());
  EXPECT_TRUE(first.has_lease_expire_time());
  SleepMs(1200);  // the ticker sends it back to WAITING
  const v1::Experiment waiting = client_->Get("lease");
  EXPECT_EQ(waiting.status().waiting(), 1);
  EXPECT_EQ(waiting.status().running(), 0);

  grpc::Status late = client_->Report("lease", first.number(),
                                      {{"accuracy", 0.5}}, "preempted");
  EXPECT_EQ(late.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(late.error_message().find("lost its lease"), std::string::npos);

  v1::Trial again;
  ASSERT_TRUE(client_->Suggest("lease", &again, "replacement").ok());
  EXPECT_EQ(again.number(), first.number());
  EXPECT_EQ(again.worker_id(), "replacement");
  EXPECT_EQ(again.parameters().at("lr").number_value(),
            first.parameters().at("lr").number_value());
  EXPECT_EQ(again.parameters().at("units").number_value(),
            first.parameters().at("units").number_value());

  grpc::Status foreign = client_->Report("lease", again.number(),
                                         {{"accuracy", 0.5}}, "preempted");
  EXPECT_EQ(foreign.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(foreign.error_message(),
            "trial 0 of experiment \"lease\" is leased to worker "
            "\"replacement\", not \"preempted\"");
  EXPECT_TRUE(
      client_
          ->Report("lease", again.number(), {{"accuracy", 0.5}}, "replacement")
          .ok());
  EXPECT_EQ(client_->Trials("lease").trials_size(), 1);
}

TEST_F(ExperimentTest, HeartbeatsKeepTheLease) {
  v1::Experiment e = Simple("alive");
  e.mutable_trial_lease()->set_nanos(600 * 1000 * 1000);
  ASSERT_TRUE(client_->Create(e).ok());
  v1::Trial t;
  ASSERT_TRUE(client_->Suggest("alive", &t, "w1").ok());
  for (int i = 0; i < 6; ++i) {
    SleepMs(250);
    v1::Trial beat;
    ASSERT_TRUE(client_->Heartbeat("alive", t.number(), "w1", &beat).ok());
    EXPECT_EQ(beat.state(), v1::Trial::RUNNING);
  }
  grpc::Status foreign = client_->Heartbeat("alive", t.number(), "w2");
  EXPECT_EQ(foreign.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(client_->Heartbeat("alive", 9, "w1").error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(
      client_->Report("alive", t.number(), {{"accuracy", 1}}, "w1").ok());
  EXPECT_EQ(client_->Heartbeat("alive", t.number(), "w1").error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ExperimentTest, AWorkerAskingAgainGetsItsRunningTrial) {
  ASSERT_TRUE(client_->Create(Simple("retry")).ok());
  v1::Trial a, b, c;
  ASSERT_TRUE(client_->Suggest("retry", &a, "w1").ok());
  ASSERT_TRUE(client_->Suggest("retry", &b, "w1").ok());
  EXPECT_EQ(a.number(), b.number());
  EXPECT_EQ(client_->Get("retry").status().trials(), 1);
  ASSERT_TRUE(client_->Suggest("retry", &c, "w2").ok());
  EXPECT_EQ(c.number(), a.number() + 1);
}

TEST_F(ExperimentTest, AddTrialWarmStartsWithoutSpendingTheBudget) {
  v1::Experiment e = Simple("warm");
  e.set_max_trials(1);
  ASSERT_TRUE(client_->Create(e).ok());
  for (double lr : {0.01, 0.02, 0.05}) {
    v1::AddTrialRequest add;
    add.set_experiment("warm");
    (*add.mutable_parameters())["lr"] = Number(lr);
    (*add.mutable_parameters())["units"] = Number(32);
    (*add.mutable_metrics())["accuracy"] = lr * 10;
    v1::Trial added;
    ASSERT_TRUE(client_->Add(add, &added).ok());
    EXPECT_EQ(added.state(), v1::Trial::COMPLETED);
    EXPECT_EQ(added.origin(), v1::Trial::ADDED);
  }
  v1::Trial t;
  ASSERT_TRUE(client_->Suggest("warm", &t, "w").ok());
  EXPECT_EQ(t.number(), 3);
  EXPECT_EQ(t.origin(), v1::Trial::SUGGESTED);
  ASSERT_TRUE(client_->Report("warm", 3, {{"accuracy", 0.1}}).ok());
  EXPECT_EQ(client_->Get("warm").state(), v1::Experiment::COMPLETED);

  struct Case {
    std::map<std::string, google::protobuf::Value> params;
    std::string message;
  };
  const std::vector<Case> bad = {
      {{{"lr", Number(0.5)}, {"units", Number(8)}},
       "parameters[\"lr\"]: 0.5 is outside [0.001, 0.1]"},
      {{{"lr", Number(0.01)}, {"units", Number(12)}},
       "parameters[\"units\"]: 12 is not a legal value (step 8)"},
      {{{"lr", Number(0.01)}, {"units", Number(8.5)}},
       "parameters[\"units\"]: 8.5 is not an integer"},
      {{{"lr", String("fast")}, {"units", Number(8)}},
       "parameters[\"lr\"]: must be a finite number, got \"fast\""},
      {{{"lr", Number(0.01)}}, "parameters: missing the parameter \"units\""},
      {{{"lr", Number(0.01)}, {"units", Number(8)}, {"dropout", Number(0.1)}},
       "parameters[\"dropout\"]: unknown parameter"},
  };
  for (const Case& c : bad) {
    v1::AddTrialRequest add;
    add.set_experiment("warm");
    for (const auto& [k, v] : c.params) (*add.mutable_parameters())[k] = v;
    (*add.mutable_metrics())["accuracy"] = 0.5;
    grpc::Status s = client_->Add(add);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.message;
    EXPECT_EQ(s.error_message(), c.message);
  }
  v1::AddTrialRequest no_metric;
  no_metric.set_experiment("warm");
  (*no_metric.mutable_parameters())["lr"] = Number(0.01);
  (*no_metric.mutable_parameters())["units"] = Number(8);
  EXPECT_EQ(client_->Add(no_metric).error_message(),
            "metrics: missing the objective metric \"accuracy\"");
  EXPECT_EQ(client_->Trials("warm").trials_size(), 4) << "nothing half-stored";
}

TEST_F(ExperimentTest, EnqueuedTrialsGoFirstAndPartialOnesAreFilledIn) {
  v1::Experiment e = Simple("queue");
  e.set_max_trials(3);
  ASSERT_TRUE(client_->Create(e).ok());
  v1::EnqueueTrialRequest full;
  full.set_experiment("queue");
  (*full.mutable_parameters())["lr"] = Number(0.05);
  (*full.mutable_parameters())["units"] = Number(16);
  v1::EnqueueTrialRequest partial;
  partial.set_experiment("queue");
  (*partial.mutable_parameters())["units"] = Number(64);
  v1::Trial q0, q1;
  ASSERT_TRUE(client_->Enqueue(full, &q0).ok());
  ASSERT_TRUE(client_->Enqueue(partial, &q1).ok());
  EXPECT_EQ(q0.state(), v1::Trial::WAITING);
  EXPECT_EQ(client_->Get("queue").status().waiting(), 2);

  v1::Trial t0, t1, t2;
  ASSERT_TRUE(client_->Suggest("queue", &t0, "a").ok());
  EXPECT_EQ(t0.number(), 0);
  EXPECT_EQ(t0.parameters().at("lr").number_value(), 0.05);
  EXPECT_EQ(t0.parameters().at("units").number_value(), 16);
  EXPECT_EQ(t0.origin(), v1::Trial::ENQUEUED);
  ASSERT_TRUE(client_->Suggest("queue", &t1, "b").ok());
  EXPECT_EQ(t1.number(), 1);
  EXPECT_EQ(t1.parameters().at("units").number_value(), 64);
  const double lr = t1.parameters().at("lr").number_value();
  EXPECT_GE(lr, 0.001);
  EXPECT_LE(lr, 0.1);
  ASSERT_TRUE(client_->Suggest("queue", &t2, "c").ok());
  EXPECT_EQ(t2.origin(), v1::Trial::SUGGESTED);

  grpc::Status full_queue = client_->Enqueue(full);
  EXPECT_EQ(full_queue.error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  v1::EnqueueTrialRequest bad;
  bad.set_experiment("queue");
  (*bad.mutable_parameters())["units"] = Number(9);
  EXPECT_EQ(client_->Enqueue(bad).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ExperimentTest, ConditionalParametersAppearOnlyWhenActive) {
  v1::Experiment e = ParseExperiment(R"pb(
    name: "cond"
    parameters {
      name: "optimizer"
      categorical { values: [ "sgd", "adam" ] }
    }
    parameters {
      name: "momentum"
      double_range { min: 0 max: 0.99 }
      condition {
        parent: "optimizer"
        values { string_value: "sgd" }
      }
    }
    parameters {
      name: "nesterov"
      categorical { values: [ "yes", "no" ] }
      condition {
        parent: "optimizer"
        values { string_value: "sgd" }
      }
    }
    parameters {
      name: "nesterov_eps"
      double_range { min: 0.001 max: 0.1 log: true }
      condition {
        parent: "nesterov"
        values { string_value: "yes" }
      }
    }
    parameters {
      name: "beta1"
      double_range { distribution: NORMAL mu: 0.9 sigma: 0.02 max: 0.999 }
      condition {
        parent: "optimizer"
        values { string_value: "adam" }
      }
    }
    parameters {
      name: "width"
      double_range { min: 0 max: 10 q: 2.5 }
    }
    objectives { name: "loss" goal: MINIMIZE }
  )pb");
  ASSERT_TRUE(client_->Create(e).ok());
  std::set<std::string> shapes;
  for (int i = 0; i < 40; ++i) {
    v1::Trial t;
    ASSERT_TRUE(client_->Suggest("cond", &t).ok());
    const auto& p = t.parameters();
    const std::string opt = p.at("optimizer").string_value();
    EXPECT_EQ(p.count("momentum"), opt == "sgd" ? 1u : 0u);
    EXPECT_EQ(p.count("nesterov"), opt == "sgd" ? 1u : 0u);
    EXPECT_EQ(p.count("beta1"), opt == "adam" ? 1u : 0u);
    const bool eps = opt == "sgd" && p.at("nesterov").string_value() == "yes";
    EXPECT_EQ(p.count("nesterov_eps"), eps ? 1u : 0u);
    if (p.count("beta1")) {
      EXPECT_LE(p.at("beta1").number_value(), 0.999);
    }
    const double w = p.at("width").number_value();
    EXPECT_EQ(w / 2.5, std::round(w / 2.5)) << w;
    std::set<std::string> keys;
    for (const auto& [k, v] : p) keys.insert(k);
    std::string shape;
    for (const std::string& k : keys) shape += k + ",";
    shapes.insert(shape);
    ASSERT_TRUE(client_->Report("cond", t.number(), {{"loss", 1.0}}).ok());
  }
  EXPECT_EQ(shapes.size(), 3u) << "adam, sgd+nesterov and sgd alone all occur";

  v1::AddTrialRequest add;
  add.set_experiment("cond");
  (*add.mutable_parameters())["optimizer"] = String("adam");
  (*add.mutable_parameters())["momentum"] = Number(0.5);
  (*add.mutable_parameters())["width"] = Number(5);
  (*add.mutable_parameters())["beta1"] = Number(0.9);
  (*add.mutable_metrics())["loss"] = 1;
  grpc::Status inactive = client_->Add(add);
  EXPECT_EQ(inactive.error_message(),
            "parameters[\"momentum\"]: is not active: its condition on "
            "\"optimizer\" does not hold");
}

TEST_F(ExperimentTest, TheDefaultAlgorithmNeverRepeatsInAFiniteSpace) {
  v1::Experiment e = ParseExperiment(R"pb(
    name: "finite"
    parameters {
      name: "a"
      int_range { min: 1 max: 3 }
    }
    parameters {
      name: "b"
      categorical { values: [ "x", "y" ] }
    }
    objectives { name: "loss" goal: MINIMIZE }
  )pb");
  ASSERT_TRUE(client_->Create(e).ok());
  std::set<std::pair<double, std::string>> seen;
  for (int i = 0; i < 6; ++i) {
    v1::Trial t;
    ASSERT_TRUE(client_->Suggest("finite", &t).ok()) << i;
    EXPECT_TRUE(seen.emplace(t.parameters().at("a").number_value(),
                             t.parameters().at("b").string_value())
                    .second)
        << "duplicate at trial " << i;
  }
  v1::Trial t;
  grpc::Status s = client_->Suggest("finite", &t);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("exhausted"), std::string::npos);
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(client_->Report("finite", i, {{"loss", 1}}).ok());
  }
  EXPECT_EQ(client_->Get("finite").state(), v1::Experiment::COMPLETED);
}

// Quasi-random search scrambles with the experiment's seed: experiments that
// give no seed get different points, ones that give the same seed the same.
TEST_F(ExperimentTest, SobolScrambleFollowsTheExperimentSeed) {
  auto first_lr = [&](const std::string& name, std::optional<uint32_t> seed) {
    v1::Experiment e = Simple(name);
    e.mutable_algorithm()->set_name("sobol");
    if (seed.has_value()) e.set_seed(*seed);
    EXPECT_TRUE(client_->Create(e).ok());
    v1::Trial t;
    EXPECT_TRUE(client_->Suggest(name, &t, "w").ok());
    return t.parameters().at("lr").number_value();
  };
  const double a = first_lr("sobol-a", std::nullopt);
  const double b = first_lr("sobol-b", std::nullopt);
  EXPECT_NE(a, b);
  EXPECT_EQ(first_lr("sobol-c", 42), first_lr("sobol-d", 42));
}

TEST_F(ExperimentTest, InvalidSpecsAreRefusedWithTheFieldNamed) {
  struct Case {
    std::string spec;
    std::string message;
  };
  const std::vector<Case> cases = {
      {R"pb(parameters {
              name: "a"
              double_range { min: 0 max: 1 }
              condition {
                parent: "ghost"
                values { string_value: "x" }
              }
            })pb",
       "experiment.parameters[0].condition.parent: unknown parameter "
       "\"ghost\""},
      {R"pb(parameters {
              name: "a"
              double_range { min: 0 max: 1 }
            }
            parameters {
              name: "b"
              double_range { min: 0 max: 1 }
              condition {
                parent: "a"
                values { number_value: 1 }
              }
            })pb",
       "experiment.parameters[1].condition.parent: \"a\" is a double_range; a "
       "parent must be categorical, discrete or an int_range"},
      {R"pb(parameters {
              name: "a"
              categorical { values: [ "x" ] }
              condition {
                parent: "b"
                values { string_value: "y" }
              }
            }
            parameters {
              name: "b"
              categorical { values: [ "y" ] }
              condition {
                parent: "a"
                values { string_value: "x" }
              }
            })pb",
       "experiment.parameters[0].condition.parent: conditions form a cycle (a "
       "-> b -> a)"},
      {R"pb(parameters {
              name: "a"
              categorical { values: [ "x" ] }
            }
            parameters {
              name: "b"
              int_range { max: 3 }
              condition {
                parent: "a"
                values { string_value: "z" }
              }
            })pb",
       "experiment.parameters[1].condition.values[0]: \"z\" is not one of x"},
      {R"pb(parameters {
              name: "a"
              double_range { distribution: NORMAL mu: 0 }
            })pb",
       "experiment.parameters[0].double_range.sigma: must be > 0 for a NORMAL "
       "distribution, got 0"},
      {R"pb(parameters {
              name: "a"
              double_range { max: 1 }
            })pb",
       "experiment.parameters[0].double_range.min: is required"},
      {R"pb(parameters {
              name: "a"
              double_range { min: 0 max: 1 step: 0.1 q: 0.2 }
            })pb",
       "experiment.parameters[0].double_range.q: cannot be combined with step"},
      {R"pb(parameters {
              name: "a"
              double_range { min: 0 max: 1 }
            }
            max_trials: 2
            parallel_trials: 3)pb",
       "experiment.parallel_trials: must be <= max_trials (parallel_trials 3, "
       "max_trials 2)"},
      {R"pb(parameters {
              name: "a"
              double_range { min: 0 max: 1 }
            }
            max_trials: -1)pb",
       "experiment.max_trials: must be >= 0"},
  };
  int i = 0;
  for (const Case& c : cases) {
    v1::Experiment e = ParseExperiment(c.spec);
    e.set_name("bad" + std::to_string(i++));
    auto* o = e.add_objectives();
    o->set_name("loss");
    o->set_goal(v1::Objective::MINIMIZE);
    grpc::Status s = client_->Create(e);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.message;
    EXPECT_EQ(s.error_message(), c.message);
  }
}

// Sixty-four workers loop get/report until the experiment ends: exactly
// max_trials complete, numbers are unique and gap-free, parallel_trials is
// never exceeded.
TEST_F(ExperimentTest, SixtyFourWorkers) {
  constexpr int kMaxTrials = 200;
  constexpr int kParallel = 16;
  v1::Experiment e = Simple("crowd");
  e.set_max_trials(kMaxTrials);
  e.set_parallel_trials(kParallel);
  ASSERT_TRUE(client_->Create(e).ok());

  std::mutex mu;
  std::vector<int> completed;
  std::atomic<int> in_flight{0};
  std::atomic<int> max_in_flight{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 64; ++w) {
    workers.emplace_back([&, w] {
      TestClient client(server_.NewStub());
      const std::string id = "worker-" + std::to_string(w);
      for (int attempts = 0; attempts < 5000; ++attempts) {
        v1::Trial t;
        grpc::Status s = client.Suggest("crowd", &t, id);
        if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
          SleepMs(2);
          continue;
        }
        if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) return;
        if (!s.ok()) {
          ++errors;
          return;
        }
        const int now = ++in_flight;
        int seen = max_in_flight.load();
        while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
        }
        // Counted out before reporting: the server frees the slot only
        // after, so this count never runs ahead of the server's.
        --in_flight;
        if (!client
                 .Report("crowd", t.number(),
                         {{"accuracy", t.parameters().at("lr").number_value()}},
                         id)
                 .ok()) {
          ++errors;
          return;
        }
        std::lock_guard<std::mutex> lock(mu);
        completed.push_back(t.number());
      }
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(errors, 0);
  EXPECT_LE(max_in_flight, kParallel);
  std::sort(completed.begin(), completed.end());
  ASSERT_EQ(completed.size(), static_cast<size_t>(kMaxTrials));
  for (int i = 0; i < kMaxTrials; ++i) EXPECT_EQ(completed[i], i);
  const v1::Experiment done = client_->Get("crowd");
  EXPECT_EQ(done.state(), v1::Experiment::COMPLETED);
  EXPECT_EQ(done.status().completed(), kMaxTrials);
  EXPECT_EQ(done.status().trials(), kMaxTrials);
}

TEST_F(ExperimentTest, IntermediateValuesAreStoredInOrderAndChecked) {
  ASSERT_TRUE(client_->Create(Simple("curves")).ok());
  v1::Trial t;
  ASSERT_TRUE(client_->Suggest("curves", &t, "w").ok());
  for (int step = 1; step <= 3; ++step) {
    v1::ReportIntermediateResponse r;
    ASSERT_TRUE(
        client_
            ->Intermediate("curves", t.number(), step,
                           {{"accuracy", 0.1 * step}, {"loss", 1.0 / step}}, &r)
            .ok());
    EXPECT_FALSE(r.should_stop()) << "no early stopping configured";
  }
  EXPECT_TRUE(client_
                  ->Intermediate("curves", 0, 3,
                                 {{"accuracy", 0.1 * 3}, {"loss", 1.0 / 3}})
                  .ok())
      << "an identical retry";
  struct Case {
    grpc::Status status;
    grpc::StatusCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {client_->Intermediate("curves", 0, 2, {{"accuracy", 0.5}}),
       grpc::StatusCode::INVALID_ARGUMENT,
       "step: 2 is before the last reported step 3"},
      {client_->Intermediate("curves", 0, 3, {{"accuracy", 0.9}}),
       grpc::StatusCode::FAILED_PRECONDITION,
       "step: 3 was already reported with different values"},
      {client_->Intermediate("curves", 0, 4, {{"loss", 0.5}}),
       grpc::StatusCode::INVALID_ARGUMENT,
       "metrics: missing the first objective's metric \"accuracy\""},
      {client_->Intermediate("curves", 0, 4, {{"accuracy", std::nan("")}}),
       grpc::StatusCode::INVALID_ARGUMENT,
       "metrics[\"accuracy\"]: must be finite, got nan"},
      {client_->Intermediate("curves", 0, -1, {{"accuracy", 0.5}}),
       grpc::StatusCode::INVALID_ARGUMENT, "step: must be >= 0, got -1"},
      {client_->Intermediate("curves", 5, 4, {{"accuracy", 0.5}}),
       grpc::StatusCode::NOT_FOUND,
       "trial: experiment \"curves\" has no trial 5"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.status.error_code(), c.code) << c.message;
    EXPECT_EQ(c.status.error_message(), c.message);
  }
  v1::Trial pruned;
  ASSERT_TRUE(
      client_->ReportPruned("curves", 0, {{"accuracy", 0.3}}, &pruned).ok());
  EXPECT_EQ(pruned.state(), v1::Trial::PRUNED);
  EXPECT_EQ(pruned.prune_reason(), "stopped early by its worker");
  ASSERT_EQ(pruned.intermediate_values_size(), 3);
  EXPECT_EQ(pruned.intermediate_values(2).step(), 3);
  EXPECT_EQ(pruned.intermediate_values(1).metrics().at("loss"), 0.5);
  grpc::Status after =
      client_->Intermediate("curves", 0, 9, {{"accuracy", 0.5}});
  EXPECT_EQ(after.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(client_->Get("curves").status().pruned(), 1);
}

// Every registered algorithm, over the wire, on a space with every kind of
// parameter: legal values, conditional parameters present exactly when
// active, two trials in flight at a time.
TEST_F(ExperimentTest, EveryAlgorithmHandlesEveryKindOfParameter) {
  const v1::Experiment space = ParseExperiment(R"pb(
    parameters {
      name: "lr"
      double_range { min: 0.0001 max: 0.1 log: true }
    }
    parameters {
      name: "units"
      int_range { min: 8 max: 64 step: 8 }
    }
    parameters {
      name: "optimizer"
      categorical { values: [ "sgd", "adam" ] }
    }
    parameters {
      name: "momentum"
      double_range { min: 0 max: 0.9 step: 0.1 }
      condition {
        parent: "optimizer"
        values { string_value: "sgd" }
      }
    }
    parameters {
      name: "beta1"
      double_range {
        distribution: NORMAL
        mu: 0.9
        sigma: 0.03
        min: 0.8
        max: 0.99
      }
      condition {
        parent: "optimizer"
        values { string_value: "adam" }
      }
    }
    parameters {
      name: "width"
      double_range { min: 0 max: 10 q: 2.5 }
    }
    parameters {
      name: "batch"
      discrete { values: [ 16, 32, 64 ] }
    }
    objectives { name: "loss" goal: MINIMIZE }
  )pb");
  const std::vector<std::pair<std::string, std::map<std::string, std::string>>>
      algorithms = {
          {"random", {}},
          {"grid", {{"grid_points", "3"}}},
          {"tpe", {{"n_startup_trials", "4"}}},
          {"optuna_tpe_multivariate", {{"n_startup_trials", "4"}}},
          {"gp", {{"n_startup_trials", "4"}, {"n_candidates", "128"}}},
          {"cmaes", {}},
          {"sobol", {}},
          {"halton", {}},
          {"anneal", {}},
          {"evolution", {{"population_size", "4"}}}};
  for (const auto& [name, settings] : algorithms) {
    SCOPED_TRACE(name);
    v1::Experiment e = space;
    e.set_name("kinds-" + std::string(name == "optuna_tpe_multivariate"
                                          ? "tpe-mv"
                                          : name));
    e.mutable_algorithm()->set_name(name);
    for (const auto& [k, v] : settings) {
      (*e.mutable_algorithm()->mutable_settings())[k] = v;
    }
    e.set_max_trials(14);
    grpc::Status created = client_->Create(e);
    ASSERT_TRUE(created.ok()) << created.error_message();
    for (int round = 0; round < 7; ++round) {
      std::vector<v1::Trial> batch(2);
      for (int w = 0; w < 2; ++w) {
        ASSERT_TRUE(
            client_->Suggest(e.name(), &batch[w], "w" + std::to_string(w))
                .ok());
      }
      for (const v1::Trial& t : batch) {
        const auto& p = t.parameters();
        const double lr = p.at("lr").number_value();
        EXPECT_TRUE(lr >= 0.0001 && lr <= 0.1) << lr;
        const double units = p.at("units").number_value();
        EXPECT_EQ(std::fmod(units, 8), 0) << units;
        const bool sgd = p.at("optimizer").string_value() == "sgd";
        EXPECT_EQ(p.count("momentum"), sgd ? 1u : 0u);
        EXPECT_EQ(p.count("beta1"), sgd ? 0u : 1u);
        if (!sgd) {
          const double beta1 = p.at("beta1").number_value();
          EXPECT_TRUE(beta1 >= 0.8 && beta1 <= 0.99) << beta1;
        }
        const double width = p.at("width").number_value();
        EXPECT_EQ(width / 2.5, std::round(width / 2.5)) << width;
        const double batch_size = p.at("batch").number_value();
        EXPECT_TRUE(batch_size == 16 || batch_size == 32 || batch_size == 64);
        const double loss = std::abs(std::log10(lr) + 2.5) + units / 64.0;
        ASSERT_TRUE(
            client_
                ->Report(e.name(), t.number(), {{"loss", loss}}, t.worker_id())
                .ok());
      }
    }
    EXPECT_EQ(client_->Get(e.name()).state(), v1::Experiment::COMPLETED);
  }
}

// Workers report learning curves; the median rule stops the weak ones and
// leaves the good ones alone.
TEST_F(ExperimentTest, EarlyStoppingStopsWeakCurves) {
  v1::Experiment e = Simple("stopping");
  e.mutable_early_stopping()->set_name("median");
  (*e.mutable_early_stopping()->mutable_settings())["n_startup_trials"] = "3";
  (*e.mutable_early_stopping()->mutable_settings())["n_warmup_steps"] = "1";
  ASSERT_TRUE(client_->Create(e).ok());
  // Trials 0-2 are good and complete; after them even trials are good and
  // odd ones weak.
  std::map<int, int> stopped_at;
  std::map<int, std::string> reasons;
  for (int i = 0; i < 9; ++i) {
    v1::Trial t;
    ASSERT_TRUE(client_->Suggest("stopping", &t, "w").ok());
    const bool weak = t.number() >= 3 && t.number() % 2 == 1;
    const double level = weak ? 0.3 : 0.8 + 0.01 * t.number();
    bool stopped = false;
    for (int step = 1; step <= 6 && !stopped; ++step) {
      v1::ReportIntermediateResponse r;
      ASSERT_TRUE(client_
                      ->Intermediate("stopping", t.number(), step,
                                     {{"accuracy", level * step / 6}}, &r, "w")
                      .ok());
      if (r.should_stop()) {
        stopped = true;
        stopped_at[t.number()] = step;
        reasons[t.number()] = r.reason();
      }
    }
    if (stopped) {
      v1::Trial pruned;
      ASSERT_TRUE(
          client_->ReportPruned("stopping", t.number(), {}, &pruned).ok());
      EXPECT_EQ(pruned.state(), v1::Trial::PRUNED);
      EXPECT_EQ(pruned.prune_reason(), reasons[t.number()]);
    } else {
      ASSERT_TRUE(
          client_->Report("stopping", t.number(), {{"accuracy", level}}, "w")
              .ok());
    }
  }
  for (int n : {3, 5, 7}) {
    ASSERT_TRUE(stopped_at.count(n)) << "weak trial " << n << " ran to the end";
    EXPECT_LE(stopped_at[n], 2) << n;
    EXPECT_NE(reasons[n].find("median"), std::string::npos) << reasons[n];
  }
  for (int n : {0, 1, 2, 4, 6, 8}) {
    EXPECT_EQ(stopped_at.count(n), 0u) << "good trial " << n << " was stopped";
  }
  const v1::Experiment done = client_->Get("stopping");
  EXPECT_EQ(done.status().pruned(), 3);
  EXPECT_EQ(done.status().completed(), 6);

  v1::Experiment bad = Simple("bad-rule");
  bad.mutable_early_stopping()->set_name("oracle");
  grpc::Status unknown = client_->Create(bad);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(unknown.error_message().rfind(
                "experiment.early_stopping.name: unknown rule \"oracle\"", 0),
            0u)
      << unknown.error_message();
  bad.mutable_early_stopping()->set_name("median");
  (*bad.mutable_early_stopping()->mutable_settings())["n_startup"] = "3";
  grpc::Status setting = client_->Create(bad);
  EXPECT_EQ(setting.error_message().rfind(
                "experiment.early_stopping.settings.n_startup: unknown", 0),
            0u)
      << setting.error_message();
}

TEST(RestartTest, StatesLeasesAndQueuesSurvive) {
  ServerProcess server;
  ASSERT_TRUE(server.Start());
  TestClient client(server.NewStub());
  v1::Experiment e = Simple("durable");
  e.mutable_trial_lease()->set_seconds(3600);
  ASSERT_TRUE(client.Create(e).ok());
  v1::EnqueueTrialRequest q;
  q.set_experiment("durable");
  (*q.mutable_parameters())["lr"] = Number(0.01);
  (*q.mutable_parameters())["units"] = Number(24);
  v1::Trial running, queued;
  ASSERT_TRUE(client.Suggest("durable", &running, "w1").ok());
  ASSERT_TRUE(client.Enqueue(q, &queued).ok());
  ASSERT_TRUE(client
                  .Intermediate("durable", running.number(), 1,
                                {{"accuracy", 0.25}}, nullptr, "w1")
                  .ok());
  ASSERT_TRUE(client.Stop("durable").ok());
  server.Signal(SIGKILL);

  ServerProcess restarted(server.db_path());
  ASSERT_TRUE(restarted.Start());
  TestClient again(restarted.NewStub());
  const v1::Experiment e2 = again.Get("durable");
  EXPECT_EQ(e2.state(), v1::Experiment::STOPPED);
  EXPECT_EQ(e2.status().running(), 1);
  EXPECT_EQ(e2.status().waiting(), 1);
  const v1::ListTrialsResponse trials = again.Trials("durable");
  ASSERT_EQ(trials.trials_size(), 2);
  EXPECT_GE(trials.trials(0).lease_expire_time().seconds(),
            running.lease_expire_time().seconds());
  EXPECT_EQ(trials.trials(0).worker_id(), "w1");
  ASSERT_EQ(trials.trials(0).intermediate_values_size(), 1);
  EXPECT_EQ(trials.trials(0).intermediate_values(0).metrics().at("accuracy"),
            0.25);
  ASSERT_TRUE(again.Resume("durable").ok());
  v1::Trial same;
  ASSERT_TRUE(again.Suggest("durable", &same, "w1").ok());
  EXPECT_EQ(same.number(), running.number()) << "w1 still holds its trial";
  v1::Trial next;
  ASSERT_TRUE(again.Suggest("durable", &next, "w2").ok());
  EXPECT_EQ(next.number(), queued.number());
  EXPECT_EQ(next.parameters().at("units").number_value(), 24);
}

}  // namespace
}  // namespace hpo
