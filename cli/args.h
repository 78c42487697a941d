// hpoctl's command line: the flags before the command (--server and the
// security settings), the command, and its own flags and positionals.

#ifndef HPO_CLI_ARGS_H_
#define HPO_CLI_ARGS_H_

#include <map>
#include <string>
#include <vector>

#include "cli/security.h"

namespace hpo::cli {

extern const char kUsage[];

// A command's arguments.
struct Args {
  std::vector<std::string> positional;
  // Every value of each flag, in order: some flags (--param, --objective)
  // repeat.
  std::map<std::string, std::vector<std::string>> flags;

  // The flag's last value.
  std::string Get(const std::string& name, const std::string& def = "") const;
  std::vector<std::string> GetAll(const std::string& name) const;
  bool Has(const std::string& name) const { return flags.count(name) > 0; }
};

// argv[start...] as `--name value`, `--name=value`, `-f value` and
// positionals. A flag at the end without a value gets "".
Args ParseArgs(int argc, const char* const* argv, int start);

// The whole command line.
struct CommandLine {
  enum Outcome {
    kCommand,  // run `command`
    kHelp,     // -h or --help before the command: print kUsage, exit 0
    kUsage,    // no command: print kUsage on stderr, exit 2
  };
  Outcome outcome = kCommand;
  std::string server;  // --server, else $HPO_SERVER, else localhost:50051
  Security security;   // the flags, else the variables
  std::string command;
  Args args;
};

// --server and the security flags are taken before or after the command (the
// later wins); the environment fills in the rest.
CommandLine ParseCommandLine(int argc, const char* const* argv);

}  // namespace hpo::cli

#endif  // HPO_CLI_ARGS_H_
