// Service over a real SqliteStorage in a temporary directory: which
// experiments are in memory, and that loading, unloading and restarting never
// change what the API shows.

#include "server/service.h"

#include <cstdlib>
#include <future>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "server/metrics/metrics.h"
#include "storage/sqlite/sqlite_storage.h"

namespace hpo {
namespace {

using google::protobuf::util::MessageDifferencer;

std::string TestDb(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name, ".db");
}

// Calls a Service method and waits for its answer.
template <typename Request, typename Response>
absl::Status Call(Service& service,
                  void (Service::*method)(const Request&, Response*,
                                          Service::Done),
                  const Request& request, Response* response) {
  std::promise<absl::Status> answered;
  (service.*method)(request, response,
                    [&](absl::Status s) { answered.set_value(s); });
  return answered.get_future().get();
}

v1::CreateExperimentRequest Create(const std::string& name,
                                   const std::string& extra = "") {
  v1::CreateExperimentRequest r;
  const std::string text =
      absl::StrCat(R"pb(
                     experiment { name: ")pb",
                   name, R"pb("
                              parameters {
                                name: "x"
                                double_range { min: 0 max: 1 }
                              }
                              objectives { name: "loss" goal: MINIMIZE }
                              algorithm { name: "random" }
                   )pb",
                   extra, "}");
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &r)) << text;
  return r;
}

// The value of the sample `series` (name and labels, as exposed) in a
// Prometheus text page, or -1 if it has none.
double SampleValue(const std::string& page, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(page, '\n')) {
    if (!absl::ConsumePrefix(&line, series) || !absl::ConsumePrefix(&line, " "))
      continue;
    double value;
    return absl::SimpleAtod(line, &value) ? value : -1;
  }
  return -1;
}

class ServiceTest : public ::testing::Test {
 protected:
  // A service (restarted if one runs) over the test's database, recording
  // metrics in a registry of its own if `with_metrics`.
  void Open(absl::Duration idle_unload, bool with_metrics = false) {
    service_.reset();
    storage_.reset();
    metrics_.reset();
    auto storage = SqliteStorage::Open(path_);
    ASSERT_TRUE(storage.ok()) << storage.status();
    storage_ = *std::move(storage);
    Service::Options options;
    options.idle_unload = idle_unload;
    if (with_metrics) {
      metrics_ = std::make_unique<metrics::Registry>();
      options.metrics = metrics_.get();
    }
    auto service = Service::Create(storage_.get(), &pool_, options);
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = *std::move(service);
  }

  // Runs `trials` trials of `name` to completion; the last is left running if
  // `leave_running`.
  void RunTrials(const std::string& name, int trials, bool leave_running) {
    for (int i = 0; i < trials; ++i) {
      v1::GetTrialConfigRequest ask;
      ask.set_experiment(name);
      ask.set_worker_id("w");
      v1::Trial trial;
      ASSERT_TRUE(Call(*service_, &Service::GetTrialConfig, ask, &trial).ok());
      if (leave_running && i == trials - 1) break;
      v1::ReportResultRequest report;
      report.set_experiment(name);
      report.set_trial(trial.number());
      (*report.mutable_metrics())["loss"] = i;
      ASSERT_TRUE(Call(*service_, &Service::ReportResult, report, &trial).ok());
    }
  }

  v1::Experiment Get(const std::string& name) {
    v1::GetExperimentRequest get;
    get.set_name(name);
    v1::Experiment e;
    EXPECT_TRUE(Call(*service_, &Service::GetExperiment, get, &e).ok());
    return e;
  }

  std::string path_ =
      TestDb(::testing::UnitTest::GetInstance()->current_test_info()->name());
  // Every call is answered before the next, so the pool is idle whenever a
  // service goes.
  ThreadPool pool_{2};
  std::unique_ptr<SqliteStorage> storage_;
  // Outlives the service that records in it.
  std::unique_ptr<metrics::Registry> metrics_;
  std::unique_ptr<Service> service_;
};

TEST_F(ServiceTest, IdleExperimentsLeaveMemoryAndComeBackUnchanged) {
  std::remove(path_.c_str());
  Open(absl::ZeroDuration());
  v1::Experiment created;
  ASSERT_TRUE(
      Call(*service_, &Service::CreateExperiment, Create("idle"), &created)
          .ok());
  ASSERT_TRUE(
      Call(*service_, &Service::CreateExperiment, Create("busy"), &created)
          .ok());
  RunTrials("idle", 5, /*leave_running=*/false);
  RunTrials("busy", 3, /*leave_running=*/true);
  const v1::Experiment idle_before = Get("idle");
  EXPECT_EQ(service_->loaded(), 2);

  // Writes are durable once answered, so a tick may unload at once: only the
  // experiment with a running trial stays.
  service_->Tick();
  EXPECT_EQ(service_->loaded(), 1);
  EXPECT_EQ(service_->stored(), 2);

  // Listing shows the unloaded one's counts without loading it.
  v1::ListExperimentsResponse list;
  ASSERT_TRUE(Call(*service_, &Service::ListExperiments,
                   v1::ListExperimentsRequest(), &list)
                  .ok());
  ASSERT_EQ(list.experiments_size(), 2);
  EXPECT_EQ(list.experiments(1).name(), "idle");
  EXPECT_TRUE(MessageDifferencer::Equals(list.experiments(1), idle_before));
  EXPECT_EQ(service_->loaded(), 1);

  // Asking for it loads it, as it was; and it goes on where it stopped.
  EXPECT_TRUE(MessageDifferencer::Equals(Get("idle"), idle_before));
  EXPECT_EQ(service_->loaded(), 2);
  RunTrials("idle", 1, /*leave_running=*/false);
  EXPECT_EQ(Get("idle").status().completed(), 6);
}

TEST_F(ServiceTest, StartUpLoadsOnlyExperimentsWithRunningTrials) {
  std::remove(path_.c_str());
  Open(absl::Hours(1));
  v1::Experiment created;
  for (const char* name : {"a", "b", "c"}) {
    ASSERT_TRUE(
        Call(*service_, &Service::CreateExperiment, Create(name), &created)
            .ok());
    RunTrials(name, 4, /*leave_running=*/std::string(name) == "b");
  }
  const v1::Experiment a = Get("a"), b = Get("b");

  Open(absl::Hours(1));  // a restart
  EXPECT_EQ(service_->stored(), 3);
  EXPECT_EQ(service_->loaded(), 1);  // b, whose lease runs on
  v1::ListExperimentsResponse list;
  ASSERT_TRUE(Call(*service_, &Service::ListExperiments,
                   v1::ListExperimentsRequest(), &list)
                  .ok());
  ASSERT_EQ(list.experiments_size(), 3);
  EXPECT_TRUE(MessageDifferencer::Equals(list.experiments(0), a));
  EXPECT_TRUE(MessageDifferencer::Equals(list.experiments(1), b));
  EXPECT_EQ(list.experiments(2).status().completed(), 4);
  EXPECT_EQ(service_->loaded(), 1);  // counting did not keep them
}

TEST_F(ServiceTest, LeasesOfALoadedExperimentRunOutOnTick) {
  std::remove(path_.c_str());
  Open(absl::Hours(1));
  v1::Experiment created;
  ASSERT_TRUE(Call(*service_, &Service::CreateExperiment,
                   Create("short", "trial_lease { nanos: 1000000 }"), &created)
                  .ok());
  RunTrials("short", 1, /*leave_running=*/true);
  absl::SleepFor(absl::Milliseconds(5));
  service_->Tick();
  // The tick's write is queued; a request on the experiment comes after it.
  const v1::Experiment e = Get("short");
  EXPECT_EQ(e.status().running(), 0);
  EXPECT_EQ(e.status().waiting(), 1);
  Open(absl::Hours(1));
  EXPECT_EQ(Get("short").status().waiting(), 1);  // and it was stored
}

TEST_F(ServiceTest, DeletedExperimentsAreGoneLoadedOrNot) {
  std::remove(path_.c_str());
  Open(absl::ZeroDuration());
  v1::Experiment created;
  ASSERT_TRUE(
      Call(*service_, &Service::CreateExperiment, Create("gone"), &created)
          .ok());
  RunTrials("gone", 2, /*leave_running=*/false);
  service_->Tick();
  EXPECT_EQ(service_->loaded(), 0);
  v1::DeleteExperimentRequest del;
  del.set_name("gone");
  google::protobuf::Empty empty;
  ASSERT_TRUE(Call(*service_, &Service::DeleteExperiment, del, &empty).ok());
  v1::GetExperimentRequest get;
  get.set_name("gone");
  v1::Experiment e;
  EXPECT_EQ(Call(*service_, &Service::GetExperiment, get, &e).code(),
            absl::StatusCode::kNotFound);
  Open(absl::ZeroDuration());
  EXPECT_EQ(service_->stored(), 0);
}

TEST_F(ServiceTest, SamplerTimeEarlyStoppingAndExpiredLeasesAreMetrics) {
  std::remove(path_.c_str());
  Open(absl::Hours(1), /*with_metrics=*/true);
  // Present at zero from the start, for every algorithm and rule.
  std::string page = metrics_->Exposition();
  EXPECT_EQ(SampleValue(page, R"(hpo_sampler_seconds_count{algorithm="tpe"})"),
            0);
  EXPECT_EQ(SampleValue(page, R"(hpo_early_stopping_decisions_total{)"
                              R"(rule="median",outcome="stop"})"),
            0);
  EXPECT_EQ(SampleValue(page, "hpo_leases_expired_total"), 0);

  v1::Experiment created;
  ASSERT_TRUE(
      Call(*service_, &Service::CreateExperiment, Create("timed"), &created)
          .ok());
  RunTrials("timed", 4, /*leave_running=*/false);

  ASSERT_TRUE(Call(*service_, &Service::CreateExperiment,
                   Create("pruned", R"pb(early_stopping {
                                           name: "threshold"
                                           settings { key: "upper" value: "1" }
                                         })pb"),
                   &created)
                  .ok());
  v1::GetTrialConfigRequest ask;
  ask.set_experiment("pruned");
  ask.set_worker_id("w");
  v1::Trial trial;
  ASSERT_TRUE(Call(*service_, &Service::GetTrialConfig, ask, &trial).ok());
  v1::ReportIntermediateResponse answer;
  for (const auto& [step, loss] : {std::pair<int, double>{1, 0.5}, {2, 5}}) {
    v1::ReportIntermediateRequest report;
    report.set_experiment("pruned");
    report.set_trial(trial.number());
    report.set_worker_id("w");
    report.set_step(step);
    (*report.mutable_metrics())["loss"] = loss;
    ASSERT_TRUE(
        Call(*service_, &Service::ReportIntermediate, report, &answer).ok());
  }
  EXPECT_TRUE(answer.should_stop());

  ASSERT_TRUE(Call(*service_, &Service::CreateExperiment,
                   Create("short", "trial_lease { nanos: 1000000 }"), &created)
                  .ok());
  RunTrials("short", 1, /*leave_running=*/true);
  absl::SleepFor(absl::Milliseconds(5));
  service_->Tick();
  EXPECT_EQ(Get("short").status().waiting(), 1);

  page = metrics_->Exposition();
  // timed's 4, pruned's 1 and short's 1, all random search.
  EXPECT_EQ(
      SampleValue(page, R"(hpo_sampler_seconds_count{algorithm="random"})"), 6)
      << page;
  EXPECT_EQ(SampleValue(page, R"(hpo_sampler_seconds_bucket{)"
                              R"(algorithm="random",le="+Inf"})"),
            6);
  EXPECT_GE(SampleValue(page, R"(hpo_sampler_seconds_sum{algorithm="random"})"),
            0);
  EXPECT_EQ(SampleValue(page, R"(hpo_sampler_seconds_count{algorithm="tpe"})"),
            0);
  EXPECT_EQ(SampleValue(page, R"(hpo_early_stopping_decisions_total{)"
                              R"(rule="threshold",outcome="continue"})"),
            1);
  EXPECT_EQ(SampleValue(page, R"(hpo_early_stopping_decisions_total{)"
                              R"(rule="threshold",outcome="stop"})"),
            1);
  EXPECT_EQ(SampleValue(page, "hpo_leases_expired_total"), 1);

  // An experiment loaded from storage records too.
  Open(absl::Hours(1), /*with_metrics=*/true);
  RunTrials("timed", 1, /*leave_running=*/false);
  EXPECT_EQ(SampleValue(metrics_->Exposition(),
                        R"(hpo_sampler_seconds_count{algorithm="random"})"),
            1);
}

}  // namespace
}  // namespace hpo
