// Katib's Suggestion and EarlyStopping gRPC services (api.v1.beta1), served by
// calling hpo's own RPCs through an in-process channel: every Katib call is a
// few CreateExperiment, ListTrials, AddTrial, ReportResult and GetTrialConfig
// calls, so the experiments are ordinary hpo experiments (listed, watched and
// kept across restarts) and nothing here knows an algorithm.
//
// GetSuggestionsRequest is the source of truth: each call maps the Katib
// experiment to its hpo experiment (created on first sight), brings hpo's
// trials in line with the listed ones, then hands out exactly
// current_request_number new trials. See README.md.

#ifndef HPO_SERVER_KATIB_KATIB_SERVICE_H_
#define HPO_SERVER_KATIB_KATIB_SERVICE_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "api.grpc.pb.h"
#include "grpcpp/channel.h"
#include "server/katib/medianstop.h"
#include "server/rest/rpc_client.h"

namespace hpo::katib {

namespace kapi = ::api::v1::beta1;

class SuggestionService final : public kapi::Suggestion::Service {
 public:
  // `rpc` calls hpo's service; it must outlive this object.
  explicit SuggestionService(const rest::RpcClient* rpc) : rpc_(rpc) {}

  grpc::Status GetSuggestions(grpc::ServerContext* context,
                              const kapi::GetSuggestionsRequest* request,
                              kapi::GetSuggestionsReply* reply) override;

  // Creates the hpo experiment (as GetSuggestions would): INVALID_ARGUMENT
  // with hpo's message, which names the setting, if it cannot be.
  grpc::Status ValidateAlgorithmSettings(
      grpc::ServerContext* context,
      const kapi::ValidateAlgorithmSettingsRequest* request,
      kapi::ValidateAlgorithmSettingsReply* reply) override;

 private:
  // One call at a time per experiment: two overlapping calls would each add
  // the same listed trial.
  absl::Mutex* ExperimentLock(const std::string& name);

  const rest::RpcClient* const rpc_;
  absl::Mutex locks_mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<absl::Mutex>> locks_
      ABSL_GUARDED_BY(locks_mu_);
};

// medianstop (see medianstop.h). The curves of the succeeded trials come from
// Katib's DB manager when the request names one (db_manager_address), as
// Katib's own service reads them, else from the request's observations.
class EarlyStoppingService final : public kapi::EarlyStopping::Service {
 public:
  grpc::Status GetEarlyStoppingRules(
      grpc::ServerContext* context,
      const kapi::GetEarlyStoppingRulesRequest* request,
      kapi::GetEarlyStoppingRulesReply* reply) override;

  grpc::Status ValidateEarlyStoppingSettings(
      grpc::ServerContext* context,
      const kapi::ValidateEarlyStoppingSettingsRequest* request,
      kapi::ValidateEarlyStoppingSettingsReply* reply) override;

  // Katib's medianstop patches the Trial's Kubernetes status to EarlyStopped
  // here; hpo holds no Kubernetes credentials, so it acknowledges (the
  // metrics collector has already stopped the training) and logs.
  grpc::Status SetTrialStatus(grpc::ServerContext* context,
                              const kapi::SetTrialStatusRequest* request,
                              kapi::SetTrialStatusReply* reply) override;

 private:
  // The objective's values a succeeded trial logged, from the DB manager at
  // `address`; kept, since a finished trial's log no longer changes.
  absl::StatusOr<Curve> LoggedCurve(const std::string& address,
                                    const std::string& trial,
                                    const std::string& metric);

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<grpc::Channel>> channels_
      ABSL_GUARDED_BY(mu_);
  // By address, trial and metric.
  absl::flat_hash_map<std::string, Curve> curves_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hpo::katib

#endif  // HPO_SERVER_KATIB_KATIB_SERVICE_H_
