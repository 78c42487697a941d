// The logic of every HpoService RPC, independent of transport: the gRPC server
// and the REST gateway both call this class, so no RPC is implemented twice.
//
// Live experiments are held in memory, each behind its own mutex; storage is
// the record the cache is rebuilt from at start-up. A request locks only its
// own experiment, and it waits for its storage write with no lock held, so one
// experiment's slow sampler or another's disk commit never holds up the rest.

#ifndef HPO_SERVER_SERVICE_H_
#define HPO_SERVER_SERVICE_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/empty.pb.h"
#include "hpo/v1/hpo.pb.h"
#include "storage/storage.h"

namespace hpo {

class LiveExperiment;

class Service {
 public:
  // Loads every stored experiment and its trials. `storage` must outlive the
  // service.
  static absl::StatusOr<std::unique_ptr<Service>> Create(Storage* storage);
  ~Service();

  absl::Status CreateExperiment(const v1::CreateExperimentRequest& request,
                                v1::Experiment* response);
  absl::Status GetExperiment(const v1::GetExperimentRequest& request,
                             v1::Experiment* response);
  absl::Status ListExperiments(const v1::ListExperimentsRequest& request,
                               v1::ListExperimentsResponse* response);
  absl::Status DeleteExperiment(const v1::DeleteExperimentRequest& request,
                                google::protobuf::Empty* response);
  absl::Status GetTrialConfig(const v1::GetTrialConfigRequest& request,
                              v1::Trial* response);
  absl::Status ReportResult(const v1::ReportResultRequest& request,
                            v1::Trial* response);
  absl::Status ReportIntermediate(const v1::ReportIntermediateRequest& request,
                                  v1::ReportIntermediateResponse* response);
  absl::Status StopExperiment(const v1::StopExperimentRequest& request,
                              v1::Experiment* response);
  absl::Status ResumeExperiment(const v1::ResumeExperimentRequest& request,
                                v1::Experiment* response);
  absl::Status Heartbeat(const v1::HeartbeatRequest& request,
                         v1::Trial* response);
  absl::Status ReleaseTrial(const v1::ReleaseTrialRequest& request,
                            v1::Trial* response);
  absl::Status AddTrial(const v1::AddTrialRequest& request,
                        v1::Trial* response);
  absl::Status EnqueueTrial(const v1::EnqueueTrialRequest& request,
                            v1::Trial* response);
  absl::Status GetBest(const v1::GetBestRequest& request,
                       v1::GetBestResponse* response);
  absl::Status ListTrials(const v1::ListTrialsRequest& request,
                          v1::ListTrialsResponse* response);

  // Applies what time alone changes: expired leases send their trials back to
  // WAITING, and experiments past max_duration become TIMED_OUT. The server
  // calls it about once a second; requests also apply it to their experiment.
  void Tick();

 private:
  explicit Service(Storage* storage);

  // The live experiment called `name`, or NOT_FOUND naming `field`. If an
  // earlier write to it failed, first rebuilds it from storage so memory
  // matches the record.
  absl::StatusOr<std::shared_ptr<LiveExperiment>> Find(const std::string& name,
                                                       absl::string_view field);
  // The common shape of a request on one experiment: checks the name, finds
  // the experiment, runs `body` under its lock (NOT_FOUND if it was deleted
  // meanwhile), then waits with no lock held for the writes `body` queued; a
  // failed write marks the experiment stale and is the answer. `field` names
  // the request field holding the name, for messages.
  absl::Status WithExperiment(const std::string& name,
                              absl::FunctionRef<absl::Status(
                                  LiveExperiment*, std::vector<WriteResult>&)>
                                  body,
                              absl::string_view field = "experiment");
  // Forgets the cached copy of an experiment whose write failed; the next Find
  // reloads.
  void MarkStale(const std::shared_ptr<LiveExperiment>& live);
  absl::StatusOr<std::shared_ptr<LiveExperiment>> Load(
      const v1::Experiment& stored);

  Storage* const storage_;
  absl::Mutex mu_;
  // Ordered by name, which is the order ListExperiments pages in.
  std::map<std::string, std::shared_ptr<LiveExperiment>> experiments_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace hpo

#endif  // HPO_SERVER_SERVICE_H_
