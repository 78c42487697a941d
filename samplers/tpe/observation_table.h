// Every trial's parameters as TPE's estimators read them (Axis::Observe: unit
// coordinates, category indices, NaN where inactive or unusable), kept from
// one suggestion to the next. The service hands a sampler the same history
// plus a trial or two each time, so a suggestion re-reads only the trials
// whose parameters are new or changed; reading every trial's parameters
// through Observe was a sixth of a suggestion at 1000 trials in 30
// dimensions. Comparing a trial's parameters with the copy kept here costs a
// fraction of that.
//
// Internal to samplers/tpe; in a header for the sampler and its tests.

#ifndef HPO_SAMPLERS_TPE_OBSERVATION_TABLE_H_
#define HPO_SAMPLERS_TPE_OBSERVATION_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/history.h"
#include "samplers/tpe/parzen_estimator.h"

namespace hpo {
namespace tpe_internal {

class ObservationTable {
 public:
  // Brings the table up to `history`, read through `axes` (one per
  // parameter). Rows are history positions. A trial whose params do not have
  // one coordinate per axis (an older spec) gets a row of NaN. Call Reset
  // first when the axes change.
  void Update(const History& history, const std::vector<Axis>& axes);
  // Forgets everything (the next Update reads every trial).
  void Reset();

  // Parameter i's observations, indexed by history position.
  const double* column(size_t i) const { return unit_.data() + i * stride_; }
  // Whether row r observes every parameter, and whether every row does.
  bool complete(size_t r) const { return complete_[r] != 0; }
  bool all_complete() const { return all_complete_; }
  // Changes whenever a row that was already in the table changes or goes
  // (not when rows are added): whatever was derived from some rows at one
  // generation still holds for those rows while the generation is the same.
  uint64_t generation() const { return generation_; }

 private:
  void Grow(size_t rows);
  void Read(size_t r, const TrialRecord& trial, const std::vector<Axis>& axes);

  size_t dims_ = 0;
  size_t rows_ = 0;
  // Column length in unit_ (rows_ <= stride_); grows by doubling.
  size_t stride_ = 0;
  // Per row: the coordinates as last read (row-major), and whether the trial
  // had one per axis.
  std::vector<double> raw_;
  std::vector<char> sized_;
  // Column-major, stride_ per column.
  std::vector<double> unit_;
  std::vector<char> complete_;
  bool all_complete_ = true;
  uint64_t generation_ = 0;
};

}  // namespace tpe_internal
}  // namespace hpo

#endif  // HPO_SAMPLERS_TPE_OBSERVATION_TABLE_H_
