#include "storage/storage.h"

namespace hpo {

Mutation Mutation::CreateExperiment(v1::Experiment experiment) {
  Mutation m;
  m.kind = Kind::kCreateExperiment;
  m.experiment = std::move(experiment);
  return m;
}

Mutation Mutation::UpdateExperiment(v1::Experiment experiment) {
  Mutation m;
  m.kind = Kind::kUpdateExperiment;
  m.experiment = std::move(experiment);
  return m;
}

Mutation Mutation::DeleteExperiment(std::string name) {
  Mutation m;
  m.kind = Kind::kDeleteExperiment;
  m.name = std::move(name);
  return m;
}

Mutation Mutation::PutTrial(v1::Trial trial) {
  Mutation m;
  m.kind = Kind::kPutTrial;
  m.trial = std::move(trial);
  return m;
}

}  // namespace hpo
