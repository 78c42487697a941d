#include "samplers/tpe/observation_table.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace hpo {
namespace tpe_internal {

void ObservationTable::Reset() {
  dims_ = 0;
  rows_ = 0;
  stride_ = 0;
  raw_.clear();
  sized_.clear();
  unit_.clear();
  complete_.clear();
  all_complete_ = true;
  ++generation_;
}

void ObservationTable::Grow(size_t rows) {
  if (rows <= stride_) return;
  const size_t stride = std::max(rows, 2 * stride_);
  std::vector<double> unit(dims_ * stride);
  for (size_t i = 0; i < dims_; ++i) {
    std::copy(unit_.begin() + i * stride_, unit_.begin() + i * stride_ + rows_,
              unit.begin() + i * stride);
  }
  unit_ = std::move(unit);
  stride_ = stride;
}

void ObservationTable::Read(size_t r, const TrialRecord& trial,
                            const std::vector<Axis>& axes) {
  const bool sized = trial.params.size() == dims_;
  sized_[r] = sized;
  double* raw = raw_.data() + r * dims_;
  bool complete = sized;
  for (size_t i = 0; i < dims_; ++i) {
    raw[i] = sized ? trial.params[i] : std::numeric_limits<double>::quiet_NaN();
    const double u = sized ? axes[i].Observe(raw[i]) : kInactive;
    unit_[i * stride_ + r] = u;
    complete &= !std::isnan(u);
  }
  complete_[r] = complete;
}

void ObservationTable::Update(const History& history,
                              const std::vector<Axis>& axes) {
  if (axes.size() != dims_) {
    Reset();
    dims_ = axes.size();
  }
  const size_t rows = history.trials.size();
  if (rows < rows_) {
    // Trials gone (a history other than the last one's): what was derived
    // from them no longer holds.
    ++generation_;
    rows_ = rows;
  }
  Grow(rows);
  raw_.resize(rows * dims_);
  sized_.resize(rows);
  complete_.resize(rows);
  const size_t bytes = dims_ * sizeof(double);
  for (size_t r = 0; r < rows; ++r) {
    const TrialRecord& trial = history.trials[r];
    if (r < rows_) {
      // Compared bit for bit: the same bits observe the same way, and a NaN
      // (an inactive parameter) equals itself here.
      const bool sized = trial.params.size() == dims_;
      if (sized == (sized_[r] != 0) &&
          (!sized || std::memcmp(trial.params.data(), raw_.data() + r * dims_,
                                 bytes) == 0)) {
        continue;
      }
      ++generation_;
    }
    Read(r, trial, axes);
  }
  rows_ = rows;
  all_complete_ = std::find(complete_.begin(), complete_.begin() + rows, 0) ==
                  complete_.begin() + rows;
}

}  // namespace tpe_internal
}  // namespace hpo
