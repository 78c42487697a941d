// NNI search spaces (https://nni.readthedocs.io, "Search Space"), NNI
// experiment configs (v2 and the older v1 field names), and T9k
// AutoTuneExperiments, whose search space and tuner are NNI's.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "core/number_text.h"
#include "google/protobuf/map.h"
#include "google/protobuf/struct.pb.h"
#include "hpo/v1/hpo.pb.h"
#include "server/import/importers.h"
#include "server/import/yaml_field.h"

namespace hpo {
namespace import_internal {
namespace {

// NNI trials report their final result under this metric name.
constexpr char kObjectiveName[] = "default";

constexpr char kNniTypes[] =
    "choice, randint, uniform, quniform, loguniform, qloguniform, normal, "
    "qnormal, lognormal, qlognormal";

constexpr char kSupportedTuners[] =
    "Anneal, Evolution, GP (GPTuner), GridSearch, Hyperband, Random, TPE";

constexpr char kSupportedAssessors[] = "Curvefitting, Medianstop";

// Top-level keys of an NNI experiment config (v2 camelCase, the Python API's
// snake_case, and v1). One of them set to something other than a parameter
// marks the document as a config rather than a bare search space.
constexpr absl::string_view kConfigKeys[] = {
    "searchSpace",
    "search_space",
    "searchSpaceFile",
    "search_space_file",
    "searchSpacePath",
    "tuner",
    "advisor",
    "assessor",
    "trialCommand",
    "trial_command",
    "trialConcurrency",
    "trial_concurrency",
    "maxTrialNumber",
    "max_trial_number",
    "maxTrialNum",
    "maxExperimentDuration",
    "max_experiment_duration",
    "maxExecDuration",
    "experimentName",
    "experiment_name",
    "trainingService",
    "training_service",
    "trainingServicePlatform",
    "authorName",
};

// A search-space entry, as opposed to a config field of the same name.
bool IsParam(const Field& f) { return f.IsMap() && f.Get("_type").IsSet(); }

absl::Status AddSpace(const Field& space, const std::string& prefix,
                      const v1::Condition* condition, v1::Experiment* e);

// The numbers of a `_value` list, which must have one per name in `names`.
absl::StatusOr<std::vector<double>> Numbers(
    const Field& value, absl::string_view type,
    const std::vector<absl::string_view>& names) {
  const std::string form = absl::StrCat("[", absl::StrJoin(names, ", "), "]");
  if (!value.IsList()) {
    return value.Error(absl::StrCat("must be a list ", form, " for ", type,
                                    ", got ", value.Describe()));
  }
  if (value.size() != names.size()) {
    return value.Error(
        absl::StrCat(type, " takes ", form, ", got ", value.size(), " values"));
  }
  std::vector<double> numbers;
  for (size_t i = 0; i < value.size(); ++i) {
    absl::StatusOr<double> v = value.At(i).Number();
    if (!v.ok()) return v.status();
    numbers.push_back(*v);
  }
  return numbers;
}

// choice: numbers only make a discrete parameter; any string or nested
// option makes a categorical one. An option that is an object is a nested
// search space named by its "_name": its parameters become conditional on
// the choice taking that name, and are named <choice>/<_name>/<parameter>.
absl::Status AddChoice(const Field& value, v1::Parameter p, v1::Experiment* e) {
  if (absl::Status s = value.CheckNonEmptyList(); !s.ok()) return s;
  struct Option {
    std::string label;  // as written, or the branch's _name
    double number = 0;
    bool is_number = false;
    bool is_branch = false;
  };
  std::vector<Option> options;
  bool categorical = false;
  for (size_t i = 0; i < value.size(); ++i) {
    const Field o = value.At(i);
    Option option;
    if (o.IsMap()) {
      const Field name = o.Get("_name");
      if (!name.IsSet()) {
        return name.Error(
            "is required: an option that is an object is a nested search "
            "space, and _name is the value the choice takes for it");
      }
      absl::StatusOr<std::string> label = name.String();
      if (!label.ok()) return label.status();
      option.label = *label;
      option.is_branch = true;
    } else if (o.IsScalar()) {
      option.label = o.Text();
      option.is_number = o.IsNumber();
      if (option.is_number) option.number = *o.Number();
    } else {
      return o.Error(absl::StrCat(
          "must be a number, a string or an object with _name, got ",
          o.Describe()));
    }
    categorical = categorical || !option.is_number;
    options.push_back(std::move(option));
  }

  // Duplicates would be refused later under the hpo field's path; here the
  // message can point into the user's own document.
  std::set<std::string> labels;
  std::set<double> numbers;
  for (size_t i = 0; i < options.size(); ++i) {
    const bool fresh = categorical ? labels.insert(options[i].label).second
                                   : numbers.insert(options[i].number).second;
    if (!fresh) {
      return value.At(i).Error(
          absl::StrCat("duplicate option \"", options[i].label, "\""));
    }
    if (categorical) {
      p.mutable_categorical()->add_values(options[i].label);
    } else {
      p.mutable_discrete()->add_values(options[i].number);
    }
  }
  const std::string parent = p.name();
  e->add_parameters()->Swap(&p);

  for (size_t i = 0; i < options.size(); ++i) {
    if (!options[i].is_branch) continue;
    v1::Condition condition;
    condition.set_parent(parent);
    condition.add_values()->set_string_value(options[i].label);
    if (absl::Status s = AddSpace(
            value.At(i), absl::StrCat(parent, "/", options[i].label, "/"),
            &condition, e);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

// randint [lower, upper): upper is exclusive. The one-element form [upper]
// of old NNI releases means [0, upper).
absl::Status AddRandint(const Field& value, v1::Parameter p,
                        v1::Experiment* e) {
  if (!value.IsList() || value.size() < 1 || value.size() > 2) {
    return value.Error(absl::StrCat("randint takes [lower, upper], got ",
                                    value.IsList()
                                        ? absl::StrCat(value.size(), " values")
                                        : value.Describe()));
  }
  int64_t lower = 0;
  if (value.size() == 2) {
    absl::StatusOr<int64_t> v = value.At(0).Integer();
    if (!v.ok()) return v.status();
    lower = *v;
  }
  absl::StatusOr<int64_t> upper = value.At(value.size() - 1).Integer();
  if (!upper.ok()) return upper.status();
  if (lower >= *upper) {
    return value.Error(absl::StrCat(
        "randint needs lower < upper (upper is exclusive), got lower ", lower,
        ", upper ", *upper));
  }
  p.mutable_int_range()->set_min(lower);
  p.mutable_int_range()->set_max(*upper - 1);
  e->add_parameters()->Swap(&p);
  return absl::OkStatus();
}

// uniform, quniform, loguniform, qloguniform: [low, high(, q)].
absl::Status AddBounded(const Field& value, absl::string_view type, bool log,
                        bool quantized, v1::Parameter p, v1::Experiment* e) {
  std::vector<absl::string_view> names = {"low", "high"};
  if (quantized) names.push_back("q");
  absl::StatusOr<std::vector<double>> v = Numbers(value, type, names);
  if (!v.ok()) return v.status();
  const double low = (*v)[0], high = (*v)[1];
  if (low > high) {
    return value.Error(absl::StrCat(type, " needs low <= high, got low ",
                                    NumberText(low), ", high ",
                                    NumberText(high)));
  }
  if (log && low <= 0) {
    return value.At(0).Error(absl::StrCat(
        "low must be > 0 for ", type, " (a log scale), got ", NumberText(low)));
  }
  if (quantized && (*v)[2] <= 0) {
    return value.At(2).Error(
        absl::StrCat("q must be > 0, got ", NumberText((*v)[2])));
  }
  v1::DoubleRange* r = p.mutable_double_range();
  r->set_min(low);
  r->set_max(high);
  r->set_log(log);
  if (quantized) r->set_q((*v)[2]);
  e->add_parameters()->Swap(&p);
  return absl::OkStatus();
}

// normal, qnormal, lognormal, qlognormal: [mu, sigma(, q)], unbounded. For
// the log forms mu and sigma are of log(value), as in NNI.
absl::Status AddNormal(const Field& value, absl::string_view type, bool log,
                       bool quantized, v1::Parameter p, v1::Experiment* e) {
  std::vector<absl::string_view> names = {"mu", "sigma"};
  if (quantized) names.push_back("q");
  absl::StatusOr<std::vector<double>> v = Numbers(value, type, names);
  if (!v.ok()) return v.status();
  if ((*v)[1] <= 0) {
    return value.At(1).Error(
        absl::StrCat("sigma must be > 0, got ", NumberText((*v)[1])));
  }
  if (quantized && (*v)[2] <= 0) {
    return value.At(2).Error(
        absl::StrCat("q must be > 0, got ", NumberText((*v)[2])));
  }
  v1::DoubleRange* r = p.mutable_double_range();
  r->set_distribution(log ? v1::LOG_NORMAL : v1::NORMAL);
  r->set_mu((*v)[0]);
  r->set_sigma((*v)[1]);
  if (quantized) r->set_q((*v)[2]);
  e->add_parameters()->Swap(&p);
  return absl::OkStatus();
}

absl::Status AddParam(const Field& param, const std::string& name,
                      const v1::Condition* condition, v1::Experiment* e) {
  if (!param.IsMap()) {
    return param.Error(absl::StrCat(
        "must be an object {\"_type\": ..., \"_value\": ...}, got ",
        param.Describe()));
  }
  const Field type_field = param.Get("_type");
  absl::StatusOr<std::string> type = type_field.String();
  if (!type.ok()) return type.status();
  const Field value = param.Get("_value");
  if (!value.IsSet()) return value.Required();

  v1::Parameter p;
  p.set_name(name);
  if (condition != nullptr) *p.mutable_condition() = *condition;
  const std::string& t = *type;
  if (t == "choice") return AddChoice(value, std::move(p), e);
  if (t == "randint") return AddRandint(value, std::move(p), e);
  if (t == "uniform")
    return AddBounded(value, t, false, false, std::move(p), e);
  if (t == "quniform")
    return AddBounded(value, t, false, true, std::move(p), e);
  if (t == "loguniform") {
    return AddBounded(value, t, true, false, std::move(p), e);
  }
  if (t == "qloguniform") {
    return AddBounded(value, t, true, true, std::move(p), e);
  }
  if (t == "normal") return AddNormal(value, t, false, false, std::move(p), e);
  if (t == "qnormal") return AddNormal(value, t, false, true, std::move(p), e);
  if (t == "lognormal") {
    return AddNormal(value, t, true, false, std::move(p), e);
  }
  if (t == "qlognormal") {
    return AddNormal(value, t, true, true, std::move(p), e);
  }
  return type_field.Error(absl::StrCat("unknown _type ", type_field.Describe(),
                                       " (known: ", kNniTypes, ")"));
}

// Every entry of `space` is a parameter named `prefix` + its key; inside a
// nested option, "_name" is the option's label, not a parameter.
absl::Status AddSpace(const Field& space, const std::string& prefix,
                      const v1::Condition* condition, v1::Experiment* e) {
  if (absl::Status s = space.CheckMap(); !s.ok()) return s;
  for (const auto& [key, param] : space.Entries()) {
    if (condition != nullptr && key == "_name") continue;
    if (absl::Status s = AddParam(param, prefix + key, condition, e); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status AddSearchSpace(const Field& space, v1::Experiment* e) {
  // T9k writes the search space as a JSON string.
  absl::StatusOr<Field> parsed = Unwrap(space);
  if (!parsed.ok()) return parsed.status();
  return AddSpace(*parsed, "", nullptr, e);
}

// "30m", "1.5h", "2d", "45s" or a bare number of seconds.
absl::StatusOr<google::protobuf::Duration> ParseDuration(const Field& f) {
  absl::StatusOr<std::string> raw = f.String();
  if (!raw.ok()) return raw.status();
  absl::string_view text = absl::StripAsciiWhitespace(*raw);
  double unit = 1;
  if (!text.empty()) {
    const char last = text.back();
    if (last == 's' || last == 'm' || last == 'h' || last == 'd') {
      unit = last == 's' ? 1 : last == 'm' ? 60 : last == 'h' ? 3600 : 86400;
      text.remove_suffix(1);
    }
  }
  double n;
  if (!ParseNumberText(text, &n)) {
    return f.Error(absl::StrCat(
        f.Describe(),
        " is not a duration: write a number and s, m, h or d, e.g. \"30m\" or "
        "\"1.5h\""));
  }
  return SecondsToDuration(n * unit, f);
}

// The objective's goal, from the optimize_mode of the tuner and of the
// assessor, which must agree. NNI's default is to maximize.
class GoalReader {
 public:
  absl::Status Read(const Field& mode) {
    absl::StatusOr<std::string> text = mode.String();
    if (!text.ok()) return text.status();
    const std::string m = absl::AsciiStrToLower(*text);
    v1::Objective::Goal goal;
    if (m == "maximize") {
      goal = v1::Objective::MAXIMIZE;
    } else if (m == "minimize") {
      goal = v1::Objective::MINIMIZE;
    } else {
      return mode.Error(absl::StrCat(
          "must be \"maximize\" or \"minimize\", got ", mode.Describe()));
    }
    if (goal_.has_value() && *goal_ != goal) {
      return mode.Error(
          absl::StrCat(mode.Describe(), " disagrees with ", from_));
    }
    goal_ = goal;
    from_ = mode.path();
    return absl::OkStatus();
  }
  v1::Objective::Goal goal() const {
    return goal_.value_or(v1::Objective::MAXIMIZE);
  }

 private:
  std::optional<v1::Objective::Goal> goal_;
  std::string from_;
};

// classArgs (an object, or T9k's JSON string) into `settings`, except
// optimize_mode (the objective's goal) and seed (the experiment's seed).
absl::Status ReadClassArgs(
    const Field& field, GoalReader* goal,
    google::protobuf::Map<std::string, std::string>* settings,
    v1::Experiment* e) {
  if (!field.IsSet()) return absl::OkStatus();
  absl::StatusOr<Field> args = Unwrap(field);
  if (!args.ok()) return args.status();
  if (absl::Status s = args->CheckMap(); !s.ok()) return s;
  for (const auto& [key, value] : args->Entries()) {
    absl::Status s;
    if (key == "optimize_mode") {
      s = goal->Read(value);
    } else if (key == "seed") {
      s = SetSeed(value, e);
    } else {
      (*settings)[key] = SettingText(value);
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// A built-in tuner's, advisor's or assessor's name; custom ones (a class of
// the user's) cannot run in hpo.
absl::StatusOr<std::string> BuiltinName(const Field& algorithm,
                                        absl::string_view what) {
  if (absl::Status s = algorithm.CheckMap(); !s.ok()) return s;
  const Field name =
      algorithm.GetAny({"name", "builtinTunerName", "builtinAdvisorName",
                        "builtinAssessorName"});
  if (!name.IsSet() &&
      algorithm.GetAny({"className", "codeDirectory", "codeDir"}).IsSet()) {
    return algorithm.Error(
        absl::StrCat("custom ", what,
                     "s (className, codeDirectory) are not supported: hpo "
                     "runs only its own algorithms"));
  }
  return name.String();
}

// NNI's built-in tuner (or advisor) to an hpo algorithm. Hyperband, which
// NNI runs as an advisor sampling at random and stopping trials in brackets,
// becomes random search with the "hyperband" early-stopping rule.
absl::Status ImportTuner(const Field& tuner, GoalReader* goal,
                         v1::Experiment* e) {
  absl::StatusOr<std::string> name = BuiltinName(tuner, "tuner");
  if (!name.ok()) return name.status();
  // NNI matches tuner names case-insensitively.
  const std::string lower = absl::AsciiStrToLower(*name);
  v1::Algorithm* a = e->mutable_algorithm();
  auto* settings = a->mutable_settings();
  if (lower == "tpe") {
    a->set_name("tpe");
  } else if (lower == "random" || lower == "randomsearch") {
    a->set_name("random");
  } else if (lower == "gridsearch") {
    a->set_name("grid");
  } else if (lower == "anneal") {
    a->set_name("anneal");
  } else if (lower == "evolution") {
    a->set_name("evolution");
  } else if (lower == "gp" || lower == "gptuner") {
    a->set_name("gp");
  } else if (lower == "hyperband") {
    a->set_name("random");
    e->mutable_early_stopping()->set_name("hyperband");
    settings = e->mutable_early_stopping()->mutable_settings();
  } else {
    const Field f =
        tuner.GetAny({"name", "builtinTunerName", "builtinAdvisorName"});
    return f.Error(absl::StrCat("unsupported tuner ", f.Describe(),
                                " (supported: ", kSupportedTuners, ")"));
  }
  return ReadClassArgs(tuner.Get("classArgs"), goal, settings, e);
}

// NNI's built-in assessor to an hpo early-stopping rule.
absl::Status ImportAssessor(const Field& assessor, GoalReader* goal,
                            v1::Experiment* e) {
  absl::StatusOr<std::string> name = BuiltinName(assessor, "assessor");
  if (!name.ok()) return name.status();
  if (e->has_early_stopping()) {
    return assessor.Error(
        "cannot be combined with the Hyperband tuner, which already stops "
        "trials early");
  }
  const std::string lower = absl::AsciiStrToLower(*name);
  v1::EarlyStopping* rule = e->mutable_early_stopping();
  if (lower == "medianstop") {
    rule->set_name("median");
  } else if (lower == "curvefitting") {
    rule->set_name("curve_fitting");
  } else {
    const Field f = assessor.GetAny({"name", "builtinAssessorName"});
    return f.Error(absl::StrCat("unsupported assessor ", f.Describe(),
                                " (supported: ", kSupportedAssessors, ")"));
  }
  return ReadClassArgs(assessor.Get("classArgs"), goal,
                       rule->mutable_settings(), e);
}

void AddObjective(v1::Objective::Goal goal, v1::Experiment* e) {
  v1::Objective* o = e->add_objectives();
  o->set_name(kObjectiveName);
  o->set_goal(goal);
}

absl::Status ImportConfig(const Field& root, v1::Experiment* e) {
  const Field name = root.GetAny({"experimentName", "experiment_name"});
  if (name.IsSet()) {
    absl::StatusOr<std::string> n = name.String();
    if (!n.ok()) return n.status();
    e->set_name(*n);
  }
  const Field space = root.GetAny({"searchSpace", "search_space"});
  if (!space.IsSet()) {
    const Field file = root.GetAny(
        {"searchSpaceFile", "search_space_file", "searchSpacePath"});
    if (file.IsSet()) {
      return file.Error(absl::StrCat(
          file.Describe(),
          " is a file on the client, which the server cannot read: inline the "
          "search space as searchSpace, or import the file's content"));
    }
    return space.Required();
  }
  if (absl::Status s = AddSearchSpace(space, e); !s.ok()) return s;

  GoalReader goal;
  const Field tuner = root.GetAny({"tuner", "advisor"});
  if (tuner.IsSet()) {
    if (absl::Status s = ImportTuner(tuner, &goal, e); !s.ok()) return s;
  }
  const Field assessor = root.Get("assessor");
  if (assessor.IsSet()) {
    if (absl::Status s = ImportAssessor(assessor, &goal, e); !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = SetCount(
          root.GetAny({"maxTrialNumber", "max_trial_number", "maxTrialNum"}),
          &v1::Experiment::set_max_trials, e);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          SetCount(root.GetAny({"trialConcurrency", "trial_concurrency"}),
                   &v1::Experiment::set_parallel_trials, e);
      !s.ok()) {
    return s;
  }
  const Field duration = root.GetAny(
      {"maxExperimentDuration", "max_experiment_duration", "maxExecDuration"});
  if (duration.IsSet()) {
    absl::StatusOr<google::protobuf::Duration> d = ParseDuration(duration);
    if (!d.ok()) return d.status();
    *e->mutable_max_duration() = *d;
  }
  AddObjective(goal.goal(), e);
  return absl::OkStatus();
}

// T9k's AutoTuneExperiment (tensorstack.dev/v1beta1).
absl::Status ImportT9k(const Field& root, v1::Experiment* e) {
  const Field name = root.Get("metadata").Get("name");
  if (name.IsSet()) {
    absl::StatusOr<std::string> n = name.String();
    if (!n.ok()) return n.status();
    e->set_name(*n);
  }
  const Field spec = root.Get("spec");
  if (absl::Status s = spec.CheckMap(); !s.ok()) return s;
  const Field space = spec.Get("searchSpace");
  if (!space.IsSet()) return space.Required();
  if (absl::Status s = AddSearchSpace(space, e); !s.ok()) return s;

  GoalReader goal;
  const Field tuner = spec.Get("tuner");
  if (tuner.IsSet()) {
    if (absl::Status s = ImportTuner(tuner, &goal, e); !s.ok()) return s;
  }
  const Field assessor = spec.Get("assessor");
  if (assessor.IsSet()) {
    if (absl::Status s = ImportAssessor(assessor, &goal, e); !s.ok()) {
      return s;
    }
  }
  if (absl::Status s =
          SetCount(spec.Get("maxTrialNum"), &v1::Experiment::set_max_trials, e);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = SetCount(spec.Get("trialConcurrency"),
                                &v1::Experiment::set_parallel_trials, e);
      !s.ok()) {
    return s;
  }
  const Field seconds_field = spec.Get("maxExecSeconds");
  if (seconds_field.IsSet()) {
    absl::StatusOr<double> seconds = seconds_field.Number();
    if (!seconds.ok()) return seconds.status();
    absl::StatusOr<google::protobuf::Duration> d =
        SecondsToDuration(*seconds, seconds_field);
    if (!d.ok()) return d.status();
    *e->mutable_max_duration() = *d;
  }
  AddObjective(goal.goal(), e);
  return absl::OkStatus();
}

}  // namespace

absl::Status ImportNni(const Field& root, v1::Experiment* e) {
  const Field kind = root.Get("kind");
  if (kind.IsSet() && !IsParam(kind)) {
    if (kind.Text() != "AutoTuneExperiment") {
      return kind.Error(absl::StrCat(
          kind.Describe(),
          " is not a T9k AutoTuneExperiment (for a Katib Experiment use "
          "format \"katib\")"));
    }
    return ImportT9k(root, e);
  }
  const Field spec = root.Get("spec");
  if (spec.IsMap() && !IsParam(spec) && spec.Get("searchSpace").IsSet()) {
    return ImportT9k(root, e);
  }
  for (absl::string_view key : kConfigKeys) {
    const Field f = root.Get(key);
    if (f.IsSet() && !IsParam(f)) return ImportConfig(root, e);
  }
  if (absl::Status s = AddSpace(root, "", nullptr, e); !s.ok()) return s;
  AddObjective(v1::Objective::MAXIMIZE, e);
  return absl::OkStatus();
}

}  // namespace import_internal
}  // namespace hpo
