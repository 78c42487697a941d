#include "server/service.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "pruners/registry.h"
#include "samplers/registry.h"
#include "server/experiment_spec.h"
#include "server/import/spec_import.h"
#include "server/log.h"
#include "server/metrics/metrics.h"

namespace hpo {
namespace {

using google::protobuf::util::TimeUtil;

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;
constexpr size_t kMaxWorkerIdLength = 256;

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

absl::Status NegativeField(absl::string_view field, int64_t value) {
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": must be >= 0, got ", value));
}

// When an unloaded experiment's max_duration runs out, or InfiniteFuture.
absl::Time Deadline(const v1::Experiment& e) {
  const bool active = e.state() == v1::Experiment::CREATED ||
                      e.state() == v1::Experiment::RUNNING;
  if (!active || !e.has_max_duration()) return absl::InfiniteFuture();
  return absl::FromUnixNanos(TimeUtil::TimestampToNanoseconds(e.create_time()) +
                             TimeUtil::DurationToNanoseconds(e.max_duration()));
}

// The mutations that store `changes` of `experiment`.
std::vector<Mutation> ToMutations(const Experiment& experiment,
                                  Changes changes) {
  std::vector<Mutation> mutations;
  mutations.reserve(changes.trials.size() + 1);
  if (changes.experiment) {
    mutations.push_back(Mutation::UpdateExperiment(experiment.Record()));
  }
  for (v1::Trial& trial : changes.trials) {
    mutations.push_back(Mutation::PutTrial(std::move(trial)));
  }
  return mutations;
}

// Records what experiments tell it in a metrics registry. The series of
// every registered algorithm and early-stopping rule are made here, once, and
// looked up in maps that never change after: recording takes no lock and
// allocates nothing. (A name not registered, which no sampler or rule gives
// today, still counts, through the family's own lookup.)
class MetricsObserver final : public ExperimentObserver {
 public:
  explicit MetricsObserver(metrics::Registry& registry)
      : sampler_seconds_(registry.AddHistogram(
            "hpo_sampler_seconds",
            "Time each suggestion spent in the sampler, by the algorithm "
            "that made it (for auto, the one it picked).",
            {"algorithm"}, &metrics::LatencyBuckets())),
        decisions_(registry.AddCounter(
            "hpo_early_stopping_decisions_total",
            "Early-stopping decisions on intermediate reports, by rule and "
            "outcome (continue or stop).",
            {"rule", "outcome"})),
        leases_expired_(registry
                            .AddCounter("hpo_leases_expired_total",
                                        "Running trials whose lease ran out "
                                        "without a sign of life, to be "
                                        "handed out again.",
                                        {})
                            .With({})) {
    for (const std::string& algorithm : SamplerNames()) {
      by_algorithm_.emplace(algorithm, &sampler_seconds_.With({algorithm}));
    }
    for (const std::string& rule : PrunerNames()) {
      by_rule_.emplace(rule, Outcomes{&decisions_.With({rule, "continue"}),
                                      &decisions_.With({rule, "stop"})});
    }
  }

  void SamplerCalled(absl::string_view algorithm, double seconds) override {
    auto it = by_algorithm_.find(algorithm);
    metrics::Histogram& histogram =
        it != by_algorithm_.end()
            ? *it->second
            : sampler_seconds_.With({std::string(algorithm)});
    histogram.Observe(seconds);
  }

  void EarlyStoppingDecided(absl::string_view rule, bool stop) override {
    auto it = by_rule_.find(rule);
    if (it != by_rule_.end()) {
      (stop ? it->second.stop : it->second.go_on)->Increment();
    } else {
      decisions_.With({std::string(rule), stop ? "stop" : "continue"})
          .Increment();
    }
  }

  void LeaseExpired() override { leases_expired_.Increment(); }

 private:
  struct Outcomes {
    metrics::Counter* go_on;  // outcome "continue"
    metrics::Counter* stop;
  };

  metrics::Family<metrics::Histogram>& sampler_seconds_;
  metrics::Family<metrics::Counter>& decisions_;
  metrics::Counter& leases_expired_;
  absl::flat_hash_map<std::string, metrics::Histogram*> by_algorithm_;
  absl::flat_hash_map<std::string, Outcomes> by_rule_;
};

}  // namespace

Service::Service(Storage* storage, ThreadPool* pool, Options options)
    : storage_(storage),
      pool_(pool),
      options_(options),
      observer_(options.metrics != nullptr
                    ? std::make_unique<MetricsObserver>(*options.metrics)
                    : nullptr) {}
Service::~Service() = default;

absl::StatusOr<std::unique_ptr<Service>> Service::Create(Storage* storage,
                                                         ThreadPool* pool,
                                                         Options options) {
  std::unique_ptr<Service> service(new Service(storage, pool, options));
  auto stored = storage->ListExperiments();
  if (!stored.ok()) return stored.status();
  auto running = storage->ListExperimentsWithRunningTrials();
  if (!running.ok()) return running.status();
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&service->mu_);
  for (v1::Experiment& e : *stored) {
    auto slot = std::make_shared<Slot>();
    absl::MutexLock slot_lock(&slot->mu);
    slot->last_used = now;
    std::string name = e.name();
    slot->summary = std::move(e);
    service->slots_.emplace_hint(service->slots_.end(), std::move(name),
                                 std::move(slot));
  }
  // Experiments with running trials stay in memory: their leases run out
  // with nobody asking.
  for (const std::string& name : *running) {
    auto it = service->slots_.find(name);
    if (it == service->slots_.end()) continue;
    Slot& slot = *it->second;
    absl::MutexLock slot_lock(&slot.mu);
    if (absl::Status s = service->EnsureLoaded(name, slot); !s.ok()) return s;
  }
  return service;
}

int Service::loaded() const { return loaded_.load(std::memory_order_relaxed); }

int Service::stored() const {
  absl::ReaderMutexLock lock(&mu_);
  return static_cast<int>(slots_.size());
}

Service::Census Service::TakeCensus() const {
  std::vector<std::shared_ptr<Slot>> slots;
  {
    absl::ReaderMutexLock lock(&mu_);
    slots.reserve(slots_.size());
    for (const auto& [name, slot] : slots_) slots.push_back(slot);
  }
  Census census;
  for (const std::shared_ptr<Slot>& slot : slots) {
    absl::MutexLock lock(&slot->mu);
    if (slot->deleted) continue;
    const bool counted = slot->live != nullptr || slot->counted;
    const v1::Experiment e =
        slot->live != nullptr ? slot->live->View() : slot->summary;
    ++census.experiments[v1::Experiment::State_Name(e.state())];
    if (!counted) continue;
    const std::string& algorithm = e.algorithm().name();
    const v1::Experiment::Status& s = e.status();
    for (const auto& [state, n] :
         {std::pair<const char*, int>{"WAITING", s.waiting()},
          {"RUNNING", s.running()},
          {"COMPLETED", s.completed()},
          {"PRUNED", s.pruned()},
          {"FAILED", s.failed()}}) {
      census.trials[{state, algorithm}] += n;
    }
  }
  return census;
}

std::shared_ptr<Service::Slot> Service::FindSlot(const std::string& name) {
  absl::ReaderMutexLock lock(&mu_);
  auto it = slots_.find(name);
  return it == slots_.end() ? nullptr : it->second;
}

absl::Status Service::EnsureLoaded(const std::string& name, Slot& slot) {
  if (slot.live != nullptr) {
    // Reloaded once the writes still in flight are done; until then memory
    // is the better guess.
    if (!slot.stale.load() || slot.in_flight.load() > 0) {
      return absl::OkStatus();
    }
    HPO_LOG(WARNING) << "experiment \"" << name
                     << "\": a write failed; reloading it from storage";
    slot.live.reset();
    loaded_.fetch_sub(1, std::memory_order_relaxed);
  }
  auto spec = storage_->GetExperiment(name);
  if (!spec.ok()) return spec.status();
  auto trials = storage_->ListTrials(name);
  if (!trials.ok()) return trials.status();
  auto live = Experiment::Restore(*std::move(spec), *std::move(trials));
  if (!live.ok()) return live.status();
  slot.live = *std::move(live);
  slot.live->set_observer(observer_.get());
  slot.stale.store(false);
  loaded_.fetch_add(1, std::memory_order_relaxed);
  return absl::OkStatus();
}

void Service::OnExperiment(const std::string& name, absl::string_view field,
                           Cost cost, Operation operation, Done done) {
  if (absl::Status s = ValidateExperimentName(name, field); !s.ok()) {
    return done(s);
  }
  std::shared_ptr<Slot> slot = FindSlot(name);
  if (slot == nullptr) return done(NotFound(field, name));
  if (cost == Cost::kQuick && slot->mu.TryLock()) {
    if (!slot->deleted && slot->live != nullptr && !slot->stale.load()) {
      absl::Status answer;
      const bool queued = Run(slot, operation, done, &answer);
      slot->mu.Unlock();
      if (!queued) done(std::move(answer));
      return;
    }
    slot->mu.Unlock();
  }
  // `field` names a request field: a string literal, alive for good.
  pool_->Schedule([this, name, field, slot = std::move(slot),
                   operation = std::move(operation),
                   done = std::move(done)]() mutable {
    RunLocked(name, field, std::move(slot), std::move(operation),
              std::move(done));
  });
}

void Service::RunLocked(const std::string& name, absl::string_view field,
                        std::shared_ptr<Slot> slot, Operation operation,
                        Done done) {
  absl::Status answer;
  {
    absl::MutexLock lock(&slot->mu);
    if (slot->deleted) {
      answer = NotFound(field, name);
    } else if (answer = EnsureLoaded(name, *slot);
               answer.ok() && Run(slot, operation, done, &answer)) {
      return;
    }
  }
  // Nothing to store: answered with no lock held.
  done(std::move(answer));
}

bool Service::Run(const std::shared_ptr<Slot>& slot, Operation& operation,
                  Done& done, absl::Status* answer) {
  const absl::Time now = absl::Now();
  slot->last_used = now;
  Changes changes;
  *answer = operation(*slot->live, now, &changes);
  if (changes.empty()) return false;
  Commit(slot, *slot->live, std::move(changes), std::move(*answer),
         std::move(done));
  return true;
}

void Service::Commit(const std::shared_ptr<Slot>& slot,
                     const Experiment& experiment, Changes changes,
                     absl::Status result, Done done) {
  // Queued under the experiment's lock, so that its writes reach storage in
  // the order they were made.
  slot->in_flight.fetch_add(1);
  storage_->Write(ToMutations(experiment, std::move(changes)),
                  [slot, result = std::move(result),
                   done = std::move(done)](absl::Status stored) mutable {
                    if (!stored.ok()) slot->stale.store(true);
                    slot->in_flight.fetch_sub(1);
                    done(stored.ok() ? std::move(result) : std::move(stored));
                  });
}

absl::StatusOr<v1::Experiment> Service::Summary(const std::string& name,
                                                Slot& slot) {
  if (slot.live != nullptr) return slot.live->View();
  if (!slot.counted) {
    // Counted once, by loading it for a moment: its trials are needed only
    // to count them.
    if (absl::Status s = EnsureLoaded(name, slot); !s.ok()) return s;
    slot.summary = slot.live->View();
    slot.counted = true;
    slot.live.reset();
    loaded_.fetch_sub(1, std::memory_order_relaxed);
  }
  return slot.summary;
}

void Service::CreateExperiment(const v1::CreateExperimentRequest& request,
                               v1::Experiment* response, Done done) {
  v1::Experiment e;
  if (request.has_import_spec()) {
    auto imported = ImportExperiment(request.import_spec());
    if (!imported.ok()) return done(imported.status());
    e = *std::move(imported);
    OverrideSetFields(request.experiment(), &e);
  } else if (request.has_experiment()) {
    e = request.experiment();
  } else {
    return done(
        absl::InvalidArgumentError("experiment: is required (or import_spec)"));
  }
  if (absl::Status s = ValidateExperiment(e); !s.ok()) return done(s);
  if (e.algorithm().name().empty()) {
    e.mutable_algorithm()->set_name(kDefaultAlgorithm);
  }
  if (!e.has_seed()) e.set_seed(absl::Uniform<uint32_t>(absl::BitGen()));
  const absl::Time now = absl::Now();
  auto created = Experiment::Create(std::move(e), now);
  if (!created.ok()) return done(created.status());
  std::unique_ptr<Experiment> experiment = *std::move(created);
  experiment->set_observer(observer_.get());
  *response = experiment->View();
  const std::string name = experiment->name();

  auto slot = std::make_shared<Slot>();
  absl::MutexLock lock(&mu_);
  if (slots_.count(name) > 0) {
    return done(absl::AlreadyExistsError(absl::StrCat(
        "experiment.name: experiment \"", name, "\" already exists")));
  }
  absl::MutexLock slot_lock(&slot->mu);
  slot->last_used = now;
  slot->counted = true;
  Mutation create = Mutation::CreateExperiment(experiment->Record());
  slot->live = std::move(experiment);
  loaded_.fetch_add(1, std::memory_order_relaxed);
  slots_[name] = slot;
  std::vector<Mutation> mutations;
  mutations.push_back(std::move(create));
  storage_->Write(
      std::move(mutations),
      [this, slot, name, done = std::move(done)](absl::Status stored) mutable {
        if (stored.ok()) {
          HPO_LOG(INFO) << "created experiment \"" << name << "\"";
          return done(absl::OkStatus());
        }
        // Never stored: forget it, unless someone deleted or replaced it
        // meanwhile.
        {
          absl::MutexLock lock(&mu_);
          auto it = slots_.find(name);
          if (it != slots_.end() && it->second == slot) slots_.erase(it);
        }
        {
          absl::MutexLock slot_lock(&slot->mu);
          slot->deleted = true;
        }
        done(std::move(stored));
      });
}

void Service::GetExperiment(const v1::GetExperimentRequest& request,
                            v1::Experiment* response, Done done) {
  OnExperiment(
      request.name(), "name", Cost::kQuick,
      [&request, response](Experiment& e, absl::Time now, Changes* changes) {
        e.Advance(now, changes);
        *response = e.View();
        return absl::OkStatus();
      },
      std::move(done));
}

void Service::ListExperiments(const v1::ListExperimentsRequest& request,
                              v1::ListExperimentsResponse* response,
                              Done done) {
  // On the pool: an experiment never counted is loaded from disk to count it.
  pool_->Schedule([this, &request, response, done = std::move(done)]() mutable {
    ListExperimentsNow(request, response, std::move(done));
  });
}

void Service::ListExperimentsNow(const v1::ListExperimentsRequest& request,
                                 v1::ListExperimentsResponse* response,
                                 Done done) {
  auto page_size = PageSize(request.page_size());
  if (!page_size.ok()) return done(page_size.status());
  // The token is the last name of the previous page; names sort as the map
  // does.
  if (!request.page_token().empty() &&
      !ValidateExperimentName(request.page_token(), "page_token").ok()) {
    return done(absl::InvalidArgumentError("page_token: malformed page token"));
  }
  std::vector<std::pair<std::string, std::shared_ptr<Slot>>> page;
  bool more = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = request.page_token().empty()
                  ? slots_.begin()
                  : slots_.upper_bound(request.page_token());
    for (; it != slots_.end(); ++it) {
      if (static_cast<int>(page.size()) == *page_size) {
        more = true;
        break;
      }
      page.emplace_back(it->first, it->second);
    }
  }
  for (const auto& [name, slot] : page) {
    absl::MutexLock lock(&slot->mu);
    if (slot->deleted) continue;
    auto summary = Summary(name, *slot);
    if (!summary.ok()) return done(summary.status());
    *response->add_experiments() = *std::move(summary);
  }
  if (more && !page.empty()) response->set_next_page_token(page.back().first);
  done(absl::OkStatus());
}

void Service::DeleteExperiment(const v1::DeleteExperimentRequest& request,
                               google::protobuf::Empty*, Done done) {
  const std::string& name = request.name();
  if (absl::Status s = ValidateExperimentName(name, "name"); !s.ok()) {
    return done(s);
  }
  std::vector<Mutation> mutations;
  mutations.push_back(Mutation::DeleteExperiment(name));
  absl::MutexLock lock(&mu_);
  auto it = slots_.find(name);
  if (it == slots_.end()) return done(NotFound("name", name));
  std::shared_ptr<Slot> slot = it->second;
  // Queued under the experiment's lock, so any write of a request that found
  // it earlier is queued before the delete, never after it.
  absl::MutexLock slot_lock(&slot->mu);
  slot->deleted = true;
  if (slot->live != nullptr) {
    slot->live.reset();
    loaded_.fetch_sub(1, std::memory_order_relaxed);
  }
  slots_.erase(it);
  storage_->Write(std::move(mutations),
                  [name, done = std::move(done)](absl::Status stored) mutable {
                    if (stored.ok()) {
                      HPO_LOG(INFO) << "deleted experiment \"" << name << "\"";
                    }
                    done(std::move(stored));
                  });
}

void Service::GetTrialConfig(const v1::GetTrialConfigRequest& request,
                             v1::Trial* response, Done done) {
  if (request.worker_id().size() > kMaxWorkerIdLength) {
    return done(absl::InvalidArgumentError(
        "worker_id: must be at most 256 characters"));
  }
  OnExperiment(
      request.experiment(), "experiment", Cost::kCompute,
      [&request, response](Experiment& e, absl::Time now, Changes* changes) {
        absl::Status s = e.GetTrialConfig(request, now, changes, response);
        if (s.ok() && !request.has_trial()) {
          HPO_LOG(DEBUG) << "experiment \"" << e.name() << "\": trial "
                         << response->number() << " to worker \""
                         << request.worker_id() << "\"";
        }
        return s;
      },
      std::move(done));
}

void Service::ReportResult(const v1::ReportResultRequest& request,
                           v1::Trial* response, Done done) {
  if (request.trial() < 0) return done(NegativeField("trial", request.trial()));
  OnExperiment(
      request.experiment(), "experiment", Cost::kQuick,
      [&request, response](Experiment& e, absl::Time now, Changes* changes) {
        return e.ReportResult(request, now, changes, response);
      },
      std::move(done));
}

void Service::ReportIntermediate(const v1::ReportIntermediateRequest& request,
                                 v1::ReportIntermediateResponse* response,
                                 Done done) {
  if (request.trial() < 0) return done(NegativeField("trial", request.trial()));
  if (request.step() < 0) return done(NegativeField("step", request.step()));
  OnExperiment(
      request.experiment(), "experiment", Cost::kCompute,
      [&request, response](Experiment& e, absl::Time now, Changes* changes) {
        absl::Status s = e.ReportIntermediate(request, now, changes, response);
        if (s.ok() && response->should_stop()) {
          HPO_LOG(INFO) << "experiment \"" << e.name() << "\": trial "
                        << request.trial()
                        << " should stop: " << response->reason();
        }
        return s;
      },
      std::move(done));
}

void Service::StopExperiment(const v1::StopExperimentRequest& request,
                             v1::Experiment* response, Done done) {
  OnExperiment(
      request.name(), "name", Cost::kQuick,
      [&request, response](Experiment& e, absl::Time now, Changes* changes) {
        return e.Stop(request, now, changes, response);
      },
      std::move(done));
}

void Service::ResumeExperiment(const v1::ResumeExperimentRequest& request,
                               v1::Experiment* response, Done done) {
  OnExperiment(
      request.name(), "name", Cost::kQuick,
      [&request, response](Experiment& e, absl::Time now, Changes* changes) {
        return e.Resume(request, now, changes, response);
      },
      std::move(done));
}

void Service::Heartbeat(const v1::HeartbeatRequest& request,
                        v1::Trial* response, Done done) {
  OnExperiment(
      request.experiment(), "experiment", Cost::kQuick,
      [&request, response](Experiment& e, absl::Time now, Changes* changes) {
        return e.Heartbeat(request, now, changes, response);
      },
      std::move(done));
}

void Service::ReleaseTrial(const v1::ReleaseTrialRequest& request,
                           v1::Trial* response, Done done) {
  OnExperiment(
      request.experiment(), "experiment", Cost::kQuick,
      [&request, response](Experiment& e, absl::Time now, Changes* changes) {
        return e.ReleaseTrial(request, now, changes, response);
      },
      std::move(done));
}

void Service::AddTrial(const v1::AddTrialRequest& request, v1::Trial* response,
                       Done done) {
  OnExperiment(
      request.experiment(), "experiment", Cost::kQuick,
      [&request, response](Experiment& e, absl::Time now, Changes* changes) {
        return e.AddTrial(request, now, changes, response);
      },
      std::move(done));
}

void Service::EnqueueTrial(const v1::EnqueueTrialRequest& request,
                           v1::Trial* response, Done done) {
  OnExperiment(
      request.experiment(), "experiment", Cost::kQuick,
      [&request, response](Experiment& e, absl::Time now, Changes* changes) {
        return e.EnqueueTrial(request, now, changes, response);
      },
      std::move(done));
}

void Service::GetBest(const v1::GetBestRequest& request,
                      v1::GetBestResponse* response, Done done) {
  OnExperiment(
      request.experiment(), "experiment", Cost::kQuick,
      [response](Experiment& e, absl::Time, Changes*) {
        e.GetBest(response);
        return absl::OkStatus();
      },
      std::move(done));
}

void Service::ListTrials(const v1::ListTrialsRequest& request,
                         v1::ListTrialsResponse* response, Done done) {
  if (absl::Status s =
          ValidateExperimentName(request.experiment(), "experiment");
      !s.ok()) {
    return done(s);
  }
  auto page_size = PageSize(request.page_size());
  if (!page_size.ok()) return done(page_size.status());
  // The token is the number of the first trial of the next page.
  int first = 0;
  if (!request.page_token().empty() &&
      (!absl::SimpleAtoi(request.page_token(), &first) || first < 0)) {
    return done(absl::InvalidArgumentError("page_token: malformed page token"));
  }
  OnExperiment(
      request.experiment(), "experiment", Cost::kQuick,
      [&request, response, first, page_size = *page_size](
          Experiment& e, absl::Time, Changes*) {
        e.ListTrials(request.states(), first, page_size, response);
        return absl::OkStatus();
      },
      std::move(done));
}

int Service::Tick() {
  int unloaded = 0;
  std::vector<std::pair<std::string, std::shared_ptr<Slot>>> all;
  {
    absl::MutexLock lock(&mu_);
    all.reserve(slots_.size());
    for (const auto& [name, slot] : slots_) all.emplace_back(name, slot);
  }
  const absl::Time now = absl::Now();
  for (const auto& [name, slot] : all) {
    absl::MutexLock lock(&slot->mu);
    if (slot->deleted) continue;
    if (slot->live == nullptr) {
      // Unloaded experiments have no running trial; only max_duration can
      // run out.
      if (Deadline(slot->summary) > now) continue;
      if (absl::Status s = EnsureLoaded(name, *slot); !s.ok()) {
        HPO_LOG(ERROR) << "experiment \"" << name
                       << "\": cannot load it: " << s;
        continue;
      }
    }
    Experiment& live = *slot->live;
    if (live.NextDeadline() <= now) {
      Changes changes;
      live.Advance(now, &changes);
      if (!changes.empty()) {
        Commit(slot, live, std::move(changes), absl::OkStatus(),
               [](absl::Status) {});
      }
    }
    if (live.running() == 0 && slot->in_flight.load() == 0 &&
        !slot->stale.load() && now - slot->last_used >= options_.idle_unload) {
      slot->summary = live.View();
      slot->counted = true;
      slot->live.reset();
      loaded_.fetch_sub(1, std::memory_order_relaxed);
      ++unloaded;
    }
  }
  return unloaded;
}

}  // namespace hpo
