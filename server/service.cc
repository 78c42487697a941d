#include "server/service.h"

#include <algorithm>
#include <random>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/history.h"
#include "core/search_space.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "samplers/registry.h"
#include "server/experiment_spec.h"
#include "server/log.h"

namespace hpo {

using google::protobuf::util::TimeUtil;

// One experiment as the server works on it. The search space is fixed at
// creation; everything else is guarded by `mu`.
class LiveExperiment {
 public:
  absl::Mutex mu;
  v1::Experiment spec ABSL_GUARDED_BY(mu);
  SearchSpace space;
  // Null when the stored algorithm cannot be built (e.g. a removed algorithm).
  std::unique_ptr<Sampler> sampler ABSL_GUARDED_BY(mu);
  absl::Status sampler_status ABSL_GUARDED_BY(mu);
  // In number order; history.trials is parallel to it.
  std::vector<v1::Trial> trials ABSL_GUARDED_BY(mu);
  History history ABSL_GUARDED_BY(mu);
  int running ABSL_GUARDED_BY(mu) = 0;
  int completed ABSL_GUARDED_BY(mu) = 0;
  int failed ABSL_GUARDED_BY(mu) = 0;
  int pruned ABSL_GUARDED_BY(mu) = 0;
  // Set when the sampler reported it has nothing left to suggest.
  bool exhausted ABSL_GUARDED_BY(mu) = false;
  std::string exhausted_reason ABSL_GUARDED_BY(mu);
  // Set by DeleteExperiment; requests that found the experiment before then
  // fail.
  bool deleted ABSL_GUARDED_BY(mu) = false;
  // Set when a write failed: memory may be ahead of storage, so the next Find
  // reloads.
  bool stale ABSL_GUARDED_BY(mu) = false;

  v1::Trial* FindTrial(int number) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto it = std::lower_bound(
        trials.begin(), trials.end(), number,
        [](const v1::Trial& t, int n) { return t.number() < n; });
    if (it == trials.end() || it->number() != number) return nullptr;
    return &*it;
  }
  size_t IndexOf(const v1::Trial* trial) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return static_cast<size_t>(trial - trials.data());
  }

  void Count(v1::Trial::State state, int delta)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    switch (state) {
      case v1::Trial::RUNNING:
        running += delta;
        break;
      case v1::Trial::COMPLETED:
        completed += delta;
        break;
      case v1::Trial::FAILED:
        failed += delta;
        break;
      case v1::Trial::PRUNED:
        pruned += delta;
        break;
      default:
        break;
    }
  }

  // The experiment as the API shows it, with up-to-date counts.
  v1::Experiment View() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    v1::Experiment view = spec;
    v1::Experiment::Status* status = view.mutable_status();
    status->set_trials(static_cast<int32_t>(trials.size()));
    status->set_running(running);
    status->set_completed(completed);
    status->set_failed(failed);
    status->set_pruned(pruned);
    return view;
  }

  // Moves a RUNNING experiment to COMPLETED or FAILED when its limits say so.
  // True if the state changed (and so must be stored).
  bool UpdateState() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (spec.state() != v1::Experiment::RUNNING) return false;
    const int max_failed = spec.max_failed_trials();
    const int max_trials = spec.max_trials();
    if (max_failed > 0 && failed > max_failed) {
      spec.set_state(v1::Experiment::FAILED);
      spec.mutable_status()->set_message(
          absl::StrCat(failed, " trials failed, more than max_failed_trials (",
                       max_failed, ")"));
    } else if (running == 0 && max_trials > 0 &&
               static_cast<int>(trials.size()) >= max_trials) {
      spec.set_state(v1::Experiment::COMPLETED);
      spec.mutable_status()->set_message(absl::StrCat(
          "all max_trials (", max_trials, ") trials have finished"));
    } else if (running == 0 && exhausted) {
      spec.set_state(v1::Experiment::COMPLETED);
      spec.mutable_status()->set_message(exhausted_reason);
    } else {
      return false;
    }
    *spec.mutable_update_time() = TimeUtil::GetCurrentTime();
    return true;
  }
};

namespace {

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;
constexpr size_t kMaxWorkerIdLength = 256;

// Waits for every write; the first failure, or OK.
absl::Status AwaitAll(std::vector<WriteResult>& writes) {
  absl::Status result;
  for (WriteResult& w : writes) result.Update(w.get());
  return result;
}

absl::StatusOr<int> PageSize(int32_t requested) {
  if (requested < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: must be >= 0, got ", requested));
  }
  if (requested == 0) return kDefaultPageSize;
  return std::min(requested, kMaxPageSize);
}

absl::Status NotFound(absl::string_view field, absl::string_view name) {
  return absl::NotFoundError(
      absl::StrCat(field, ": experiment \"", name, "\" does not exist"));
}

absl::Status TrialNotFound(absl::string_view name, int number) {
  return absl::NotFoundError(
      absl::StrCat("trial: experiment \"", name, "\" has no trial ", number));
}

// Better for `goal`, with NaN never better.
bool Better(double a, double b, Goal goal) {
  return goal == Goal::kMaximize ? a > b : a < b;
}

bool Dominates(const TrialRecord& a, const TrialRecord& b,
               const std::vector<Goal>& goals) {
  bool strictly = false;
  for (size_t i = 0; i < goals.size(); ++i) {
    if (Better(b.values[i], a.values[i], goals[i])) return false;
    if (Better(a.values[i], b.values[i], goals[i])) strictly = true;
  }
  return strictly;
}

}  // namespace

Service::Service(Storage* storage) : storage_(storage) {}
Service::~Service() = default;

absl::StatusOr<std::unique_ptr<Service>> Service::Create(Storage* storage) {
  std::unique_ptr<Service> service(new Service(storage));
  auto stored = storage->ListExperiments();
  if (!stored.ok()) return stored.status();
  absl::MutexLock lock(&service->mu_);
  for (const v1::Experiment& e : *stored) {
    auto live = service->Load(e);
    if (!live.ok()) return live.status();
    service->experiments_[e.name()] = *std::move(live);
  }
  return service;
}

absl::StatusOr<std::shared_ptr<LiveExperiment>> Service::Load(
    const v1::Experiment& stored) {
  auto live = std::make_shared<LiveExperiment>();
  absl::MutexLock lock(&live->mu);
  live->spec = stored;
  live->space = CompileSearchSpace(stored);
  auto sampler = CreateSampler(stored.algorithm().name(), live->space,
                               {stored.algorithm().settings().begin(),
                                stored.algorithm().settings().end()});
  if (sampler.ok()) {
    live->sampler = *std::move(sampler);
  } else {
    live->sampler_status = sampler.status();
    HPO_LOG(ERROR) << "experiment \"" << stored.name()
                   << "\": cannot build its algorithm: " << sampler.status();
  }
  auto trials = storage_->ListTrials(stored.name());
  if (!trials.ok()) return trials.status();
  live->history.goals = Goals(stored);
  for (v1::Trial& trial : *trials) {
    auto record = ToTrialRecord(live->space, stored, trial);
    if (!record.ok()) return record.status();
    live->Count(trial.state(), 1);
    live->history.trials.push_back(*std::move(record));
    live->trials.push_back(std::move(trial));
  }
  return live;
}

absl::StatusOr<std::shared_ptr<LiveExperiment>> Service::Find(
    const std::string& name, absl::string_view field) {
  absl::MutexLock lock(&mu_);
  auto it = experiments_.find(name);
  if (it == experiments_.end()) return NotFound(field, name);
  std::shared_ptr<LiveExperiment> live = it->second;
  {
    absl::MutexLock live_lock(&live->mu);
    if (!live->stale) return live;
  }
  // An earlier write failed: rebuild from the record. Rare, so a full scan is
  // fine.
  auto stored = storage_->ListExperiments();
  if (!stored.ok()) return stored.status();
  for (const v1::Experiment& e : *stored) {
    if (e.name() != name) continue;
    auto reloaded = Load(e);
    if (!reloaded.ok()) return reloaded.status();
    it->second = *reloaded;
    HPO_LOG(WARNING) << "experiment \"" << name << "\" reloaded from storage";
    return *reloaded;
  }
  experiments_.erase(it);
  return NotFound(field, name);
}

void Service::MarkStale(const std::shared_ptr<LiveExperiment>& live) {
  absl::MutexLock lock(&live->mu);
  live->stale = true;
}

absl::Status Service::CreateExperiment(
    const v1::CreateExperimentRequest& request, v1::Experiment* response) {
  if (!request.has_experiment()) {
    return absl::InvalidArgumentError("experiment: is required");
  }
  v1::Experiment e = request.experiment();
  if (absl::Status s = ValidateExperiment(e); !s.ok()) return s;
  if (e.algorithm().name().empty())
    e.mutable_algorithm()->set_name(kDefaultAlgorithm);
  if (!e.has_seed()) e.set_seed(absl::Uniform<uint32_t>(absl::BitGen()));

  auto live = std::make_shared<LiveExperiment>();
  live->space = CompileSearchSpace(e);
  auto sampler = CreateSampler(
      e.algorithm().name(), live->space,
      {e.algorithm().settings().begin(), e.algorithm().settings().end()});
  if (!sampler.ok()) {
    return absl::Status(
        sampler.status().code(),
        absl::StrCat("experiment.", sampler.status().message()));
  }

  // Output-only fields are the server's to set.
  e.set_state(v1::Experiment::RUNNING);
  e.clear_status();
  *e.mutable_create_time() = TimeUtil::GetCurrentTime();
  *e.mutable_update_time() = e.create_time();

  WriteResult write;
  {
    absl::MutexLock live_lock(&live->mu);
    live->spec = e;
    live->sampler = *std::move(sampler);
    live->history.goals = Goals(e);
    *response = live->View();
  }
  {
    absl::MutexLock lock(&mu_);
    if (experiments_.count(e.name()) > 0) {
      return absl::AlreadyExistsError(absl::StrCat(
          "experiment.name: experiment \"", e.name(), "\" already exists"));
    }
    experiments_[e.name()] = live;
    write = storage_->Write(Mutation::CreateExperiment(e));
  }
  absl::Status stored = write.get();
  if (!stored.ok()) {
    absl::MutexLock lock(&mu_);
    auto it = experiments_.find(e.name());
    if (it != experiments_.end() && it->second == live) experiments_.erase(it);
    return stored;
  }
  HPO_LOG(INFO) << "created experiment \"" << e.name() << "\" (algorithm "
                << e.algorithm().name() << ", " << e.parameters_size()
                << " parameters)";
  return absl::OkStatus();
}

absl::Status Service::GetExperiment(const v1::GetExperimentRequest& request,
                                    v1::Experiment* response) {
  if (absl::Status s = ValidateExperimentName(request.name(), "name"); !s.ok())
    return s;
  auto live = Find(request.name(), "name");
  if (!live.ok()) return live.status();
  absl::MutexLock lock(&(*live)->mu);
  if ((*live)->deleted) return NotFound("name", request.name());
  *response = (*live)->View();
  return absl::OkStatus();
}

absl::Status Service::ListExperiments(const v1::ListExperimentsRequest& request,
                                      v1::ListExperimentsResponse* response) {
  auto page_size = PageSize(request.page_size());
  if (!page_size.ok()) return page_size.status();
  // The token is the last name of the previous page; names sort as the map
  // does.
  if (!request.page_token().empty() &&
      !ValidateExperimentName(request.page_token(), "page_token").ok()) {
    return absl::InvalidArgumentError("page_token: malformed page token");
  }
  std::vector<std::shared_ptr<LiveExperiment>> page;
  bool more = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = request.page_token().empty()
                  ? experiments_.begin()
                  : experiments_.upper_bound(request.page_token());
    for (; it != experiments_.end(); ++it) {
      if (static_cast<int>(page.size()) == *page_size) {
        more = true;
        break;
      }
      page.push_back(it->second);
    }
  }
  for (const auto& live : page) {
    absl::MutexLock lock(&live->mu);
    *response->add_experiments() = live->View();
  }
  if (more && !page.empty()) {
    response->set_next_page_token(
        response->experiments(response->experiments_size() - 1).name());
  }
  return absl::OkStatus();
}

absl::Status Service::DeleteExperiment(
    const v1::DeleteExperimentRequest& request, google::protobuf::Empty*) {
  if (absl::Status s = ValidateExperimentName(request.name(), "name"); !s.ok())
    return s;
  WriteResult write;
  {
    absl::MutexLock lock(&mu_);
    auto it = experiments_.find(request.name());
    if (it == experiments_.end()) return NotFound("name", request.name());
    std::shared_ptr<LiveExperiment> live = it->second;
    // Queued under the experiment's lock, so any write of a request that found
    // it earlier is queued before the delete, never after it.
    absl::MutexLock live_lock(&live->mu);
    live->deleted = true;
    write = storage_->Write(Mutation::DeleteExperiment(request.name()));
    experiments_.erase(it);
  }
  absl::Status stored = write.get();
  if (stored.ok())
    HPO_LOG(INFO) << "deleted experiment \"" << request.name() << "\"";
  return stored;
}

absl::Status Service::GetTrialConfig(const v1::GetTrialConfigRequest& request,
                                     v1::Trial* response) {
  if (absl::Status s =
          ValidateExperimentName(request.experiment(), "experiment");
      !s.ok()) {
    return s;
  }
  if (request.worker_id().size() > kMaxWorkerIdLength) {
    return absl::InvalidArgumentError(
        "worker_id: must be at most 256 characters");
  }
  auto found = Find(request.experiment(), "experiment");
  if (!found.ok()) return found.status();
  std::shared_ptr<LiveExperiment> live = *std::move(found);
  const std::string& name = request.experiment();

  std::vector<WriteResult> writes;
  {
    absl::ReleasableMutexLock lock(&live->mu);
    if (live->deleted) return NotFound("experiment", name);
    if (request.has_trial()) {
      const v1::Trial* trial = live->FindTrial(request.trial());
      if (trial == nullptr) return TrialNotFound(name, request.trial());
      *response = *trial;
      return absl::OkStatus();
    }
    const v1::Experiment& spec = live->spec;
    if (spec.state() != v1::Experiment::RUNNING) {
      return absl::FailedPreconditionError(absl::StrCat(
          "experiment \"", name, "\" is ",
          v1::Experiment::State_Name(spec.state()), " (",
          spec.status().message(), "); it allocates no more trials"));
    }
    const int allocated = static_cast<int>(live->trials.size());
    if (spec.max_trials() > 0 && allocated >= spec.max_trials()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "experiment \"", name, "\" has allocated all max_trials (",
          spec.max_trials(), ") trials; ", live->running, " still running"));
    }
    if (spec.parallel_trials() > 0 && live->running >= spec.parallel_trials()) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "experiment \"", name, "\" already runs parallel_trials (",
          spec.parallel_trials(), ") trials; report one of them first"));
    }
    if (live->sampler == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "experiment \"", name,
          "\": its algorithm cannot run: ", live->sampler_status.message()));
    }

    const int number =
        live->trials.empty() ? 0 : live->trials.back().number() + 1;
    // Seeded by experiment and trial number: the same history gives the same
    // suggestion, across restarts too.
    std::seed_seq seed{spec.seed(), static_cast<uint32_t>(number)};
    Rng rng(seed);
    auto suggestion = live->sampler->Suggest(live->space, live->history, rng);
    if (absl::IsOutOfRange(suggestion.status())) {
      live->exhausted = true;
      live->exhausted_reason = absl::StrCat("the search space is exhausted: ",
                                            suggestion.status().message());
      if (live->UpdateState()) {
        writes.push_back(
            storage_->Write(Mutation::UpdateExperiment(live->spec)));
      }
      lock.Release();
      AwaitAll(writes).IgnoreError();
      return absl::FailedPreconditionError(absl::StrCat(
          "experiment \"", name, "\": the search space is exhausted (",
          suggestion.status().message(), ")"));
    }
    if (!suggestion.ok()) {
      return absl::InternalError(absl::StrCat(
          "experiment \"", name, "\": algorithm ", spec.algorithm().name(),
          " failed: ", suggestion.status().message()));
    }

    v1::Trial trial;
    trial.set_experiment(name);
    trial.set_number(number);
    trial.set_state(v1::Trial::RUNNING);
    ParamsToProto(live->space, suggestion->params, &trial);
    trial.set_sampler_data(suggestion->sampler_data);
    trial.set_worker_id(request.worker_id());
    *trial.mutable_start_time() = TimeUtil::GetCurrentTime();

    TrialRecord record;
    record.number = number;
    record.state = TrialState::kRunning;
    record.params = std::move(suggestion->params);
    record.sampler_data = std::move(suggestion->sampler_data);
    live->history.trials.push_back(std::move(record));
    live->trials.push_back(trial);
    live->Count(v1::Trial::RUNNING, 1);
    writes.push_back(storage_->Write(Mutation::PutTrial(trial)));
    *response = std::move(trial);
  }
  absl::Status stored = AwaitAll(writes);
  if (!stored.ok()) {
    MarkStale(live);
    return stored;
  }
  HPO_LOG(DEBUG) << "experiment \"" << name << "\": trial "
                 << response->number() << " to worker \"" << request.worker_id()
                 << "\"";
  return absl::OkStatus();
}

absl::Status Service::ReportResult(const v1::ReportResultRequest& request,
                                   v1::Trial* response) {
  if (absl::Status s =
          ValidateExperimentName(request.experiment(), "experiment");
      !s.ok()) {
    return s;
  }
  if (request.trial() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("trial: must be >= 0, got ", request.trial()));
  }
  auto found = Find(request.experiment(), "experiment");
  if (!found.ok()) return found.status();
  std::shared_ptr<LiveExperiment> live = *std::move(found);
  const std::string& name = request.experiment();

  std::vector<WriteResult> writes;
  {
    absl::MutexLock lock(&live->mu);
    if (live->deleted) return NotFound("experiment", name);
    v1::Trial* trial = live->FindTrial(request.trial());
    if (trial == nullptr) return TrialNotFound(name, request.trial());
    if (absl::Status s = ValidateReport(live->spec, request); !s.ok()) return s;

    const v1::Trial::State new_state =
        request.failed() ? v1::Trial::FAILED : v1::Trial::COMPLETED;
    if (trial->state() != v1::Trial::RUNNING) {
      // A retry of the report that finished the trial is harmless; anything
      // else would rewrite a result someone may already have acted on.
      google::protobuf::util::MessageDifferencer same;
      v1::Trial reported;
      *reported.mutable_metrics() = request.metrics();
      v1::Trial stored_result;
      *stored_result.mutable_metrics() = trial->metrics();
      if (trial->state() == new_state && same.Equals(reported, stored_result) &&
          trial->failure_reason() == request.failure_reason()) {
        *response = *trial;
        return absl::OkStatus();
      }
      return absl::FailedPreconditionError(
          absl::StrCat("trial ", request.trial(), " of experiment \"", name,
                       "\" is already ", v1::Trial::State_Name(trial->state()),
                       "; a different result cannot be reported for it"));
    }

    live->Count(trial->state(), -1);
    trial->set_state(new_state);
    *trial->mutable_metrics() = request.metrics();
    trial->set_failure_reason(request.failure_reason());
    *trial->mutable_end_time() = TimeUtil::GetCurrentTime();
    live->Count(new_state, 1);
    auto record = ToTrialRecord(live->space, live->spec, *trial);
    if (record.ok())
      live->history.trials[live->IndexOf(trial)] = *std::move(record);

    writes.push_back(storage_->Write(Mutation::PutTrial(*trial)));
    if (live->UpdateState()) {
      writes.push_back(storage_->Write(Mutation::UpdateExperiment(live->spec)));
      HPO_LOG(INFO) << "experiment \"" << name << "\" is "
                    << v1::Experiment::State_Name(live->spec.state()) << ": "
                    << live->spec.status().message();
    }
    *response = *trial;
  }
  absl::Status stored = AwaitAll(writes);
  if (!stored.ok()) {
    MarkStale(live);
    return stored;
  }
  HPO_LOG(DEBUG) << "experiment \"" << name << "\": trial " << request.trial()
                 << " " << v1::Trial::State_Name(response->state());
  return absl::OkStatus();
}

absl::Status Service::GetBest(const v1::GetBestRequest& request,
                              v1::GetBestResponse* response) {
  if (absl::Status s =
          ValidateExperimentName(request.experiment(), "experiment");
      !s.ok()) {
    return s;
  }
  auto live = Find(request.experiment(), "experiment");
  if (!live.ok()) return live.status();
  absl::MutexLock lock(&(*live)->mu);
  if ((*live)->deleted) return NotFound("experiment", request.experiment());
  const History& history = (*live)->history;
  std::vector<size_t> completed;
  for (size_t i = 0; i < history.trials.size(); ++i) {
    if (history.trials[i].state == TrialState::kCompleted)
      completed.push_back(i);
  }
  if (history.goals.size() == 1) {
    // Strictly better only, so ties go to the earliest trial.
    const size_t* best = nullptr;
    for (const size_t& i : completed) {
      if (best == nullptr ||
          Better(history.trials[i].values[0], history.trials[*best].values[0],
                 history.goals[0])) {
        best = &i;
      }
    }
    if (best != nullptr) *response->add_trials() = (*live)->trials[*best];
    return absl::OkStatus();
  }
  // Several objectives: the Pareto front, in number order.
  for (size_t i : completed) {
    bool dominated = false;
    for (size_t j : completed) {
      if (Dominates(history.trials[j], history.trials[i], history.goals)) {
        dominated = true;
        break;
      }
    }
    if (!dominated) *response->add_trials() = (*live)->trials[i];
  }
  return absl::OkStatus();
}

absl::Status Service::ListTrials(const v1::ListTrialsRequest& request,
                                 v1::ListTrialsResponse* response) {
  if (absl::Status s =
          ValidateExperimentName(request.experiment(), "experiment");
      !s.ok()) {
    return s;
  }
  auto page_size = PageSize(request.page_size());
  if (!page_size.ok()) return page_size.status();
  // The token is the number of the first trial of the next page.
  int first = 0;
  if (!request.page_token().empty() &&
      (!absl::SimpleAtoi(request.page_token(), &first) || first < 0)) {
    return absl::InvalidArgumentError("page_token: malformed page token");
  }
  auto live = Find(request.experiment(), "experiment");
  if (!live.ok()) return live.status();
  absl::MutexLock lock(&(*live)->mu);
  if ((*live)->deleted) return NotFound("experiment", request.experiment());
  const auto wanted = [&](const v1::Trial& t) {
    return request.states().empty() ||
           std::find(request.states().begin(), request.states().end(),
                     t.state()) != request.states().end();
  };
  const std::vector<v1::Trial>& trials = (*live)->trials;
  auto it = std::lower_bound(
      trials.begin(), trials.end(), first,
      [](const v1::Trial& t, int n) { return t.number() < n; });
  for (; it != trials.end(); ++it) {
    if (!wanted(*it)) continue;
    if (response->trials_size() == *page_size) {
      response->set_next_page_token(absl::StrCat(it->number()));
      break;
    }
    *response->add_trials() = *it;
  }
  return absl::OkStatus();
}

}  // namespace hpo
