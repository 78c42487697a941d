// An experiment described on `hpoctl run`'s command line: --param (repeated),
// --objective (repeated), --max-trials, --parallel, --max-failed-trials,
// --max-duration and --algorithm, and the checks of those flags against an
// experiment that already exists.

#ifndef HPO_CLI_PARAM_FLAGS_H_
#define HPO_CLI_PARAM_FLAGS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "cli/args.h"
#include "hpo/v1/hpo.pb.h"

namespace hpo::cli {

// A finite number.
bool ParseDouble(const std::string& text, double* out);

// `--param NAME=TYPE:...` to a Parameter: double (or float) and int ranges
// MIN:MAX[:log], categorical:A,B,... and discrete:V1,V2,.... The server checks
// the rest (names, min < max, log with min > 0) and says so naming the field.
bool ParseParamFlag(const std::string& text, v1::Parameter* p,
                    std::string* error);

// A parameter in --param's syntax, to compare a flag with a stored parameter
// and to show the difference. What the syntax cannot say (a step, a normal
// prior, a condition) is shown too, so that it never compares equal.
std::string ParamText(const v1::Parameter& p);

// NAME:minimize or NAME:maximize.
std::string ObjectiveText(const v1::Objective& o);

// The first flag given that describes the experiment itself, as opposed to
// how to run it; "" when none is.
std::string ExperimentFlag(const Args& args);

// A whole number flag >= `min`, left as it is when the flag is not given;
// false with an error naming the flag.
bool CountFlag(const Args& args, const std::string& flag, int min, int* out,
               std::string* error);

// The experiment `name` the flags describe. The first objective is the one
// single-objective algorithms optimize.
bool ExperimentFromFlags(const Args& args, const std::string& name,
                         v1::Experiment* e, std::string* error);

// An existing experiment against the flags that describe one (`flags`, from
// ExperimentFromFlags). The search space and objectives must match: running
// trials of a different space than the user wrote would be silently wrong.
// Limits and the algorithm cannot change on an existing experiment: each
// difference adds a line to `warnings` and is ignored, so that extending a
// command line does not block a resume.
bool CheckExisting(const Args& args, const v1::Experiment& flags,
                   const v1::Experiment& existing,
                   std::vector<std::string>* warnings, std::string* error);

// The server's error about the experiment built from the flags names a field
// (experiment.parameters[1].double_range.min: ...); the user wrote a flag, so
// this names that instead.
std::string FlagForField(const Args& args, const std::string& message);

}  // namespace hpo::cli

#endif  // HPO_CLI_PARAM_FLAGS_H_
