#include "server/service.h"

#include <algorithm>
#include <random>
#include <set>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/history.h"
#include "core/search_space.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "pruners/registry.h"
#include "samplers/registry.h"
#include "server/experiment_spec.h"
#include "server/import/spec_import.h"
#include "server/log.h"

namespace hpo {
namespace {

using google::protobuf::util::TimeUtil;

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;
constexpr size_t kMaxWorkerIdLength = 256;
constexpr absl::Duration kDefaultLease = absl::Minutes(10);

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

google::protobuf::Timestamp ToProto(absl::Time t) {
  return TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

std::string Num(double v) { return absl::StrFormat("%g", v); }

TrialState ToTrialState(v1::Trial::State state) {
  switch (state) {
    case v1::Trial::WAITING:
      return TrialState::kWaiting;
    case v1::Trial::RUNNING:
      return TrialState::kRunning;
    case v1::Trial::COMPLETED:
      return TrialState::kCompleted;
    case v1::Trial::PRUNED:
      return TrialState::kPruned;
    default:
      return TrialState::kFailed;
  }
}

}  // namespace

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
  // Null when the experiment has no early stopping.
  std::unique_ptr<Pruner> pruner ABSL_GUARDED_BY(mu);
  // In number order; history.trials is parallel to it.
  std::vector<v1::Trial> trials ABSL_GUARDED_BY(mu);
  History history ABSL_GUARDED_BY(mu);
  int running_count ABSL_GUARDED_BY(mu) = 0;
  int completed ABSL_GUARDED_BY(mu) = 0;
  int failed ABSL_GUARDED_BY(mu) = 0;
  int pruned ABSL_GUARDED_BY(mu) = 0;
  // Trials that count towards max_trials: all but those added by AddTrial.
  int allocated ABSL_GUARDED_BY(mu) = 0;
  // Numbers of the RUNNING and WAITING trials, and who runs what.
  std::set<int> running ABSL_GUARDED_BY(mu);
  std::set<int> waiting ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<std::string, int> running_by_worker ABSL_GUARDED_BY(mu);
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
  TrialRecord& RecordOf(const v1::Trial* trial)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return history.trials[static_cast<size_t>(trial - trials.data())];
  }
  int NextNumber() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return trials.empty() ? 0 : trials.back().number() + 1;
  }

  absl::Duration Lease() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return spec.has_trial_lease() ? FromProto(spec.trial_lease())
                                  : kDefaultLease;
  }

  bool Active() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return spec.state() == v1::Experiment::CREATED ||
           spec.state() == v1::Experiment::RUNNING;
  }

  // Adds a trial to the indexes; the trial must already be in `trials`.
  void Track(const v1::Trial& t, int delta) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    switch (t.state()) {
      case v1::Trial::RUNNING:
        running_count += delta;
        if (delta > 0) {
          running.insert(t.number());
          if (!t.worker_id().empty())
            running_by_worker[t.worker_id()] = t.number();
        } else {
          running.erase(t.number());
          auto it = running_by_worker.find(t.worker_id());
          if (it != running_by_worker.end() && it->second == t.number()) {
            running_by_worker.erase(it);
          }
        }
        break;
      case v1::Trial::WAITING:
        if (delta > 0) {
          waiting.insert(t.number());
        } else {
          waiting.erase(t.number());
        }
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

  // Moves a trial to `state`, keeping counts, indexes and history in step.
  void SetState(v1::Trial* t, v1::Trial::State state)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    Track(*t, -1);
    t->set_state(state);
    Track(*t, +1);
    RecordOf(t).state = ToTrialState(state);
  }

  // The experiment as the API shows it, with up-to-date counts.
  v1::Experiment View() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    v1::Experiment view = spec;
    v1::Experiment::Status* status = view.mutable_status();
    status->set_trials(static_cast<int32_t>(trials.size()));
    status->set_running(running_count);
    status->set_completed(completed);
    status->set_failed(failed);
    status->set_pruned(pruned);
    status->set_waiting(static_cast<int32_t>(waiting.size()));
    return view;
  }

  void SetExperimentState(v1::Experiment::State state, std::string message,
                          absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    spec.set_state(state);
    spec.mutable_status()->set_message(std::move(message));
    *spec.mutable_update_time() = ToProto(now);
  }

  // Ends an active experiment when its limits say so. True if the state
  // changed (and so must be stored).
  bool UpdateState(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (!Active()) return false;
    const int max_failed = spec.max_failed_trials();
    const int max_trials = spec.max_trials();
    const bool idle = running_count == 0 && waiting.empty();
    if (spec.has_max_duration() &&
        now >= FromProto(spec.create_time()) + FromProto(spec.max_duration())) {
      SetExperimentState(
          v1::Experiment::TIMED_OUT,
          absl::StrCat("max_duration (",
                       absl::FormatDuration(FromProto(spec.max_duration())),
                       ") has passed"),
          now);
    } else if (max_failed > 0 && failed > max_failed) {
      SetExperimentState(v1::Experiment::FAILED,
                         absl::StrCat(failed,
                                      " trials failed, more than "
                                      "max_failed_trials (",
                                      max_failed, ")"),
                         now);
    } else if (idle && max_trials > 0 && allocated >= max_trials) {
      SetExperimentState(v1::Experiment::COMPLETED,
                         absl::StrCat("all max_trials (", max_trials,
                                      ") trials have finished"),
                         now);
    } else if (idle && exhausted) {
      SetExperimentState(v1::Experiment::COMPLETED, exhausted_reason, now);
    } else {
      return false;
    }
    return true;
  }

  // Completes an active experiment whose first objective's target `trial`
  // reached. True if the state changed.
  bool CheckTarget(const v1::Trial& trial, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const v1::Objective& o = spec.objectives(0);
    if (!Active() || !o.has_target() || trial.state() != v1::Trial::COMPLETED) {
      return false;
    }
    const double value = trial.metrics().at(o.name());
    const bool reached = o.goal() == v1::Objective::MAXIMIZE
                             ? value >= o.target()
                             : value <= o.target();
    if (!reached) return false;
    SetExperimentState(
        v1::Experiment::COMPLETED,
        absl::StrCat("objective \"", o.name(), "\" reached its target ",
                     Num(o.target()), " (trial ", trial.number(), ": ",
                     Num(value), ")"),
        now);
    return true;
  }

  // Sends trials whose lease has ended back to WAITING, queuing their writes.
  void ExpireLeases(absl::Time now, Storage* storage,
                    std::vector<WriteResult>* writes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::vector<int> expired;
    for (int number : running) {
      const v1::Trial* t = FindTrial(number);
      if (t->has_lease_expire_time() &&
          FromProto(t->lease_expire_time()) <= now) {
        expired.push_back(number);
      }
    }
    for (int number : expired) {
      v1::Trial* t = FindTrial(number);
      HPO_LOG(INFO) << "experiment \"" << spec.name() << "\": trial " << number
                    << " of worker \"" << t->worker_id()
                    << "\" lost its lease; it will be handed out again";
      HandBack(t);
      writes->push_back(storage->Write(Mutation::PutTrial(*t)));
    }
  }

  // A running trial back to WAITING, to be handed out again with the same
  // parameters. The abandoned run's intermediate values go: the next run
  // starts again from its first step, and the early-stopping rule must judge
  // that run, not a mix of two.
  void HandBack(v1::Trial* t) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    SetState(t, v1::Trial::WAITING);
    t->clear_lease_expire_time();
    t->clear_start_time();
    t->clear_intermediate_values();
    RecordOf(t).intermediate.clear();
  }

  // Everything time changes, with the writes it needs.
  void Advance(absl::Time now, Storage* storage,
               std::vector<WriteResult>* writes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    ExpireLeases(now, storage, writes);
    if (UpdateState(now)) {
      writes->push_back(storage->Write(Mutation::UpdateExperiment(spec)));
      LogState();
    }
  }

  void LogState() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    HPO_LOG(INFO) << "experiment \"" << spec.name() << "\" is "
                  << v1::Experiment::State_Name(spec.state()) << ": "
                  << spec.status().message();
  }
};

namespace {

// Copies every field that `over` sets onto `base`, replacing (not appending
// to) repeated fields and (not merging into) messages: what a user sends
// beside an imported spec wins, field by field.
void OverrideSetFields(const google::protobuf::Message& over,
                       google::protobuf::Message* base) {
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  over.GetReflection()->ListFields(over, &fields);
  for (const auto* field : fields) {
    base->GetReflection()->ClearField(base, field);
  }
  base->MergeFrom(over);
}

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

absl::Status NotActive(const v1::Experiment& spec) {
  return absl::FailedPreconditionError(
      absl::StrCat("experiment \"", spec.name(), "\" is ",
                   v1::Experiment::State_Name(spec.state()), " (",
                   spec.status().message(), "); it hands out no more trials"));
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

// A worker's claim on a trial: its worker_id must match the lease holder's.
absl::Status CheckLease(const v1::Trial& trial, const std::string& worker_id,
                        absl::string_view experiment) {
  if (trial.state() == v1::Trial::WAITING) {
    return absl::FailedPreconditionError(absl::StrCat(
        "trial ", trial.number(), " of experiment \"", experiment,
        "\" lost its lease and waits to be handed out again; its result is "
        "no longer accepted"));
  }
  if (!worker_id.empty() && worker_id != trial.worker_id()) {
    return absl::FailedPreconditionError(
        absl::StrCat("trial ", trial.number(), " of experiment \"", experiment,
                     "\" is leased to worker \"", trial.worker_id(),
                     "\", not \"", worker_id, "\""));
  }
  return absl::OkStatus();
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
  if (!stored.early_stopping().name().empty()) {
    auto pruner = CreatePruner(stored.early_stopping().name(),
                               {stored.early_stopping().settings().begin(),
                                stored.early_stopping().settings().end()});
    if (pruner.ok()) {
      live->pruner = *std::move(pruner);
    } else {
      HPO_LOG(ERROR) << "experiment \"" << stored.name()
                     << "\": cannot build its early stopping: "
                     << pruner.status();
    }
  }
  auto trials = storage_->ListTrials(stored.name());
  if (!trials.ok()) return trials.status();
  live->history.goals = Goals(stored);
  live->history.seed = stored.seed();
  for (v1::Trial& trial : *trials) {
    auto record = ToTrialRecord(live->space, stored, trial);
    if (!record.ok()) return record.status();
    if (trial.origin() != v1::Trial::ADDED) ++live->allocated;
    live->history.trials.push_back(*std::move(record));
    live->trials.push_back(std::move(trial));
    live->Track(live->trials.back(), +1);
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

absl::Status Service::WithExperiment(
    const std::string& name,
    absl::FunctionRef<absl::Status(LiveExperiment*, std::vector<WriteResult>&)>
        body,
    absl::string_view field) {
  if (absl::Status s = ValidateExperimentName(name, field); !s.ok()) {
    return s;
  }
  auto found = Find(name, field);
  if (!found.ok()) return found.status();
  std::shared_ptr<LiveExperiment> live = *std::move(found);
  std::vector<WriteResult> writes;
  absl::Status result;
  {
    absl::MutexLock lock(&live->mu);
    result =
        live->deleted ? NotFound("experiment", name) : body(live.get(), writes);
  }
  // With no lock held: another request may go on while the disk commits.
  absl::Status stored = AwaitAll(writes);
  if (!stored.ok()) {
    MarkStale(live);
    return stored;
  }
  return result;
}

absl::Status Service::CreateExperiment(
    const v1::CreateExperimentRequest& request, v1::Experiment* response) {
  v1::Experiment e;
  if (request.has_import_spec()) {
    auto imported = ImportExperiment(request.import_spec());
    if (!imported.ok()) return imported.status();
    e = *std::move(imported);
    OverrideSetFields(request.experiment(), &e);
  } else if (request.has_experiment()) {
    e = request.experiment();
  } else {
    return absl::InvalidArgumentError(
        "experiment: is required (or import_spec)");
  }
  if (absl::Status s = ValidateExperiment(e); !s.ok()) return s;
  if (e.algorithm().name().empty()) {
    e.mutable_algorithm()->set_name(kDefaultAlgorithm);
  }
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

  std::unique_ptr<Pruner> pruner;
  if (!e.early_stopping().name().empty()) {
    auto created = CreatePruner(e.early_stopping().name(),
                                {e.early_stopping().settings().begin(),
                                 e.early_stopping().settings().end()});
    if (!created.ok()) {
      return absl::Status(
          created.status().code(),
          absl::StrCat("experiment.", created.status().message()));
    }
    pruner = *std::move(created);
  } else if (!e.early_stopping().settings().empty()) {
    return absl::InvalidArgumentError(
        "experiment.early_stopping.name: is required with settings");
  }

  // Output-only fields are the server's to set.
  const absl::Time now = absl::Now();
  e.set_state(v1::Experiment::CREATED);
  e.clear_status();
  e.mutable_status()->set_message("waiting for its first worker");
  *e.mutable_create_time() = ToProto(now);
  *e.mutable_update_time() = e.create_time();

  WriteResult write;
  {
    absl::MutexLock live_lock(&live->mu);
    live->spec = e;
    live->sampler = *std::move(sampler);
    live->pruner = std::move(pruner);
    live->history.goals = Goals(e);
    live->history.seed = e.seed();
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
  return WithExperiment(
      request.name(),
      [&](LiveExperiment* live, std::vector<WriteResult>& writes)
          ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
            live->Advance(absl::Now(), storage_, &writes);
            *response = live->View();
            return absl::OkStatus();
          },
      "name");
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
  if (absl::Status s = ValidateExperimentName(request.name(), "name");
      !s.ok()) {
    return s;
  }
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
  if (stored.ok()) {
    HPO_LOG(INFO) << "deleted experiment \"" << request.name() << "\"";
  }
  return stored;
}

absl::Status Service::ReportIntermediate(
    const v1::ReportIntermediateRequest& request,
    v1::ReportIntermediateResponse* response) {
  if (request.trial() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("trial: must be >= 0, got ", request.trial()));
  }
  if (request.step() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("step: must be >= 0, got ", request.step()));
  }
  const std::string& name = request.experiment();
  absl::Status result = WithExperiment(
      name,
      [&](LiveExperiment* live, std::vector<WriteResult>& writes)
          ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
            v1::Trial* trial = live->FindTrial(request.trial());
            if (trial == nullptr) return TrialNotFound(name, request.trial());
            // Intermediate values judge the first objective, so it must be
            // there; other metrics ride along.
            if (absl::Status s = ValidateMetrics(live->spec, request.metrics(),
                                                 /*failed=*/true);
                !s.ok()) {
              return s;
            }
            const std::string& objective = live->spec.objectives(0).name();
            if (request.metrics().count(objective) == 0) {
              return absl::InvalidArgumentError(absl::StrCat(
                  "metrics: missing the first objective's metric \"", objective,
                  "\""));
            }
            if (trial->state() != v1::Trial::RUNNING &&
                trial->state() != v1::Trial::WAITING) {
              return absl::FailedPreconditionError(absl::StrCat(
                  "trial ", request.trial(), " of experiment \"", name,
                  "\" is ", v1::Trial::State_Name(trial->state()),
                  "; intermediate values are taken only while it runs"));
            }
            if (absl::Status s = CheckLease(*trial, request.worker_id(), name);
                !s.ok()) {
              return s;
            }
            const auto& values = trial->intermediate_values();
            const absl::Time now = absl::Now();
            bool retry = false;
            if (!values.empty()) {
              const v1::IntermediateValue& last = values[values.size() - 1];
              if (request.step() < last.step()) {
                return absl::InvalidArgumentError(absl::StrCat(
                    "step: ", request.step(),
                    " is before the last reported step ", last.step()));
              }
              if (request.step() == last.step()) {
                v1::IntermediateValue again;
                *again.mutable_metrics() = request.metrics();
                v1::IntermediateValue before;
                *before.mutable_metrics() = last.metrics();
                if (!google::protobuf::util::MessageDifferencer::Equals(
                        again, before)) {
                  return absl::FailedPreconditionError(absl::StrCat(
                      "step: ", request.step(),
                      " was already reported with different values"));
                }
                retry = true;  // the same report again: answer it the same way
              }
            }
            if (!retry) {
              v1::IntermediateValue* value = trial->add_intermediate_values();
              value->set_step(request.step());
              *value->mutable_metrics() = request.metrics();
              *value->mutable_time() = ToProto(now);
              live->RecordOf(trial).intermediate.emplace_back(
                  request.step(), request.metrics().at(objective));
            }
            // A report is a sign of life: it renews the lease like a heartbeat.
            *trial->mutable_lease_expire_time() = ToProto(now + live->Lease());
            if (live->pruner != nullptr) {
              const size_t index =
                  static_cast<size_t>(trial - live->trials.data());
              const PruneDecision decision = live->pruner->ShouldStop(
                  live->history, index, request.step());
              response->set_should_stop(decision.stop);
              response->set_reason(decision.reason);
              response->set_bracket(
                  std::max(-1, live->pruner->Bracket(trial->number())));
              if (decision.stop) trial->set_prune_reason(decision.reason);
            }
            writes.push_back(storage_->Write(Mutation::PutTrial(*trial)));
            return absl::OkStatus();
          });
  if (result.ok() && response->should_stop()) {
    HPO_LOG(INFO) << "experiment \"" << name << "\": trial " << request.trial()
                  << " should stop: " << response->reason();
  }
  return result;
}

absl::Status Service::StopExperiment(const v1::StopExperimentRequest& request,
                                     v1::Experiment* response) {
  return WithExperiment(
      request.name(),
      [&](LiveExperiment* live, std::vector<WriteResult>& writes)
          ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
            const absl::Time now = absl::Now();
            live->Advance(now, storage_, &writes);
            if (live->Active()) {
              live->SetExperimentState(v1::Experiment::STOPPED,
                                       request.reason().empty()
                                           ? "stopped by a user"
                                           : request.reason(),
                                       now);
              writes.push_back(
                  storage_->Write(Mutation::UpdateExperiment(live->spec)));
              live->LogState();
            } else if (live->spec.state() != v1::Experiment::STOPPED) {
              return absl::FailedPreconditionError(absl::StrCat(
                  "experiment \"", request.name(), "\" is ",
                  v1::Experiment::State_Name(live->spec.state()),
                  "; only a CREATED or RUNNING experiment can be stopped"));
            }
            *response = live->View();
            return absl::OkStatus();
          },
      "name");
}

absl::Status Service::ResumeExperiment(
    const v1::ResumeExperimentRequest& request, v1::Experiment* response) {
  return WithExperiment(
      request.name(),
      [&](LiveExperiment* live, std::vector<WriteResult>& writes)
          ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
            const absl::Time now = absl::Now();
            if (live->spec.state() == v1::Experiment::STOPPED) {
              live->SetExperimentState(live->allocated == 0
                                           ? v1::Experiment::CREATED
                                           : v1::Experiment::RUNNING,
                                       "resumed", now);
              writes.push_back(
                  storage_->Write(Mutation::UpdateExperiment(live->spec)));
              live->LogState();
            } else if (!live->Active()) {
              return absl::FailedPreconditionError(
                  absl::StrCat("experiment \"", request.name(), "\" is ",
                               v1::Experiment::State_Name(live->spec.state()),
                               "; only a STOPPED experiment can be resumed"));
            }
            // It may be over already: all trials done while it was stopped, or
            // max_duration passed.
            live->Advance(now, storage_, &writes);
            *response = live->View();
            return absl::OkStatus();
          },
      "name");
}

absl::Status Service::GetTrialConfig(const v1::GetTrialConfigRequest& request,
                                     v1::Trial* response) {
  if (request.worker_id().size() > kMaxWorkerIdLength) {
    return absl::InvalidArgumentError(
        "worker_id: must be at most 256 characters");
  }
  const std::string& name = request.experiment();
  absl::Status result = WithExperiment(
      name,
      [&](LiveExperiment* live,
          std::vector<WriteResult>& writes) ABSL_NO_THREAD_SAFETY_ANALYSIS
      -> absl::Status {
        if (request.has_trial()) {
          const v1::Trial* trial = live->FindTrial(request.trial());
          if (trial == nullptr) return TrialNotFound(name, request.trial());
          *response = *trial;
          return absl::OkStatus();
        }
        const absl::Time now = absl::Now();
        live->Advance(now, storage_, &writes);
        const v1::Experiment& spec = live->spec;

        // A worker asking again while its trial runs is retrying: same trial.
        if (!request.worker_id().empty()) {
          auto it = live->running_by_worker.find(request.worker_id());
          if (it != live->running_by_worker.end()) {
            v1::Trial* trial = live->FindTrial(it->second);
            *trial->mutable_lease_expire_time() = ToProto(now + live->Lease());
            writes.push_back(storage_->Write(Mutation::PutTrial(*trial)));
            *response = *trial;
            return absl::OkStatus();
          }
        }
        if (!live->Active()) return NotActive(spec);
        if (spec.parallel_trials() > 0 &&
            live->running_count >= spec.parallel_trials()) {
          return absl::ResourceExhaustedError(absl::StrCat(
              "experiment \"", name, "\" already runs parallel_trials (",
              spec.parallel_trials(), ") trials; report one of them first"));
        }
        if (live->sampler == nullptr) {
          return absl::FailedPreconditionError(absl::StrCat(
              "experiment \"", name, "\": its algorithm cannot run: ",
              live->sampler_status.message()));
        }

        // Queued and expired trials go first, lowest number first.
        v1::Trial* trial = nullptr;
        if (!live->waiting.empty())
          trial = live->FindTrial(*live->waiting.begin());
        if (trial == nullptr && spec.max_trials() > 0 &&
            live->allocated >= spec.max_trials()) {
          return absl::FailedPreconditionError(absl::StrCat(
              "experiment \"", name, "\" has allocated all max_trials (",
              spec.max_trials(), ") trials; ", live->running_count,
              " still running"));
        }
        const int number =
            trial != nullptr ? trial->number() : live->NextNumber();
        // Seeded by experiment and trial number: the same history gives the
        // same suggestion, across restarts too.
        std::seed_seq seed{spec.seed(), static_cast<uint32_t>(number)};
        Rng rng(seed);

        // A queued trial may name only some parameters; the algorithm fills in
        // the rest. An expired one has them all and needs no algorithm.
        const bool complete =
            trial != nullptr &&
            ParamsFromUser(live->space, trial->parameters(), true, nullptr, "")
                .ok();
        Suggestion suggestion;
        if (!complete) {
          // With brackets (Hyperband), the algorithm learns only from the
          // trials of this trial's bracket, whose budgets are comparable.
          const int bracket = live->pruner ? live->pruner->Bracket(number) : -1;
          History in_bracket;
          if (bracket >= 0) {
            in_bracket.goals = live->history.goals;
            in_bracket.seed = live->history.seed;
            for (const TrialRecord& t : live->history.trials) {
              if (live->pruner->Bracket(t.number) == bracket) {
                in_bracket.trials.push_back(t);
              }
            }
          }
          auto suggested = live->sampler->Suggest(
              live->space, bracket >= 0 ? in_bracket : live->history, rng);
          if (absl::IsOutOfRange(suggested.status())) {
            live->exhausted = true;
            live->exhausted_reason =
                absl::StrCat("the search space is exhausted: ",
                             suggested.status().message());
            live->Advance(now, storage_, &writes);
            return absl::FailedPreconditionError(absl::StrCat(
                "experiment \"", name, "\": the search space is exhausted (",
                suggested.status().message(), ")"));
          }
          if (!suggested.ok()) {
            return absl::InternalError(
                absl::StrCat("experiment \"", name, "\": algorithm ",
                             spec.algorithm().name(),
                             " failed: ", suggested.status().message()));
          }
          suggestion = *std::move(suggested);
          // An algorithm that picks among others (auto) says which it used;
          // the status keeps the latest pick, stored when it changes.
          v1::Experiment::Status* status = live->spec.mutable_status();
          if (status->algorithm() != suggestion.algorithm ||
              status->algorithm_reason() != suggestion.algorithm_reason) {
            status->set_algorithm(suggestion.algorithm);
            status->set_algorithm_reason(suggestion.algorithm_reason);
            writes.push_back(
                storage_->Write(Mutation::UpdateExperiment(live->spec)));
          }
        }

        if (trial == nullptr) {
          v1::Trial fresh;
          fresh.set_experiment(name);
          fresh.set_number(number);
          fresh.set_state(v1::Trial::WAITING);
          fresh.set_origin(v1::Trial::SUGGESTED);
          ParamsToProto(live->space, suggestion.params, &fresh);
          fresh.set_sampler_data(suggestion.sampler_data);
          fresh.set_algorithm(suggestion.algorithm);
          TrialRecord record;
          record.number = number;
          record.state = TrialState::kWaiting;
          record.params = std::move(suggestion.params);
          record.sampler_data = std::move(suggestion.sampler_data);
          live->history.trials.push_back(std::move(record));
          live->trials.push_back(std::move(fresh));
          live->Track(live->trials.back(), +1);
          ++live->allocated;
          trial = &live->trials.back();
        } else if (!complete) {
          // Merge: the queued values win; the algorithm's fill the gaps, and a
          // parameter that only the queued values made active is drawn from its
          // prior.
          std::vector<bool> given;
          std::vector<double> params = *ParamsFromUser(
              live->space, trial->parameters(), false, &given, "");
          for (size_t i = 0; i < params.size(); ++i) {
            if (!given[i]) params[i] = suggestion.params[i];
            if (IsInactive(params[i]) && live->space.IsActive(i, params)) {
              params[i] = live->space.param(i).FromUnit(UnitDraw(rng));
            }
          }
          live->space.MaskInactive(params);
          trial->clear_parameters();
          ParamsToProto(live->space, params, trial);
          live->RecordOf(trial).params = std::move(params);
        }

        trial->set_worker_id(request.worker_id());
        live->SetState(trial, v1::Trial::RUNNING);
        *trial->mutable_start_time() = ToProto(now);
        *trial->mutable_lease_expire_time() = ToProto(now + live->Lease());
        writes.push_back(storage_->Write(Mutation::PutTrial(*trial)));
        if (live->spec.state() == v1::Experiment::CREATED) {
          live->SetExperimentState(v1::Experiment::RUNNING, "running trials",
                                   now);
          writes.push_back(
              storage_->Write(Mutation::UpdateExperiment(live->spec)));
        }
        *response = *trial;
        return absl::OkStatus();
      });
  if (result.ok()) {
    HPO_LOG(DEBUG) << "experiment \"" << name << "\": trial "
                   << response->number() << " to worker \""
                   << request.worker_id() << "\"";
  }
  return result;
}

absl::Status Service::ReportResult(const v1::ReportResultRequest& request,
                                   v1::Trial* response) {
  if (request.trial() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("trial: must be >= 0, got ", request.trial()));
  }
  const std::string& name = request.experiment();
  absl::Status result = WithExperiment(
      name,
      [&](LiveExperiment* live, std::vector<WriteResult>& writes)
          ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
            v1::Trial* trial = live->FindTrial(request.trial());
            if (trial == nullptr) return TrialNotFound(name, request.trial());
            if (absl::Status s = ValidateReport(live->spec, request); !s.ok())
              return s;

            const v1::Trial::State new_state =
                request.failed()   ? v1::Trial::FAILED
                : request.pruned() ? v1::Trial::PRUNED
                                   : v1::Trial::COMPLETED;
            if (trial->state() != v1::Trial::RUNNING &&
                trial->state() != v1::Trial::WAITING) {
              // A retry of the report that finished the trial is harmless;
              // anything else would rewrite a result someone may already have
              // acted on.
              v1::Trial reported;
              *reported.mutable_metrics() = request.metrics();
              v1::Trial stored_result;
              *stored_result.mutable_metrics() = trial->metrics();
              if (trial->state() == new_state &&
                  google::protobuf::util::MessageDifferencer::Equals(
                      reported, stored_result) &&
                  trial->failure_reason() == request.failure_reason()) {
                *response = *trial;
                return absl::OkStatus();
              }
              return absl::FailedPreconditionError(absl::StrCat(
                  "trial ", request.trial(), " of experiment \"", name,
                  "\" is already ", v1::Trial::State_Name(trial->state()),
                  "; a different result cannot be reported for it"));
            }
            if (absl::Status s = CheckLease(*trial, request.worker_id(), name);
                !s.ok()) {
              return s;
            }

            const absl::Time now = absl::Now();
            live->SetState(trial, new_state);
            if (new_state == v1::Trial::PRUNED &&
                trial->prune_reason().empty()) {
              trial->set_prune_reason("stopped early by its worker");
            }
            *trial->mutable_metrics() = request.metrics();
            trial->set_failure_reason(request.failure_reason());
            *trial->mutable_end_time() = ToProto(now);
            trial->clear_lease_expire_time();
            // SetState moved the record's state; only the values are new.
            TrialRecord& record = live->RecordOf(trial);
            record.values.clear();
            if (new_state == v1::Trial::COMPLETED) {
              // ValidateReport made sure every objective is there.
              for (const v1::Objective& o : live->spec.objectives()) {
                record.values.push_back(trial->metrics().at(o.name()));
              }
            }

            writes.push_back(storage_->Write(Mutation::PutTrial(*trial)));
            if (live->CheckTarget(*trial, now)) {
              writes.push_back(
                  storage_->Write(Mutation::UpdateExperiment(live->spec)));
              live->LogState();
            }
            live->Advance(now, storage_, &writes);
            *response = *trial;
            return absl::OkStatus();
          });
  if (result.ok()) {
    HPO_LOG(DEBUG) << "experiment \"" << name << "\": trial " << request.trial()
                   << " " << v1::Trial::State_Name(response->state());
  }
  return result;
}

absl::Status Service::Heartbeat(const v1::HeartbeatRequest& request,
                                v1::Trial* response) {
  const std::string& name = request.experiment();
  absl::Status result = WithExperiment(
      name,
      [&](LiveExperiment* live, std::vector<WriteResult>& writes)
          ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
            v1::Trial* trial = live->FindTrial(request.trial());
            if (trial == nullptr) return TrialNotFound(name, request.trial());
            const absl::Time now = absl::Now();
            live->Advance(now, storage_, &writes);
            if (trial->state() != v1::Trial::RUNNING &&
                trial->state() != v1::Trial::WAITING) {
              return absl::FailedPreconditionError(absl::StrCat(
                  "trial ", request.trial(), " of experiment \"", name,
                  "\" is ", v1::Trial::State_Name(trial->state()),
                  ", not RUNNING"));
            }
            if (absl::Status s = CheckLease(*trial, request.worker_id(), name);
                !s.ok()) {
              return s;
            }
            *trial->mutable_lease_expire_time() = ToProto(now + live->Lease());
            writes.push_back(storage_->Write(Mutation::PutTrial(*trial)));
            *response = *trial;
            return absl::OkStatus();
          });
  return result;
}

absl::Status Service::ReleaseTrial(const v1::ReleaseTrialRequest& request,
                                   v1::Trial* response) {
  const std::string& name = request.experiment();
  return WithExperiment(
      name,
      [&](LiveExperiment* live, std::vector<WriteResult>& writes)
          ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
            v1::Trial* trial = live->FindTrial(request.trial());
            if (trial == nullptr) return TrialNotFound(name, request.trial());
            live->Advance(absl::Now(), storage_, &writes);
            if (trial->state() == v1::Trial::WAITING &&
                (request.worker_id().empty() ||
                 trial->worker_id() == request.worker_id())) {
              *response = *trial;  // A retry, or its lease ran out meanwhile.
              return absl::OkStatus();
            }
            if (trial->state() != v1::Trial::RUNNING) {
              return absl::FailedPreconditionError(absl::StrCat(
                  "trial ", request.trial(), " of experiment \"", name,
                  "\" is ", v1::Trial::State_Name(trial->state()),
                  ", not RUNNING"));
            }
            if (absl::Status s = CheckLease(*trial, request.worker_id(), name);
                !s.ok()) {
              return s;
            }
            HPO_LOG(INFO) << "experiment \"" << name << "\": worker \""
                          << trial->worker_id() << "\" handed back trial "
                          << trial->number()
                          << (request.reason().empty() ? "" : ": ")
                          << request.reason();
            live->HandBack(trial);
            writes.push_back(storage_->Write(Mutation::PutTrial(*trial)));
            *response = *trial;
            return absl::OkStatus();
          });
}

absl::Status Service::AddTrial(const v1::AddTrialRequest& request,
                               v1::Trial* response) {
  const std::string& name = request.experiment();
  absl::Status result = WithExperiment(
      name,
      [&](LiveExperiment* live, std::vector<WriteResult>& writes)
          ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
            auto params = ParamsFromUser(live->space, request.parameters(),
                                         true, nullptr, "parameters");
            if (!params.ok()) return params.status();
            if (absl::Status s = ValidateMetrics(live->spec, request.metrics(),
                                                 request.failed());
                !s.ok()) {
              return s;
            }
            const absl::Time now = absl::Now();
            v1::Trial trial;
            trial.set_experiment(name);
            trial.set_number(live->NextNumber());
            trial.set_state(request.failed() ? v1::Trial::FAILED
                                             : v1::Trial::COMPLETED);
            trial.set_origin(v1::Trial::ADDED);
            ParamsToProto(live->space, *params, &trial);
            *trial.mutable_metrics() = request.metrics();
            *trial.mutable_start_time() = ToProto(now);
            *trial.mutable_end_time() = ToProto(now);
            auto record = ToTrialRecord(live->space, live->spec, trial);
            if (!record.ok()) return record.status();
            live->history.trials.push_back(*std::move(record));
            live->trials.push_back(trial);
            live->Track(trial, +1);
            writes.push_back(storage_->Write(Mutation::PutTrial(trial)));
            if (live->CheckTarget(trial, now)) {
              writes.push_back(
                  storage_->Write(Mutation::UpdateExperiment(live->spec)));
              live->LogState();
            }
            *response = std::move(trial);
            return absl::OkStatus();
          });
  return result;
}

absl::Status Service::EnqueueTrial(const v1::EnqueueTrialRequest& request,
                                   v1::Trial* response) {
  const std::string& name = request.experiment();
  absl::Status result = WithExperiment(
      name,
      [&](LiveExperiment* live, std::vector<WriteResult>& writes)
          ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
            live->Advance(absl::Now(), storage_, &writes);
            if (!live->Active() &&
                live->spec.state() != v1::Experiment::STOPPED) {
              return NotActive(live->spec);
            }
            std::vector<bool> given;
            auto params = ParamsFromUser(live->space, request.parameters(),
                                         false, &given, "parameters");
            if (!params.ok()) return params.status();
            if (live->spec.max_trials() > 0 &&
                live->allocated >= live->spec.max_trials()) {
              return absl::FailedPreconditionError(absl::StrCat(
                  "experiment \"", name, "\" has allocated all max_trials (",
                  live->spec.max_trials(), ") trials; none can be queued"));
            }
            v1::Trial trial;
            trial.set_experiment(name);
            trial.set_number(live->NextNumber());
            trial.set_state(v1::Trial::WAITING);
            trial.set_origin(v1::Trial::ENQUEUED);
            ParamsToProto(live->space, *params, &trial);
            TrialRecord record;
            record.number = trial.number();
            record.state = TrialState::kWaiting;
            record.params = *std::move(params);
            live->history.trials.push_back(std::move(record));
            live->trials.push_back(trial);
            live->Track(trial, +1);
            ++live->allocated;
            writes.push_back(storage_->Write(Mutation::PutTrial(trial)));
            *response = std::move(trial);
            return absl::OkStatus();
          });
  return result;
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
    if (history.trials[i].state == TrialState::kCompleted) {
      completed.push_back(i);
    }
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

void Service::Tick() {
  std::vector<std::shared_ptr<LiveExperiment>> all;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, live] : experiments_) all.push_back(live);
  }
  const absl::Time now = absl::Now();
  for (const auto& live : all) {
    std::vector<WriteResult> writes;
    {
      absl::MutexLock lock(&live->mu);
      if (live->deleted || live->stale) continue;
      live->Advance(now, storage_, &writes);
    }
    if (!AwaitAll(writes).ok()) MarkStale(live);
  }
}

}  // namespace hpo
