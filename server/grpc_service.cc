#include "server/grpc_service.h"

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/log.h"

namespace hpo {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

template <typename Request, typename Response>
grpc::ServerUnaryReactor* GrpcService::Dispatch(
    const char* method, grpc::CallbackServerContext* context,
    const Request* request, Response* response,
    absl::Status (::hpo::Service::*handler)(const Request&, Response*)) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::Time start = absl::Now();
  pool_->Schedule(
      [this, method, context, request, response, handler, reactor, start] {
        const absl::Status status = (service_->*handler)(*request, response);
        HPO_LOG(DEBUG) << method << " from " << context->peer() << ": "
                       << (status.ok() ? "OK" : status.ToString()) << " in "
                       << absl::FormatDuration(absl::Now() - start);
        reactor->Finish(ToGrpcStatus(status));
      });
  return reactor;
}

grpc::ServerUnaryReactor* GrpcService::CreateExperiment(
    grpc::CallbackServerContext* context,
    const v1::CreateExperimentRequest* request, v1::Experiment* response) {
  return Dispatch("CreateExperiment", context, request, response,
                  &::hpo::Service::CreateExperiment);
}

grpc::ServerUnaryReactor* GrpcService::GetExperiment(
    grpc::CallbackServerContext* context,
    const v1::GetExperimentRequest* request, v1::Experiment* response) {
  return Dispatch("GetExperiment", context, request, response,
                  &::hpo::Service::GetExperiment);
}

grpc::ServerUnaryReactor* GrpcService::ListExperiments(
    grpc::CallbackServerContext* context,
    const v1::ListExperimentsRequest* request,
    v1::ListExperimentsResponse* response) {
  return Dispatch("ListExperiments", context, request, response,
                  &::hpo::Service::ListExperiments);
}

grpc::ServerUnaryReactor* GrpcService::DeleteExperiment(
    grpc::CallbackServerContext* context,
    const v1::DeleteExperimentRequest* request,
    google::protobuf::Empty* response) {
  return Dispatch("DeleteExperiment", context, request, response,
                  &::hpo::Service::DeleteExperiment);
}

grpc::ServerUnaryReactor* GrpcService::GetTrialConfig(
    grpc::CallbackServerContext* context,
    const v1::GetTrialConfigRequest* request, v1::Trial* response) {
  return Dispatch("GetTrialConfig", context, request, response,
                  &::hpo::Service::GetTrialConfig);
}

grpc::ServerUnaryReactor* GrpcService::ReportResult(
    grpc::CallbackServerContext* context,
    const v1::ReportResultRequest* request, v1::Trial* response) {
  return Dispatch("ReportResult", context, request, response,
                  &::hpo::Service::ReportResult);
}

grpc::ServerUnaryReactor* GrpcService::ReportIntermediate(
    grpc::CallbackServerContext* context,
    const v1::ReportIntermediateRequest* request,
    v1::ReportIntermediateResponse* response) {
  return Dispatch("ReportIntermediate", context, request, response,
                  &::hpo::Service::ReportIntermediate);
}

grpc::ServerUnaryReactor* GrpcService::StopExperiment(
    grpc::CallbackServerContext* context,
    const v1::StopExperimentRequest* request, v1::Experiment* response) {
  return Dispatch("StopExperiment", context, request, response,
                  &::hpo::Service::StopExperiment);
}

grpc::ServerUnaryReactor* GrpcService::ResumeExperiment(
    grpc::CallbackServerContext* context,
    const v1::ResumeExperimentRequest* request, v1::Experiment* response) {
  return Dispatch("ResumeExperiment", context, request, response,
                  &::hpo::Service::ResumeExperiment);
}

grpc::ServerUnaryReactor* GrpcService::Heartbeat(
    grpc::CallbackServerContext* context, const v1::HeartbeatRequest* request,
    v1::Trial* response) {
  return Dispatch("Heartbeat", context, request, response,
                  &::hpo::Service::Heartbeat);
}

grpc::ServerUnaryReactor* GrpcService::ReleaseTrial(
    grpc::CallbackServerContext* context,
    const v1::ReleaseTrialRequest* request, v1::Trial* response) {
  return Dispatch("ReleaseTrial", context, request, response,
                  &::hpo::Service::ReleaseTrial);
}

grpc::ServerUnaryReactor* GrpcService::AddTrial(
    grpc::CallbackServerContext* context, const v1::AddTrialRequest* request,
    v1::Trial* response) {
  return Dispatch("AddTrial", context, request, response,
                  &::hpo::Service::AddTrial);
}

grpc::ServerUnaryReactor* GrpcService::EnqueueTrial(
    grpc::CallbackServerContext* context,
    const v1::EnqueueTrialRequest* request, v1::Trial* response) {
  return Dispatch("EnqueueTrial", context, request, response,
                  &::hpo::Service::EnqueueTrial);
}

grpc::ServerUnaryReactor* GrpcService::GetBest(
    grpc::CallbackServerContext* context, const v1::GetBestRequest* request,
    v1::GetBestResponse* response) {
  return Dispatch("GetBest", context, request, response,
                  &::hpo::Service::GetBest);
}

grpc::ServerUnaryReactor* GrpcService::ListTrials(
    grpc::CallbackServerContext* context, const v1::ListTrialsRequest* request,
    v1::ListTrialsResponse* response) {
  return Dispatch("ListTrials", context, request, response,
                  &::hpo::Service::ListTrials);
}

}  // namespace hpo
