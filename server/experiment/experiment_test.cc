#include "server/experiment/experiment.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace hpo {
namespace {

using google::protobuf::util::MessageDifferencer;

// The experiment's clock: tests move it by hand.
const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

v1::Experiment Spec(const std::string& extra = "") {
  v1::Experiment e;
  const std::string text = R"pb(
                             name: "e"
                             parameters {
                               name: "x"
                               double_range { min: 0 max: 1 }
                             }
                             parameters {
                               name: "c"
                               categorical { values: "a" values: "b" }
                             }
                             objectives { name: "loss" goal: MINIMIZE }
                             algorithm { name: "random" }
                             seed: 7
                           )pb" +
                           extra;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &e)) << text;
  return e;
}

std::unique_ptr<Experiment> Make(const std::string& extra = "") {
  auto e = Experiment::Create(Spec(extra), kStart);
  EXPECT_TRUE(e.ok()) << e.status();
  return *std::move(e);
}

v1::GetTrialConfigRequest Ask(const std::string& worker) {
  v1::GetTrialConfigRequest r;
  r.set_experiment("e");
  r.set_worker_id(worker);
  return r;
}

v1::ReportResultRequest Result(int trial, double loss,
                               const std::string& worker = "") {
  v1::ReportResultRequest r;
  r.set_experiment("e");
  r.set_trial(trial);
  r.set_worker_id(worker);
  (*r.mutable_metrics())["loss"] = loss;
  return r;
}

// Remembers what an experiment told it.
class FakeObserver : public ExperimentObserver {
 public:
  void SamplerCalled(absl::string_view algorithm, double seconds) override {
    sampled.emplace_back(std::string(algorithm), seconds);
  }
  void EarlyStoppingDecided(absl::string_view rule, bool stop) override {
    ++decisions[{std::string(rule), stop ? "stop" : "continue"}];
  }
  void LeaseExpired() override { ++leases_expired; }

  std::vector<std::pair<std::string, double>> sampled;
  std::map<std::pair<std::string, std::string>, int> decisions;
  int leases_expired = 0;
};

v1::ReportIntermediateRequest Intermediate(int trial, int64_t step, double loss,
                                           const std::string& worker) {
  v1::ReportIntermediateRequest r;
  r.set_experiment("e");
  r.set_trial(trial);
  r.set_step(step);
  r.set_worker_id(worker);
  (*r.mutable_metrics())["loss"] = loss;
  return r;
}

TEST(ExperimentTest, CreateSetsOutputFieldsAndRefusesUnknownAlgorithm) {
  auto e = Make();
  EXPECT_EQ(e->Record().state(), v1::Experiment::CREATED);
  EXPECT_EQ(e->Record().create_time().seconds(), absl::ToUnixSeconds(kStart));
  v1::Experiment bad = Spec();
  bad.mutable_algorithm()->set_name("no-such-algorithm");
  auto refused = Experiment::Create(bad, kStart);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      absl::StartsWith(refused.status().message(), "experiment.algorithm"))
      << refused.status();
}

TEST(ExperimentTest, SuggestRecordsTheTrialAndTheStateChange) {
  auto e = Make();
  Changes changes;
  v1::Trial trial;
  ASSERT_TRUE(e->GetTrialConfig(Ask("w1"), kStart, &changes, &trial).ok());
  EXPECT_EQ(trial.number(), 0);
  EXPECT_EQ(trial.state(), v1::Trial::RUNNING);
  EXPECT_EQ(trial.worker_id(), "w1");
  EXPECT_EQ(trial.lease_expire_time().seconds(),
            absl::ToUnixSeconds(kStart + absl::Minutes(10)));
  ASSERT_EQ(changes.trials.size(), 1u);
  EXPECT_EQ(changes.trials[0].number(), 0);
  EXPECT_TRUE(changes.experiment);  // CREATED -> RUNNING
  EXPECT_EQ(e->Record().state(), v1::Experiment::RUNNING);
  EXPECT_EQ(e->running(), 1);
}

TEST(ExperimentTest, SameWorkerAskingAgainGetsItsTrialBack) {
  auto e = Make();
  Changes changes;
  v1::Trial first, again;
  ASSERT_TRUE(e->GetTrialConfig(Ask("w1"), kStart, &changes, &first).ok());
  ASSERT_TRUE(
      e->GetTrialConfig(Ask("w1"), kStart + absl::Seconds(5), &changes, &again)
          .ok());
  EXPECT_EQ(again.number(), first.number());
  EXPECT_EQ(e->View().status().trials(), 1);
  // The retry renewed the lease.
  EXPECT_EQ(again.lease_expire_time().seconds(),
            absl::ToUnixSeconds(kStart + absl::Seconds(5) + absl::Minutes(10)));
}

TEST(ExperimentTest, LeasesRunOutOnTheClockAndTheTrialIsHandedOutAgain) {
  auto e = Make("trial_lease { seconds: 60 }");
  Changes changes;
  v1::Trial t0, t1;
  ASSERT_TRUE(e->GetTrialConfig(Ask("w1"), kStart, &changes, &t0).ok());
  ASSERT_TRUE(
      e->GetTrialConfig(Ask("w2"), kStart + absl::Seconds(30), &changes, &t1)
          .ok());
  EXPECT_EQ(e->NextDeadline(), kStart + absl::Seconds(60));

  Changes none;
  e->Advance(kStart + absl::Seconds(59), &none);
  EXPECT_TRUE(none.empty());

  Changes expired;
  e->Advance(kStart + absl::Seconds(60), &expired);
  ASSERT_EQ(expired.trials.size(), 1u);
  EXPECT_EQ(expired.trials[0].number(), 0);
  EXPECT_EQ(expired.trials[0].state(), v1::Trial::WAITING);
  EXPECT_EQ(e->NextDeadline(), kStart + absl::Seconds(90));

  // Its old worker can no longer report it; the next worker gets it again,
  // with the same parameters.
  Changes late;
  v1::Trial response;
  EXPECT_EQ(e->ReportResult(Result(0, 0.5, "w1"), kStart + absl::Seconds(61),
                            &late, &response)
                .code(),
            absl::StatusCode::kFailedPrecondition);
  v1::Trial again;
  ASSERT_TRUE(
      e->GetTrialConfig(Ask("w3"), kStart + absl::Seconds(62), &changes, &again)
          .ok());
  EXPECT_EQ(again.number(), 0);
  EXPECT_EQ(again.worker_id(), "w3");
  EXPECT_EQ(again.parameters().at("x").number_value(),
            t0.parameters().at("x").number_value());
}

TEST(ExperimentTest, HeartbeatMovesTheLease) {
  auto e = Make("trial_lease { seconds: 60 }");
  Changes changes;
  v1::Trial t;
  ASSERT_TRUE(e->GetTrialConfig(Ask("w1"), kStart, &changes, &t).ok());
  v1::HeartbeatRequest beat;
  beat.set_experiment("e");
  beat.set_trial(0);
  beat.set_worker_id("w1");
  ASSERT_TRUE(
      e->Heartbeat(beat, kStart + absl::Seconds(50), &changes, &t).ok());
  Changes expired;
  e->Advance(kStart + absl::Seconds(100), &expired);
  EXPECT_TRUE(expired.empty());
  EXPECT_EQ(e->NextDeadline(), kStart + absl::Seconds(110));
}

TEST(ExperimentTest, ReportsFinishTrialsAndRetriesAreHarmless) {
  auto e = Make("max_trials: 1");
  Changes changes;
  v1::Trial t;
  ASSERT_TRUE(e->GetTrialConfig(Ask("w1"), kStart, &changes, &t).ok());
  Changes reported;
  ASSERT_TRUE(
      e->ReportResult(Result(0, 0.25, "w1"), kStart, &reported, &t).ok());
  EXPECT_EQ(t.state(), v1::Trial::COMPLETED);
  EXPECT_TRUE(reported.experiment);  // max_trials finished: COMPLETED
  EXPECT_EQ(e->Record().state(), v1::Experiment::COMPLETED);
  EXPECT_EQ(e->NextDeadline(), absl::InfiniteFuture());

  Changes retry;
  EXPECT_TRUE(e->ReportResult(Result(0, 0.25, "w1"), kStart, &retry, &t).ok());
  EXPECT_TRUE(retry.empty());
  EXPECT_EQ(e->ReportResult(Result(0, 0.5, "w1"), kStart, &retry, &t).code(),
            absl::StatusCode::kFailedPrecondition);

  v1::GetBestResponse best;
  e->GetBest(&best);
  ASSERT_EQ(best.trials_size(), 1);
  EXPECT_EQ(best.trials(0).metrics().at("loss"), 0.25);
}

TEST(ExperimentTest, ParallelTrialsAndMaxTrialsAreLimits) {
  auto e = Make("max_trials: 3 parallel_trials: 2");
  Changes changes;
  v1::Trial t;
  ASSERT_TRUE(e->GetTrialConfig(Ask("a"), kStart, &changes, &t).ok());
  ASSERT_TRUE(e->GetTrialConfig(Ask("b"), kStart, &changes, &t).ok());
  EXPECT_EQ(e->GetTrialConfig(Ask("c"), kStart, &changes, &t).code(),
            absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(e->ReportResult(Result(0, 1, "a"), kStart, &changes, &t).ok());
  ASSERT_TRUE(e->GetTrialConfig(Ask("c"), kStart, &changes, &t).ok());
  EXPECT_EQ(t.number(), 2);
  ASSERT_TRUE(e->ReportResult(Result(1, 1, "b"), kStart, &changes, &t).ok());
  EXPECT_EQ(e->GetTrialConfig(Ask("d"), kStart, &changes, &t).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(ExperimentTest, MaxDurationEndsTheExperimentOnTheClock) {
  auto e = Make("max_duration { seconds: 3600 }");
  EXPECT_EQ(e->NextDeadline(), kStart + absl::Hours(1));
  Changes changes;
  e->Advance(kStart + absl::Hours(1), &changes);
  EXPECT_TRUE(changes.experiment);
  EXPECT_EQ(e->Record().state(), v1::Experiment::TIMED_OUT);
  v1::Trial t;
  EXPECT_EQ(
      e->GetTrialConfig(Ask("w"), kStart + absl::Hours(1), &changes, &t).code(),
      absl::StatusCode::kFailedPrecondition);
}

TEST(ExperimentTest, StopAndResume) {
  auto e = Make();
  Changes changes;
  v1::Experiment view;
  v1::StopExperimentRequest stop;
  ASSERT_TRUE(e->Stop(stop, kStart, &changes, &view).ok());
  EXPECT_EQ(view.state(), v1::Experiment::STOPPED);
  v1::Trial t;
  EXPECT_EQ(e->GetTrialConfig(Ask("w"), kStart, &changes, &t).code(),
            absl::StatusCode::kFailedPrecondition);
  v1::ResumeExperimentRequest resume;
  ASSERT_TRUE(e->Resume(resume, kStart, &changes, &view).ok());
  EXPECT_EQ(view.state(), v1::Experiment::CREATED);  // no trial yet
  EXPECT_TRUE(e->GetTrialConfig(Ask("w"), kStart, &changes, &t).ok());
}

TEST(ExperimentTest, RestoreRebuildsCountsLeasesAndSuggestionsFromTheRecord) {
  auto e = Make("trial_lease { seconds: 60 }");
  std::vector<v1::Trial> stored;
  for (int i = 0; i < 3; ++i) {
    Changes changes;
    v1::Trial t;
    ASSERT_TRUE(
        e->GetTrialConfig(Ask(absl::StrCat("w", i)), kStart, &changes, &t)
            .ok());
  }
  Changes changes;
  v1::Trial t;
  ASSERT_TRUE(e->ReportResult(Result(1, 0.5), kStart, &changes, &t).ok());
  v1::ListTrialsResponse all;
  e->ListTrials({}, 0, 100, &all);
  stored.assign(all.trials().begin(), all.trials().end());

  auto restored = Experiment::Restore(e->Record(), stored);
  ASSERT_TRUE(restored.ok()) << restored.status();
  Experiment& r = **restored;
  EXPECT_TRUE(MessageDifferencer::Equals(r.View(), e->View()));
  EXPECT_EQ(r.NextDeadline(), kStart + absl::Seconds(60));

  // Both hand out the same next trial: suggestions depend only on the seed
  // and the history.
  v1::Trial a, b;
  ASSERT_TRUE(e->GetTrialConfig(Ask("x"), kStart, &changes, &a).ok());
  ASSERT_TRUE(r.GetTrialConfig(Ask("x"), kStart, &changes, &b).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(a, b));
}

TEST(ExperimentObserverTest, EachSuggestionIsOneSamplerCallOfItsAlgorithm) {
  auto e = Make("trial_lease { seconds: 60 }");
  FakeObserver observer;
  e->set_observer(&observer);
  Changes changes;
  v1::Trial t;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        e->GetTrialConfig(Ask(absl::StrCat("w", i)), kStart, &changes, &t)
            .ok());
  }
  ASSERT_EQ(observer.sampled.size(), 5u);
  for (const auto& [algorithm, seconds] : observer.sampled) {
    EXPECT_EQ(algorithm, "random");
    EXPECT_GE(seconds, 0);
  }
  // A worker asking again gets its trial back, and a trial whose lease ran
  // out goes out again with its parameters: neither asks the sampler.
  ASSERT_TRUE(e->GetTrialConfig(Ask("w0"), kStart, &changes, &t).ok());
  ASSERT_TRUE(
      e->GetTrialConfig(Ask("w9"), kStart + absl::Seconds(60), &changes, &t)
          .ok());
  EXPECT_EQ(t.number(), 0);
  EXPECT_EQ(observer.sampled.size(), 5u);
}

TEST(ExperimentObserverTest, AutoIsTimedUnderTheAlgorithmItPicked) {
  v1::Experiment spec = Spec();
  spec.mutable_algorithm()->set_name("auto");
  auto created = Experiment::Create(spec, kStart);
  ASSERT_TRUE(created.ok()) << created.status();
  Experiment& e = **created;
  FakeObserver observer;
  e.set_observer(&observer);
  for (int i = 0; i < 3; ++i) {
    Changes changes;
    v1::Trial t;
    ASSERT_TRUE(e.GetTrialConfig(Ask("w"), kStart, &changes, &t).ok());
    ASSERT_EQ(observer.sampled.size(), static_cast<size_t>(i + 1));
    EXPECT_EQ(observer.sampled.back().first, t.algorithm());
    EXPECT_EQ(observer.sampled.back().first, e.Record().status().algorithm());
    EXPECT_NE(observer.sampled.back().first, "auto");
    ASSERT_TRUE(
        e.ReportResult(Result(t.number(), i, "w"), kStart, &changes, &t).ok());
  }
}

TEST(ExperimentObserverTest, EveryEarlyStoppingDecisionIsCountedByOutcome) {
  auto e = Make(R"pb(early_stopping {
                       name: "threshold"
                       settings { key: "upper" value: "1" }
                     })pb");
  FakeObserver observer;
  e->set_observer(&observer);
  Changes changes;
  v1::Trial t0, t1;
  ASSERT_TRUE(e->GetTrialConfig(Ask("a"), kStart, &changes, &t0).ok());
  ASSERT_TRUE(e->GetTrialConfig(Ask("b"), kStart, &changes, &t1).ok());
  v1::ReportIntermediateResponse answer;
  ASSERT_TRUE(e->ReportIntermediate(Intermediate(0, 1, 0.5, "a"), kStart,
                                    &changes, &answer)
                  .ok());
  EXPECT_FALSE(answer.should_stop());
  ASSERT_TRUE(e->ReportIntermediate(Intermediate(1, 1, 5, "b"), kStart,
                                    &changes, &answer)
                  .ok());
  EXPECT_TRUE(answer.should_stop());
  using Decisions = std::map<std::pair<std::string, std::string>, int>;
  const Decisions want = {{{"threshold", "continue"}, 1},
                          {{"threshold", "stop"}, 1}};
  EXPECT_EQ(observer.decisions, want);
  // A report the rule never saw (refused before it) decides nothing.
  EXPECT_FALSE(e->ReportIntermediate(Intermediate(0, 0, 0.5, "a"), kStart,
                                     &changes, &answer)
                   .ok());
  EXPECT_EQ(observer.decisions, want);
}

TEST(ExperimentObserverTest, ExpiredLeasesAreCountedOnTheClock) {
  auto e = Make("trial_lease { seconds: 60 }");
  FakeObserver observer;
  e->set_observer(&observer);
  Changes changes;
  v1::Trial t;
  ASSERT_TRUE(e->GetTrialConfig(Ask("w1"), kStart, &changes, &t).ok());
  ASSERT_TRUE(
      e->GetTrialConfig(Ask("w2"), kStart + absl::Seconds(30), &changes, &t)
          .ok());
  e->Advance(kStart + absl::Seconds(59), &changes);
  EXPECT_EQ(observer.leases_expired, 0);
  e->Advance(kStart + absl::Seconds(60), &changes);
  EXPECT_EQ(observer.leases_expired, 1);
  e->Advance(kStart + absl::Seconds(60), &changes);  // once only
  EXPECT_EQ(observer.leases_expired, 1);
  // A lease handed back by its worker or ended by a report does not count.
  ASSERT_TRUE(e->ReportResult(Result(1, 0.5, "w2"), kStart + absl::Seconds(61),
                              &changes, &t)
                  .ok());
  e->Advance(kStart + absl::Hours(1), &changes);
  EXPECT_EQ(observer.leases_expired, 1);
}

TEST(ExperimentTest, FailedOperationsChangeNothing) {
  auto e = Make();
  Changes changes;
  v1::Trial t;
  EXPECT_EQ(e->ReportResult(Result(5, 1), kStart, &changes, &t).code(),
            absl::StatusCode::kNotFound);
  v1::AddTrialRequest add;
  add.set_experiment("e");
  (*add.mutable_parameters())["x"].set_number_value(2);  // out of range
  (*add.mutable_metrics())["loss"] = 1;
  EXPECT_EQ(e->AddTrial(add, kStart, &changes, &t).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(changes.empty());
  EXPECT_EQ(e->View().status().trials(), 0);
}

}  // namespace
}  // namespace hpo
