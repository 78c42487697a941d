// Where experiments and trials are recorded. The server keeps live experiments
// in memory; storage is the record it rebuilds them from at start-up.
//
// Writes are queued and applied in the order they were queued. Each write's
// future becomes ready once the write is durable (it survives a crash of the
// process and of the machine), or has failed and changed nothing. Backends may
// commit many queued writes together (group commit); callers only see each
// write's own outcome.

#ifndef HPO_STORAGE_STORAGE_H_
#define HPO_STORAGE_STORAGE_H_

#include <future>
#include <string>
#include <vector>

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

class Storage {
 public:
  virtual ~Storage() = default;

  // Every stored experiment, in name order.
  virtual absl::StatusOr<std::vector<v1::Experiment>> ListExperiments() = 0;
  // Every stored trial of one experiment, in number order.
  virtual absl::StatusOr<std::vector<v1::Trial>> ListTrials(
      absl::string_view experiment) = 0;

  // Queues a write; see the comment at the top of this file.
  virtual WriteResult Write(Mutation mutation) = 0;

  // Queues a write and waits until it is durable.
  absl::Status WriteAndWait(Mutation mutation) {
    return Write(std::move(mutation)).get();
  }
};

}  // namespace hpo

#endif  // HPO_STORAGE_STORAGE_H_
