// A trial's command line and environment: ${trialParameters.NAME} and ${NAME}
// in the command stand for the trial's parameter values (Katib's template
// syntax), and each parameter is also an environment variable.

#ifndef HPO_CLI_TRIAL_COMMAND_H_
#define HPO_CLI_TRIAL_COMMAND_H_

#include <map>
#include <string>
#include <vector>

#include "hpo/v1/hpo.pb.h"

namespace hpo::cli {

// The command with the trial's values in place of ${trialParameters.NAME} and
// ${NAME}, for each parameter and each alias (alias -> parameter).
std::string Substitute(const std::string& command, const v1::Trial& trial,
                       const std::map<std::string, std::string>& aliases);

// NAME's part of $HPO_PARAM_NAME: upper-cased, anything but a letter or
// digit as `_`.
std::string ParamEnvName(const std::string& name);

// Whether `name` can be an environment variable of its own (a letter or `_`
// first, then letters, digits and `_`).
bool IsEnvName(const std::string& name);

// `${trialParameters.NAME}` names in `command` that are neither parameters of
// `e` nor aliases, in order of appearance: such a command would run every
// trial with the text left in. (${NAME} alone may be a shell variable.)
std::vector<std::string> UnknownTemplateNames(
    const std::string& command, const v1::Experiment& e,
    const std::map<std::string, std::string>& aliases);

}  // namespace hpo::cli

#endif  // HPO_CLI_TRIAL_COMMAND_H_
