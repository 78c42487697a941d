#include "cli/args.h"

#include <algorithm>
#include <cstdlib>

namespace hpo::cli {

const char kUsage[] =
    "usage: hpoctl [--server HOST:PORT] COMMAND ...\n"
    "  create -f SPEC               create an experiment from a spec file\n"
    "  get EXP | list | stop EXP | resume EXP | delete EXP\n"
    "  trials EXP                   a table of the experiment's trials\n"
    "  best EXP                     the best trial(s), as JSON\n"
    "  export EXP [--format csv|json]\n"
    "  run -f SPEC | --name EXP --command CMD [options]\n"
    "  worker EXP --command CMD [options] | worker -f SPEC [options]\n"
    "run/worker options: --parallel N, --trial-timeout SECONDS,\n"
    "  --metrics-file FILE, --metrics-pattern REGEX, --log-dir DIR,\n"
    "  --grace-period SECONDS, --worker-id ID, --workdir DIR\n"
    "run --name EXP creates EXP when it does not exist, from:\n"
    "  --param NAME=double:MIN:MAX[:log] | NAME=int:MIN:MAX[:log] |\n"
    "          NAME=categorical:A,B,... | NAME=discrete:V1,V2,...  (repeat)\n"
    "  --objective NAME:minimize|maximize  (repeat for several)\n"
    "  --max-trials N, --parallel N, --max-failed-trials N,\n"
    "  --max-duration SECONDS, --algorithm NAME\n"
    "The server defaults to $HPO_SERVER, else localhost:50051.\n"
    "Security (before or after the command; each defaults to its variable):\n"
    "  --token TOKEN      bearer token, sent on every call  ($HPO_TOKEN)\n"
    "  --tls-ca FILE      PEM CA of the server's certificate; turns TLS on\n"
    "                     ($HPO_TLS_CA)\n"
    "  --tls-cert FILE, --tls-key FILE\n"
    "                     client certificate and key, for a server with\n"
    "                     --tls_client_ca  ($HPO_TLS_CERT, $HPO_TLS_KEY)\n"
    "Without TLS a token crosses the network in clear text.\n"
    "Flags are kebab-case; snake_case spellings (--max_trials, --tls_ca) are\n"
    "accepted too.\n";

std::string Args::Get(const std::string& name, const std::string& def) const {
  auto it = flags.find(name);
  return it == flags.end() ? def : it->second.back();
}

std::vector<std::string> Args::GetAll(const std::string& name) const {
  auto it = flags.find(name);
  return it == flags.end() ? std::vector<std::string>{} : it->second;
}

std::string FlagName(std::string name) {
  std::replace(name.begin(), name.end(), '_', '-');
  return name;
}

Args ParseArgs(int argc, const char* const* argv, int start) {
  Args args;
  for (int i = start; i < argc; ++i) {
    std::string a = argv[i];
    if (a.size() > 1 && a[0] == '-' && a != "-") {
      std::string name = a.substr(a[1] == '-' ? 2 : 1);
      auto eq = name.find('=');
      if (eq != std::string::npos) {
        args.flags[FlagName(name.substr(0, eq))].push_back(name.substr(eq + 1));
      } else if (i + 1 < argc) {
        args.flags[FlagName(name)].push_back(argv[++i]);
      } else {
        args.flags[FlagName(name)].push_back("");
      }
    } else {
      args.positional.push_back(a);
    }
  }
  return args;
}

CommandLine ParseCommandLine(int argc, const char* const* argv) {
  CommandLine line;
  const char* env_server = std::getenv("HPO_SERVER");
  line.server = env_server ? env_server : "localhost:50051";
  line.security = Security::FromEnv();
  // Before the command: only --server and the security flags, so that the
  // first word that is not one of them is the command.
  int i = 1;
  while (i < argc && argv[i][0] == '-') {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      line.outcome = CommandLine::kHelp;
      return line;
    }
    if (a.rfind("--", 0) != 0) break;
    std::string name = a.substr(2), value;
    auto eq = name.find('=');
    int used = 1;
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = FlagName(name.substr(0, eq));
    } else if (i + 1 < argc) {
      name = FlagName(name);
      value = argv[i + 1];
      used = 2;
    } else {
      break;
    }
    if (name == "server") {
      line.server = value;
    } else if (!line.security.Set(name, value)) {
      break;
    }
    i += used;
  }
  if (i >= argc) {
    line.outcome = CommandLine::kUsage;
    return line;
  }
  line.command = argv[i];
  line.args = ParseArgs(argc, argv, i + 1);
  if (line.args.Has("server")) line.server = line.args.Get("server");
  for (const char* name : {"token", "tls-ca", "tls-cert", "tls-key"}) {
    if (line.args.Has(name)) line.security.Set(name, line.args.Get(name));
  }
  return line;
}

}  // namespace hpo::cli
