#include "server/katib/translate.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "core/json_quote.h"
#include "core/number_text.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace hpo::katib {
namespace {

constexpr size_t kMaxName = 63;  // hpo's experiment names, DNS-1123 labels
constexpr int64_t kLeaseSeconds = 365 * 24 * 3600;

uint64_t Fnv1a(absl::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// Lower-case letters, digits and '-', no '-' at either end, at most `max`
// characters; "katib" if nothing is left. Katib's names are DNS-1123 names
// already (dots aside), so this rarely changes anything.
std::string Label(absl::string_view name, size_t max) {
  std::string out;
  for (char c : name) {
    c = absl::ascii_tolower(c);
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    out.push_back(ok ? c : '-');
  }
  if (out.size() > max) out.resize(max);
  while (!out.empty() && out.back() == '-') out.pop_back();
  size_t start = 0;
  while (start < out.size() && out[start] == '-') ++start;
  out.erase(0, start);
  return out.empty() ? "katib" : out;
}

std::string Hex(uint64_t h, int digits) {
  return absl::StrFormat("%016x", h).substr(0, static_cast<size_t>(digits));
}

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

const char* TypeName(kapi::ParameterType type) {
  switch (type) {
    case kapi::DOUBLE:
      return "double";
    case kapi::INT:
      return "int";
    case kapi::DISCRETE:
      return "discrete";
    case kapi::CATEGORICAL:
      return "categorical";
    default:
      return nullptr;
  }
}

const char* DistributionName(kapi::Distribution d) {
  switch (d) {
    case kapi::UNIFORM:
      return "uniform";
    case kapi::LOG_UNIFORM:
      return "logUniform";
    case kapi::NORMAL:
      return "normal";
    case kapi::LOG_NORMAL:
      return "logNormal";
    default:
      return nullptr;
  }
}

// [{"name": ..., "value": ...}], for AlgorithmSetting and
// EarlyStoppingSetting alike.
template <typename Setting>
void AppendSettings(const google::protobuf::RepeatedPtrField<Setting>& settings,
                    std::string* out) {
  out->append("[");
  for (int i = 0; i < settings.size(); ++i) {
    if (i > 0) out->append(",");
    absl::StrAppend(out, "{\"name\":", JsonQuote(settings[i].name()),
                    ",\"value\":", JsonQuote(settings[i].value()), "}");
  }
  out->append("]");
}

// The spec as a Katib Experiment document (JSON is YAML), in the field names
// of Katib's CRD, so that the importer's error paths are the user's.
absl::StatusOr<std::string> SpecJson(const kapi::Experiment& e) {
  const kapi::ExperimentSpec& spec = e.spec();
  std::string out = absl::StrCat(
      "{\"kind\":\"Experiment\",\"metadata\":{\"name\":", JsonQuote(e.name()),
      "},\"spec\":{\"parameters\":[");
  const auto& params = spec.parameter_specs().parameters();
  for (int i = 0; i < params.size(); ++i) {
    const kapi::ParameterSpec& p = params[i];
    const std::string field =
        absl::StrCat("experiment.spec.parameter_specs.parameters[", i, "]");
    const char* type = TypeName(p.parameter_type());
    if (type == nullptr) {
      return Invalid(field + ".parameter_type",
                     "must be DOUBLE, INT, DISCRETE or CATEGORICAL");
    }
    if (i > 0) out.append(",");
    absl::StrAppend(&out, "{\"name\":", JsonQuote(p.name()),
                    ",\"parameterType\":\"", type, "\",\"feasibleSpace\":{");
    const kapi::FeasibleSpace& space = p.feasible_space();
    std::vector<std::string> fields;
    for (const auto& [key, value] :
         {std::pair<const char*, const std::string*>{"min", &space.min()},
          {"max", &space.max()},
          {"step", &space.step()}}) {
      if (!value->empty()) {
        fields.push_back(absl::StrCat("\"", key, "\":", JsonQuote(*value)));
      }
    }
    if (const char* d = DistributionName(space.distribution()); d != nullptr) {
      fields.push_back(absl::StrCat("\"distribution\":\"", d, "\""));
    }
    if (space.list_size() > 0) {
      std::string list = "\"list\":[";
      for (int j = 0; j < space.list_size(); ++j) {
        if (j > 0) list.append(",");
        list.append(JsonQuote(space.list(j)));
      }
      list.append("]");
      fields.push_back(std::move(list));
    }
    for (size_t j = 0; j < fields.size(); ++j) {
      if (j > 0) out.append(",");
      out.append(fields[j]);
    }
    out.append("}}");
  }
  out.append("]");

  const kapi::ObjectiveSpec& objective = spec.objective();
  const char* type = objective.type() == kapi::MAXIMIZE   ? "maximize"
                     : objective.type() == kapi::MINIMIZE ? "minimize"
                                                          : nullptr;
  if (type == nullptr) {
    return Invalid("experiment.spec.objective.type",
                   "must be MAXIMIZE or MINIMIZE");
  }
  absl::StrAppend(&out, ",\"objective\":{\"type\":\"", type,
                  "\",\"objectiveMetricName\":",
                  JsonQuote(objective.objective_metric_name()));
  // proto3 cannot tell an unset goal from 0; Katib's controller sends 0 for
  // an Experiment without one, so 0 means none.
  if (objective.goal() != 0 && std::isfinite(objective.goal())) {
    absl::StrAppend(&out, ",\"goal\":", NumberText(objective.goal()));
  }
  if (objective.additional_metric_names_size() > 0) {
    out.append(",\"additionalMetricNames\":[");
    for (int j = 0; j < objective.additional_metric_names_size(); ++j) {
      if (j > 0) out.append(",");
      out.append(JsonQuote(objective.additional_metric_names(j)));
    }
    out.append("]");
  }
  out.append("}");

  if (!spec.algorithm().algorithm_name().empty() ||
      spec.algorithm().algorithm_settings_size() > 0) {
    absl::StrAppend(&out, ",\"algorithm\":{\"algorithmName\":",
                    JsonQuote(spec.algorithm().algorithm_name()),
                    ",\"algorithmSettings\":");
    AppendSettings(spec.algorithm().algorithm_settings(), &out);
    out.append("}");
  }
  if (!spec.early_stopping().algorithm_name().empty()) {
    absl::StrAppend(&out, ",\"earlyStopping\":{\"algorithmName\":",
                    JsonQuote(spec.early_stopping().algorithm_name()),
                    ",\"algorithmSettings\":");
    AppendSettings(spec.early_stopping().algorithm_settings(), &out);
    out.append("}");
  }
  out.append("}}");
  return out;
}

const kapi::ParameterSpec* FindParameter(const kapi::ExperimentSpec& spec,
                                         absl::string_view name) {
  for (const kapi::ParameterSpec& p : spec.parameter_specs().parameters()) {
    if (p.name() == name) return &p;
  }
  return nullptr;
}

// The prefix of every TrialName of this experiment, spec and incarnation,
// before the trial's number, for a number of `digits` digits.
std::string TrialPrefix(const kapi::Experiment& e,
                        absl::string_view incarnation, size_t digits) {
  const std::string hash =
      Hex(Fnv1a(absl::StrCat(ExperimentName(e), "/", incarnation)), 8);
  return absl::StrCat(Label(e.name(), kMaxName - hash.size() - digits - 2), "-",
                      hash, "-");
}

}  // namespace

uint64_t SpecHash(const kapi::ExperimentSpec& spec) {
  kapi::ExperimentSpec copy = spec;
  copy.clear_max_trial_count();
  copy.clear_parallel_trial_count();
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    copy.SerializeToCodedStream(&coded);
  }
  return Fnv1a(bytes);
}

std::string ExperimentName(const kapi::Experiment& experiment) {
  const std::string hash = Hex(SpecHash(experiment.spec()), 12);
  return absl::StrCat(Label(experiment.name(), kMaxName - hash.size() - 1), "-",
                      hash);
}

absl::StatusOr<v1::CreateExperimentRequest> CreateRequest(
    const kapi::Experiment& experiment) {
  if (experiment.name().empty()) {
    return Invalid("experiment.name", "must not be empty");
  }
  absl::StatusOr<std::string> json = SpecJson(experiment);
  if (!json.ok()) return json.status();
  v1::CreateExperimentRequest request;
  request.mutable_import_spec()->set_format("katib");
  request.mutable_import_spec()->set_content(*std::move(json));
  const std::string name = ExperimentName(experiment);
  request.mutable_import_spec()->set_name(name);
  v1::Experiment* over = request.mutable_experiment();
  over->set_name(name);
  over->mutable_trial_lease()->set_seconds(kLeaseSeconds);
  return request;
}

std::string KatibMessage(absl::string_view message) {
  absl::ConsumePrefix(&message, "import_spec.content: ");
  return std::string(message);
}

std::string Incarnation(const v1::Experiment& experiment) {
  return absl::StrCat(experiment.create_time().seconds(), ".",
                      experiment.create_time().nanos());
}

std::string TrialName(const kapi::Experiment& experiment,
                      absl::string_view incarnation, int number) {
  const std::string n = absl::StrCat(number);
  return absl::StrCat(TrialPrefix(experiment, incarnation, n.size()), n);
}

std::optional<int> TrialNumber(const kapi::Experiment& experiment,
                               absl::string_view incarnation,
                               absl::string_view trial_name) {
  const size_t dash = trial_name.rfind('-');
  if (dash == absl::string_view::npos) return std::nullopt;
  const absl::string_view digits = trial_name.substr(dash + 1);
  int number = 0;
  if (digits.empty() || (digits.size() > 1 && digits[0] == '0') ||
      !absl::SimpleAtoi(digits, &number) || number < 0) {
    return std::nullopt;
  }
  if (TrialName(experiment, incarnation, number) != trial_name) {
    return std::nullopt;
  }
  return number;
}

absl::StatusOr<Params> ParamsFromAssignments(
    const kapi::ExperimentSpec& spec,
    const google::protobuf::RepeatedPtrField<kapi::ParameterAssignment>&
        assignments,
    absl::string_view field) {
  Params params;
  for (int i = 0; i < assignments.size(); ++i) {
    const kapi::ParameterAssignment& a = assignments[i];
    const std::string where = absl::StrCat(field, "[", i, "]");
    const kapi::ParameterSpec* p = FindParameter(spec, a.name());
    if (p == nullptr) {
      return Invalid(where + ".name",
                     absl::StrCat("no parameter named \"", a.name(),
                                  "\" in the experiment's spec"));
    }
    google::protobuf::Value value;
    if (p->parameter_type() == kapi::CATEGORICAL) {
      value.set_string_value(a.value());
    } else {
      double number;
      if (!absl::SimpleAtod(a.value(), &number) || !std::isfinite(number)) {
        return Invalid(where + ".value",
                       absl::StrCat("\"", absl::CHexEscape(a.value()),
                                    "\" is not a number"));
      }
      value.set_number_value(number);
    }
    params[a.name()] = std::move(value);
  }
  return params;
}

std::vector<kapi::ParameterAssignment> AssignmentsFromParams(
    const kapi::ExperimentSpec& spec, const Params& params) {
  std::vector<kapi::ParameterAssignment> out;
  for (const kapi::ParameterSpec& p : spec.parameter_specs().parameters()) {
    auto it = params.find(p.name());
    if (it == params.end()) continue;
    const google::protobuf::Value& v = it->second;
    kapi::ParameterAssignment a;
    a.set_name(p.name());
    if (v.has_string_value()) {
      a.set_value(v.string_value());
    } else if (p.parameter_type() == kapi::INT) {
      a.set_value(
          absl::StrCat(static_cast<int64_t>(std::llround(v.number_value()))));
    } else if (p.parameter_type() == kapi::DISCRETE) {
      // The list's own spelling of the value, as the user wrote it.
      a.set_value(NumberText(v.number_value()));
      for (const std::string& text : p.feasible_space().list()) {
        double listed;
        if (absl::SimpleAtod(text, &listed) && listed == v.number_value()) {
          a.set_value(text);
          break;
        }
      }
    } else {
      a.set_value(NumberText(v.number_value()));
    }
    out.push_back(std::move(a));
  }
  return out;
}

TrialOutcome OutcomeOf(const kapi::ExperimentSpec& spec,
                       const kapi::Trial& trial) {
  TrialOutcome outcome;
  for (const kapi::Metric& m : trial.status().observation().metrics()) {
    double value;
    if (absl::SimpleAtod(m.value(), &value) && std::isfinite(value)) {
      outcome.metrics[m.name()] = value;
    }
  }
  const std::string& objective = spec.objective().objective_metric_name();
  const bool has_objective = outcome.metrics.count(objective) > 0;
  switch (trial.status().condition()) {
    case kapi::TrialStatus::SUCCEEDED:
      if (has_objective) {
        outcome.kind = TrialOutcome::kCompleted;
      } else {
        outcome.kind = TrialOutcome::kFailed;
        outcome.reason = absl::StrCat("Katib: succeeded without a value of \"",
                                      objective, "\"");
      }
      break;
    case kapi::TrialStatus::EARLYSTOPPED:
      if (has_objective) {
        outcome.kind = TrialOutcome::kPruned;
      } else {
        outcome.kind = TrialOutcome::kFailed;
        outcome.reason = "Katib: early stopped without metrics";
      }
      break;
    case kapi::TrialStatus::FAILED:
    case kapi::TrialStatus::KILLED:
    case kapi::TrialStatus::METRICSUNAVAILABLE:
      outcome.kind = TrialOutcome::kFailed;
      outcome.reason =
          absl::StrCat("Katib: ", kapi::TrialStatus::TrialConditionType_Name(
                                      trial.status().condition()));
      break;
    default:
      outcome.kind = TrialOutcome::kRunning;
      break;
  }
  if (outcome.kind == TrialOutcome::kFailed ||
      outcome.kind == TrialOutcome::kRunning) {
    outcome.metrics.clear();
  }
  return outcome;
}

std::string ParamsKey(const Params& params) {
  std::vector<std::pair<std::string, std::string>> items;
  for (const auto& [name, value] : params) {
    items.emplace_back(
        name, value.has_string_value()
                  ? absl::StrCat("s", value.string_value())
                  : absl::StrCat("n", NumberText(value.number_value())));
  }
  std::sort(items.begin(), items.end());
  std::string key;
  for (const auto& [name, value] : items) {
    absl::StrAppend(&key, name.size(), ":", name, "=", value.size(), ":", value,
                    ";");
  }
  return key;
}

}  // namespace hpo::katib
