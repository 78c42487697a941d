#include "server/experiment_spec.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/number_text.h"

namespace hpo {
namespace {

// Integers beyond 2^53 cannot be held exactly in a double coordinate.
constexpr int64_t kMaxExactInt = int64_t{1} << 53;
constexpr size_t kMaxParamNameLength = 128;
constexpr size_t kMaxExperimentNameLength = 63;
constexpr double kInf = std::numeric_limits<double>::infinity();

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

bool IsParamNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' || c == '/';
}

bool IsNormal(v1::Distribution d) {
  return d == v1::NORMAL || d == v1::LOG_NORMAL;
}

bool IsLog(v1::Distribution d, bool log) {
  return log || d == v1::LOG_UNIFORM || d == v1::LOG_NORMAL;
}

absl::Status ValidatePrior(v1::Distribution d, bool log, double mu,
                           double sigma, const std::string& f) {
  if (!v1::Distribution_IsValid(d)) {
    return Invalid(f + ".distribution", "unknown distribution");
  }
  if (log && d == v1::UNIFORM) {
    return Invalid(f + ".log",
                   "conflicts with distribution UNIFORM (use LOG_UNIFORM)");
  }
  if (log && d == v1::NORMAL) {
    return Invalid(f + ".log",
                   "conflicts with distribution NORMAL (use LOG_NORMAL)");
  }
  if (IsNormal(d)) {
    if (!std::isfinite(mu)) return Invalid(f + ".mu", "must be finite");
    if (!std::isfinite(sigma) || sigma <= 0) {
      return Invalid(
          f + ".sigma",
          absl::StrCat("must be > 0 for a ", v1::Distribution_Name(d),
                       " distribution, got ", NumberText(sigma)));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateDoubleRange(const v1::DoubleRange& r,
                                 const std::string& f) {
  const v1::Distribution d = r.distribution();
  if (absl::Status s = ValidatePrior(d, r.log(), r.mu(), r.sigma(), f);
      !s.ok()) {
    return s;
  }
  const bool log = IsLog(d, r.log());
  if (!IsNormal(d)) {
    if (!r.has_min()) return Invalid(f + ".min", "is required");
    if (!r.has_max()) return Invalid(f + ".max", "is required");
  }
  if (r.has_min() && !std::isfinite(r.min())) {
    return Invalid(f + ".min", "must be finite");
  }
  if (r.has_max() && !std::isfinite(r.max())) {
    return Invalid(f + ".max", "must be finite");
  }
  if (r.has_min() && r.has_max() && r.min() > r.max()) {
    return Invalid(f + ".min",
                   absl::StrCat("must be <= max (min ", NumberText(r.min()),
                                ", max ", NumberText(r.max()), ")"));
  }
  if (log && r.has_min() && r.min() <= 0) {
    return Invalid(f + ".min", absl::StrCat("must be > 0 on a log scale, got ",
                                            NumberText(r.min())));
  }
  if (log && r.has_max() && r.max() <= 0) {
    return Invalid(f + ".max", absl::StrCat("must be > 0 on a log scale, got ",
                                            NumberText(r.max())));
  }
  if (!std::isfinite(r.step()) || r.step() < 0) {
    return Invalid(f + ".step",
                   absl::StrCat("must be >= 0, got ", NumberText(r.step())));
  }
  if (!std::isfinite(r.q()) || r.q() < 0) {
    return Invalid(f + ".q",
                   absl::StrCat("must be >= 0, got ", NumberText(r.q())));
  }
  if (r.step() > 0) {
    if (log) return Invalid(f + ".step", "cannot be combined with a log scale");
    if (r.q() > 0) return Invalid(f + ".q", "cannot be combined with step");
    if (!r.has_min())
      return Invalid(f + ".step", "needs min, which steps count from");
    if (r.has_max() && r.min() < r.max() && r.step() > r.max() - r.min()) {
      return Invalid(
          f + ".step",
          absl::StrCat("is larger than the range (step ", NumberText(r.step()),
                       ", max - min ", NumberText(r.max() - r.min()), ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateIntRange(const v1::IntRange& r, const std::string& f) {
  const v1::Distribution d = r.distribution();
  if (absl::Status s = ValidatePrior(d, r.log(), r.mu(), r.sigma(), f);
      !s.ok()) {
    return s;
  }
  const bool log = IsLog(d, r.log());
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
  if (log && r.min() < 1) {
    return Invalid(f + ".min",
                   absl::StrCat("must be >= 1 on a log scale, got ", r.min()));
  }
  if (r.step() < 0) {
    return Invalid(f + ".step", absl::StrCat("must be >= 0, got ", r.step()));
  }
  if (r.step() > 1) {
    if (log) return Invalid(f + ".step", "cannot be combined with a log scale");
    if (r.min() < r.max() && r.step() > r.max() - r.min()) {
      return Invalid(f + ".step",
                     absl::StrCat("is larger than the range (step ", r.step(),
                                  ", max - min ", r.max() - r.min(), ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateDomain(const v1::Parameter& p, const std::string& f) {
  switch (p.domain_case()) {
    case v1::Parameter::kDoubleRange:
      return ValidateDoubleRange(p.double_range(), f + ".double_range");
    case v1::Parameter::kIntRange:
      return ValidateIntRange(p.int_range(), f + ".int_range");
    case v1::Parameter::kCategorical: {
      const auto& values = p.categorical().values();
      if (values.empty()) {
        return Invalid(f + ".categorical.values", "must not be empty");
      }
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
      if (values.empty()) {
        return Invalid(f + ".discrete.values", "must not be empty");
      }
      std::set<double> seen;
      for (int i = 0; i < values.size(); ++i) {
        const std::string vf = absl::StrCat(f, ".discrete.values[", i, "]");
        if (!std::isfinite(values[i])) return Invalid(vf, "must be finite");
        if (!seen.insert(values[i]).second) {
          return Invalid(
              vf, absl::StrCat("duplicate value ", NumberText(values[i])));
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

ParamSpec CompileParam(const v1::Parameter& p) {
  ParamSpec spec;
  spec.name = p.name();
  switch (p.domain_case()) {
    case v1::Parameter::kDoubleRange: {
      const v1::DoubleRange& r = p.double_range();
      spec.kind = ParamKind::kDouble;
      spec.log = IsLog(r.distribution(), r.log());
      spec.low = r.has_min() ? r.min() : (spec.log ? 0 : -kInf);
      spec.high = r.has_max() ? r.max() : kInf;
      spec.step = r.step();
      spec.q = r.q();
      if (IsNormal(r.distribution())) {
        spec.prior = Prior::kNormal;
        spec.mu = r.mu();
        spec.sigma = r.sigma();
      }
      break;
    }
    case v1::Parameter::kIntRange: {
      const v1::IntRange& r = p.int_range();
      spec.kind = ParamKind::kInt;
      spec.low = static_cast<double>(r.min());
      spec.high = static_cast<double>(r.max());
      spec.log = IsLog(r.distribution(), r.log());
      spec.step = static_cast<double>(std::max<int64_t>(1, r.step()));
      if (IsNormal(r.distribution())) {
        spec.prior = Prior::kNormal;
        spec.mu = r.mu();
        spec.sigma = r.sigma();
      }
      break;
    }
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
  return spec;
}

std::string Describe(const google::protobuf::Value& v) {
  switch (v.kind_case()) {
    case google::protobuf::Value::kStringValue:
      return absl::StrCat("\"", absl::CHexEscape(v.string_value()), "\"");
    case google::protobuf::Value::kNumberValue:
      return NumberText(v.number_value());
    case google::protobuf::Value::kBoolValue:
      return v.bool_value() ? "true" : "false";
    case google::protobuf::Value::kNullValue:
      return "null";
    default:
      return "a list or an object";
  }
}

std::string RangeText(const ParamSpec& p) {
  return absl::StrCat("[", NumberText(p.low), ", ", NumberText(p.high), "]");
}

// The coordinate of a value given in the API's form, or an error naming
// `field`. Checks the value is legal for the parameter.
absl::StatusOr<double> ValueToCoordinate(const ParamSpec& p,
                                         const google::protobuf::Value& v,
                                         const std::string& field) {
  switch (p.kind) {
    case ParamKind::kCategorical: {
      if (!v.has_string_value()) {
        return Invalid(field,
                       absl::StrCat("must be a string, got ", Describe(v)));
      }
      auto it =
          std::find(p.categories.begin(), p.categories.end(), v.string_value());
      if (it == p.categories.end()) {
        return Invalid(field, absl::StrCat(Describe(v), " is not one of ",
                                           absl::StrJoin(p.categories, ", ")));
      }
      return static_cast<double>(it - p.categories.begin());
    }
    case ParamKind::kDiscrete: {
      if (!v.has_number_value()) {
        return Invalid(field,
                       absl::StrCat("must be a number, got ", Describe(v)));
      }
      auto it = std::find(p.values.begin(), p.values.end(), v.number_value());
      if (it == p.values.end()) {
        std::vector<std::string> texts;
        for (double x : p.values) texts.push_back(NumberText(x));
        return Invalid(field, absl::StrCat(Describe(v), " is not one of ",
                                           absl::StrJoin(texts, ", ")));
      }
      return static_cast<double>(it - p.values.begin());
    }
    case ParamKind::kDouble:
    case ParamKind::kInt: {
      if (!v.has_number_value() || !std::isfinite(v.number_value())) {
        return Invalid(
            field, absl::StrCat("must be a finite number, got ", Describe(v)));
      }
      const double x = v.number_value();
      if (x < p.low || x > p.high) {
        return Invalid(
            field, absl::StrCat(NumberText(x), " is outside ", RangeText(p)));
      }
      if (p.kind == ParamKind::kInt && x != std::round(x)) {
        return Invalid(field,
                       absl::StrCat(NumberText(x), " is not an integer"));
      }
      if (!p.Contains(x)) {
        return Invalid(
            field, absl::StrCat(NumberText(x), " is not a legal value (",
                                p.step > 0 ? "step " : "q ",
                                NumberText(p.step > 0 ? p.step : p.q), ")"));
      }
      // Snap away representation noise such as 0.30000000000000004.
      return p.Snap(x);
    }
  }
  return Invalid(field, "unknown parameter kind");
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
      return Invalid(field, absl::StrCat("\"", absl::CHexEscape(name),
                                         "\" may contain only lower-case "
                                         "letters, digits, '-' and '_'"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateExperiment(const v1::Experiment& e,
                                absl::string_view field) {
  const std::string f(field);
  if (absl::Status s = ValidateExperimentName(e.name(), f + ".name"); !s.ok()) {
    return s;
  }

  if (e.parameters().empty()) {
    return Invalid(f + ".parameters", "at least one parameter is required");
  }
  std::map<std::string, int> index;
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
    if (!index.emplace(p.name(), i).second) {
      return Invalid(pf + ".name", absl::StrCat("duplicate parameter name \"",
                                                p.name(), "\""));
    }
    if (absl::Status s = ValidateDomain(p, pf); !s.ok()) return s;
  }

  // Conditions: a known parent of a kind with countable values, values legal
  // for it, and no cycles.
  for (int i = 0; i < e.parameters_size(); ++i) {
    const v1::Parameter& p = e.parameters(i);
    if (!p.has_condition()) continue;
    const std::string cf = absl::StrCat(f, ".parameters[", i, "].condition");
    const v1::Condition& c = p.condition();
    auto parent = index.find(c.parent());
    if (c.parent().empty()) return Invalid(cf + ".parent", "must not be empty");
    if (parent == index.end()) {
      return Invalid(cf + ".parent",
                     absl::StrCat("unknown parameter \"", c.parent(), "\""));
    }
    if (parent->second == i) {
      return Invalid(cf + ".parent", "a parameter cannot depend on itself");
    }
    const v1::Parameter& pp = e.parameters(parent->second);
    if (pp.has_double_range()) {
      return Invalid(cf + ".parent",
                     absl::StrCat("\"", c.parent(),
                                  "\" is a double_range; a parent must be "
                                  "categorical, discrete or an int_range"));
    }
    if (c.values().empty()) {
      return Invalid(cf + ".values", "must not be empty");
    }
    const ParamSpec parent_spec = CompileParam(pp);
    for (int k = 0; k < c.values_size(); ++k) {
      auto coordinate = ValueToCoordinate(parent_spec, c.values(k),
                                          absl::StrCat(cf, ".values[", k, "]"));
      if (!coordinate.ok()) return coordinate.status();
    }
    // Walk up the chain; coming back to `i` means a cycle.
    std::vector<std::string> chain = {p.name()};
    int at = parent->second;
    while (true) {
      chain.push_back(e.parameters(at).name());
      if (at == i) {
        return Invalid(cf + ".parent",
                       absl::StrCat("conditions form a cycle (",
                                    absl::StrJoin(chain, " -> "), ")"));
      }
      if (!e.parameters(at).has_condition()) break;
      auto next = index.find(e.parameters(at).condition().parent());
      if (next == index.end()) break;  // reported when `at` itself is checked
      at = next->second;
      if (chain.size() > index.size() + 1) break;  // a cycle not through `i`
    }
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
    if (o.has_target() && !std::isfinite(o.target())) {
      return Invalid(of + ".target", "must be finite");
    }
    if (o.has_target() && i > 0) {
      return Invalid(of + ".target", "only the first objective may have one");
    }
  }

  if (e.max_trials() < 0) return Invalid(f + ".max_trials", "must be >= 0");
  if (e.parallel_trials() < 0) {
    return Invalid(f + ".parallel_trials", "must be >= 0");
  }
  if (e.max_failed_trials() < 0) {
    return Invalid(f + ".max_failed_trials", "must be >= 0");
  }
  if (e.max_trials() > 0 && e.parallel_trials() > e.max_trials()) {
    return Invalid(f + ".parallel_trials",
                   absl::StrCat("must be <= max_trials (parallel_trials ",
                                e.parallel_trials(), ", max_trials ",
                                e.max_trials(), ")"));
  }
  if (e.has_max_duration() &&
      (e.max_duration().seconds() < 0 || e.max_duration().nanos() < 0 ||
       (e.max_duration().seconds() == 0 && e.max_duration().nanos() == 0))) {
    return Invalid(f + ".max_duration", "must be positive");
  }
  if (e.has_trial_lease() &&
      (e.trial_lease().seconds() < 0 || e.trial_lease().nanos() < 0 ||
       (e.trial_lease().seconds() == 0 && e.trial_lease().nanos() == 0))) {
    return Invalid(f + ".trial_lease", "must be positive");
  }
  return absl::OkStatus();
}

SearchSpace CompileSearchSpace(const v1::Experiment& experiment) {
  const int n = experiment.parameters_size();
  std::map<std::string, int> index;
  for (int i = 0; i < n; ++i) index[experiment.parameters(i).name()] = i;
  // Depth-first: a parameter is placed right after its parent chain is.
  std::vector<int> order;
  std::vector<bool> placed(static_cast<size_t>(n), false);
  std::function<void(int)> place = [&](int i) {
    if (placed[i]) return;
    placed[i] = true;
    const v1::Parameter& p = experiment.parameters(i);
    if (p.has_condition()) place(index.at(p.condition().parent()));
    order.push_back(i);
  };
  for (int i = 0; i < n; ++i) place(i);

  std::vector<ParamSpec> params;
  std::map<std::string, int> position;
  for (int i : order) {
    const v1::Parameter& p = experiment.parameters(i);
    ParamSpec spec = CompileParam(p);
    if (p.has_condition()) {
      const int parent = position.at(p.condition().parent());
      spec.parent = parent;
      for (const auto& v : p.condition().values()) {
        auto coordinate = ValueToCoordinate(params[parent], v, "");
        if (coordinate.ok()) spec.parent_values.push_back(*coordinate);
      }
    }
    position[spec.name] = static_cast<int>(params.size());
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
    const double x = coordinates[i];
    if (IsInactive(x)) continue;
    google::protobuf::Value& v = out[p.name];
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
  std::vector<double> coordinates(space.size(), kInactive);
  for (size_t i = 0; i < space.size(); ++i) {
    const ParamSpec& p = space.param(i);
    const auto bad = [&](absl::string_view why) {
      return absl::DataLossError(
          absl::StrCat("trial ", trial.number(), " of \"", trial.experiment(),
                       "\": parameter \"", p.name, "\" ", why));
    };
    const bool active = space.IsActive(i, coordinates);
    auto it = trial.parameters().find(p.name);
    if (it == trial.parameters().end()) {
      // A queued trial may leave parameters to the algorithm.
      if (active && trial.state() != v1::Trial::WAITING) {
        return bad("is missing");
      }
      continue;
    }
    if (!active) return bad("is set but not active");
    auto coordinate = ValueToCoordinate(p, it->second, "");
    if (!coordinate.ok()) return bad(coordinate.status().message());
    coordinates[i] = *coordinate;
  }
  return coordinates;
}

absl::StatusOr<std::vector<double>> ParamsFromUser(const SearchSpace& space,
                                                   const ParamMap& params,
                                                   bool require_all,
                                                   std::vector<bool>* given,
                                                   absl::string_view field) {
  const auto key_field = [&](absl::string_view name) {
    return absl::StrCat(field, "[\"", absl::CHexEscape(name), "\"]");
  };
  for (const auto& [name, value] : params) {
    if (space.IndexOf(name) < 0) {
      return Invalid(key_field(name), "unknown parameter");
    }
  }
  std::vector<double> coordinates(space.size(), kInactive);
  if (given != nullptr) given->assign(space.size(), false);
  for (size_t i = 0; i < space.size(); ++i) {
    const ParamSpec& p = space.param(i);
    const bool active = space.IsActive(i, coordinates);
    auto it = params.find(p.name);
    if (it == params.end()) {
      if (active && require_all) {
        return Invalid(field,
                       absl::StrCat("missing the parameter \"", p.name, "\""));
      }
      continue;
    }
    if (!active) {
      const ParamSpec& parent = space.param(static_cast<size_t>(p.parent));
      return Invalid(key_field(p.name),
                     absl::StrCat("is not active: its condition on \"",
                                  parent.name, "\" does not hold"));
    }
    auto coordinate = ValueToCoordinate(p, it->second, key_field(p.name));
    if (!coordinate.ok()) return coordinate.status();
    coordinates[i] = *coordinate;
    if (given != nullptr) (*given)[i] = true;
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
  const std::string& first = experiment.objectives(0).name();
  for (const v1::IntermediateValue& v : trial.intermediate_values()) {
    auto it = v.metrics().find(first);
    if (it != v.metrics().end())
      record.intermediate.emplace_back(v.step(), it->second);
  }
  if (record.state == TrialState::kCompleted) {
    for (const v1::Objective& o : experiment.objectives()) {
      auto it = trial.metrics().find(o.name());
      record.values.push_back(it == trial.metrics().end() ? std::nan("")
                                                          : it->second);
    }
  }
  return record;
}

absl::Status ValidateMetrics(
    const v1::Experiment& experiment,
    const google::protobuf::Map<std::string, double>& metrics, bool failed) {
  for (const auto& [name, value] : metrics) {
    const std::string f =
        absl::StrCat("metrics[\"", absl::CHexEscape(name), "\"]");
    if (name.empty()) {
      return Invalid("metrics", "a metric name must not be empty");
    }
    if (!std::isfinite(value)) {
      return Invalid(f,
                     absl::StrCat("must be finite, got ", NumberText(value)));
    }
  }
  if (!failed) {
    for (const v1::Objective& o : experiment.objectives()) {
      if (metrics.count(o.name()) == 0) {
        return Invalid(
            "metrics",
            absl::StrCat("missing the objective metric \"", o.name(), "\""));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateReport(const v1::Experiment& experiment,
                            const v1::ReportResultRequest& request) {
  if (request.failed() && request.pruned()) {
    return Invalid("pruned", "a trial cannot be both failed and pruned");
  }
  if (absl::Status s = ValidateMetrics(experiment, request.metrics(),
                                       request.failed() || request.pruned());
      !s.ok()) {
    return s;
  }
  if (!request.failed() && !request.failure_reason().empty()) {
    return Invalid("failure_reason", "may be set only when failed is true");
  }
  return absl::OkStatus();
}

}  // namespace hpo
