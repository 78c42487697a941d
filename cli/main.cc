// hpoctl: the command-line client of the hpo server. Creates experiments from
// spec files (hpo's own YAML/JSON, Katib, T9k and NNI), inspects them, and runs
// trials as local subprocesses (`run`) or as one of several workers (`worker`).
// README.md in this folder has the commands, their flags and the layout.

#include <iostream>
#include <memory>
#include <string>

#include "cli/args.h"
#include "cli/client.h"
#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/runner.h"

namespace hpo::cli {
namespace {

int Main(int argc, char** argv) {
  const CommandLine line = ParseCommandLine(argc, argv);
  if (line.outcome == CommandLine::kHelp) {
    std::cout << kUsage;
    return 0;
  }
  if (line.outcome == CommandLine::kUsage) {
    std::cerr << kUsage;
    return 2;
  }
  std::string error;
  std::unique_ptr<Client> client =
      Client::Connect(line.server, line.security, &error);
  if (client == nullptr) return Fail(error);
  InstallSignalHandlers();
  return RunCommand(*client, line.command, line.args);
}

}  // namespace
}  // namespace hpo::cli

int main(int argc, char** argv) { return hpo::cli::Main(argc, argv); }
