#include "server/experiment/experiment.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/number_text.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "pruners/registry.h"
#include "samplers/registry.h"
#include "samplers/trial_rng.h"
#include "server/experiment_spec.h"
#include "server/log.h"

namespace hpo {
namespace {

using google::protobuf::util::MessageDifferencer;
using google::protobuf::util::TimeUtil;

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

absl::Status NotRunning(const v1::Trial& trial, absl::string_view experiment) {
  return absl::FailedPreconditionError(absl::StrCat(
      "trial ", trial.number(), " of experiment \"", experiment, "\" is ",
      v1::Trial::State_Name(trial.state()), ", not RUNNING"));
}

bool Unfinished(const v1::Trial& trial) {
  return trial.state() == v1::Trial::RUNNING ||
         trial.state() == v1::Trial::WAITING;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Experiment>> Experiment::Create(
    v1::Experiment spec, absl::Time now) {
  std::unique_ptr<Experiment> e(new Experiment());
  e->space_ = CompileSearchSpace(spec);
  auto sampler = CreateSampler(
      spec.algorithm().name(), e->space_,
      {spec.algorithm().settings().begin(), spec.algorithm().settings().end()});
  if (!sampler.ok()) {
    return absl::Status(
        sampler.status().code(),
        absl::StrCat("experiment.", sampler.status().message()));
  }
  e->sampler_ = *std::move(sampler);
  if (!spec.early_stopping().name().empty()) {
    auto pruner = CreatePruner(spec.early_stopping().name(),
                               {spec.early_stopping().settings().begin(),
                                spec.early_stopping().settings().end()});
    if (!pruner.ok()) {
      return absl::Status(
          pruner.status().code(),
          absl::StrCat("experiment.", pruner.status().message()));
    }
    e->pruner_ = *std::move(pruner);
  } else if (!spec.early_stopping().settings().empty()) {
    return absl::InvalidArgumentError(
        "experiment.early_stopping.name: is required with settings");
  }
  // Output-only fields are the server's to set.
  spec.set_state(v1::Experiment::CREATED);
  spec.clear_status();
  spec.mutable_status()->set_message("waiting for its first worker");
  *spec.mutable_create_time() = ToProto(now);
  *spec.mutable_update_time() = spec.create_time();
  e->history_.goals = Goals(spec);
  e->history_.seed = spec.seed();
  e->spec_ = std::move(spec);
  return e;
}

absl::StatusOr<std::unique_ptr<Experiment>> Experiment::Restore(
    v1::Experiment spec, std::vector<v1::Trial> trials) {
  std::unique_ptr<Experiment> e(new Experiment());
  e->space_ = CompileSearchSpace(spec);
  auto sampler = CreateSampler(
      spec.algorithm().name(), e->space_,
      {spec.algorithm().settings().begin(), spec.algorithm().settings().end()});
  if (sampler.ok()) {
    e->sampler_ = *std::move(sampler);
  } else {
    e->sampler_status_ = sampler.status();
    HPO_LOG(ERROR) << "experiment \"" << spec.name()
                   << "\": cannot build its algorithm: " << sampler.status();
  }
  if (!spec.early_stopping().name().empty()) {
    auto pruner = CreatePruner(spec.early_stopping().name(),
                               {spec.early_stopping().settings().begin(),
                                spec.early_stopping().settings().end()});
    if (pruner.ok()) {
      e->pruner_ = *std::move(pruner);
    } else {
      HPO_LOG(ERROR) << "experiment \"" << spec.name()
                     << "\": cannot build its early stopping: "
                     << pruner.status();
    }
  }
  e->history_.goals = Goals(spec);
  e->history_.seed = spec.seed();
  e->trials_.reserve(trials.size());
  e->history_.trials.reserve(trials.size());
  for (v1::Trial& trial : trials) {
    auto record = ToTrialRecord(e->space_, spec, trial);
    if (!record.ok()) return record.status();
    if (trial.origin() != v1::Trial::ADDED) ++e->allocated_;
    e->Append(std::move(trial), *std::move(record));
  }
  e->spec_ = std::move(spec);
  return e;
}

v1::Trial* Experiment::FindTrial(int number) {
  return const_cast<v1::Trial*>(std::as_const(*this).FindTrial(number));
}

const v1::Trial* Experiment::FindTrial(int number) const {
  // Numbers are dense from 0 unless a stored file says otherwise: try the
  // index first.
  if (number >= 0 && static_cast<size_t>(number) < trials_.size() &&
      trials_[static_cast<size_t>(number)].number() == number) {
    return &trials_[static_cast<size_t>(number)];
  }
  auto it = std::lower_bound(
      trials_.begin(), trials_.end(), number,
      [](const v1::Trial& t, int n) { return t.number() < n; });
  if (it == trials_.end() || it->number() != number) return nullptr;
  return &*it;
}

TrialRecord& Experiment::RecordOf(const v1::Trial* trial) {
  return history_.trials[static_cast<size_t>(trial - trials_.data())];
}

int Experiment::NextNumber() const {
  return trials_.empty() ? 0 : trials_.back().number() + 1;
}

absl::Duration Experiment::Lease() const {
  return spec_.has_trial_lease() ? FromProto(spec_.trial_lease())
                                 : kDefaultLease;
}

bool Experiment::Active() const {
  return spec_.state() == v1::Experiment::CREATED ||
         spec_.state() == v1::Experiment::RUNNING;
}

absl::Time Experiment::NextDeadline() const {
  absl::Time deadline = absl::InfiniteFuture();
  if (!leases_.empty()) deadline = leases_.begin()->first;
  if (Active() && spec_.has_max_duration()) {
    deadline = std::min(deadline, FromProto(spec_.create_time()) +
                                      FromProto(spec_.max_duration()));
  }
  return deadline;
}

v1::Trial* Experiment::Append(v1::Trial trial, TrialRecord record) {
  history_.trials.push_back(std::move(record));
  trials_.push_back(std::move(trial));
  Track(trials_.back(), +1);
  return &trials_.back();
}

void Experiment::Track(const v1::Trial& t, int delta) {
  switch (t.state()) {
    case v1::Trial::RUNNING:
      running_count_ += delta;
      if (delta > 0) {
        if (!t.worker_id().empty())
          running_by_worker_[t.worker_id()] = t.number();
        if (t.has_lease_expire_time()) {
          leases_.emplace(FromProto(t.lease_expire_time()), t.number());
        }
      } else {
        auto it = running_by_worker_.find(t.worker_id());
        if (it != running_by_worker_.end() && it->second == t.number()) {
          running_by_worker_.erase(it);
        }
        if (t.has_lease_expire_time()) {
          leases_.erase({FromProto(t.lease_expire_time()), t.number()});
        }
      }
      break;
    case v1::Trial::WAITING:
      if (delta > 0) {
        waiting_.insert(t.number());
      } else {
        waiting_.erase(t.number());
      }
      break;
    case v1::Trial::COMPLETED:
      completed_ += delta;
      break;
    case v1::Trial::FAILED:
      failed_ += delta;
      break;
    case v1::Trial::PRUNED:
      pruned_ += delta;
      break;
    default:
      break;
  }
}

void Experiment::SetState(v1::Trial* t, v1::Trial::State state) {
  Track(*t, -1);
  t->set_state(state);
  Track(*t, +1);
  RecordOf(t).state = ToTrialState(state);
}

void Experiment::SetLease(v1::Trial* t, absl::Time expire) {
  const bool indexed = t->state() == v1::Trial::RUNNING;
  if (indexed && t->has_lease_expire_time()) {
    leases_.erase({FromProto(t->lease_expire_time()), t->number()});
  }
  if (expire == absl::InfinitePast()) {
    t->clear_lease_expire_time();
    return;
  }
  *t->mutable_lease_expire_time() = ToProto(expire);
  if (indexed) leases_.emplace(expire, t->number());
}

void Experiment::HandBack(v1::Trial* t) {
  // The abandoned run's intermediate values go: the next run starts again
  // from its first step, and the early-stopping rule must judge that run, not
  // a mix of two.
  SetLease(t, absl::InfinitePast());
  SetState(t, v1::Trial::WAITING);
  t->clear_start_time();
  t->clear_intermediate_values();
  RecordOf(t).intermediate.clear();
}

v1::Experiment Experiment::View() const {
  v1::Experiment view = spec_;
  v1::Experiment::Status* status = view.mutable_status();
  status->set_trials(static_cast<int32_t>(trials_.size()));
  status->set_running(running_count_);
  status->set_completed(completed_);
  status->set_failed(failed_);
  status->set_pruned(pruned_);
  status->set_waiting(static_cast<int32_t>(waiting_.size()));
  return view;
}

void Experiment::SetExperimentState(v1::Experiment::State state,
                                    std::string message, absl::Time now,
                                    Changes* changes) {
  spec_.set_state(state);
  spec_.mutable_status()->set_message(std::move(message));
  *spec_.mutable_update_time() = ToProto(now);
  changes->experiment = true;
  HPO_LOG(INFO) << "experiment \"" << spec_.name() << "\" is "
                << v1::Experiment::State_Name(state) << ": "
                << spec_.status().message();
}

void Experiment::UpdateState(absl::Time now, Changes* changes) {
  if (!Active()) return;
  const int max_failed = spec_.max_failed_trials();
  const int max_trials = spec_.max_trials();
  const bool idle = running_count_ == 0 && waiting_.empty();
  if (spec_.has_max_duration() &&
      now >= FromProto(spec_.create_time()) + FromProto(spec_.max_duration())) {
    SetExperimentState(
        v1::Experiment::TIMED_OUT,
        absl::StrCat("max_duration (",
                     absl::FormatDuration(FromProto(spec_.max_duration())),
                     ") has passed"),
        now, changes);
  } else if (max_failed > 0 && failed_ > max_failed) {
    SetExperimentState(
        v1::Experiment::FAILED,
        absl::StrCat(failed_, " trials failed, more than max_failed_trials (",
                     max_failed, ")"),
        now, changes);
  } else if (idle && max_trials > 0 && allocated_ >= max_trials) {
    SetExperimentState(
        v1::Experiment::COMPLETED,
        absl::StrCat("all max_trials (", max_trials, ") trials have finished"),
        now, changes);
  } else if (idle && exhausted_) {
    SetExperimentState(v1::Experiment::COMPLETED, exhausted_reason_, now,
                       changes);
  }
}

void Experiment::CheckTarget(const v1::Trial& trial, absl::Time now,
                             Changes* changes) {
  const v1::Objective& o = spec_.objectives(0);
  if (!Active() || !o.has_target() || trial.state() != v1::Trial::COMPLETED) {
    return;
  }
  const double value = trial.metrics().at(o.name());
  const bool reached = o.goal() == v1::Objective::MAXIMIZE
                           ? value >= o.target()
                           : value <= o.target();
  if (!reached) return;
  SetExperimentState(
      v1::Experiment::COMPLETED,
      absl::StrCat("objective \"", o.name(), "\" reached its target ",
                   NumberText(o.target()), " (trial ", trial.number(), ": ",
                   NumberText(value), ")"),
      now, changes);
}

void Experiment::ExpireLeases(absl::Time now, Changes* changes) {
  while (!leases_.empty() && leases_.begin()->first <= now) {
    v1::Trial* t = FindTrial(leases_.begin()->second);
    HPO_LOG(INFO) << "experiment \"" << spec_.name() << "\": trial "
                  << t->number() << " of worker \"" << t->worker_id()
                  << "\" lost its lease; it will be handed out again";
    HandBack(t);  // removes it from leases_
    changes->trials.push_back(*t);
    if (observer_ != nullptr) observer_->LeaseExpired();
  }
}

void Experiment::Advance(absl::Time now, Changes* changes) {
  ExpireLeases(now, changes);
  UpdateState(now, changes);
}

absl::StatusOr<Suggestion> Experiment::Suggest(int number, Rng& rng) {
  // With brackets (Hyperband), the algorithm learns only from the trials of
  // this trial's bracket, whose budgets are comparable.
  const int bracket = pruner_ ? pruner_->Bracket(number) : -1;
  if (bracket < 0) return sampler_->Suggest(space_, history_, rng);
  History in_bracket;
  in_bracket.goals = history_.goals;
  in_bracket.seed = history_.seed;
  for (const TrialRecord& t : history_.trials) {
    if (pruner_->Bracket(t.number) == bracket) in_bracket.trials.push_back(t);
  }
  return sampler_->Suggest(space_, in_bracket, rng);
}

absl::Status Experiment::GetTrialConfig(
    const v1::GetTrialConfigRequest& request, absl::Time now, Changes* changes,
    v1::Trial* response) {
  const std::string& name = spec_.name();
  if (request.has_trial()) {
    const v1::Trial* trial = FindTrial(request.trial());
    if (trial == nullptr) return TrialNotFound(name, request.trial());
    *response = *trial;
    return absl::OkStatus();
  }
  Advance(now, changes);

  // A worker asking again while its trial runs is retrying: same trial.
  if (!request.worker_id().empty()) {
    auto it = running_by_worker_.find(request.worker_id());
    if (it != running_by_worker_.end()) {
      v1::Trial* trial = FindTrial(it->second);
      SetLease(trial, now + Lease());
      changes->trials.push_back(*trial);
      *response = *trial;
      return absl::OkStatus();
    }
  }
  if (!Active()) return NotActive(spec_);
  if (spec_.parallel_trials() > 0 &&
      running_count_ >= spec_.parallel_trials()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "experiment \"", name, "\" already runs parallel_trials (",
        spec_.parallel_trials(), ") trials; report one of them first"));
  }
  if (sampler_ == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "experiment \"", name,
        "\": its algorithm cannot run: ", sampler_status_.message()));
  }

  // Queued and expired trials go first, lowest number first.
  v1::Trial* trial = waiting_.empty() ? nullptr : FindTrial(*waiting_.begin());
  if (trial == nullptr && spec_.max_trials() > 0 &&
      allocated_ >= spec_.max_trials()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "experiment \"", name, "\" has allocated all max_trials (",
        spec_.max_trials(), ") trials; ", running_count_, " still running"));
  }
  const int number = trial != nullptr ? trial->number() : NextNumber();
  // Seeded by experiment and trial number alone: the same history gives the
  // same suggestion, across restarts too.
  Rng rng = TrialRng(spec_.seed(), static_cast<uint32_t>(number));

  // A queued trial may name only some parameters; the algorithm fills in the
  // rest. An expired one has them all and needs no algorithm.
  const bool complete =
      trial != nullptr &&
      ParamsFromUser(space_, trial->parameters(), true, nullptr, "").ok();
  Suggestion suggestion;
  if (!complete) {
    std::chrono::steady_clock::time_point started;
    if (observer_ != nullptr) started = std::chrono::steady_clock::now();
    auto suggested = Suggest(number, rng);
    if (observer_ != nullptr) {
      const std::chrono::duration<double> took =
          std::chrono::steady_clock::now() - started;
      // The pick of an algorithm that picks among others (auto), when it
      // made one; the experiment's algorithm otherwise.
      const std::string& algorithm =
          suggested.ok() && !suggested->algorithm.empty()
              ? suggested->algorithm
              : spec_.algorithm().name();
      observer_->SamplerCalled(algorithm, took.count());
    }
    if (absl::IsOutOfRange(suggested.status())) {
      exhausted_ = true;
      exhausted_reason_ = absl::StrCat("the search space is exhausted: ",
                                       suggested.status().message());
      Advance(now, changes);
      return absl::FailedPreconditionError(absl::StrCat(
          "experiment \"", name, "\": the search space is exhausted (",
          suggested.status().message(), ")"));
    }
    if (!suggested.ok()) {
      return absl::InternalError(absl::StrCat(
          "experiment \"", name, "\": algorithm ", spec_.algorithm().name(),
          " failed: ", suggested.status().message()));
    }
    suggestion = *std::move(suggested);
    // An algorithm that picks among others (auto) says which it used; the
    // status keeps the latest pick, stored when it changes.
    v1::Experiment::Status* status = spec_.mutable_status();
    if (status->algorithm() != suggestion.algorithm ||
        status->algorithm_reason() != suggestion.algorithm_reason) {
      status->set_algorithm(suggestion.algorithm);
      status->set_algorithm_reason(suggestion.algorithm_reason);
      changes->experiment = true;
    }
  }

  if (trial == nullptr) {
    v1::Trial fresh;
    fresh.set_experiment(name);
    fresh.set_number(number);
    fresh.set_state(v1::Trial::WAITING);
    fresh.set_origin(v1::Trial::SUGGESTED);
    ParamsToProto(space_, suggestion.params, &fresh);
    fresh.set_sampler_data(suggestion.sampler_data);
    fresh.set_algorithm(suggestion.algorithm);
    TrialRecord record;
    record.number = number;
    record.state = TrialState::kWaiting;
    record.params = std::move(suggestion.params);
    record.sampler_data = std::move(suggestion.sampler_data);
    trial = Append(std::move(fresh), std::move(record));
    ++allocated_;
  } else if (!complete) {
    // Merge: the queued values win; the algorithm's fill the gaps, and a
    // parameter that only the queued values made active is drawn from its
    // prior.
    std::vector<bool> given;
    std::vector<double> params =
        *ParamsFromUser(space_, trial->parameters(), false, &given, "");
    for (size_t i = 0; i < params.size(); ++i) {
      if (!given[i]) params[i] = suggestion.params[i];
      if (IsInactive(params[i]) && space_.IsActive(i, params)) {
        params[i] = space_.param(i).FromUnit(UnitDraw(rng));
      }
    }
    space_.MaskInactive(params);
    trial->clear_parameters();
    ParamsToProto(space_, params, trial);
    RecordOf(trial).params = std::move(params);
  }

  trial->set_worker_id(request.worker_id());
  SetState(trial, v1::Trial::RUNNING);
  *trial->mutable_start_time() = ToProto(now);
  SetLease(trial, now + Lease());
  changes->trials.push_back(*trial);
  if (spec_.state() == v1::Experiment::CREATED) {
    SetExperimentState(v1::Experiment::RUNNING, "running trials", now, changes);
  }
  *response = *trial;
  return absl::OkStatus();
}

absl::Status Experiment::ReportResult(const v1::ReportResultRequest& request,
                                      absl::Time now, Changes* changes,
                                      v1::Trial* response) {
  const std::string& name = spec_.name();
  v1::Trial* trial = FindTrial(request.trial());
  if (trial == nullptr) return TrialNotFound(name, request.trial());
  if (absl::Status s = ValidateReport(spec_, request); !s.ok()) return s;

  const v1::Trial::State new_state = request.failed()   ? v1::Trial::FAILED
                                     : request.pruned() ? v1::Trial::PRUNED
                                                        : v1::Trial::COMPLETED;
  if (!Unfinished(*trial)) {
    // A retry of the report that finished the trial is harmless; anything
    // else would rewrite a result someone may already have acted on.
    v1::Trial reported;
    *reported.mutable_metrics() = request.metrics();
    v1::Trial stored_result;
    *stored_result.mutable_metrics() = trial->metrics();
    if (trial->state() == new_state &&
        MessageDifferencer::Equals(reported, stored_result) &&
        trial->failure_reason() == request.failure_reason()) {
      *response = *trial;
      return absl::OkStatus();
    }
    return absl::FailedPreconditionError(
        absl::StrCat("trial ", request.trial(), " of experiment \"", name,
                     "\" is already ", v1::Trial::State_Name(trial->state()),
                     "; a different result cannot be reported for it"));
  }
  if (absl::Status s = CheckLease(*trial, request.worker_id(), name); !s.ok()) {
    return s;
  }

  SetLease(trial, absl::InfinitePast());
  SetState(trial, new_state);
  if (new_state == v1::Trial::PRUNED && trial->prune_reason().empty()) {
    trial->set_prune_reason("stopped early by its worker");
  }
  *trial->mutable_metrics() = request.metrics();
  trial->set_failure_reason(request.failure_reason());
  *trial->mutable_end_time() = ToProto(now);
  // SetState moved the record's state; only the values are new.
  TrialRecord& record = RecordOf(trial);
  record.values.clear();
  if (new_state == v1::Trial::COMPLETED) {
    // ValidateReport made sure every objective is there.
    for (const v1::Objective& o : spec_.objectives()) {
      record.values.push_back(trial->metrics().at(o.name()));
    }
  }
  changes->trials.push_back(*trial);
  CheckTarget(*trial, now, changes);
  Advance(now, changes);
  *response = *trial;
  return absl::OkStatus();
}

absl::Status Experiment::ReportIntermediate(
    const v1::ReportIntermediateRequest& request, absl::Time now,
    Changes* changes, v1::ReportIntermediateResponse* response) {
  const std::string& name = spec_.name();
  v1::Trial* trial = FindTrial(request.trial());
  if (trial == nullptr) return TrialNotFound(name, request.trial());
  // Intermediate values judge the first objective, so it must be there; other
  // metrics ride along.
  if (absl::Status s =
          ValidateMetrics(spec_, request.metrics(), /*failed=*/true);
      !s.ok()) {
    return s;
  }
  const std::string& objective = spec_.objectives(0).name();
  if (request.metrics().count(objective) == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics: missing the first objective's metric \"", objective, "\""));
  }
  if (!Unfinished(*trial)) {
    return absl::FailedPreconditionError(
        absl::StrCat("trial ", request.trial(), " of experiment \"", name,
                     "\" is ", v1::Trial::State_Name(trial->state()),
                     "; intermediate values are taken only while it runs"));
  }
  if (absl::Status s = CheckLease(*trial, request.worker_id(), name); !s.ok()) {
    return s;
  }
  const auto& values = trial->intermediate_values();
  bool retry = false;
  if (!values.empty()) {
    const v1::IntermediateValue& last = values[values.size() - 1];
    if (request.step() < last.step()) {
      return absl::InvalidArgumentError(
          absl::StrCat("step: ", request.step(),
                       " is before the last reported step ", last.step()));
    }
    if (request.step() == last.step()) {
      v1::IntermediateValue again;
      *again.mutable_metrics() = request.metrics();
      v1::IntermediateValue before;
      *before.mutable_metrics() = last.metrics();
      if (!MessageDifferencer::Equals(again, before)) {
        return absl::FailedPreconditionError(
            absl::StrCat("step: ", request.step(),
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
    RecordOf(trial).intermediate.emplace_back(request.step(),
                                              request.metrics().at(objective));
  }
  // A report is a sign of life: it renews the lease like a heartbeat.
  SetLease(trial, now + Lease());
  if (pruner_ != nullptr) {
    const size_t index = static_cast<size_t>(trial - trials_.data());
    const PruneDecision decision =
        pruner_->ShouldStop(history_, index, request.step());
    response->set_should_stop(decision.stop);
    response->set_reason(decision.reason);
    response->set_bracket(std::max(-1, pruner_->Bracket(trial->number())));
    if (decision.stop) trial->set_prune_reason(decision.reason);
    if (observer_ != nullptr) {
      observer_->EarlyStoppingDecided(spec_.early_stopping().name(),
                                      decision.stop);
    }
  }
  changes->trials.push_back(*trial);
  return absl::OkStatus();
}

absl::Status Experiment::Heartbeat(const v1::HeartbeatRequest& request,
                                   absl::Time now, Changes* changes,
                                   v1::Trial* response) {
  const std::string& name = spec_.name();
  v1::Trial* trial = FindTrial(request.trial());
  if (trial == nullptr) return TrialNotFound(name, request.trial());
  Advance(now, changes);
  if (!Unfinished(*trial)) return NotRunning(*trial, name);
  if (absl::Status s = CheckLease(*trial, request.worker_id(), name); !s.ok()) {
    return s;
  }
  SetLease(trial, now + Lease());
  changes->trials.push_back(*trial);
  *response = *trial;
  return absl::OkStatus();
}

absl::Status Experiment::ReleaseTrial(const v1::ReleaseTrialRequest& request,
                                      absl::Time now, Changes* changes,
                                      v1::Trial* response) {
  const std::string& name = spec_.name();
  v1::Trial* trial = FindTrial(request.trial());
  if (trial == nullptr) return TrialNotFound(name, request.trial());
  Advance(now, changes);
  if (trial->state() == v1::Trial::WAITING &&
      (request.worker_id().empty() ||
       trial->worker_id() == request.worker_id())) {
    *response = *trial;  // A retry, or its lease ran out meanwhile.
    return absl::OkStatus();
  }
  if (trial->state() != v1::Trial::RUNNING) return NotRunning(*trial, name);
  if (absl::Status s = CheckLease(*trial, request.worker_id(), name); !s.ok()) {
    return s;
  }
  HPO_LOG(INFO) << "experiment \"" << name << "\": worker \""
                << trial->worker_id() << "\" handed back trial "
                << trial->number() << (request.reason().empty() ? "" : ": ")
                << request.reason();
  HandBack(trial);
  changes->trials.push_back(*trial);
  *response = *trial;
  return absl::OkStatus();
}

absl::Status Experiment::AddTrial(const v1::AddTrialRequest& request,
                                  absl::Time now, Changes* changes,
                                  v1::Trial* response) {
  auto params =
      ParamsFromUser(space_, request.parameters(), true, nullptr, "parameters");
  if (!params.ok()) return params.status();
  if (absl::Status s =
          ValidateMetrics(spec_, request.metrics(), request.failed());
      !s.ok()) {
    return s;
  }
  v1::Trial trial;
  trial.set_experiment(spec_.name());
  trial.set_number(NextNumber());
  trial.set_state(request.failed() ? v1::Trial::FAILED : v1::Trial::COMPLETED);
  trial.set_origin(v1::Trial::ADDED);
  ParamsToProto(space_, *params, &trial);
  *trial.mutable_metrics() = request.metrics();
  *trial.mutable_start_time() = ToProto(now);
  *trial.mutable_end_time() = ToProto(now);
  auto record = ToTrialRecord(space_, spec_, trial);
  if (!record.ok()) return record.status();
  const v1::Trial* added = Append(std::move(trial), *std::move(record));
  changes->trials.push_back(*added);
  CheckTarget(*added, now, changes);
  *response = *added;
  return absl::OkStatus();
}

absl::Status Experiment::EnqueueTrial(const v1::EnqueueTrialRequest& request,
                                      absl::Time now, Changes* changes,
                                      v1::Trial* response) {
  Advance(now, changes);
  if (!Active() && spec_.state() != v1::Experiment::STOPPED) {
    return NotActive(spec_);
  }
  std::vector<bool> given;
  auto params =
      ParamsFromUser(space_, request.parameters(), false, &given, "parameters");
  if (!params.ok()) return params.status();
  if (spec_.max_trials() > 0 && allocated_ >= spec_.max_trials()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "experiment \"", spec_.name(), "\" has allocated all max_trials (",
        spec_.max_trials(), ") trials; none can be queued"));
  }
  v1::Trial trial;
  trial.set_experiment(spec_.name());
  trial.set_number(NextNumber());
  trial.set_state(v1::Trial::WAITING);
  trial.set_origin(v1::Trial::ENQUEUED);
  ParamsToProto(space_, *params, &trial);
  TrialRecord record;
  record.number = trial.number();
  record.state = TrialState::kWaiting;
  record.params = *std::move(params);
  const v1::Trial* queued = Append(std::move(trial), std::move(record));
  ++allocated_;
  changes->trials.push_back(*queued);
  *response = *queued;
  return absl::OkStatus();
}

absl::Status Experiment::Stop(const v1::StopExperimentRequest& request,
                              absl::Time now, Changes* changes,
                              v1::Experiment* response) {
  Advance(now, changes);
  if (Active()) {
    SetExperimentState(
        v1::Experiment::STOPPED,
        request.reason().empty() ? "stopped by a user" : request.reason(), now,
        changes);
  } else if (spec_.state() != v1::Experiment::STOPPED) {
    return absl::FailedPreconditionError(
        absl::StrCat("experiment \"", spec_.name(), "\" is ",
                     v1::Experiment::State_Name(spec_.state()),
                     "; only a CREATED or RUNNING experiment can be stopped"));
  }
  *response = View();
  return absl::OkStatus();
}

absl::Status Experiment::Resume(const v1::ResumeExperimentRequest& request,
                                absl::Time now, Changes* changes,
                                v1::Experiment* response) {
  if (spec_.state() == v1::Experiment::STOPPED) {
    SetExperimentState(
        allocated_ == 0 ? v1::Experiment::CREATED : v1::Experiment::RUNNING,
        "resumed", now, changes);
  } else if (!Active()) {
    return absl::FailedPreconditionError(
        absl::StrCat("experiment \"", spec_.name(), "\" is ",
                     v1::Experiment::State_Name(spec_.state()),
                     "; only a STOPPED experiment can be resumed"));
  }
  // It may be over already: all trials done while it was stopped, or
  // max_duration passed.
  Advance(now, changes);
  *response = View();
  return absl::OkStatus();
}

void Experiment::GetBest(v1::GetBestResponse* response) const {
  std::vector<size_t> completed;
  for (size_t i = 0; i < history_.trials.size(); ++i) {
    if (history_.trials[i].state == TrialState::kCompleted) {
      completed.push_back(i);
    }
  }
  if (history_.goals.size() == 1) {
    // Strictly better only, so ties go to the earliest trial.
    const size_t* best = nullptr;
    for (const size_t& i : completed) {
      if (best == nullptr ||
          Better(history_.trials[i].values[0], history_.trials[*best].values[0],
                 history_.goals[0])) {
        best = &i;
      }
    }
    if (best != nullptr) *response->add_trials() = trials_[*best];
    return;
  }
  // Several objectives: the Pareto front, in number order.
  for (size_t i : completed) {
    bool dominated = false;
    for (size_t j : completed) {
      if (Dominates(history_.trials[j], history_.trials[i], history_.goals)) {
        dominated = true;
        break;
      }
    }
    if (!dominated) *response->add_trials() = trials_[i];
  }
}

void Experiment::ListTrials(const google::protobuf::RepeatedField<int>& states,
                            int first, int page_size,
                            v1::ListTrialsResponse* response) const {
  const auto wanted = [&](const v1::Trial& t) {
    return states.empty() ||
           std::find(states.begin(), states.end(), t.state()) != states.end();
  };
  auto it = std::lower_bound(
      trials_.begin(), trials_.end(), first,
      [](const v1::Trial& t, int n) { return t.number() < n; });
  for (; it != trials_.end(); ++it) {
    if (!wanted(*it)) continue;
    if (response->trials_size() == page_size) {
      response->set_next_page_token(absl::StrCat(it->number()));
      break;
    }
    *response->add_trials() = *it;
  }
}

}  // namespace hpo
