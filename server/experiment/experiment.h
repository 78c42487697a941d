// The state machine of one experiment: its spec, its trials, the history its
// algorithm learns from, and every operation of the API on it.
//
// No transport, no storage, no threads and no clock inside: each operation
// takes the time as an argument and records what it changed in a `Changes`,
// which the caller makes durable before it answers. Not thread-safe: the caller
// serializes operations (the server holds one mutex per experiment).
//
// A failed operation changes nothing, except for what time alone changes
// (expired leases, an experiment past max_duration), which every operation
// that depends on it applies first and records in `changes` whatever it then
// returns.

#ifndef HPO_SERVER_EXPERIMENT_EXPERIMENT_H_
#define HPO_SERVER_EXPERIMENT_EXPERIMENT_H_

#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/history.h"
#include "core/search_space.h"
#include "hpo/v1/hpo.pb.h"
#include "pruners/pruner.h"
#include "samplers/sampler.h"
#include "server/experiment/observer.h"

namespace hpo {

// What an operation changed, in the order it changed it: the caller stores
// these before it answers.
struct Changes {
  // The experiment itself (spec, state, status) changed: store Record().
  bool experiment = false;
  // Trials to insert or replace, as they now are.
  std::vector<v1::Trial> trials;

  bool empty() const { return !experiment && trials.empty(); }
};

class Experiment {
 public:
  // A new experiment from a spec that ValidateExperiment accepted, with its
  // algorithm and seed filled in. Sets the output-only fields (state, status,
  // times). INVALID_ARGUMENT naming `experiment.algorithm...` or
  // `experiment.early_stopping...` if either cannot be built.
  static absl::StatusOr<std::unique_ptr<Experiment>> Create(v1::Experiment spec,
                                                            absl::Time now);

  // An experiment as stored, with its trials in number order. An algorithm or
  // early-stopping rule that cannot be built (say, one since removed) is
  // logged: the experiment still answers reads, but hands out no trials.
  // DATA_LOSS if a trial does not fit the search space.
  static absl::StatusOr<std::unique_ptr<Experiment>> Restore(
      v1::Experiment spec, std::vector<v1::Trial> trials);

  Experiment(const Experiment&) = delete;
  Experiment& operator=(const Experiment&) = delete;

  // Told of sampler calls, early-stopping decisions and expired leases from
  // now on; null (the default) tells no one. Not owned: it must outlive the
  // experiment. Timing the sampler for it is the one clock read inside (a
  // monotonic one, made only with an observer); it decides nothing.
  void set_observer(ExperimentObserver* observer) { observer_ = observer; }

  const std::string& name() const { return spec_.name(); }
  // The experiment as stored: the spec, its state and status message, without
  // trial counts.
  const v1::Experiment& Record() const { return spec_; }
  // The experiment as the API shows it, with up-to-date trial counts.
  v1::Experiment View() const;

  // Whether it may still hand out trials: CREATED or RUNNING.
  bool Active() const;
  int running() const { return running_count_; }
  // The time past which Advance has something to do (a lease runs out, or
  // max_duration passes), or InfiniteFuture.
  absl::Time NextDeadline() const;

  // Applies what time alone changes: trials whose lease ran out go back to
  // WAITING, and the experiment ends when its limits say so.
  void Advance(absl::Time now, Changes* changes);

  // The RPCs, one method each, named as in hpo.v1.HpoService. The request's
  // experiment name is the caller's to check.
  absl::Status GetTrialConfig(const v1::GetTrialConfigRequest& request,
                              absl::Time now, Changes* changes,
                              v1::Trial* response);
  absl::Status ReportResult(const v1::ReportResultRequest& request,
                            absl::Time now, Changes* changes,
                            v1::Trial* response);
  absl::Status ReportIntermediate(const v1::ReportIntermediateRequest& request,
                                  absl::Time now, Changes* changes,
                                  v1::ReportIntermediateResponse* response);
  absl::Status Heartbeat(const v1::HeartbeatRequest& request, absl::Time now,
                         Changes* changes, v1::Trial* response);
  absl::Status ReleaseTrial(const v1::ReleaseTrialRequest& request,
                            absl::Time now, Changes* changes,
                            v1::Trial* response);
  absl::Status AddTrial(const v1::AddTrialRequest& request, absl::Time now,
                        Changes* changes, v1::Trial* response);
  absl::Status EnqueueTrial(const v1::EnqueueTrialRequest& request,
                            absl::Time now, Changes* changes,
                            v1::Trial* response);
  absl::Status Stop(const v1::StopExperimentRequest& request, absl::Time now,
                    Changes* changes, v1::Experiment* response);
  absl::Status Resume(const v1::ResumeExperimentRequest& request,
                      absl::Time now, Changes* changes,
                      v1::Experiment* response);
  void GetBest(v1::GetBestResponse* response) const;
  // Up to `page_size` trials numbered `first` or more, in `states` (all if
  // empty); sets the next page's token when more remain.
  void ListTrials(const google::protobuf::RepeatedField<int>& states, int first,
                  int page_size, v1::ListTrialsResponse* response) const;

 private:
  Experiment() = default;

  v1::Trial* FindTrial(int number);
  const v1::Trial* FindTrial(int number) const;
  TrialRecord& RecordOf(const v1::Trial* trial);
  int NextNumber() const;
  absl::Duration Lease() const;

  // Appends a trial to `trials_` and `history_.trials`, and indexes it.
  v1::Trial* Append(v1::Trial trial, TrialRecord record);
  // Adds a trial to (delta +1) or removes it from (-1) the counts and indexes.
  void Track(const v1::Trial& trial, int delta);
  // Moves a trial to `state`, keeping counts, indexes and history in step.
  void SetState(v1::Trial* trial, v1::Trial::State state);
  // Sets or clears (InfinitePast) a running trial's lease.
  void SetLease(v1::Trial* trial, absl::Time expire);
  // A running trial back to WAITING, to be handed out again with the same
  // parameters.
  void HandBack(v1::Trial* trial);
  void ExpireLeases(absl::Time now, Changes* changes);

  void SetExperimentState(v1::Experiment::State state, std::string message,
                          absl::Time now, Changes* changes);
  // Ends an active experiment when its limits say so.
  void UpdateState(absl::Time now, Changes* changes);
  // Completes an active experiment whose first objective's target `trial`
  // reached.
  void CheckTarget(const v1::Trial& trial, absl::Time now, Changes* changes);
  // The algorithm's suggestion for trial `number`; OUT_OF_RANGE when the
  // space is exhausted.
  absl::StatusOr<Suggestion> Suggest(int number, Rng& rng);

  v1::Experiment spec_;
  SearchSpace space_;
  // Null when the stored algorithm cannot be built; sampler_status_ says why.
  std::unique_ptr<Sampler> sampler_;
  absl::Status sampler_status_;
  // Null when the experiment has no early stopping.
  std::unique_ptr<Pruner> pruner_;
  ExperimentObserver* observer_ = nullptr;
  // In number order; history_.trials is parallel to it.
  std::vector<v1::Trial> trials_;
  History history_;

  int running_count_ = 0;
  int completed_ = 0;
  int failed_ = 0;
  int pruned_ = 0;
  // Trials that count towards max_trials: all but those added by AddTrial.
  int allocated_ = 0;
  // WAITING trials by number (handed out lowest first), and who runs what.
  std::set<int> waiting_;
  absl::flat_hash_map<std::string, int> running_by_worker_;
  // Running trials by the end of their lease, so that expiry looks only at
  // the trials that are due.
  std::set<std::pair<absl::Time, int>> leases_;
  // Set when the sampler reported it has nothing left to suggest.
  bool exhausted_ = false;
  std::string exhausted_reason_;
};

}  // namespace hpo

#endif  // HPO_SERVER_EXPERIMENT_EXPERIMENT_H_
