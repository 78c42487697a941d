// Spec files: an experiment described in YAML or JSON, in hpo's own format
// (an hpo.v1.Experiment in the proto's JSON mapping, plus run settings), as a
// Katib Experiment, an NNI experiment config or search space, or a T9k
// AutoTuneExperiment. Foreign formats are sent to the server to import
// (ImportSpec); hpoctl reads from them only what the server does not need: how
// to run a trial.

#ifndef HPO_CLI_SPEC_FILE_H_
#define HPO_CLI_SPEC_FILE_H_

#include <map>
#include <string>

#include "hpo/v1/hpo.pb.h"
#include "yaml-cpp/yaml.h"

namespace hpo::cli {

// What `run` needs beyond the experiment: how to run a trial.
struct RunSettings {
  std::string command;
  std::string metrics_file;
  std::string metrics_pattern;
  std::string working_dir;
  double trial_timeout = 0;
  // Katib's trialTemplate.trialParameters: ${trialParameters.NAME} stands for
  // the experiment parameter REFERENCE.
  std::map<std::string, std::string> aliases;
  // NNI's conventions (an NNI config or a T9k AutoTuneExperiment): a last line
  // that is a bare number or a JSON object is the final result, as
  // nni.report_final_result prints it.
  bool nni = false;
};

enum class SpecFormat {
  kHpo,    // hpo's own: an hpo.v1.Experiment and run settings
  kKatib,  // a Katib Experiment (kubeflow.org), or just its spec
  kNni,    // an NNI experiment config, or a bare NNI search space
  kT9k,    // a T9k AutoTuneExperiment (NNI's search space and tuners)
};

// Which format a parsed spec (a mapping) is written in, from its content
// alone. Throws YAML::Exception for a field of the wrong type (`kind: [1]`).
SpecFormat DetectSpecFormat(const YAML::Node& root);

// A container's argv (`command` + `args`) as one /bin/sh command line.
std::string ContainerCommand(const YAML::Node& container);

// YAML to JSON: plain scalars that look like numbers, booleans or null keep
// their type; everything else is a string.
std::string YamlToJson(const YAML::Node& node);

// Reads the spec file at `path` into a CreateExperimentRequest (an experiment,
// or an import_spec for foreign formats), and what it says about running
// trials into `run`. On failure, `error` names the file, the field's path or
// line and column, and the problem.
bool LoadSpec(const std::string& path, v1::CreateExperimentRequest* req,
              RunSettings* run, std::string* error);

// The same for the spec's `content`, as if read from `path`: relative paths in
// it (searchSpaceFile, working directories) are relative to path's folder.
bool LoadSpecContent(const std::string& path, const std::string& content,
                     v1::CreateExperimentRequest* req, RunSettings* run,
                     std::string* error);

}  // namespace hpo::cli

#endif  // HPO_CLI_SPEC_FILE_H_
