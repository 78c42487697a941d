#include "server/katib/katib_service.h"

#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "hpo/v1/hpo.pb.h"
#include "server/import/foreign_names.h"
#include "server/katib/medianstop.h"
#include "server/katib/translate.h"
#include "server/log.h"

namespace hpo::katib {
namespace {

constexpr char kService[] = "/hpo.v1.HpoService/";
// Workers of running trials that hpo did not suggest (Katib ran them before
// hpo served it, or under another spec) are named after the Katib Trial.
constexpr char kForeignWorker[] = "katib-trial:";

std::string Method(const char* name) { return absl::StrCat(kService, name); }

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

// hpo's answer as Katib's user should read it.
grpc::Status Katib(const grpc::Status& s) {
  return grpc::Status(s.error_code(), KatibMessage(s.error_message()));
}

// Whether a failed call is about the listed trial (it cannot be recorded as
// listed: it no longer fits the space, or hpo's record moved on), which is
// logged and skipped, rather than about the service, which fails the call so
// that Katib's controller retries it.
bool AboutTheTrial(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
         s.error_code() == grpc::StatusCode::FAILED_PRECONDITION ||
         s.error_code() == grpc::StatusCode::NOT_FOUND;
}

// Starts every call at once (the service commits their writes together) and
// waits for all of them.
std::vector<grpc::Status> CallAll(
    const rest::RpcClient& rpc,
    const std::vector<std::pair<std::string, std::string>>& calls) {
  std::vector<grpc::Status> statuses(calls.size());
  if (calls.empty()) return statuses;
  absl::BlockingCounter pending(static_cast<int>(calls.size()));
  for (size_t i = 0; i < calls.size(); ++i) {
    rpc.CallAsync(calls[i].first, calls[i].second,
                  [&statuses, &pending, i](grpc::Status s, std::string) {
                    statuses[i] = std::move(s);
                    pending.DecrementCount();
                  });
  }
  pending.Wait();
  return statuses;
}

// The hpo experiment for `experiment`, created if this is its first call.
absl::StatusOr<v1::Experiment> Ensure(const rest::RpcClient& rpc,
                                      const kapi::Experiment& experiment,
                                      grpc::Status* error) {
  absl::StatusOr<v1::CreateExperimentRequest> create =
      CreateRequest(experiment);
  if (!create.ok()) {
    *error = Invalid(std::string(create.status().message()));
    return create.status();
  }
  const std::string& name = create->experiment().name();
  v1::GetExperimentRequest get;
  get.set_name(name);
  v1::Experiment found;
  grpc::Status s = rpc.Call(Method("GetExperiment"), get, &found);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
    s = rpc.Call(Method("CreateExperiment"), *create, &found);
    if (s.ok()) {
      HPO_LOG(INFO) << "Katib experiment \"" << experiment.name()
                    << "\" is hpo experiment \"" << name << "\" (algorithm "
                    << found.algorithm().name() << ")";
    }
    // Created meanwhile by an overlapping call: the same spec, so fine.
    if (s.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
      s = rpc.Call(Method("GetExperiment"), get, &found);
    }
  }
  if (!s.ok()) {
    *error = Katib(s);
    return absl::UnknownError("");
  }
  return found;
}

absl::StatusOr<std::vector<v1::Trial>> ListAll(const rest::RpcClient& rpc,
                                               const std::string& experiment,
                                               grpc::Status* error) {
  std::vector<v1::Trial> trials;
  v1::ListTrialsRequest list;
  list.set_experiment(experiment);
  list.set_page_size(1000);
  while (true) {
    v1::ListTrialsResponse page;
    grpc::Status s = rpc.Call(Method("ListTrials"), list, &page);
    if (!s.ok()) {
      *error = Katib(s);
      return absl::UnknownError("");
    }
    for (v1::Trial& t : *page.mutable_trials()) trials.push_back(std::move(t));
    if (page.next_page_token().empty()) return trials;
    list.set_page_token(page.next_page_token());
  }
}

// The report that brings hpo's running trial `h` in line with what Katib
// says of it, if it needs one.
std::optional<v1::ReportResultRequest> ReportFor(const v1::Trial& h,
                                                 const TrialOutcome& outcome) {
  if (h.state() != v1::Trial::RUNNING ||
      outcome.kind == TrialOutcome::kRunning) {
    return std::nullopt;
  }
  v1::ReportResultRequest report;
  report.set_experiment(h.experiment());
  report.set_trial(h.number());
  report.set_worker_id(h.worker_id());
  if (outcome.kind == TrialOutcome::kFailed) {
    report.set_failed(true);
    report.set_failure_reason(outcome.reason);
  } else {
    report.set_pruned(outcome.kind == TrialOutcome::kPruned);
    for (const auto& [metric, value] : outcome.metrics) {
      (*report.mutable_metrics())[metric] = value;
    }
  }
  return report;
}

// hpo's record of a listed trial it did not suggest: AddTrial's matching
// key, its parameters and result.
std::string AddedKey(const Params& params, bool completed) {
  return absl::StrCat(completed ? "C" : "F", ParamsKey(params));
}

// Brings hpo's record of experiment `name` in line with the trials `request`
// lists: reports the ones hpo suggested that finished, records the ones it did
// not suggest. A listed trial that cannot be recorded as listed is logged and
// left out; a failure of the service fails the call.
grpc::Status BringInLine(const rest::RpcClient& rpc,
                         const kapi::GetSuggestionsRequest& request,
                         const std::string& name,
                         const std::string& incarnation) {
  const kapi::Experiment& katib = request.experiment();
  const kapi::ExperimentSpec& spec = katib.spec();
  grpc::Status error;
  absl::StatusOr<std::vector<v1::Trial>> trials = ListAll(rpc, name, &error);
  if (!trials.ok()) return error;

  // hpo's trials by number, by the worker a foreign running trial was handed
  // to, and the added ones by parameters and result.
  std::map<int, const v1::Trial*> by_number;
  std::map<std::string, const v1::Trial*> by_worker;
  std::multimap<std::string, const v1::Trial*> added;
  for (const v1::Trial& t : *trials) {
    by_number[t.number()] = &t;
    if (t.worker_id().rfind(kForeignWorker, 0) == 0) {
      by_worker[t.worker_id()] = &t;
    }
    if (t.origin() == v1::Trial::ADDED) {
      added.emplace(AddedKey(t.parameters(), t.state() == v1::Trial::COMPLETED),
                    &t);
    }
  }

  std::vector<std::pair<std::string, std::string>> calls;
  std::vector<std::string> call_trials;  // the Katib trial of each call
  std::vector<std::pair<std::string, Params>> foreign_running;
  for (int i = 0; i < request.trials_size(); ++i) {
    const kapi::Trial& t = request.trials(i);
    const TrialOutcome outcome = OutcomeOf(spec, t);
    const v1::Trial* h = nullptr;
    if (std::optional<int> n = TrialNumber(katib, incarnation, t.name());
        n.has_value()) {
      auto it = by_number.find(*n);
      if (it != by_number.end()) h = it->second;
    }
    if (h == nullptr) {
      auto it = by_worker.find(absl::StrCat(kForeignWorker, t.name()));
      if (it != by_worker.end()) h = it->second;
    }
    if (h != nullptr) {
      if (std::optional<v1::ReportResultRequest> report =
              ReportFor(*h, outcome);
          report.has_value()) {
        calls.emplace_back(Method("ReportResult"), report->SerializeAsString());
        call_trials.push_back(t.name());
      }
      continue;
    }
    // A trial hpo did not suggest: recorded once, found again by its
    // parameters (finished) or its worker (running).
    absl::StatusOr<Params> params = ParamsFromAssignments(
        spec, t.spec().parameter_assignments().assignments(),
        absl::StrCat("trials[", i, "].spec.parameter_assignments.assignments"));
    if (!params.ok()) {
      HPO_LOG(WARNING) << "Katib trial \"" << t.name()
                       << "\" is left out: " << params.status().message();
      continue;
    }
    if (outcome.kind == TrialOutcome::kRunning) {
      foreign_running.emplace_back(t.name(), *std::move(params));
      continue;
    }
    const bool completed = outcome.kind == TrialOutcome::kCompleted;
    auto match = added.find(AddedKey(*params, completed));
    if (match != added.end()) {
      added.erase(match);
      continue;
    }
    v1::AddTrialRequest add;
    add.set_experiment(name);
    *add.mutable_parameters() = *std::move(params);
    if (completed) {
      for (const auto& [metric, value] : outcome.metrics) {
        (*add.mutable_metrics())[metric] = value;
      }
    } else {
      add.set_failed(true);
    }
    calls.emplace_back(Method("AddTrial"), add.SerializeAsString());
    call_trials.push_back(t.name());
  }
  const std::vector<grpc::Status> done = CallAll(rpc, calls);
  for (size_t i = 0; i < done.size(); ++i) {
    if (done[i].ok()) continue;
    if (!AboutTheTrial(done[i])) return Katib(done[i]);
    HPO_LOG(WARNING) << "Katib trial \"" << call_trials[i]
                     << "\" could not be recorded: " << done[i].error_message();
  }

  // Running trials hpo did not suggest take their parameters out of the
  // search: queued, then handed to a worker named after the Trial.
  for (auto& [trial_name, params] : foreign_running) {
    v1::EnqueueTrialRequest enqueue;
    enqueue.set_experiment(name);
    *enqueue.mutable_parameters() = std::move(params);
    v1::Trial queued;
    grpc::Status s = rpc.Call(Method("EnqueueTrial"), enqueue, &queued);
    if (s.ok()) {
      v1::GetTrialConfigRequest take;
      take.set_experiment(name);
      take.set_worker_id(absl::StrCat(kForeignWorker, trial_name));
      v1::Trial taken;
      s = rpc.Call(Method("GetTrialConfig"), take, &taken);
    }
    if (!s.ok()) {
      if (!AboutTheTrial(s)) return Katib(s);
      HPO_LOG(WARNING) << "running Katib trial \"" << trial_name
                       << "\" could not be recorded: " << s.error_message();
    }
  }

  return grpc::Status::OK;
}

// Hands out exactly current_request_number new trials of experiment `name`.
grpc::Status Suggest(const rest::RpcClient& rpc,
                     const kapi::GetSuggestionsRequest& request,
                     const std::string& name, const std::string& incarnation,
                     kapi::GetSuggestionsReply* reply) {
  const kapi::Experiment& katib = request.experiment();
  const kapi::ExperimentSpec& spec = katib.spec();
  const int wanted = request.current_request_number();
  // The new trials. Each asks as the worker of its place in Katib's count of
  // requests, so a call Katib repeats (its answer lost) gets the same trials
  // back rather than new ones.
  const int total = request.total_request_number();
  for (int i = 0; i < wanted; ++i) {
    v1::GetTrialConfigRequest suggest;
    suggest.set_experiment(name);
    if (total >= wanted) {
      suggest.set_worker_id(absl::StrCat("katib-request-", total - wanted + i));
    }
    v1::Trial trial;
    grpc::Status s = rpc.Call(Method("GetTrialConfig"), suggest, &trial);
    if (!s.ok()) {
      return grpc::Status(s.error_code(),
                          absl::StrCat("suggestion ", i + 1, " of ", wanted,
                                       ": ", KatibMessage(s.error_message())));
    }
    kapi::GetSuggestionsReply::ParameterAssignments* out =
        reply->add_parameter_assignments();
    for (kapi::ParameterAssignment& a :
         AssignmentsFromParams(spec, trial.parameters())) {
      *out->add_assignments() = std::move(a);
    }
    out->set_trial_name(TrialName(katib, incarnation, trial.number()));
  }
  return grpc::Status::OK;
}

}  // namespace

absl::Mutex* SuggestionService::ExperimentLock(const std::string& name) {
  absl::MutexLock lock(&locks_mu_);
  std::unique_ptr<absl::Mutex>& mu = locks_[name];
  if (mu == nullptr) mu = std::make_unique<absl::Mutex>();
  return mu.get();
}

grpc::Status SuggestionService::GetSuggestions(
    grpc::ServerContext*, const kapi::GetSuggestionsRequest* request,
    kapi::GetSuggestionsReply* reply) {
  if (request->current_request_number() < 0) {
    return Invalid(absl::StrCat("current_request_number: must be >= 0, got ",
                                request->current_request_number()));
  }
  grpc::Status error;
  absl::StatusOr<v1::Experiment> hpo =
      Ensure(*rpc_, request->experiment(), &error);
  if (!hpo.ok()) return error;
  const std::string incarnation = Incarnation(*hpo);
  absl::MutexLock lock(ExperimentLock(hpo->name()));
  if (grpc::Status s = BringInLine(*rpc_, *request, hpo->name(), incarnation);
      !s.ok()) {
    return s;
  }
  return Suggest(*rpc_, *request, hpo->name(), incarnation, reply);
}

grpc::Status SuggestionService::ValidateAlgorithmSettings(
    grpc::ServerContext*, const kapi::ValidateAlgorithmSettingsRequest* request,
    kapi::ValidateAlgorithmSettingsReply*) {
  grpc::Status error;
  if (Ensure(*rpc_, request->experiment(), &error).ok()) {
    return grpc::Status::OK;
  }
  // Katib reads INVALID_ARGUMENT as "the settings are wrong" and shows the
  // message; anything else as the service's trouble.
  if (error.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
      error.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
    return Invalid(error.error_message());
  }
  return error;
}

absl::StatusOr<Curve> EarlyStoppingService::LoggedCurve(
    const std::string& address, const std::string& trial,
    const std::string& metric) {
  const std::string key = absl::StrCat(address, "\n", trial, "\n", metric);
  std::shared_ptr<grpc::Channel> channel;
  {
    absl::MutexLock lock(&mu_);
    if (auto it = curves_.find(key); it != curves_.end()) return it->second;
    std::shared_ptr<grpc::Channel>& c = channels_[address];
    // Katib's DB manager is dialed as Katib's services dial it: plaintext.
    if (c == nullptr) {
      c = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
    }
    channel = c;
  }
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(60));
  kapi::GetObservationLogRequest request;
  request.set_trial_name(trial);
  request.set_metric_name(metric);
  kapi::GetObservationLogReply reply;
  grpc::Status s = kapi::DBManager::NewStub(channel)->GetObservationLog(
      &context, request, &reply);
  if (!s.ok()) {
    return absl::UnavailableError(absl::StrCat("Katib's DB manager at ",
                                               address, ": observation log of ",
                                               trial, ": ", s.error_message()));
  }
  Curve curve;
  for (const kapi::MetricLog& log : reply.observation_log().metric_logs()) {
    double v;
    if (log.metric().name() == metric &&
        absl::SimpleAtod(log.metric().value(), &v) && std::isfinite(v)) {
      curve.push_back(v);
    }
  }
  absl::MutexLock lock(&mu_);
  curves_[key] = curve;
  return curve;
}

grpc::Status EarlyStoppingService::GetEarlyStoppingRules(
    grpc::ServerContext*, const kapi::GetEarlyStoppingRulesRequest* request,
    kapi::GetEarlyStoppingRulesReply* reply) {
  const kapi::ExperimentSpec& spec = request->experiment().spec();
  absl::StatusOr<MedianStopSettings> settings = ReadMedianStopSettings(
      spec.early_stopping().algorithm_settings(),
      "experiment.spec.early_stopping.algorithm_settings");
  if (!settings.ok()) return Invalid(std::string(settings.status().message()));
  std::vector<Curve> curves;
  for (const kapi::Trial& t : request->trials()) {
    if (t.status().condition() != kapi::TrialStatus::SUCCEEDED) continue;
    if (request->db_manager_address().empty()) {
      curves.push_back(CurveOf(spec, t));
      continue;
    }
    absl::StatusOr<Curve> logged =
        LoggedCurve(request->db_manager_address(), t.name(),
                    spec.objective().objective_metric_name());
    // UNAVAILABLE: Katib's controller tries again.
    if (!logged.ok()) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          std::string(logged.status().message()));
    }
    curves.push_back(*std::move(logged));
  }
  for (kapi::EarlyStoppingRule& rule :
       MedianStopRules(spec, curves, *settings)) {
    *reply->add_early_stopping_rules() = std::move(rule);
  }
  return grpc::Status::OK;
}

grpc::Status EarlyStoppingService::ValidateEarlyStoppingSettings(
    grpc::ServerContext*,
    const kapi::ValidateEarlyStoppingSettingsRequest* request,
    kapi::ValidateEarlyStoppingSettingsReply*) {
  const kapi::EarlyStoppingSpec& spec = request->early_stopping();
  const ForeignAlgorithm* known =
      FindForeignAlgorithm(KatibEarlyStopping(), spec.algorithm_name());
  if (known == nullptr) {
    return Invalid(absl::StrCat(
        "early_stopping.algorithm_name: unknown early stopping algorithm \"",
        spec.algorithm_name(),
        "\" (known: ", ForeignAlgorithmNames(KatibEarlyStopping()), ")"));
  }
  absl::StatusOr<MedianStopSettings> settings = ReadMedianStopSettings(
      spec.algorithm_settings(), "early_stopping.algorithm_settings");
  if (!settings.ok()) return Invalid(std::string(settings.status().message()));
  return grpc::Status::OK;
}

grpc::Status EarlyStoppingService::SetTrialStatus(
    grpc::ServerContext*, const kapi::SetTrialStatusRequest* request,
    kapi::SetTrialStatusReply*) {
  HPO_LOG(INFO) << "Katib trial \"" << request->trial_name()
                << "\" was stopped early by its metrics collector";
  return grpc::Status::OK;
}

}  // namespace hpo::katib
