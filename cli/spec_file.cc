#include "cli/spec_file.h"

#include <cctype>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "cli/errors.h"
#include "cli/text.h"
#include "core/json_quote.h"
#include "google/protobuf/util/json_util.h"
#include "yaml-cpp/depthguard.h"

namespace hpo::cli {
namespace {

// yaml-cpp's "yaml-cpp: error at line L, column C: problem" as "line L,
// column C: problem", the form the server uses for imported specs.
std::string YamlError(const YAML::Exception& e) {
  // yaml-cpp's own message for too deep a nesting is "bad file".
  if (const auto* deep = dynamic_cast<const YAML::DeepRecursion*>(&e)) {
    return absl::StrCat("line ", deep->mark.line + 1, ", column ",
                        deep->mark.column + 1,
                        ": nested too deeply (the YAML parser stops at ",
                        deep->depth(), " levels)");
  }
  std::string m = e.what();
  const std::string prefix = "yaml-cpp: error at ";
  if (m.rfind(prefix, 0) == 0) m = m.substr(prefix.size());
  return OneLine(m);
}

// protobuf's JSON parser says "INVALID_ARGUMENT:(path): problem", or
// "(path) key: Cannot find field." for an unknown key; as "path: problem",
// like every other spec error.
std::string JsonFieldError(std::string m) {
  const std::string code = "INVALID_ARGUMENT:";
  if (m.rfind(code, 0) == 0) m = m.substr(code.size());
  std::string path;
  if (!m.empty() && m[0] == '(' && m.find(')') != std::string::npos) {
    const std::size_t close = m.find(')');
    path = m.substr(1, close - 1);
    m = m.substr(close + 1);
    if (m.rfind(": ", 0) == 0) {
      m = m.substr(2);
    } else if (m.rfind(" ", 0) == 0 && !path.empty()) {
      // "(path) key: ...": the key is inside path.
      m = path + "." + m.substr(1);
      path.clear();
    }
  }
  const std::string unknown = ": Cannot find field.";
  if (m.size() > unknown.size() &&
      m.compare(m.size() - unknown.size(), unknown.size(), unknown) == 0) {
    m = m.substr(0, m.size() - unknown.size()) + ": unknown field";
  }
  return OneLine(path.empty() ? m : path + ": " + m);
}

// A folder a spec names, relative to the spec's own folder `dir`.
std::string InDir(const std::string& dir, const std::string& path) {
  return path[0] == '/' ? path : dir + "/" + path;
}

// The first container of `containers`, if it is a non-empty list.
YAML::Node FirstContainer(const YAML::Node& containers) {
  if (containers && containers.IsSequence() && containers.size() > 0) {
    return containers[0];
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

// A Katib Experiment: the trial's command is the first container of the
// trial template, and trialParameters name aliases of the parameters.
void KatibRunSettings(const YAML::Node& root, RunSettings* run) {
  YAML::Node spec = root["spec"]["trialTemplate"]["trialSpec"];
  YAML::Node containers;
  if (spec && spec["spec"] && spec["spec"]["template"] &&
      spec["spec"]["template"]["spec"]) {
    containers = spec["spec"]["template"]["spec"]["containers"];
  }
  YAML::Node trial_params = root["spec"]["trialTemplate"]["trialParameters"];
  if (trial_params && trial_params.IsSequence()) {
    for (const auto& tp : trial_params) {
      if (tp["name"] && tp["reference"]) {
        run->aliases[tp["name"].as<std::string>()] =
            tp["reference"].as<std::string>();
      }
    }
  }
  if (YAML::Node c = FirstContainer(containers)) {
    run->command = ContainerCommand(c);
  }
}

// An NNI config or a T9k AutoTuneExperiment. A searchSpaceFile is read here
// and inlined, since the server cannot read the client's files.
bool NniRunSettings(const std::string& dir, bool t9k, YAML::Node root,
                    RunSettings* run, std::string* error) {
  run->nni = true;
  if (root["trialCommand"]) {
    run->command = root["trialCommand"].as<std::string>();
  }
  if (t9k) {
    // T9k runs the trial as the first container of its first task
    // (spec.trainingConfig.tasks[0].template.spec.containers[0]); the trial
    // gets its parameters as NNI's do, not through ${...} in the command.
    YAML::Node tasks = root["spec"]["trainingConfig"]["tasks"];
    YAML::Node containers;
    if (tasks && tasks.IsSequence() && tasks.size() > 0 &&
        tasks[0]["template"] && tasks[0]["template"]["spec"]) {
      containers = tasks[0]["template"]["spec"]["containers"];
    }
    if (YAML::Node c = FirstContainer(containers)) {
      run->command = ContainerCommand(c);
      if (c["workingDir"]) {
        run->working_dir = InDir(dir, c["workingDir"].as<std::string>());
      }
    }
  }
  if (root["trialCodeDirectory"]) {
    run->working_dir = InDir(dir, root["trialCodeDirectory"].as<std::string>());
  }
  if (root["searchSpaceFile"]) {
    const std::string f = InDir(dir, root["searchSpaceFile"].as<std::string>());
    try {
      root["searchSpace"] = YAML::LoadFile(f);
    } catch (const YAML::Exception& e) {
      *error = f + ": " + YamlError(e);
      return false;
    }
    root.remove("searchSpaceFile");
  }
  return true;
}

// hpo's own spec: an hpo.v1.Experiment, with the run settings beside it.
bool HpoSpec(const std::string& path, YAML::Node root,
             v1::CreateExperimentRequest* req, RunSettings* run,
             std::string* error) {
  // (A trialCommand made the file NNI's: DetectSpecFormat.)
  if (root["command"]) {
    run->command = root["command"].as<std::string>();
    root.remove("command");
  }
  if (root["metricsFile"]) {
    run->metrics_file = root["metricsFile"].as<std::string>();
    root.remove("metricsFile");
  }
  if (root["metricsPattern"]) {
    run->metrics_pattern = root["metricsPattern"].as<std::string>();
    root.remove("metricsPattern");
  }
  if (root["trialTimeout"]) {
    run->trial_timeout = root["trialTimeout"].as<double>();
    root.remove("trialTimeout");
  }
  run->working_dir = Dirname(path);
  google::protobuf::util::JsonParseOptions options;
  auto status = google::protobuf::util::JsonStringToMessage(
      YamlToJson(root), req->mutable_experiment(), options);
  if (!status.ok()) {
    *error = path + ": " + JsonFieldError(status.ToString());
    return false;
  }
  return true;
}

// The fields of a parsed spec file (a mapping) into `req` and `run`. Throws
// YAML::Exception for a field of the wrong type (`kind: [1, 2]`).
bool LoadSpecFields(const std::string& path, YAML::Node root,
                    v1::CreateExperimentRequest* req, RunSettings* run,
                    std::string* error) {
  const std::string dir = Dirname(path);
  const SpecFormat format = DetectSpecFormat(root);
  switch (format) {
    case SpecFormat::kHpo:
      return HpoSpec(path, root, req, run, error);
    case SpecFormat::kKatib:
      KatibRunSettings(root, run);
      req->mutable_import_spec()->set_format("katib");
      break;
    case SpecFormat::kNni:
    case SpecFormat::kT9k:
      if (!NniRunSettings(dir, format == SpecFormat::kT9k, root, run, error)) {
        return false;
      }
      req->mutable_import_spec()->set_format("nni");
      break;
  }
  req->mutable_import_spec()->set_content(YamlToJson(root));
  if (run->working_dir.empty()) run->working_dir = dir;
  return true;
}

}  // namespace

// The server's importers take the format as given (ImportSpec.format is
// required); hpoctl names it from these marks, which no hpo spec has.
SpecFormat DetectSpecFormat(const YAML::Node& root) {
  const std::string kind = root["kind"] ? root["kind"].as<std::string>() : "";
  const std::string api =
      root["apiVersion"] ? root["apiVersion"].as<std::string>() : "";
  // A bare Katib spec (the Experiment's `spec`).
  const bool katib_spec = (root["objective"] && root["objective"].IsMap() &&
                           root["objective"]["objectiveMetricName"]) ||
                          root["maxTrialCount"] || root["parallelTrialCount"] ||
                          (root["algorithm"] && root["algorithm"].IsMap() &&
                           root["algorithm"]["algorithmName"]);
  if ((kind == "Experiment" && api.find("kubeflow") != std::string::npos) ||
      katib_spec) {
    return SpecFormat::kKatib;
  }
  if (kind == "AutoTuneExperiment") return SpecFormat::kT9k;
  // A bare NNI search space: every value a mapping with `_type`.
  bool nni_space = root.size() > 0;
  for (const auto& kv : root) {
    if (!kv.second.IsMap() || !kv.second["_type"]) nni_space = false;
  }
  if (nni_space || root["searchSpace"] || root["searchSpaceFile"] ||
      root["trialCommand"] || root["tuner"] || root["trialConcurrency"]) {
    return SpecFormat::kNni;
  }
  return SpecFormat::kHpo;
}

// Kubernetes runs a container's argv as is, without a shell, so every part
// with a character the shell would interpret (a space, a quote, `$`) is
// single-quoted: `command: [sh, -c]` with a script in `args` stays one
// argument. ${trialParameters.NAME} inside quotes still works: hpoctl replaces
// it before the shell sees the line.
std::string ContainerCommand(const YAML::Node& container) {
  std::string cmd;
  for (const char* key : {"command", "args"}) {
    if (!container[key] || !container[key].IsSequence()) continue;
    for (const auto& node : container[key]) {
      std::string part = node.as<std::string>();
      bool plain = !part.empty();
      for (unsigned char c : part) {
        if (!std::isalnum(c) && std::strchr("_-./=:,+@%", c) == nullptr) {
          plain = false;
        }
      }
      if (!plain) {
        std::string quoted = "'";
        for (char c : part) {
          if (c == '\'') {
            quoted += "'\\''";
          } else {
            quoted += c;
          }
        }
        part = quoted + "'";
      }
      if (!cmd.empty()) cmd += " ";
      cmd += part;
    }
  }
  return cmd;
}

std::string YamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      std::string out = "{";
      bool first = true;
      for (const auto& kv : node) {
        if (!first) out += ",";
        first = false;
        out +=
            JsonQuote(kv.first.as<std::string>()) + ":" + YamlToJson(kv.second);
      }
      return out + "}";
    }
    case YAML::NodeType::Sequence: {
      std::string out = "[";
      for (std::size_t i = 0; i < node.size(); ++i) {
        if (i > 0) out += ",";
        out += YamlToJson(node[i]);
      }
      return out + "]";
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (node.Tag() == "?") {
        if (s == "true" || s == "false") return s;
        if (s == "null" || s == "~") return "null";
        if (LooksNumeric(s)) return s;
      }
      return JsonQuote(s);
    }
    default:
      return "null";
  }
}

bool LoadSpec(const std::string& path, v1::CreateExperimentRequest* req,
              RunSettings* run, std::string* error) {
  std::string content;
  if (!ReadFile(path, &content)) {
    *error = "cannot read " + path;
    return false;
  }
  return LoadSpecContent(path, content, req, run, error);
}

bool LoadSpecContent(const std::string& path, const std::string& content,
                     v1::CreateExperimentRequest* req, RunSettings* run,
                     std::string* error) {
  YAML::Node root;
  try {
    root = YAML::Load(content);
  } catch (const YAML::Exception& e) {
    *error = path + ": " + YamlError(e);
    return false;
  }
  if (!root.IsMap()) {
    *error = path + ": not a mapping";
    return false;
  }
  // yaml-cpp throws from as<>() on a field of the wrong type: reported like a
  // parse error, at the field's line and column, rather than ending hpoctl.
  try {
    return LoadSpecFields(path, root, req, run, error);
  } catch (const YAML::Exception& e) {
    *error = path + ": " + YamlError(e) +
             " (a list or mapping where a single value belongs)";
    return false;
  }
}

}  // namespace hpo::cli
