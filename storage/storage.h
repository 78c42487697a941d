// Where experiments and trials are recorded. The server keeps live experiments
// in memory; storage is the record it rebuilds them from at start-up.
//
// Writes are queued and applied in the order they were queued. A write is one
// mutation or several applied together, all or none; it is reported done once
// it is durable (it survives a crash of the process and of the machine), or has
// failed and changed nothing. Backends commit many queued writes together
// (group commit); callers only see each write's own outcome.

#ifndef HPO_STORAGE_STORAGE_H_
#define HPO_STORAGE_STORAGE_H_

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hpo/v1/hpo.pb.h"

namespace hpo {

struct Mutation {
  enum class Kind {
    // Inserts a new experiment; ALREADY_EXISTS if one has its name.
    kCreateExperiment,
    // Replaces a stored experiment; NOT_FOUND if there is none.
    kUpdateExperiment,
    // Removes an experiment and all its trials; NOT_FOUND if there is none.
    kDeleteExperiment,
    // Inserts or replaces a trial (keyed by experiment and number); NOT_FOUND
    // if its experiment is not stored.
    kPutTrial,
  };

  static Mutation CreateExperiment(v1::Experiment experiment);
  static Mutation UpdateExperiment(v1::Experiment experiment);
  static Mutation DeleteExperiment(std::string name);
  static Mutation PutTrial(v1::Trial trial);

  Kind kind;
  v1::Experiment experiment;  // kCreateExperiment, kUpdateExperiment
  v1::Trial trial;            // kPutTrial
  std::string name;           // kDeleteExperiment
};

using WriteResult = std::shared_future<absl::Status>;
// Told a write's outcome, on a storage thread: it must not block.
using WriteDone = absl::AnyInvocable<void(absl::Status)>;

class Storage {
 public:
  virtual ~Storage() = default;

  // Every stored experiment, in name order.
  virtual absl::StatusOr<std::vector<v1::Experiment>> ListExperiments() = 0;
  // One stored experiment; NOT_FOUND if there is none.
  virtual absl::StatusOr<v1::Experiment> GetExperiment(
      absl::string_view name) = 0;
  // Every stored trial of one experiment, in number order.
  virtual absl::StatusOr<std::vector<v1::Trial>> ListTrials(
      absl::string_view experiment) = 0;
  // The names of the experiments with a RUNNING trial, in name order: the
  // ones whose leases someone must watch.
  virtual absl::StatusOr<std::vector<std::string>>
  ListExperimentsWithRunningTrials() = 0;

  // Queues `mutations` as one write, applied all or none, and calls `done`
  // with its outcome; see the comment at the top of this file.
  virtual void Write(std::vector<Mutation> mutations, WriteDone done) = 0;

  // Queues one mutation; the future holds its outcome.
  WriteResult Write(Mutation mutation) {
    auto promise = std::make_shared<std::promise<absl::Status>>();
    WriteResult result = promise->get_future().share();
    std::vector<Mutation> one;
    one.push_back(std::move(mutation));
    Write(std::move(one),
          [promise](absl::Status status) { promise->set_value(status); });
    return result;
  }

  // Queues a write and waits until it is durable.
  absl::Status WriteAndWait(Mutation mutation) {
    return Write(std::move(mutation)).get();
  }
};

}  // namespace hpo

#endif  // HPO_STORAGE_STORAGE_H_
