// Katib Experiments (kubeflow.org/v1beta1): spec.parameters, objective,
// algorithm, early stopping and trial counts. The trial template, metrics
// collector and resume policy are Kubernetes-side concerns hpo has no field
// for; they are ignored.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/number_text.h"
#include "google/protobuf/map.h"
#include "hpo/v1/hpo.pb.h"
#include "server/import/foreign_names.h"
#include "server/import/importers.h"
#include "server/import/yaml_field.h"

namespace hpo {
namespace import_internal {
namespace {

// The bounds of a numeric feasibleSpace; unset ones are left out.
struct Bounds {
  std::optional<double> min;
  std::optional<double> max;
  double step = 0;
};

absl::StatusOr<Bounds> ReadBounds(const Field& space, bool integer) {
  // Katib writes every number as a string; ints must be whole.
  const auto read =
      [&](const char* key) -> absl::StatusOr<std::optional<double>> {
    const Field f = space.Get(key);
    if (!f.IsSet()) return std::optional<double>();
    absl::StatusOr<double> v = f.Number();
    if (!v.ok()) return v.status();
    if (integer) {
      absl::StatusOr<int64_t> i = f.Integer();
      if (!i.ok()) return i.status();
    }
    return std::optional<double>(*v);
  };
  Bounds b;
  absl::StatusOr<std::optional<double>> min = read("min");
  if (!min.ok()) return min.status();
  absl::StatusOr<std::optional<double>> max = read("max");
  if (!max.ok()) return max.status();
  absl::StatusOr<std::optional<double>> step = read("step");
  if (!step.ok()) return step.status();
  b.min = *min;
  b.max = *max;
  b.step = step->value_or(0);
  if (b.step < 0) {
    return space.Get("step").Error(
        absl::StrCat("must be >= 0, got ", NumberText(b.step)));
  }
  if (b.min.has_value() && b.max.has_value() && *b.min > *b.max) {
    return space.Get("min").Error(absl::StrCat("must be <= max (min ",
                                               NumberText(*b.min), ", max ",
                                               NumberText(*b.max), ")"));
  }
  return b;
}

// hpo needs both bounds of a uniform range, and Katib's normal and logNormal
// derive mu and sigma from them.
absl::Status RequireBoth(const Field& space, const Bounds& b,
                         absl::string_view why) {
  if (!b.min.has_value()) return space.Get("min").Error(why);
  if (!b.max.has_value()) return space.Get("max").Error(why);
  return absl::OkStatus();
}

// Katib's suggestion services read normal and logNormal as covering
// [min, max] with +-3 sigma: mu at the centre, sigma a sixth of the width (of
// log(value) for logNormal). hpo keeps min and max as truncation bounds.
absl::Status SetNormal(const Field& space, const Bounds& b, bool log,
                       double* mu, double* sigma) {
  if (absl::Status s = RequireBoth(space, b,
                                   "is required: Katib derives a normal's mu "
                                   "and sigma from min and max");
      !s.ok()) {
    return s;
  }
  if (!(*b.min < *b.max)) {
    return space.Get("min").Error(
        absl::StrCat("must be < max for a normal distribution (min ",
                     NumberText(*b.min), ", max ", NumberText(*b.max), ")"));
  }
  double lo = *b.min, hi = *b.max;
  if (log) {
    if (lo <= 0) {
      return space.Get("min").Error(absl::StrCat(
          "must be > 0 for a logNormal distribution, got ", NumberText(lo)));
    }
    lo = std::log(lo);
    hi = std::log(hi);
  }
  *mu = (lo + hi) / 2;
  *sigma = (hi - lo) / 6;
  return absl::OkStatus();
}

absl::Status ImportDouble(const Field& space, const std::string& distribution,
                          v1::DoubleRange* r) {
  absl::StatusOr<Bounds> b = ReadBounds(space, /*integer=*/false);
  if (!b.ok()) return b.status();
  if (b->min.has_value()) r->set_min(*b->min);
  if (b->max.has_value()) r->set_max(*b->max);
  if (distribution.empty() || distribution == "uniform" ||
      distribution == "unknown") {
    if (absl::Status s = RequireBoth(space, *b, "is required"); !s.ok()) {
      return s;
    }
    // Counted from min, as Katib's grid and Optuna suggestions do.
    r->set_step(b->step);
    return absl::OkStatus();
  }
  // With a log scale or a normal prior, hpo quantizes with q (from 0), which
  // is what Katib's hyperopt service makes of step there.
  r->set_q(b->step);
  if (distribution == "logUniform") {
    if (absl::Status s = RequireBoth(space, *b, "is required"); !s.ok()) {
      return s;
    }
    if (*b->min <= 0) {
      return space.Get("min").Error(
          absl::StrCat("must be > 0 for a logUniform distribution, got ",
                       NumberText(*b->min)));
    }
    r->set_log(true);
    return absl::OkStatus();
  }
  const bool log = distribution == "logNormal";
  double mu, sigma;
  if (absl::Status s = SetNormal(space, *b, log, &mu, &sigma); !s.ok()) {
    return s;
  }
  r->set_distribution(log ? v1::LOG_NORMAL : v1::NORMAL);
  r->set_mu(mu);
  r->set_sigma(sigma);
  return absl::OkStatus();
}

absl::Status ImportInt(const Field& space, const std::string& distribution,
                       v1::IntRange* r) {
  absl::StatusOr<Bounds> b = ReadBounds(space, /*integer=*/true);
  if (!b.ok()) return b.status();
  if (absl::Status s = RequireBoth(space, *b, "is required"); !s.ok()) {
    return s;
  }
  r->set_min(static_cast<int64_t>(*b->min));
  r->set_max(static_cast<int64_t>(*b->max));
  const bool log = distribution == "logUniform" || distribution == "logNormal";
  if (log && b->step > 1) {
    // Katib UIs fill in step 1 for ints; only a real step conflicts.
    return space.Get("step").Error(absl::StrCat("cannot be combined with ",
                                                distribution, " in hpo, got ",
                                                NumberText(b->step)));
  }
  if (!log) r->set_step(static_cast<int64_t>(b->step));
  if (distribution.empty() || distribution == "uniform" ||
      distribution == "unknown") {
    return absl::OkStatus();
  }
  if (distribution == "logUniform") {
    if (*b->min < 1) {
      return space.Get("min").Error(
          absl::StrCat("must be >= 1 for an int logUniform distribution, got ",
                       NumberText(*b->min)));
    }
    r->set_log(true);
    return absl::OkStatus();
  }
  if (log && *b->min < 1) {
    return space.Get("min").Error(
        absl::StrCat("must be >= 1 for an int logNormal distribution, got ",
                     NumberText(*b->min)));
  }
  double mu, sigma;
  if (absl::Status s = SetNormal(space, *b, log, &mu, &sigma); !s.ok()) {
    return s;
  }
  r->set_distribution(log ? v1::LOG_NORMAL : v1::NORMAL);
  r->set_mu(mu);
  r->set_sigma(sigma);
  return absl::OkStatus();
}

absl::Status ImportList(const Field& space, bool numbers, v1::Parameter* p) {
  const Field list = space.Get("list");
  if (absl::Status s = list.CheckNonEmptyList(); !s.ok()) return s;
  std::set<std::string> labels;
  std::set<double> values;
  for (size_t i = 0; i < list.size(); ++i) {
    const Field item = list.At(i);
    if (numbers) {
      absl::StatusOr<double> v = item.Number();
      if (!v.ok()) return v.status();
      if (!values.insert(*v).second) {
        return item.Error(absl::StrCat("duplicate value ", NumberText(*v)));
      }
      p->mutable_discrete()->add_values(*v);
    } else {
      if (!item.IsScalar()) {
        return item.Error(
            absl::StrCat("must be a string, got ", item.Describe()));
      }
      if (!labels.insert(item.Text()).second) {
        return item.Error(absl::StrCat("duplicate value ", item.Describe()));
      }
      p->mutable_categorical()->add_values(item.Text());
    }
  }
  return absl::OkStatus();
}

absl::Status ImportParameter(const Field& param, v1::Experiment* e) {
  if (absl::Status s = param.CheckMap(); !s.ok()) return s;
  absl::StatusOr<std::string> name = param.Get("name").String();
  if (!name.ok()) return name.status();
  const Field type_field = param.Get("parameterType");
  absl::StatusOr<std::string> type = type_field.String();
  if (!type.ok()) return type.status();
  const Field space = param.Get("feasibleSpace");
  if (absl::Status s = space.CheckMap(); !s.ok()) return s;
  const Field dist_field = space.Get("distribution");
  const std::string distribution = dist_field.IsSet() ? dist_field.Text() : "";
  if (!distribution.empty() && distribution != "uniform" &&
      distribution != "logUniform" && distribution != "normal" &&
      distribution != "logNormal" && distribution != "unknown") {
    return dist_field.Error(
        absl::StrCat("unknown distribution ", dist_field.Describe(),
                     " (known: uniform, logUniform, normal, logNormal)"));
  }

  v1::Parameter p;
  p.set_name(*name);
  absl::Status s;
  if (*type == "double") {
    s = ImportDouble(space, distribution, p.mutable_double_range());
  } else if (*type == "int") {
    s = ImportInt(space, distribution, p.mutable_int_range());
  } else if (*type == "categorical") {
    s = ImportList(space, /*numbers=*/false, &p);
  } else if (*type == "discrete") {
    s = ImportList(space, /*numbers=*/true, &p);
  } else {
    return type_field.Error(
        absl::StrCat("unknown parameterType ", type_field.Describe(),
                     " (known: int, double, categorical, discrete)"));
  }
  if (!s.ok()) return s;
  e->add_parameters()->Swap(&p);
  return absl::OkStatus();
}

absl::Status ImportObjective(const Field& objective, v1::Experiment* e) {
  if (absl::Status s = objective.CheckMap(); !s.ok()) return s;
  v1::Objective* o = e->add_objectives();
  const Field type_field = objective.Get("type");
  absl::StatusOr<std::string> type = type_field.String();
  if (!type.ok()) return type.status();
  if (*type == "maximize") {
    o->set_goal(v1::Objective::MAXIMIZE);
  } else if (*type == "minimize") {
    o->set_goal(v1::Objective::MINIMIZE);
  } else {
    return type_field.Error(absl::StrCat(
        "must be \"maximize\" or \"minimize\", got ", type_field.Describe()));
  }
  absl::StatusOr<std::string> metric =
      objective.Get("objectiveMetricName").String();
  if (!metric.ok()) return metric.status();
  o->set_name(*metric);
  const Field goal = objective.Get("goal");
  if (goal.IsSet()) {
    absl::StatusOr<double> target = goal.Number();
    if (!target.ok()) return target.status();
    o->set_target(*target);
  }
  // hpo reads extra objectives as a multi-objective search, which Katib's
  // additional metrics are not: they are only recorded. hpo keeps every
  // metric a trial reports anyway, so they are just noted.
  const Field extra = objective.Get("additionalMetricNames");
  if (extra.IsSet()) {
    if (!extra.IsList()) {
      return extra.Error(
          absl::StrCat("must be a list, got ", extra.Describe()));
    }
    std::vector<std::string> names;
    for (size_t i = 0; i < extra.size(); ++i) {
      absl::StatusOr<std::string> n = extra.At(i).String();
      if (!n.ok()) return n.status();
      names.push_back(*n);
    }
    if (!names.empty()) {
      AddNote(absl::StrCat("Katib additionalMetricNames: ",
                           absl::StrJoin(names, ", ")),
              e);
    }
  }
  return absl::OkStatus();
}

// A setting the foreign table renames: into hpo's name and value, or dropped.
absl::Status Rename(const ForeignSetting& renamed, const Field& value,
                    google::protobuf::Map<std::string, std::string>* settings) {
  const std::string text = value.IsSet() ? SettingText(value) : "";
  std::string hpo_value = text;
  if (!renamed.values.empty()) {
    std::vector<absl::string_view> known;
    bool found = false;
    for (const auto& [theirs, ours] : renamed.values) {
      known.push_back(theirs);
      if (theirs == text) {
        hpo_value = std::string(ours);
        found = true;
      }
    }
    if (!found) {
      return value.Error(absl::StrCat(
          renamed.name, ": \"", text,
          "\" is not supported (known: ", absl::StrJoin(known, ", "), ")"));
    }
  }
  if (!renamed.hpo.empty()) (*settings)[std::string(renamed.hpo)] = hpo_value;
  return absl::OkStatus();
}

// algorithmSettings ([{name, value}]) into `settings`, except random_state,
// which all of Katib's services read as their seed: it becomes the
// experiment's seed.
absl::Status ReadSettings(
    const Field& list,
    google::protobuf::Map<std::string, std::string>* settings,
    v1::Experiment* e, const ForeignAlgorithm* algorithm = nullptr) {
  if (!list.IsSet()) return absl::OkStatus();
  if (!list.IsList()) {
    return list.Error(absl::StrCat("must be a list, got ", list.Describe()));
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < list.size(); ++i) {
    const Field item = list.At(i);
    if (absl::Status s = item.CheckMap(); !s.ok()) return s;
    const Field key_field = item.Get("name");
    absl::StatusOr<std::string> key = key_field.String();
    if (!key.ok()) return key.status();
    if (!seen.insert(*key).second) {
      return key_field.Error(
          absl::StrCat("duplicate setting ", key_field.Describe()));
    }
    const Field value = item.Get("value");
    if (*key == "random_state") {
      // The path names the list's entry; the setting's name says which.
      if (absl::Status s = SetSeed(value, e); !s.ok()) {
        return absl::Status(s.code(),
                            absl::StrCat(s.message(), " (random_state)"));
      }
    } else if (const ForeignSetting* renamed =
                   algorithm == nullptr ? nullptr
                                        : FindForeignSetting(*algorithm, *key);
               renamed != nullptr) {
      if (absl::Status s = Rename(*renamed, value, settings); !s.ok()) {
        return s;
      }
    } else {
      (*settings)[*key] = value.IsSet() ? SettingText(value) : "";
    }
  }
  return absl::OkStatus();
}

// Katib's hyperband gives each trial a budget of the parameter named by
// resource_name, up to r_l. Without r_l, the largest budget is that
// parameter's largest value: it becomes the rule's max_resource.
absl::Status FillMaxResource(
    const Field& list,
    google::protobuf::Map<std::string, std::string>* settings,
    const v1::Experiment& e) {
  for (const char* key : {"r_l", "max_resource", "R"}) {
    if (settings->contains(key)) return absl::OkStatus();
  }
  const auto name = settings->find("resource_name");
  if (name == settings->end()) return absl::OkStatus();  // the rule says so
  const std::string why = absl::StrCat(
      "r_l is not set, and the largest value of the resource parameter \"",
      name->second, "\" ");
  for (const v1::Parameter& p : e.parameters()) {
    if (p.name() != name->second) continue;
    std::optional<double> max;
    if (p.has_int_range()) {
      max = static_cast<double>(p.int_range().max());
    } else if (p.has_double_range() && p.double_range().has_max()) {
      max = p.double_range().max();
    } else if (p.has_discrete() && p.discrete().values_size() > 0) {
      max = *std::max_element(p.discrete().values().begin(),
                              p.discrete().values().end());
    }
    if (!max.has_value()) {
      return list.Error(absl::StrCat(why, "is unknown: set r_l"));
    }
    if (!(*max >= 1) || *max != std::floor(*max) || *max > 1e15) {
      return list.Error(absl::StrCat(why, "is ", NumberText(*max),
                                     ", not a whole number >= 1: set r_l"));
    }
    (*settings)["max_resource"] = absl::StrCat(static_cast<int64_t>(*max));
    return absl::OkStatus();
  }
  return list.Error(
      absl::StrCat("resource_name: no parameter named \"", name->second, "\""));
}

// Katib's names map through KatibAlgorithms() (foreign_names.cc); any other
// name is taken as hpo's own (auto, gp, anneal, ...), which CreateExperiment
// checks. Katib's hyperband is random search with the "hyperband"
// early-stopping rule, which takes the settings.
absl::Status ImportAlgorithm(const Field& algorithm, v1::Experiment* e) {
  if (absl::Status s = algorithm.CheckMap(); !s.ok()) return s;
  const Field name_field = algorithm.Get("algorithmName");
  absl::StatusOr<std::string> name = name_field.String();
  if (!name.ok()) return name.status();
  v1::Algorithm* a = e->mutable_algorithm();
  auto* settings = a->mutable_settings();
  const ForeignAlgorithm* known =
      FindForeignAlgorithm(KatibAlgorithms(), *name);
  if (known == nullptr) {
    a->set_name(*name);
  } else if (!known->unsupported.empty()) {
    return name_field.Error(absl::StrCat("unsupported algorithm ",
                                         name_field.Describe(), ": ",
                                         known->unsupported));
  } else {
    a->set_name(std::string(known->algorithm));
    for (const auto& [key, value] : known->settings) (*settings)[key] = value;
    if (!known->early_stopping.empty()) {
      e->mutable_early_stopping()->set_name(std::string(known->early_stopping));
      settings = e->mutable_early_stopping()->mutable_settings();
    }
  }
  const Field list = algorithm.Get("algorithmSettings");
  if (absl::Status s = ReadSettings(list, settings, e, known); !s.ok()) {
    return s;
  }
  if (known == nullptr || known->early_stopping != "hyperband") {
    return absl::OkStatus();
  }
  return FillMaxResource(list, settings, *e);
}

absl::Status ImportEarlyStopping(const Field& early, v1::Experiment* e) {
  if (absl::Status s = early.CheckMap(); !s.ok()) return s;
  if (e->has_early_stopping()) {
    return early.Error(
        "cannot be combined with algorithm hyperband, which already stops "
        "trials early");
  }
  const Field name_field = early.Get("algorithmName");
  absl::StatusOr<std::string> name = name_field.String();
  if (!name.ok()) return name.status();
  v1::EarlyStopping* rule = e->mutable_early_stopping();
  const ForeignAlgorithm* known =
      FindForeignAlgorithm(KatibEarlyStopping(), *name);
  if (known == nullptr) {
    return name_field.Error(absl::StrCat(
        "unknown early stopping algorithm ", name_field.Describe(),
        " (known: ", ForeignAlgorithmNames(KatibEarlyStopping()), ")"));
  }
  rule->set_name(std::string(known->algorithm));
  return ReadSettings(early.Get("algorithmSettings"), rule->mutable_settings(),
                      e);
}

}  // namespace

absl::Status ImportKatib(const Field& root, v1::Experiment* e) {
  const Field kind = root.Get("kind");
  if (kind.IsSet() && kind.Text() != "Experiment") {
    return kind.Error(
        absl::StrCat("must be \"Experiment\", got ", kind.Describe()));
  }
  Field spec = root;
  if (root.Get("spec").IsSet()) {
    spec = root.Get("spec");
    if (absl::Status s = spec.CheckMap(); !s.ok()) return s;
    const Field name = root.Get("metadata").Get("name");
    if (name.IsSet()) {
      absl::StatusOr<std::string> n = name.String();
      if (!n.ok()) return n.status();
      e->set_name(*n);
    }
  } else if (!root.Get("parameters").IsSet() &&
             !root.Get("objective").IsSet()) {
    return root.Error(
        "is neither a Katib Experiment (no spec) nor an ExperimentSpec (no "
        "parameters or objective)");
  }

  const Field params = spec.Get("parameters");
  if (!params.IsSet()) {
    if (spec.Get("nasConfig").IsSet()) {
      return spec.Get("nasConfig")
          .Error(
              "neural architecture search is not supported: hpo imports "
              "spec.parameters only");
    }
    return params.Required();
  }
  if (absl::Status s = params.CheckNonEmptyList(); !s.ok()) return s;
  for (size_t i = 0; i < params.size(); ++i) {
    if (absl::Status s = ImportParameter(params.At(i), e); !s.ok()) return s;
  }
  if (absl::Status s = ImportObjective(spec.Get("objective"), e); !s.ok()) {
    return s;
  }
  const Field algorithm = spec.Get("algorithm");
  if (algorithm.IsSet()) {
    if (absl::Status s = ImportAlgorithm(algorithm, e); !s.ok()) return s;
  }
  const Field early = spec.Get("earlyStopping");
  if (early.IsSet()) {
    if (absl::Status s = ImportEarlyStopping(early, e); !s.ok()) return s;
  }
  if (absl::Status s = SetCount(spec.Get("maxTrialCount"),
                                &v1::Experiment::set_max_trials, e);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = SetCount(spec.Get("parallelTrialCount"),
                                &v1::Experiment::set_parallel_trials, e);
      !s.ok()) {
    return s;
  }
  return SetCount(spec.Get("maxFailedTrialCount"),
                  &v1::Experiment::set_max_failed_trials, e);
}

}  // namespace import_internal
}  // namespace hpo
