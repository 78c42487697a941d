// HpoService over gRPC's callback API. Each handler hands its request to a
// thread pool, where the transport-independent Service does the work, and
// finishes the call from there: gRPC's own threads never wait on a sampler or a
// disk.

#ifndef HPO_SERVER_GRPC_SERVICE_H_
#define HPO_SERVER_GRPC_SERVICE_H_

#include "hpo/v1/hpo.grpc.pb.h"
#include "server/service.h"
#include "server/thread_pool.h"

namespace hpo {

// The gRPC status with the same code and message.
grpc::Status ToGrpcStatus(const absl::Status& status);

class GrpcService final : public v1::HpoService::CallbackService {
 public:
  // `service` and `pool` must outlive this object.
  GrpcService(::hpo::Service* service, ThreadPool* pool)
      : service_(service), pool_(pool) {}

  grpc::ServerUnaryReactor* CreateExperiment(
      grpc::CallbackServerContext* context,
      const v1::CreateExperimentRequest* request,
      v1::Experiment* response) override;
  grpc::ServerUnaryReactor* GetExperiment(
      grpc::CallbackServerContext* context,
      const v1::GetExperimentRequest* request,
      v1::Experiment* response) override;
  grpc::ServerUnaryReactor* ListExperiments(
      grpc::CallbackServerContext* context,
      const v1::ListExperimentsRequest* request,
      v1::ListExperimentsResponse* response) override;
  grpc::ServerUnaryReactor* DeleteExperiment(
      grpc::CallbackServerContext* context,
      const v1::DeleteExperimentRequest* request,
      google::protobuf::Empty* response) override;
  grpc::ServerUnaryReactor* GetTrialConfig(
      grpc::CallbackServerContext* context,
      const v1::GetTrialConfigRequest* request, v1::Trial* response) override;
  grpc::ServerUnaryReactor* ReportResult(grpc::CallbackServerContext* context,
                                         const v1::ReportResultRequest* request,
                                         v1::Trial* response) override;
  grpc::ServerUnaryReactor* ReportIntermediate(
      grpc::CallbackServerContext* context,
      const v1::ReportIntermediateRequest* request,
      v1::ReportIntermediateResponse* response) override;
  grpc::ServerUnaryReactor* StopExperiment(
      grpc::CallbackServerContext* context,
      const v1::StopExperimentRequest* request,
      v1::Experiment* response) override;
  grpc::ServerUnaryReactor* ResumeExperiment(
      grpc::CallbackServerContext* context,
      const v1::ResumeExperimentRequest* request,
      v1::Experiment* response) override;
  grpc::ServerUnaryReactor* Heartbeat(grpc::CallbackServerContext* context,
                                      const v1::HeartbeatRequest* request,
                                      v1::Trial* response) override;
  grpc::ServerUnaryReactor* ReleaseTrial(grpc::CallbackServerContext* context,
                                         const v1::ReleaseTrialRequest* request,
                                         v1::Trial* response) override;
  grpc::ServerUnaryReactor* AddTrial(grpc::CallbackServerContext* context,
                                     const v1::AddTrialRequest* request,
                                     v1::Trial* response) override;
  grpc::ServerUnaryReactor* EnqueueTrial(grpc::CallbackServerContext* context,
                                         const v1::EnqueueTrialRequest* request,
                                         v1::Trial* response) override;
  grpc::ServerUnaryReactor* GetBest(grpc::CallbackServerContext* context,
                                    const v1::GetBestRequest* request,
                                    v1::GetBestResponse* response) override;
  grpc::ServerUnaryReactor* ListTrials(
      grpc::CallbackServerContext* context,
      const v1::ListTrialsRequest* request,
      v1::ListTrialsResponse* response) override;

 private:
  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* Dispatch(
      const char* method, grpc::CallbackServerContext* context,
      const Request* request, Response* response,
      absl::Status (::hpo::Service::*handler)(const Request&, Response*));

  ::hpo::Service* const service_;
  ThreadPool* const pool_;
};

}  // namespace hpo

#endif  // HPO_SERVER_GRPC_SERVICE_H_
