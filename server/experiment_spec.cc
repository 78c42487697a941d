#include "server/experiment_spec.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace hpo {
namespace {

// Integers beyond 2^53 cannot be held exactly in a double coordinate.
constexpr int64_t kMaxExactInt = int64_t{1} << 53;
constexpr size_t kMaxParamNameLength = 128;
constexpr size_t kMaxExperimentNameLength = 63;

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

bool IsParamNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' || c == '/';
}

std::string Num(double v) { return absl::StrFormat("%g", v); }

absl::Status ValidateDoubleRange(const v1::DoubleRange& r,
                                 const std::string& f) {
  if (!std::isfinite(r.min())) return Invalid(f + ".min", "must be finite");
  if (!std::isfinite(r.max())) return Invalid(f + ".max", "must be finite");
  if (r.min() > r.max()) {
    return Invalid(f + ".min",
                   absl::StrCat("must be <= max (min ", Num(r.min()), ", max ",
                                Num(r.max()), ")"));
  }
  if (r.log() && r.min() <= 0) {
    return Invalid(
        f + ".min",
        absl::StrCat("must be > 0 when log is true, got ", Num(r.min())));
  }
  if (!std::isfinite(r.step()) || r.step() < 0) {
    return Invalid(f + ".step",
                   absl::StrCat("must be >= 0, got ", Num(r.step())));
  }
  if (r.step() > 0) {
    if (r.log()) return Invalid(f + ".step", "cannot be combined with log");
    if (r.min() < r.max() && r.step() > r.max() - r.min()) {
      return Invalid(
          f + ".step",
          absl::StrCat("is larger than the range (step ", Num(r.step()),
                       ", max - min ", Num(r.max() - r.min()), ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateIntRange(const v1::IntRange& r, const std::string& f) {
  if (r.min() < -kMaxExactInt || r.min() > kMaxExactInt) {
    return Invalid(f + ".min", "must be within +-2^53");
  }
  if (r.max() < -kMaxExactInt || r.max() > kMaxExactInt) {
    return Invalid(f + ".max", "must be within +-2^53");
  }
  if (r.min() > r.max()) {
    return Invalid(f + ".min", absl::StrCat("must be <= max (min ", r.min(),
                                            ", max ", r.max(), ")"));
  }
  if (r.log() && r.min() < 1) {
    return Invalid(
        f + ".min",
        absl::StrCat("must be >= 1 when log is true, got ", r.min()));
  }
  if (r.step() < 0) {
    return Invalid(f + ".step", absl::StrCat("must be >= 0, got ", r.step()));
  }
  if (r.step() > 1) {
    if (r.log()) return Invalid(f + ".step", "cannot be combined with log");
    if (r.min() < r.max() && r.step() > r.max() - r.min()) {
      return Invalid(f + ".step",
                     absl::StrCat("is larger than the range (step ", r.step(),
                                  ", max - min ", r.max() - r.min(), ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateParameter(const v1::Parameter& p, const std::string& f) {
  switch (p.domain_case()) {
    case v1::Parameter::kDoubleRange:
      return ValidateDoubleRange(p.double_range(), f + ".double_range");
    case v1::Parameter::kIntRange:
      return ValidateIntRange(p.int_range(), f + ".int_range");
    case v1::Parameter::kCategorical: {
      const auto& values = p.categorical().values();
      if (values.empty())
        return Invalid(f + ".categorical.values", "must not be empty");
      std::set<std::string> seen;
      for (int i = 0; i < values.size(); ++i) {
        if (!seen.insert(values[i]).second) {
          return Invalid(absl::StrCat(f, ".categorical.values[", i, "]"),
                         absl::StrCat("duplicate value \"", values[i], "\""));
        }
      }
      return absl::OkStatus();
    }
    case v1::Parameter::kDiscrete: {
      const auto& values = p.discrete().values();
      if (values.empty())
        return Invalid(f + ".discrete.values", "must not be empty");
      std::set<double> seen;
      for (int i = 0; i < values.size(); ++i) {
        const std::string vf = absl::StrCat(f, ".discrete.values[", i, "]");
        if (!std::isfinite(values[i])) return Invalid(vf, "must be finite");
        if (!seen.insert(values[i]).second) {
          return Invalid(vf, absl::StrCat("duplicate value ", Num(values[i])));
        }
      }
      return absl::OkStatus();
    }
    case v1::Parameter::DOMAIN_NOT_SET:
      break;
  }
  return Invalid(
      f, "one of double_range, int_range, categorical or discrete is required");
}

}  // namespace

absl::Status ValidateExperimentName(absl::string_view name,
                                    absl::string_view field) {
  if (name.empty()) return Invalid(field, "must not be empty");
  if (name.size() > kMaxExperimentNameLength) {
    return Invalid(field, absl::StrCat("must be at most 63 characters, got ",
                                       name.size()));
  }
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_')) {
      return Invalid(field,
                     absl::StrCat("\"", absl::CHexEscape(name),
                                  "\" may contain only lower-case letters, "
                                  "digits, '-' and '_'"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateExperiment(const v1::Experiment& e,
                                absl::string_view field) {
  const std::string f(field);
  if (absl::Status s = ValidateExperimentName(e.name(), f + ".name"); !s.ok())
    return s;

  if (e.parameters().empty()) {
    return Invalid(f + ".parameters", "at least one parameter is required");
  }
  std::set<std::string> names;
  for (int i = 0; i < e.parameters_size(); ++i) {
    const v1::Parameter& p = e.parameters(i);
    const std::string pf = absl::StrCat(f, ".parameters[", i, "]");
    if (p.name().empty()) return Invalid(pf + ".name", "must not be empty");
    if (p.name().size() > kMaxParamNameLength) {
      return Invalid(pf + ".name", "must be at most 128 characters");
    }
    for (char c : p.name()) {
      if (!IsParamNameChar(c)) {
        return Invalid(
            pf + ".name",
            absl::StrCat("\"", absl::CHexEscape(p.name()),
                         "\" may contain only letters, digits and _ - . /"));
      }
    }
    if (!names.insert(p.name()).second) {
      return Invalid(pf + ".name", absl::StrCat("duplicate parameter name \"",
                                                p.name(), "\""));
    }
    if (absl::Status s = ValidateParameter(p, pf); !s.ok()) return s;
  }

  if (e.objectives().empty()) {
    return Invalid(f + ".objectives", "at least one objective is required");
  }
  std::set<std::string> metrics;
  for (int i = 0; i < e.objectives_size(); ++i) {
    const v1::Objective& o = e.objectives(i);
    const std::string of = absl::StrCat(f, ".objectives[", i, "]");
    if (o.name().empty()) return Invalid(of + ".name", "must not be empty");
    if (!metrics.insert(o.name()).second) {
      return Invalid(of + ".name",
                     absl::StrCat("duplicate objective \"", o.name(), "\""));
    }
    if (o.goal() != v1::Objective::MINIMIZE &&
        o.goal() != v1::Objective::MAXIMIZE) {
      return Invalid(of + ".goal", "must be MINIMIZE or MAXIMIZE");
    }
  }

  if (e.max_trials() < 0) return Invalid(f + ".max_trials", "must be >= 0");
  if (e.parallel_trials() < 0)
    return Invalid(f + ".parallel_trials", "must be >= 0");
  if (e.max_failed_trials() < 0) {
    return Invalid(f + ".max_failed_trials", "must be >= 0");
  }
  return absl::OkStatus();
}

SearchSpace CompileSearchSpace(const v1::Experiment& experiment) {
  std::vector<ParamSpec> params;
  for (const v1::Parameter& p : experiment.parameters()) {
    ParamSpec spec;
    spec.name = p.name();
    switch (p.domain_case()) {
      case v1::Parameter::kDoubleRange:
        spec.kind = ParamKind::kDouble;
        spec.low = p.double_range().min();
        spec.high = p.double_range().max();
        spec.log = p.double_range().log();
        spec.step = p.double_range().step();
        break;
      case v1::Parameter::kIntRange:
        spec.kind = ParamKind::kInt;
        spec.low = static_cast<double>(p.int_range().min());
        spec.high = static_cast<double>(p.int_range().max());
        spec.log = p.int_range().log();
        spec.step =
            static_cast<double>(std::max<int64_t>(1, p.int_range().step()));
        break;
      case v1::Parameter::kCategorical:
        spec.kind = ParamKind::kCategorical;
        spec.categories.assign(p.categorical().values().begin(),
                               p.categorical().values().end());
        break;
      case v1::Parameter::kDiscrete:
        spec.kind = ParamKind::kDiscrete;
        spec.values.assign(p.discrete().values().begin(),
                           p.discrete().values().end());
        break;
      case v1::Parameter::DOMAIN_NOT_SET:
        break;
    }
    params.push_back(std::move(spec));
  }
  return SearchSpace(std::move(params));
}

std::vector<Goal> Goals(const v1::Experiment& experiment) {
  std::vector<Goal> goals;
  for (const v1::Objective& o : experiment.objectives()) {
    goals.push_back(o.goal() == v1::Objective::MAXIMIZE ? Goal::kMaximize
                                                        : Goal::kMinimize);
  }
  return goals;
}

void ParamsToProto(const SearchSpace& space,
                   const std::vector<double>& coordinates, v1::Trial* trial) {
  auto& out = *trial->mutable_parameters();
  for (size_t i = 0; i < space.size(); ++i) {
    const ParamSpec& p = space.param(i);
    google::protobuf::Value& v = out[p.name];
    const double x = coordinates[i];
    switch (p.kind) {
      case ParamKind::kCategorical:
        v.set_string_value(p.categories[static_cast<size_t>(x)]);
        break;
      case ParamKind::kDiscrete:
        v.set_number_value(p.values[static_cast<size_t>(x)]);
        break;
      case ParamKind::kDouble:
      case ParamKind::kInt:
        v.set_number_value(x);
        break;
    }
  }
}

absl::StatusOr<std::vector<double>> ParamsFromProto(const SearchSpace& space,
                                                    const v1::Trial& trial) {
  std::vector<double> coordinates(space.size());
  for (size_t i = 0; i < space.size(); ++i) {
    const ParamSpec& p = space.param(i);
    auto it = trial.parameters().find(p.name);
    const auto bad = [&](absl::string_view why) {
      return absl::DataLossError(
          absl::StrCat("trial ", trial.number(), " of \"", trial.experiment(),
                       "\": parameter \"", p.name, "\" ", why));
    };
    if (it == trial.parameters().end()) return bad("is missing");
    const google::protobuf::Value& v = it->second;
    switch (p.kind) {
      case ParamKind::kCategorical: {
        if (!v.has_string_value()) return bad("is not a string");
        auto pos = std::find(p.categories.begin(), p.categories.end(),
                             v.string_value());
        if (pos == p.categories.end()) return bad("has an unknown value");
        coordinates[i] = static_cast<double>(pos - p.categories.begin());
        break;
      }
      case ParamKind::kDiscrete: {
        if (!v.has_number_value()) return bad("is not a number");
        auto pos =
            std::find(p.values.begin(), p.values.end(), v.number_value());
        if (pos == p.values.end()) return bad("has an unknown value");
        coordinates[i] = static_cast<double>(pos - p.values.begin());
        break;
      }
      case ParamKind::kDouble:
      case ParamKind::kInt:
        if (!v.has_number_value()) return bad("is not a number");
        coordinates[i] = v.number_value();
        break;
    }
  }
  return coordinates;
}

absl::StatusOr<TrialRecord> ToTrialRecord(const SearchSpace& space,
                                          const v1::Experiment& experiment,
                                          const v1::Trial& trial) {
  TrialRecord record;
  record.number = trial.number();
  switch (trial.state()) {
    case v1::Trial::WAITING:
      record.state = TrialState::kWaiting;
      break;
    case v1::Trial::RUNNING:
      record.state = TrialState::kRunning;
      break;
    case v1::Trial::COMPLETED:
      record.state = TrialState::kCompleted;
      break;
    case v1::Trial::PRUNED:
      record.state = TrialState::kPruned;
      break;
    default:
      record.state = TrialState::kFailed;
      break;
  }
  auto params = ParamsFromProto(space, trial);
  if (!params.ok()) return params.status();
  record.params = *std::move(params);
  record.sampler_data = trial.sampler_data();
  if (record.state == TrialState::kCompleted) {
    for (const v1::Objective& o : experiment.objectives()) {
      auto it = trial.metrics().find(o.name());
      record.values.push_back(it == trial.metrics().end() ? std::nan("")
                                                          : it->second);
    }
  }
  return record;
}

absl::Status ValidateReport(const v1::Experiment& experiment,
                            const v1::ReportResultRequest& request) {
  for (const auto& [name, value] : request.metrics()) {
    const std::string f =
        absl::StrCat("metrics[\"", absl::CHexEscape(name), "\"]");
    if (name.empty())
      return Invalid("metrics", "a metric name must not be empty");
    if (!std::isfinite(value)) {
      return Invalid(f, absl::StrCat("must be finite, got ", Num(value)));
    }
  }
  if (!request.failed()) {
    if (!request.failure_reason().empty()) {
      return Invalid("failure_reason", "may be set only when failed is true");
    }
    for (const v1::Objective& o : experiment.objectives()) {
      if (request.metrics().count(o.name()) == 0) {
        return Invalid(
            "metrics",
            absl::StrCat("missing the objective metric \"", o.name(), "\""));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace hpo
