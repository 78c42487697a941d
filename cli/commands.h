// hpoctl's commands, each given the client and its arguments; each returns
// the exit code, having printed its result on stdout or one error line on
// stderr.

#ifndef HPO_CLI_COMMANDS_H_
#define HPO_CLI_COMMANDS_H_

#include <string>

#include "cli/args.h"
#include "cli/client.h"

namespace hpo::cli {

// The command `cmd`; an unknown one prints the usage and returns 2.
int RunCommand(Client& client, const std::string& cmd, const Args& args);

// create -f SPEC [--name N]
int CmdCreate(Client& client, const Args& args);
// list, and get, stop, resume, delete, best, trials, export EXPERIMENT.
int CmdList(Client& client);
int CmdExperiment(Client& client, const std::string& cmd, const Args& args);
// run and worker (run_command.cc): trials run here until the experiment ends.
int CmdRun(Client& client, const std::string& cmd, const Args& args);

}  // namespace hpo::cli

#endif  // HPO_CLI_COMMANDS_H_
