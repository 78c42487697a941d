// The logic of every HpoService RPC, independent of transport: the gRPC server
// calls this class (and the REST gateway reaches it through gRPC), so no RPC is
// implemented twice.
//
// The service is a map of experiments (server/experiment/), each behind its
// own mutex, and the storage they are recorded in. A request locks only its
// own experiment, queues the writes its operation made and returns; it is
// answered (its `done` called, on a storage thread) once those writes are
// durable. No thread waits for a disk: many requests' writes share one commit.
//
// A request that calls no algorithm (a report, a heartbeat, a read) runs on
// the caller's thread when its experiment is loaded and unlocked; everything
// else, or a request that would have to wait, runs on the thread pool, so
// that the caller (a gRPC thread) is never held up by a sampler or a lock.
//
// Experiments live in memory only while they are used: one with no running
// trial that nobody asked about for `Options::idle_unload` leaves memory,
// keeping a summary for listings, and is loaded from storage again when asked
// for.

#ifndef HPO_SERVER_SERVICE_H_
#define HPO_SERVER_SERVICE_H_

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "google/protobuf/empty.pb.h"
#include "hpo/v1/hpo.pb.h"
#include "server/experiment/experiment.h"
#include "server/thread_pool.h"
#include "storage/storage.h"

namespace hpo {
namespace metrics {
class Registry;
}  // namespace metrics

class Service {
 public:
  struct Options {
    // How long an experiment with no running trial stays in memory after its
    // last request.
    absl::Duration idle_unload = absl::Seconds(30);
    // Where to register and record the experiments' metrics (time in the
    // sampler, early-stopping decisions, expired leases); none if null. Must
    // outlive the service.
    metrics::Registry* metrics = nullptr;
  };

  // Told a request's outcome once everything it changed is durable. The
  // response is complete when it is called with OK. It may run on the caller's
  // thread or on a storage thread, and must not block.
  using Done = absl::AnyInvocable<void(absl::Status)>;

  // Reads the stored experiments' specs, and loads those with running trials
  // (their leases run on). `storage` must outlive the service; `pool` must
  // stay alive as long as requests may arrive, and be drained before the
  // service is destroyed.
  static absl::StatusOr<std::unique_ptr<Service>> Create(Storage* storage,
                                                         ThreadPool* pool,
                                                         Options options);
  ~Service();

  // One method per RPC of hpo.v1.HpoService. `request` and `response` must
  // stay alive until `done` is called.
  void CreateExperiment(const v1::CreateExperimentRequest& request,
                        v1::Experiment* response, Done done);
  void GetExperiment(const v1::GetExperimentRequest& request,
                     v1::Experiment* response, Done done);
  void ListExperiments(const v1::ListExperimentsRequest& request,
                       v1::ListExperimentsResponse* response, Done done);
  void DeleteExperiment(const v1::DeleteExperimentRequest& request,
                        google::protobuf::Empty* response, Done done);
  void GetTrialConfig(const v1::GetTrialConfigRequest& request,
                      v1::Trial* response, Done done);
  void ReportResult(const v1::ReportResultRequest& request, v1::Trial* response,
                    Done done);
  void ReportIntermediate(const v1::ReportIntermediateRequest& request,
                          v1::ReportIntermediateResponse* response, Done done);
  void StopExperiment(const v1::StopExperimentRequest& request,
                      v1::Experiment* response, Done done);
  void ResumeExperiment(const v1::ResumeExperimentRequest& request,
                        v1::Experiment* response, Done done);
  void Heartbeat(const v1::HeartbeatRequest& request, v1::Trial* response,
                 Done done);
  void ReleaseTrial(const v1::ReleaseTrialRequest& request, v1::Trial* response,
                    Done done);
  void AddTrial(const v1::AddTrialRequest& request, v1::Trial* response,
                Done done);
  void EnqueueTrial(const v1::EnqueueTrialRequest& request, v1::Trial* response,
                    Done done);
  void GetBest(const v1::GetBestRequest& request, v1::GetBestResponse* response,
               Done done);
  void ListTrials(const v1::ListTrialsRequest& request,
                  v1::ListTrialsResponse* response, Done done);

  // Applies what time alone changes (expired leases, max_duration) to the
  // experiments it is due for, and unloads idle ones. The server calls it
  // about twice a second; requests also apply it to their experiment. Returns
  // how many experiments it unloaded.
  int Tick();

  // Experiments in memory now, and stored in all. For tests and logs.
  int loaded() const;
  int stored() const;

  // What /metrics reports of the experiments: how many are in each state, and
  // their trials by state and algorithm. Loads nothing: an experiment that
  // was never loaded since start-up counts in `experiments` only.
  struct Census {
    std::map<std::string, int64_t> experiments;  // by state
    // By (trial state, algorithm).
    std::map<std::pair<std::string, std::string>, int64_t> trials;
  };
  Census TakeCensus() const;

 private:
  // One stored experiment, in memory or not.
  struct Slot {
    absl::Mutex mu;
    // Null while unloaded.
    std::unique_ptr<Experiment> live ABSL_GUARDED_BY(mu);
    // While unloaded: the experiment as the API last showed it, or only its
    // stored record when `counted` is false (trial counts unknown until it
    // was loaded once).
    v1::Experiment summary ABSL_GUARDED_BY(mu);
    bool counted ABSL_GUARDED_BY(mu) = false;
    absl::Time last_used ABSL_GUARDED_BY(mu);
    // Set by DeleteExperiment; requests that found the slot before then fail.
    bool deleted ABSL_GUARDED_BY(mu) = false;
    // Writes queued and not yet durable: while any is, the record lags
    // memory, so the experiment cannot be unloaded.
    std::atomic<int> in_flight{0};
    // Set when a write failed: memory may be ahead of the record, so the
    // experiment is reloaded before its next use.
    std::atomic<bool> stale{false};
  };
  using Operation =
      absl::AnyInvocable<absl::Status(Experiment&, absl::Time, Changes*)>;
  // What an operation may cost: kQuick calls no algorithm and may run on the
  // caller's thread; kCompute may (a sampler, an early-stopping rule).
  enum class Cost { kQuick, kCompute };

  Service(Storage* storage, ThreadPool* pool, Options options);

  std::shared_ptr<Slot> FindSlot(const std::string& name);
  // Makes sure the slot's experiment is in memory and matches the record.
  absl::Status EnsureLoaded(const std::string& name, Slot& slot)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(slot.mu);
  // The common shape of a request on one experiment: checks the name (the
  // request field `field`), finds and loads the experiment, runs `operation`
  // under its lock, queues its changes and calls `done` once they are durable.
  // Runs here if `cost` is kQuick and the experiment is loaded and free, on
  // the pool otherwise.
  void OnExperiment(const std::string& name, absl::string_view field, Cost cost,
                    Operation operation, Done done);
  void ListExperimentsNow(const v1::ListExperimentsRequest& request,
                          v1::ListExperimentsResponse* response, Done done);
  // With the slot locked and its experiment loaded: runs `operation` and
  // queues what it changed. True if it did, and the commit will call `done`;
  // false with the answer in `*answer`, for the caller to give once unlocked.
  bool Run(const std::shared_ptr<Slot>& slot, Operation& operation, Done& done,
           absl::Status* answer) ABSL_EXCLUSIVE_LOCKS_REQUIRED(slot->mu);
  // OnExperiment's work once it has the slot, on the pool.
  void RunLocked(const std::string& name, absl::string_view field,
                 std::shared_ptr<Slot> slot, Operation operation, Done done);
  // Queues `changes` of the experiment in `slot` (whose lock is held) and
  // calls `done` with `result` once they are durable, or with the failure.
  void Commit(const std::shared_ptr<Slot>& slot, const Experiment& experiment,
              Changes changes, absl::Status result, Done done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(slot->mu);
  // The experiment for listings: its live view, or its summary (counted
  // first if it never was).
  absl::StatusOr<v1::Experiment> Summary(const std::string& name, Slot& slot)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(slot.mu);

  Storage* const storage_;
  ThreadPool* const pool_;
  const Options options_;
  // Records what experiments tell it in options_.metrics; null without.
  // Given to every experiment loaded or created.
  const std::unique_ptr<ExperimentObserver> observer_;
  mutable absl::Mutex mu_;
  // Ordered by name, which is the order ListExperiments pages in.
  std::map<std::string, std::shared_ptr<Slot>> slots_ ABSL_GUARDED_BY(mu_);
  std::atomic<int> loaded_{0};
};

}  // namespace hpo

#endif  // HPO_SERVER_SERVICE_H_
