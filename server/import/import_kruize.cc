// Kruize HPO (github.com/kruize/hpo) search spaces: the "search_space" object
// of its EXP_TRIAL_GENERATE_NEW request, alone or inside the request.

#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/number_text.h"
#include "hpo/v1/hpo.pb.h"
#include "server/import/foreign_names.h"
#include "server/import/importers.h"
#include "server/import/yaml_field.h"

namespace hpo {
namespace import_internal {
namespace {

// The objective's name when objective_function is an expression.
constexpr char kExpressionObjective[] = "objective_function";

// Kruize's objective_function is "typically an algebraic expression". A
// Prometheus-style metric name ([A-Za-z_:][A-Za-z0-9_:.]*) is used as the
// objective's name; anything else ("-" and "/" are operators there) is an
// expression the worker evaluates and reports as "objective_function".
bool IsMetricName(absl::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const bool ok = absl::ascii_isalpha(c) || c == '_' || c == ':' ||
                    (i > 0 && (absl::ascii_isdigit(c) || c == '.'));
    if (!ok) return false;
  }
  return true;
}

absl::Status ImportAlgorithm(const Field& field, v1::Algorithm* a) {
  if (!field.IsSet()) {
    // Kruize's default sampler.
    a->set_name("tpe");
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> name = field.String();
  if (!name.ok()) return name.status();
  const ForeignAlgorithm* known =
      FindForeignAlgorithm(KruizeAlgorithms(), *name);
  if (known == nullptr) {
    return field.Error(absl::StrCat(
        "unknown hpo_algo_impl ", field.Describe(),
        " (known: ", ForeignAlgorithmNames(KruizeAlgorithms()), ")"));
  }
  a->set_name(std::string(known->algorithm));
  for (const auto& [key, value] : known->settings) {
    (*a->mutable_settings())[key] = value;
  }
  return absl::OkStatus();
}

absl::Status ImportTunable(const Field& tunable, v1::Experiment* e) {
  if (absl::Status s = tunable.CheckMap(); !s.ok()) return s;
  absl::StatusOr<std::string> name = tunable.Get("name").String();
  if (!name.ok()) return name.status();
  const Field type_field = tunable.Get("value_type");
  absl::StatusOr<std::string> type = type_field.String();
  if (!type.ok()) return type.status();
  // Kruize lower-cases value_type before comparing.
  const std::string t = absl::AsciiStrToLower(*type);

  v1::Parameter p;
  p.set_name(*name);
  if (t == "categorical") {
    const Field choices = tunable.Get("choices");
    if (absl::Status s = choices.CheckNonEmptyList(); !s.ok()) return s;
    std::set<std::string> seen;
    for (size_t i = 0; i < choices.size(); ++i) {
      const Field c = choices.At(i);
      if (!c.IsScalar()) {
        return c.Error(
            absl::StrCat("must be a string or a number, got ", c.Describe()));
      }
      if (!seen.insert(c.Text()).second) {
        return c.Error(absl::StrCat("duplicate choice ", c.Describe()));
      }
      p.mutable_categorical()->add_values(c.Text());
    }
  } else if (t == "double" || t == "integer") {
    const bool integer = t == "integer";
    const Field lower_field = tunable.Get("lower_bound");
    const Field upper_field = tunable.Get("upper_bound");
    const Field step_field = tunable.Get("step");
    absl::StatusOr<double> lower = lower_field.Number();
    if (!lower.ok()) return lower.status();
    absl::StatusOr<double> upper = upper_field.Number();
    if (!upper.ok()) return upper.status();
    double step = 0;
    if (step_field.IsSet()) {
      absl::StatusOr<double> v = step_field.Number();
      if (!v.ok()) return v.status();
      if (*v < 0) {
        return step_field.Error(
            absl::StrCat("must be >= 0, got ", step_field.Describe()));
      }
      step = *v;
    }
    if (*lower > *upper) {
      return lower_field.Error(absl::StrCat("must be <= upper_bound (",
                                            NumberText(*lower), " > ",
                                            NumberText(*upper), ")"));
    }
    if (integer) {
      for (const Field* f : {&lower_field, &upper_field, &step_field}) {
        if (!f->IsSet()) continue;
        absl::StatusOr<int64_t> i = f->Integer();
        if (!i.ok()) return i.status();
      }
      v1::IntRange* r = p.mutable_int_range();
      r->set_min(static_cast<int64_t>(*lower));
      r->set_max(static_cast<int64_t>(*upper));
      r->set_step(static_cast<int64_t>(step));
    } else {
      // Kruize samples doubles with suggest_discrete_uniform(low, high,
      // step): steps counted from lower_bound, as hpo's step is.
      v1::DoubleRange* r = p.mutable_double_range();
      r->set_min(*lower);
      r->set_max(*upper);
      r->set_step(step);
    }
  } else {
    return type_field.Error(
        absl::StrCat("unknown value_type ", type_field.Describe(),
                     " (known: double, integer, categorical)"));
  }
  e->add_parameters()->Swap(&p);
  return absl::OkStatus();
}

}  // namespace

absl::Status ImportKruize(const Field& root, v1::Experiment* e) {
  Field space = root;
  const Field operation = root.Get("operation");
  if (operation.IsSet() && operation.Text() != "EXP_TRIAL_GENERATE_NEW") {
    return operation.Error(absl::StrCat(
        operation.Describe(),
        " carries no search space (import an EXP_TRIAL_GENERATE_NEW request "
        "or its search_space)"));
  }
  if (operation.IsSet() || root.Get("search_space").IsSet()) {
    space = root.Get("search_space");
    // Some Kruize clients send the search space as a one-element list.
    if (space.IsList() && space.size() == 1) space = space.At(0);
    if (absl::Status s = space.CheckMap(); !s.ok()) return s;
  }

  const Field name = space.Get("experiment_name");
  if (name.IsSet()) {
    absl::StatusOr<std::string> n = name.String();
    if (!n.ok()) return n.status();
    e->set_name(*n);
  }

  const Field tunables = space.GetAny({"tunables", "tuneables"});
  if (absl::Status s = tunables.CheckNonEmptyList(); !s.ok()) return s;
  for (size_t i = 0; i < tunables.size(); ++i) {
    if (absl::Status s = ImportTunable(tunables.At(i), e); !s.ok()) return s;
  }

  v1::Objective* o = e->add_objectives();
  const Field direction_field = space.Get("direction");
  absl::StatusOr<std::string> direction = direction_field.String();
  if (!direction.ok()) return direction.status();
  const std::string d = absl::AsciiStrToLower(*direction);
  if (d == "maximize") {
    o->set_goal(v1::Objective::MAXIMIZE);
  } else if (d == "minimize") {
    o->set_goal(v1::Objective::MINIMIZE);
  } else {
    return direction_field.Error(
        absl::StrCat("must be \"maximize\" or \"minimize\", got ",
                     direction_field.Describe()));
  }
  absl::StatusOr<std::string> function =
      space.Get("objective_function").String();
  if (!function.ok()) return function.status();
  if (IsMetricName(*function)) {
    o->set_name(*function);
  } else {
    o->set_name(kExpressionObjective);
    AddNote(absl::StrCat("Kruize objective_function: ", *function), e);
  }

  if (absl::Status s =
          ImportAlgorithm(space.Get("hpo_algo_impl"), e->mutable_algorithm());
      !s.ok()) {
    return s;
  }
  // experiment_trials is what early Kruize releases called total_trials.
  if (absl::Status s =
          SetCount(space.GetAny({"total_trials", "experiment_trials"}),
                   &v1::Experiment::set_max_trials, e);
      !s.ok()) {
    return s;
  }
  return SetCount(space.Get("parallel_trials"),
                  &v1::Experiment::set_parallel_trials, e);
}

}  // namespace import_internal
}  // namespace hpo
