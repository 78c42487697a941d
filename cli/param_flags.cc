#include "cli/param_flags.h"

#include <cmath>
#include <cstdlib>
#include <map>
#include <tuple>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "core/number_text.h"

namespace hpo::cli {
namespace {

constexpr char kParamSyntax[] =
    "expected NAME=double:MIN:MAX[:log], NAME=int:MIN:MAX[:log], "
    "NAME=categorical:A,B,... or NAME=discrete:V1,V2,...";

// Flags that describe the experiment itself, as opposed to how to run it.
constexpr const char* kExperimentFlags[] = {
    "param",     "objective",         "max-trials",
    "algorithm", "max-failed-trials", "max-duration"};

bool ParseInt(const std::string& text, int64_t* out) {
  return absl::SimpleAtoi(text, out);
}

// MIN and MAX of a range into lo and hi; `parse` reads one, `kind` says what
// it should have been.
template <typename T>
bool ParseBounds(const std::vector<std::string>& parts,
                 const std::string& where,
                 bool (*parse)(const std::string&, T*), const char* kind, T* lo,
                 T* hi, std::string* error) {
  for (int i = 0; i < 2; ++i) {
    if (!parse(parts[i], i == 0 ? lo : hi)) {
      *error = where + (i == 0 ? "MIN" : "MAX") + " \"" + parts[i] +
               "\" is not " + kind;
      return false;
    }
  }
  return true;
}

// double:MIN:MAX[:log], float:..., int:...
bool ParseRange(const std::string& type, const std::string& rest,
                const std::string& where, v1::Parameter* p,
                std::string* error) {
  std::vector<std::string> parts = absl::StrSplit(rest, ':');
  if (parts.size() < 2 || parts.size() > 3 ||
      (parts.size() == 3 && parts[2] != "log")) {
    *error =
        where + "expected " + type + ":MIN:MAX or " + type + ":MIN:MAX:log";
    return false;
  }
  const bool log = parts.size() == 3;
  if (type == "int") {
    int64_t lo, hi;
    if (!ParseBounds<int64_t>(parts, where, &ParseInt, "a whole number", &lo,
                              &hi, error)) {
      return false;
    }
    p->mutable_int_range()->set_min(lo);
    p->mutable_int_range()->set_max(hi);
    p->mutable_int_range()->set_log(log);
  } else {
    double lo, hi;
    if (!ParseBounds<double>(parts, where, &ParseDouble, "a number", &lo, &hi,
                             error)) {
      return false;
    }
    p->mutable_double_range()->set_min(lo);
    p->mutable_double_range()->set_max(hi);
    p->mutable_double_range()->set_log(log);
  }
  return true;
}

// categorical:A,B,... or discrete:V1,V2,...
bool ParseList(const std::string& type, const std::string& rest,
               const std::string& where, v1::Parameter* p, std::string* error) {
  std::vector<std::string> values = absl::StrSplit(rest, ',');
  for (const std::string& v : values) {
    if (v.empty()) {
      *error = where + "an empty value in the list";
      return false;
    }
    if (type == "categorical") {
      p->mutable_categorical()->add_values(v);
      continue;
    }
    double d;
    if (!ParseDouble(v, &d)) {
      *error = where + "\"" + v + "\" is not a number";
      return false;
    }
    p->mutable_discrete()->add_values(d);
  }
  return true;
}

// What follows a field's name in a server message: ".min: problem" or
// ": problem" as "min: problem" and "problem".
std::string AfterField(std::string rest) {
  if (!rest.empty() && rest[0] == '.') rest = rest.substr(1);
  if (rest.rfind(": ", 0) == 0) rest = rest.substr(2);
  return rest;
}

}  // namespace

bool ParseDouble(const std::string& text, double* out) {
  return absl::SimpleAtod(text, out) && std::isfinite(*out);
}

bool ParseParamFlag(const std::string& text, v1::Parameter* p,
                    std::string* error) {
  const std::string where = "--param \"" + text + "\": ";
  const auto eq = text.find('=');
  const auto colon = eq == std::string::npos ? eq : text.find(':', eq);
  if (eq == std::string::npos || eq == 0 || colon == std::string::npos) {
    *error = where + kParamSyntax;
    return false;
  }
  p->set_name(text.substr(0, eq));
  const std::string type = text.substr(eq + 1, colon - eq - 1);
  const std::string rest = text.substr(colon + 1);
  if (type == "double" || type == "float" || type == "int") {
    return ParseRange(type, rest, where, p, error);
  }
  if (type == "categorical" || type == "discrete") {
    return ParseList(type, rest, where, p, error);
  }
  *error = where + "unknown type \"" + type +
           "\" (known: double, int, categorical, discrete)";
  return false;
}

std::string ParamText(const v1::Parameter& p) {
  std::string out = p.name() + "=";
  switch (p.domain_case()) {
    case v1::Parameter::kDoubleRange: {
      const v1::DoubleRange& r = p.double_range();
      out += "double:" + NumberText(r.min()) + ":" + NumberText(r.max());
      if (r.log() || r.distribution() == v1::LOG_UNIFORM) out += ":log";
      if (r.step() > 0) out += " step " + NumberText(r.step());
      if (r.q() > 0) out += " q " + NumberText(r.q());
      if (r.distribution() == v1::NORMAL || r.distribution() == v1::LOG_NORMAL)
        out += " " + v1::Distribution_Name(r.distribution());
      break;
    }
    case v1::Parameter::kIntRange: {
      const v1::IntRange& r = p.int_range();
      out += "int:" + std::to_string(r.min()) + ":" + std::to_string(r.max());
      if (r.log() || r.distribution() == v1::LOG_UNIFORM) out += ":log";
      if (r.step() > 1) out += " step " + std::to_string(r.step());
      if (r.distribution() == v1::NORMAL || r.distribution() == v1::LOG_NORMAL)
        out += " " + v1::Distribution_Name(r.distribution());
      break;
    }
    case v1::Parameter::kCategorical: {
      out += "categorical:";
      for (int i = 0; i < p.categorical().values_size(); ++i) {
        out += (i > 0 ? "," : "") + p.categorical().values(i);
      }
      break;
    }
    case v1::Parameter::kDiscrete: {
      out += "discrete:";
      for (int i = 0; i < p.discrete().values_size(); ++i) {
        out += (i > 0 ? "," : "") + NumberText(p.discrete().values(i));
      }
      break;
    }
    default:
      out += "?";
  }
  if (p.has_condition()) out += " if " + p.condition().parent();
  return out;
}

std::string ObjectiveText(const v1::Objective& o) {
  return o.name() + ":" +
         (o.goal() == v1::Objective::MAXIMIZE ? "maximize" : "minimize");
}

std::string ExperimentFlag(const Args& args) {
  for (const char* f : kExperimentFlags) {
    if (args.Has(f)) return f;
  }
  return "";
}

bool CountFlag(const Args& args, const std::string& flag, int min, int* out,
               std::string* error) {
  if (!args.Has(flag)) return true;
  int64_t v;
  const std::string text = args.Get(flag);
  if (!ParseInt(text, &v) || v < min || v > 1000000000) {
    *error = "--" + flag + " \"" + text +
             "\": expected a whole number >= " + std::to_string(min);
    return false;
  }
  *out = static_cast<int>(v);
  return true;
}

bool ExperimentFromFlags(const Args& args, const std::string& name,
                         v1::Experiment* e, std::string* error) {
  e->set_name(name);
  for (const std::string& text : args.GetAll("param")) {
    if (!ParseParamFlag(text, e->add_parameters(), error)) return false;
  }
  for (const std::string& text : args.GetAll("objective")) {
    const auto colon = text.rfind(':');
    const std::string goal =
        colon == std::string::npos ? "" : text.substr(colon + 1);
    if (colon == std::string::npos || colon == 0 ||
        (goal != "minimize" && goal != "maximize")) {
      *error = "--objective \"" + text +
               "\": expected NAME:minimize or NAME:maximize";
      return false;
    }
    v1::Objective* o = e->add_objectives();
    o->set_name(text.substr(0, colon));
    o->set_goal(goal == "minimize" ? v1::Objective::MINIMIZE
                                   : v1::Objective::MAXIMIZE);
  }
  for (const auto& [flag, min, setter] : std::vector<
           std::tuple<const char*, int, void (v1::Experiment::*)(int32_t)>>{
           {"max-trials", 1, &v1::Experiment::set_max_trials},
           {"parallel", 1, &v1::Experiment::set_parallel_trials},
           {"max-failed-trials", 0, &v1::Experiment::set_max_failed_trials}}) {
    int n = 0;
    if (!CountFlag(args, flag, min, &n, error)) return false;
    (e->*setter)(n);
  }
  if (args.Has("max-duration")) {
    double seconds;
    if (!ParseDouble(args.Get("max-duration"), &seconds) || seconds <= 0) {
      *error = "--max-duration \"" + args.Get("max-duration") +
               "\": expected a number of seconds > 0";
      return false;
    }
    e->mutable_max_duration()->set_seconds(static_cast<int64_t>(seconds));
    e->mutable_max_duration()->set_nanos(static_cast<int32_t>(
        (seconds - static_cast<double>(static_cast<int64_t>(seconds))) * 1e9));
  }
  if (args.Has("algorithm")) {
    e->mutable_algorithm()->set_name(args.Get("algorithm"));
  }
  return true;
}

bool CheckExisting(const Args& args, const v1::Experiment& flags,
                   const v1::Experiment& existing,
                   std::vector<std::string>* warnings, std::string* error) {
  const std::string exp = "experiment \"" + existing.name() + "\" exists";
  if (args.Has("param")) {
    std::map<std::string, std::string> have, want;
    for (const auto& p : existing.parameters()) have[p.name()] = ParamText(p);
    for (const auto& p : flags.parameters()) want[p.name()] = ParamText(p);
    for (const auto& [name, text] : want) {
      auto it = have.find(name);
      if (it == have.end()) {
        *error = "--param " + text + ": " + exp + " without parameter " + name;
        return false;
      }
      if (it->second != text) {
        *error = "--param " + text + ": " + exp + " with " + it->second;
        return false;
      }
    }
    for (const auto& [name, text] : have) {
      if (!want.count(name)) {
        *error = "--param: " + exp + " with one more parameter, " + text;
        return false;
      }
    }
  }
  if (args.Has("objective")) {
    std::string have, want;
    for (const auto& o : existing.objectives()) {
      have += (have.empty() ? "" : " ") + ObjectiveText(o);
    }
    for (const auto& o : flags.objectives()) {
      want += (want.empty() ? "" : " ") + ObjectiveText(o);
    }
    if (have != want) {
      *error = "--objective " + want + ": " + exp + " with objective " + have;
      return false;
    }
  }
  auto warn = [&](const std::string& flag, const std::string& setting,
                  const std::string& have, const std::string& want) {
    if (args.Has(flag) && have != want) {
      warnings->push_back(exp + " with " + setting + " " + have + "; --" +
                          flag + " " + want +
                          " is ignored (an existing experiment's limits and "
                          "algorithm cannot change)");
    }
  };
  warn("max-trials", "max_trials", std::to_string(existing.max_trials()),
       std::to_string(flags.max_trials()));
  warn("max-failed-trials", "max_failed_trials",
       std::to_string(existing.max_failed_trials()),
       std::to_string(flags.max_failed_trials()));
  warn("max-duration", "max_duration (seconds)",
       std::to_string(existing.max_duration().seconds()),
       std::to_string(flags.max_duration().seconds()));
  warn("algorithm", "algorithm", existing.algorithm().name(),
       flags.algorithm().name());
  return true;
}

std::string FlagForField(const Args& args, const std::string& message) {
  for (const auto& [field, flag] :
       std::vector<std::pair<std::string, std::string>>{
           {"experiment.parameters[", "param"},
           {"experiment.objectives[", "objective"}}) {
    if (message.rfind(field, 0) != 0) continue;
    const std::size_t close = message.find(']', field.size());
    if (close == std::string::npos) break;
    const std::size_t index = static_cast<std::size_t>(
        std::atoi(message.substr(field.size()).c_str()));
    const std::vector<std::string> values = args.GetAll(flag);
    if (index >= values.size()) break;
    return "--" + flag + " \"" + values[index] +
           "\": " + AfterField(message.substr(close + 1));
  }
  for (const auto& [field, flag] :
       std::vector<std::pair<std::string, std::string>>{
           {"experiment.algorithm", "algorithm"},
           {"experiment.max_trials", "max-trials"},
           {"experiment.parallel_trials", "parallel"},
           {"experiment.max_failed_trials", "max-failed-trials"},
           {"experiment.max_duration", "max-duration"}}) {
    if (message.rfind(field, 0) != 0 || !args.Has(flag)) continue;
    return "--" + flag + " \"" + args.Get(flag) +
           "\": " + AfterField(message.substr(field.size()));
  }
  return "the experiment the flags describe: " + message;
}

}  // namespace hpo::cli
