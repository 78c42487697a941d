// Small synchronous helpers over the generated stub, so end-to-end tests read
// as what they check.

#ifndef HPO_TESTS_TEST_CLIENT_H_
#define HPO_TESTS_TEST_CLIENT_H_

#include <map>
#include <memory>
#include <string>

#include "google/protobuf/text_format.h"
#include "grpcpp/client_context.h"
#include "hpo/v1/hpo.grpc.pb.h"

namespace hpo::testing {

inline v1::Experiment ParseExperiment(const std::string& text) {
  v1::Experiment e;
  google::protobuf::TextFormat::ParseFromString(text, &e);
  return e;
}

class TestClient {
 public:
  explicit TestClient(std::unique_ptr<v1::HpoService::Stub> stub)
      : stub_(std::move(stub)) {}

  grpc::Status Create(const v1::Experiment& e, v1::Experiment* out = nullptr) {
    grpc::ClientContext ctx;
    v1::CreateExperimentRequest req;
    *req.mutable_experiment() = e;
    v1::Experiment ignored;
    return stub_->CreateExperiment(&ctx, req, out ? out : &ignored);
  }

  grpc::Status Suggest(const std::string& exp, v1::Trial* trial,
                       const std::string& worker = "") {
    grpc::ClientContext ctx;
    v1::GetTrialConfigRequest req;
    req.set_experiment(exp);
    req.set_worker_id(worker);
    return stub_->GetTrialConfig(&ctx, req, trial);
  }

  grpc::Status Report(const std::string& exp, int trial,
                      const std::map<std::string, double>& metrics,
                      const std::string& worker = "", bool failed = false,
                      v1::Trial* out = nullptr) {
    grpc::ClientContext ctx;
    v1::ReportResultRequest req;
    req.set_experiment(exp);
    req.set_trial(trial);
    req.set_failed(failed);
    req.set_worker_id(worker);
    for (const auto& [k, v] : metrics) (*req.mutable_metrics())[k] = v;
    v1::Trial ignored;
    return stub_->ReportResult(&ctx, req, out ? out : &ignored);
  }

  grpc::Status Intermediate(const std::string& exp, int trial, int step,
                            const std::map<std::string, double>& metrics,
                            v1::ReportIntermediateResponse* out = nullptr,
                            const std::string& worker = "") {
    grpc::ClientContext ctx;
    v1::ReportIntermediateRequest req;
    req.set_experiment(exp);
    req.set_trial(trial);
    req.set_step(step);
    req.set_worker_id(worker);
    for (const auto& [k, v] : metrics) (*req.mutable_metrics())[k] = v;
    v1::ReportIntermediateResponse ignored;
    return stub_->ReportIntermediate(&ctx, req, out ? out : &ignored);
  }

  grpc::Status ReportPruned(const std::string& exp, int trial,
                            const std::map<std::string, double>& metrics,
                            v1::Trial* out = nullptr) {
    grpc::ClientContext ctx;
    v1::ReportResultRequest req;
    req.set_experiment(exp);
    req.set_trial(trial);
    req.set_pruned(true);
    for (const auto& [k, v] : metrics) (*req.mutable_metrics())[k] = v;
    v1::Trial ignored;
    return stub_->ReportResult(&ctx, req, out ? out : &ignored);
  }

  grpc::Status Heartbeat(const std::string& exp, int trial,
                         const std::string& worker, v1::Trial* out = nullptr) {
    grpc::ClientContext ctx;
    v1::HeartbeatRequest req;
    req.set_experiment(exp);
    req.set_trial(trial);
    req.set_worker_id(worker);
    v1::Trial ignored;
    return stub_->Heartbeat(&ctx, req, out ? out : &ignored);
  }

  v1::Experiment Get(const std::string& name) {
    grpc::ClientContext ctx;
    v1::GetExperimentRequest req;
    req.set_name(name);
    v1::Experiment e;
    stub_->GetExperiment(&ctx, req, &e);
    return e;
  }

  grpc::Status Stop(const std::string& name, v1::Experiment* out = nullptr) {
    grpc::ClientContext ctx;
    v1::StopExperimentRequest req;
    req.set_name(name);
    v1::Experiment ignored;
    return stub_->StopExperiment(&ctx, req, out ? out : &ignored);
  }

  grpc::Status Resume(const std::string& name, v1::Experiment* out = nullptr) {
    grpc::ClientContext ctx;
    v1::ResumeExperimentRequest req;
    req.set_name(name);
    v1::Experiment ignored;
    return stub_->ResumeExperiment(&ctx, req, out ? out : &ignored);
  }

  grpc::Status Add(const v1::AddTrialRequest& req, v1::Trial* out = nullptr) {
    grpc::ClientContext ctx;
    v1::Trial ignored;
    return stub_->AddTrial(&ctx, req, out ? out : &ignored);
  }

  grpc::Status Enqueue(const v1::EnqueueTrialRequest& req,
                       v1::Trial* out = nullptr) {
    grpc::ClientContext ctx;
    v1::Trial ignored;
    return stub_->EnqueueTrial(&ctx, req, out ? out : &ignored);
  }

  v1::ListTrialsResponse Trials(const std::string& exp) {
    grpc::ClientContext ctx;
    v1::ListTrialsRequest req;
    req.set_experiment(exp);
    req.set_page_size(1000);
    v1::ListTrialsResponse resp;
    stub_->ListTrials(&ctx, req, &resp);
    return resp;
  }

  v1::HpoService::Stub* stub() { return stub_.get(); }

 private:
  std::unique_ptr<v1::HpoService::Stub> stub_;
};

}  // namespace hpo::testing

#endif  // HPO_TESTS_TEST_CLIENT_H_
