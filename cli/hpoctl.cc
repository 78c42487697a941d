// hpoctl: the command-line client of the hpo server. Creates experiments from
// spec files (hpo's own YAML/JSON, Katib, T9k and NNI), inspects them, and runs
// trials as local subprocesses (`run`) or as one of several workers (`worker`).

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "core/json_quote.h"
#include "core/number_text.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "grpcpp/support/client_interceptor.h"
#include "hpo/v1/hpo.grpc.pb.h"
#include "yaml-cpp/depthguard.h"
#include "yaml-cpp/yaml.h"

namespace hpo::cli {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kUsage[] =
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
    "  --tls_ca FILE      PEM CA of the server's certificate; turns TLS on\n"
    "                     ($HPO_TLS_CA)\n"
    "  --tls_cert FILE, --tls_key FILE\n"
    "                     client certificate and key, for a server with\n"
    "                     --tls_client_ca  ($HPO_TLS_CERT, $HPO_TLS_KEY)\n"
    "Without TLS a token crosses the network in clear text.\n";

constexpr char kKatibPattern[] =
    R"(([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?))";

std::atomic<int> g_signal{0};

// The server's address, for error messages.
std::string g_server;

// The connection's security, for error messages: whether a token is sent (and
// the token, only to blank it out of messages), and whether TLS is on.
std::string g_token;
bool g_tls = false;
bool g_client_cert = false;

void OnSignal(int sig) { g_signal.store(sig); }

// ---------------------------------------------------------------- arguments

struct Args {
  std::vector<std::string> positional;
  // Every value of each flag, in order: some flags (--param, --objective)
  // repeat.
  std::map<std::string, std::vector<std::string>> flags;

  // The flag's last value.
  std::string Get(const std::string& name, const std::string& def = "") const {
    auto it = flags.find(name);
    return it == flags.end() ? def : it->second.back();
  }
  std::vector<std::string> GetAll(const std::string& name) const {
    auto it = flags.find(name);
    return it == flags.end() ? std::vector<std::string>{} : it->second;
  }
  bool Has(const std::string& name) const { return flags.count(name) > 0; }
};

// Parses `--name value`, `--name=value` and `-f value`.
Args ParseArgs(int argc, char** argv, int start) {
  Args args;
  for (int i = start; i < argc; ++i) {
    std::string a = argv[i];
    if (a.size() > 1 && a[0] == '-' && a != "-") {
      std::string name = a.substr(a[1] == '-' ? 2 : 1);
      auto eq = name.find('=');
      if (eq != std::string::npos) {
        args.flags[name.substr(0, eq)].push_back(name.substr(eq + 1));
      } else if (i + 1 < argc) {
        args.flags[name].push_back(argv[++i]);
      } else {
        args.flags[name].push_back("");
      }
    } else {
      args.positional.push_back(a);
    }
  }
  return args;
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

std::string Dirname(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

int Fail(const std::string& message) {
  std::cerr << "hpoctl: " << message << "\n";
  return 1;
}

// One line, whatever gRPC put in the message: a script reading stderr gets
// one error per failure. The token never shows, should a server echo it.
std::string OneLine(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  if (!g_token.empty()) {
    for (auto at = s.find(g_token); at != std::string::npos;
         at = s.find(g_token, at)) {
      s.replace(at, g_token.size(), "<token>");
    }
  }
  return s;
}

bool HandshakeFailed(const grpc::Status& status) {
  std::string m = status.error_message();
  std::transform(m.begin(), m.end(), m.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return status.error_code() == grpc::StatusCode::UNAVAILABLE &&
         m.find("handshake failed") != std::string::npos;
}

// A connection the server closes at once is what a TLS server does to a
// plaintext client, and a mutual-TLS one to a client without a certificate.
std::string ClosedHint(const std::string& message) {
  if (message.find("Socket closed") == std::string::npos) return "";
  if (!g_tls) return "; if the server speaks TLS, set --tls_ca or $HPO_TLS_CA";
  if (!g_client_cert) {
    return "; if the server wants a client certificate, set --tls_cert and "
           "--tls_key";
  }
  return "";
}

int FailRpc(const std::string& what, const grpc::Status& status) {
  const std::string message = OneLine(status.error_message());
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      if (HandshakeFailed(status)) {
        return Fail(what + ": TLS handshake with the hpo server at " +
                    g_server + " failed (" + message +
                    "); check --tls_ca (the CA of the server's certificate), "
                    "--tls_cert and --tls_key (if the server wants a client "
                    "certificate), and that the server speaks TLS");
      }
      // gRPC fails fast (no wait_for_ready), so an unreachable server is one
      // UNAVAILABLE: say which address was tried and what to change.
      return Fail(what + ": cannot reach the hpo server at " + g_server + " (" +
                  message + "); set --server HOST:PORT or $HPO_SERVER" +
                  ClosedHint(message));
    case grpc::StatusCode::UNAUTHENTICATED:
      return Fail(what + ": " + message +
                  (g_token.empty()
                       ? " (no token was sent: set --token or $HPO_TOKEN)"
                       : " (the server did not accept the token from --token "
                         "or $HPO_TOKEN)"));
    case grpc::StatusCode::PERMISSION_DENIED:
      return Fail(what + ": " + message +
                  " (the token's role does not allow this; roles: read < "
                  "worker < admin)");
    default:
      return Fail(what + ": " + message + " (code " +
                  std::to_string(status.error_code()) + ")");
  }
}

// An error creating the experiment from a spec file: the server's message
// names the field (for imported formats after "import_spec.content: "); the
// file it is in comes first.
int FailSpec(const std::string& cmd, const std::string& path,
             const grpc::Status& s) {
  if (s.error_code() != grpc::StatusCode::INVALID_ARGUMENT) {
    return FailRpc(cmd, s);
  }
  std::string message = OneLine(s.error_message());
  const std::string prefix = "import_spec.content: ";
  if (message.rfind(prefix, 0) == 0) message = message.substr(prefix.size());
  return Fail(cmd + ": " + path + ": " + message);
}

// ---------------------------------------------------------------- specs

bool LooksNumeric(const std::string& s) {
  static const std::regex kNumber(R"([+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?)");
  return std::regex_match(s, kNumber);
}

// YAML to JSON: plain scalars that look like numbers, booleans or null keep
// their type; everything else is a string.
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

// A container's argv as one /bin/sh command line. Kubernetes runs argv as
// is, without a shell, so every part with a character the shell would
// interpret (a space, a quote, `$`) is single-quoted: `command: [sh, -c]` with
// a script in `args` stays one argument. ${trialParameters.NAME} inside
// quotes still works: hpoctl replaces it before the shell sees the line.
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

// The fields of a parsed spec file (a mapping) into `req` and `run`. Throws
// YAML::Exception for a field of the wrong type (`kind: [1, 2]`).
bool LoadSpecFields(const std::string& path, YAML::Node root,
                    v1::CreateExperimentRequest* req, RunSettings* run,
                    std::string* error) {
  const std::string dir = Dirname(path);
  std::string kind = root["kind"] ? root["kind"].as<std::string>() : "";
  std::string api =
      root["apiVersion"] ? root["apiVersion"].as<std::string>() : "";
  std::string format;
  // A bare Katib spec (the Experiment's `spec`) or a bare NNI search space
  // (every value a mapping with `_type`).
  bool katib_spec = (root["objective"] && root["objective"].IsMap() &&
                     root["objective"]["objectiveMetricName"]) ||
                    root["maxTrialCount"] || root["parallelTrialCount"] ||
                    (root["algorithm"] && root["algorithm"].IsMap() &&
                     root["algorithm"]["algorithmName"]);
  bool nni_space = root.size() > 0;
  for (const auto& kv : root) {
    if (!kv.second.IsMap() || !kv.second["_type"]) nni_space = false;
  }
  if ((kind == "Experiment" && api.find("kubeflow") != std::string::npos) ||
      katib_spec) {
    format = "katib";
    // The trial's command, from the first container of the trial template.
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
    if (containers && containers.IsSequence() && containers.size() > 0) {
      run->command = ContainerCommand(containers[0]);
    }
  } else if (kind == "AutoTuneExperiment" || nni_space || root["searchSpace"] ||
             root["searchSpaceFile"] || root["trialCommand"] || root["tuner"] ||
             root["trialConcurrency"]) {
    format = "nni";
    run->nni = true;
    if (root["trialCommand"])
      run->command = root["trialCommand"].as<std::string>();
    if (kind == "AutoTuneExperiment") {
      // T9k runs the trial as the first container of its first task
      // (spec.trainingConfig.tasks[0].template.spec.containers[0]); the trial
      // gets its parameters as NNI's do, not through ${...} in the command.
      YAML::Node tasks = root["spec"]["trainingConfig"]["tasks"];
      YAML::Node containers;
      if (tasks && tasks.IsSequence() && tasks.size() > 0 &&
          tasks[0]["template"] && tasks[0]["template"]["spec"]) {
        containers = tasks[0]["template"]["spec"]["containers"];
      }
      if (containers && containers.IsSequence() && containers.size() > 0) {
        run->command = ContainerCommand(containers[0]);
        if (containers[0]["workingDir"]) {
          std::string d = containers[0]["workingDir"].as<std::string>();
          run->working_dir = d[0] == '/' ? d : dir + "/" + d;
        }
      }
    }
    if (root["trialCodeDirectory"]) {
      std::string d = root["trialCodeDirectory"].as<std::string>();
      run->working_dir = d[0] == '/' ? d : dir + "/" + d;
    }
    if (root["searchSpaceFile"]) {
      std::string f = root["searchSpaceFile"].as<std::string>();
      if (f[0] != '/') f = dir + "/" + f;
      try {
        root["searchSpace"] = YAML::LoadFile(f);
      } catch (const YAML::Exception& e) {
        *error = f + ": " + YamlError(e);
        return false;
      }
      root.remove("searchSpaceFile");
    }
  }
  if (!format.empty()) {
    req->mutable_import_spec()->set_format(format);
    req->mutable_import_spec()->set_content(YamlToJson(root));
    if (run->working_dir.empty()) run->working_dir = dir;
    return true;
  }
  // hpo's own spec: an hpo.v1.Experiment, with the run settings beside it.
  for (const char* key : {"command", "trialCommand"}) {
    if (root[key]) {
      run->command = root[key].as<std::string>();
      root.remove(key);
    }
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
  run->working_dir = dir;
  google::protobuf::util::JsonParseOptions options;
  auto status = google::protobuf::util::JsonStringToMessage(
      YamlToJson(root), req->mutable_experiment(), options);
  if (!status.ok()) {
    *error = path + ": " + JsonFieldError(status.ToString());
    return false;
  }
  return true;
}

// Reads a spec file into a CreateExperimentRequest, and what it says about
// running trials into `run`.
bool LoadSpec(const std::string& path, v1::CreateExperimentRequest* req,
              RunSettings* run, std::string* error) {
  std::string content;
  if (!ReadFile(path, &content)) {
    *error = "cannot read " + path;
    return false;
  }
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

// ---------------------------------------------------------------- output

std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = false;
  (void)google::protobuf::util::MessageToJsonString(m, &out, options);
  return out;
}

std::string ValueText(const google::protobuf::Value& v) {
  switch (v.kind_case()) {
    case google::protobuf::Value::kStringValue:
      return v.string_value();
    case google::protobuf::Value::kNumberValue: {
      std::ostringstream ss;
      ss << v.number_value();
      return ss.str();
    }
    case google::protobuf::Value::kBoolValue:
      return v.bool_value() ? "true" : "false";
    default:
      return "";
  }
}

std::string ParamsText(const v1::Trial& t) {
  std::map<std::string, std::string> sorted;
  for (const auto& [k, v] : t.parameters()) sorted[k] = ValueText(v);
  std::string out;
  for (const auto& [k, v] : sorted) {
    if (!out.empty()) out += " ";
    out += k + "=" + v;
  }
  return out;
}

std::string MetricsText(const v1::Trial& t) {
  std::map<std::string, double> sorted(t.metrics().begin(), t.metrics().end());
  std::string out;
  for (const auto& [k, v] : sorted) {
    std::ostringstream ss;
    ss << k << "=" << v;
    if (!out.empty()) out += " ";
    out += ss.str();
  }
  return out;
}

std::string DurationText(const v1::Trial& t) {
  if (!t.has_start_time() || !t.has_end_time()) return "";
  double s = (t.end_time().seconds() - t.start_time().seconds()) +
             (t.end_time().nanos() - t.start_time().nanos()) / 1e9;
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1fs", s);
  return buf;
}

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size())
        line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// ---------------------------------------------------------------- client

// Adds "authorization: Bearer TOKEN" to every call. Metadata rather than call
// credentials, which gRPC sends only over TLS: a server on the same machine may
// take tokens over plaintext.
class TokenInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit TokenInterceptor(std::string header) : header_(std::move(header)) {}
  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::
                PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace("authorization", header_);
    }
    methods->Proceed();
  }

 private:
  const std::string header_;
};

class TokenInterceptorFactory
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit TokenInterceptorFactory(const std::string& token)
      : header_("Bearer " + token) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* /*info*/) override {
    return new TokenInterceptor(header_);
  }

 private:
  const std::string header_;
};

// The connection's settings: --token, --tls_ca, --tls_cert, --tls_key (before
// or after the command), else $HPO_TOKEN, $HPO_TLS_CA, $HPO_TLS_CERT,
// $HPO_TLS_KEY. `from` says which, for error messages.
struct Security {
  struct Setting {
    std::string value;
    std::string from;  // the flag or the variable that set it
    std::string flag;  // the flag, "--tls_key"
    std::string env;   // the variable, "$HPO_TLS_KEY"
  };
  Setting token, ca, cert, key;

  static Setting Env(const char* flag, const char* var) {
    const char* v = std::getenv(var);
    const std::string env = std::string("$") + var;
    return {v ? v : "", env, flag, env};
  }
  static Security FromEnv() {
    return {Env("--token", "HPO_TOKEN"), Env("--tls_ca", "HPO_TLS_CA"),
            Env("--tls_cert", "HPO_TLS_CERT"), Env("--tls_key", "HPO_TLS_KEY")};
  }
  // Takes `name` (token, tls_ca, tls_cert, tls_key; tls-ca etc. too) if it is
  // one of these; false otherwise.
  bool Set(std::string name, const std::string& value) {
    std::replace(name.begin(), name.end(), '-', '_');
    Setting* s = name == "token"      ? &token
                 : name == "tls_ca"   ? &ca
                 : name == "tls_cert" ? &cert
                 : name == "tls_key"  ? &key
                                      : nullptr;
    if (s == nullptr) return false;
    s->value = value;
    s->from = s->flag;
    return true;
  }
};

// The PEM file a setting names, or an error naming the setting and the file.
bool ReadPem(const Security::Setting& s, std::string* out, std::string* error) {
  if (!ReadFile(s.value, out)) {
    *error =
        s.from + " " + s.value + ": cannot read it: " + std::strerror(errno);
    return false;
  }
  if (out->find("-----BEGIN ") == std::string::npos) {
    *error = s.from + " " + s.value + ": not a PEM file (no -----BEGIN line)";
    return false;
  }
  return true;
}

// The channel to address with the settings: TLS when a CA or a client
// certificate is given (without a CA the system's CAs check the server), the
// token on every call. Sets g_token and g_tls for error messages.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           const Security& sec,
                                           std::string* error) {
  std::string token = sec.token.value;
  // A token read from a file keeps its newline.
  token.erase(0, token.find_first_not_of(" \t\r\n"));
  token.erase(token.find_last_not_of(" \t\r\n") + 1);
  for (unsigned char c : token) {
    if (c <= ' ' || c > '~') {
      *error = "the token (" + sec.token.from +
               ") holds whitespace or characters outside printable ASCII";
      return nullptr;
    }
  }
  if (sec.cert.value.empty() != sec.key.value.empty()) {
    const auto& given = sec.cert.value.empty() ? sec.key : sec.cert;
    const auto& missing = sec.cert.value.empty() ? sec.cert : sec.key;
    *error = given.from + " is set but " +
             (missing.from == missing.flag
                  ? missing.flag + " is not"
                  : "neither " + missing.flag + " nor " + missing.env + " is") +
             ": a client certificate needs both the certificate and its "
             "private key";
    return nullptr;
  }
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (!sec.ca.value.empty() || !sec.cert.value.empty()) {
    grpc::SslCredentialsOptions ssl;
    if (!sec.ca.value.empty() && !ReadPem(sec.ca, &ssl.pem_root_certs, error)) {
      return nullptr;
    }
    if (!sec.cert.value.empty() &&
        (!ReadPem(sec.cert, &ssl.pem_cert_chain, error) ||
         !ReadPem(sec.key, &ssl.pem_private_key, error))) {
      return nullptr;
    }
    creds = grpc::SslCredentials(ssl);
    g_tls = true;
    g_client_cert = !sec.cert.value.empty();
  } else {
    creds = grpc::InsecureChannelCredentials();
  }
  g_token = token;
  std::vector<
      std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
      interceptors;
  if (!token.empty()) {
    interceptors.push_back(std::make_unique<TokenInterceptorFactory>(token));
  }
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      address, creds, grpc::ChannelArguments(), std::move(interceptors));
}

class Client {
 public:
  explicit Client(std::shared_ptr<grpc::Channel> channel)
      : stub_(v1::HpoService::NewStub(std::move(channel))) {}

  v1::HpoService::Stub* stub() { return stub_.get(); }

  grpc::Status GetExperiment(const std::string& name, v1::Experiment* out) {
    grpc::ClientContext ctx;
    v1::GetExperimentRequest req;
    req.set_name(name);
    return stub_->GetExperiment(&ctx, req, out);
  }

  grpc::Status ListTrials(const std::string& name,
                          std::vector<v1::Trial>* out) {
    std::string token;
    do {
      grpc::ClientContext ctx;
      v1::ListTrialsRequest req;
      req.set_experiment(name);
      req.set_page_size(1000);
      req.set_page_token(token);
      v1::ListTrialsResponse resp;
      grpc::Status s = stub_->ListTrials(&ctx, req, &resp);
      if (!s.ok()) return s;
      for (auto& t : *resp.mutable_trials()) out->push_back(std::move(t));
      token = resp.next_page_token();
    } while (!token.empty());
    return grpc::Status::OK;
  }

 private:
  std::unique_ptr<v1::HpoService::Stub> stub_;
};

bool Terminal(v1::Experiment::State s) {
  return s == v1::Experiment::COMPLETED || s == v1::Experiment::FAILED ||
         s == v1::Experiment::TIMED_OUT;
}

// ---------------------------------------------------------------- commands

int CmdCreate(Client& client, const Args& args) {
  std::string path = args.Get("f", args.Get("file"));
  if (path.empty()) return Fail("create: -f SPEC is required");
  v1::CreateExperimentRequest req;
  RunSettings run;
  std::string error;
  if (!LoadSpec(path, &req, &run, &error)) return Fail("create: " + error);
  if (args.Has("name")) {
    if (req.has_import_spec()) {
      req.mutable_import_spec()->set_name(args.Get("name"));
    } else {
      req.mutable_experiment()->set_name(args.Get("name"));
    }
  }
  grpc::ClientContext ctx;
  v1::Experiment out;
  grpc::Status s = client.stub()->CreateExperiment(&ctx, req, &out);
  if (!s.ok()) return FailSpec("create", path, s);
  std::cout << "experiment \"" << out.name() << "\" created\n";
  return 0;
}

int CmdSimple(Client& client, const std::string& cmd, const Args& args) {
  if (cmd == "list") {
    std::vector<std::vector<std::string>> rows = {
        {"NAME", "STATE", "ALGORITHM", "TRIALS", "CREATED (UTC)"}};
    std::string token;
    do {
      grpc::ClientContext ctx;
      v1::ListExperimentsRequest req;
      req.set_page_size(1000);
      req.set_page_token(token);
      v1::ListExperimentsResponse resp;
      grpc::Status s = client.stub()->ListExperiments(&ctx, req, &resp);
      if (!s.ok()) return FailRpc("list", s);
      for (const auto& e : resp.experiments()) {
        int trials = e.status().trials();
        // "auto (gp)": an algorithm that picks others shows its latest pick.
        std::string algorithm = e.algorithm().name();
        if (!e.status().algorithm().empty()) {
          algorithm += " (" + e.status().algorithm() + ")";
        }
        rows.push_back(
            {e.name(), v1::Experiment::State_Name(e.state()), algorithm,
             std::to_string(trials),
             absl::FormatTime("%Y-%m-%d %H:%M:%S",
                              absl::FromUnixSeconds(e.create_time().seconds()),
                              absl::UTCTimeZone())});
      }
      token = resp.next_page_token();
    } while (!token.empty());
    PrintTable(rows);
    return 0;
  }
  if (args.positional.empty()) return Fail(cmd + ": EXPERIMENT is required");
  const std::string name = args.positional[0];
  grpc::ClientContext ctx;
  if (cmd == "get") {
    v1::Experiment e;
    grpc::Status s = client.GetExperiment(name, &e);
    if (!s.ok()) return FailRpc(cmd, s);
    std::cout << ToJson(e);
    return 0;
  }
  if (cmd == "stop") {
    v1::StopExperimentRequest req;
    req.set_name(name);
    req.set_reason(args.Get("reason", "stopped by hpoctl"));
    v1::Experiment e;
    grpc::Status s = client.stub()->StopExperiment(&ctx, req, &e);
    if (!s.ok()) return FailRpc(cmd, s);
    std::cout << name << ": " << v1::Experiment::State_Name(e.state()) << "\n";
    return 0;
  }
  if (cmd == "resume") {
    v1::ResumeExperimentRequest req;
    req.set_name(name);
    v1::Experiment e;
    grpc::Status s = client.stub()->ResumeExperiment(&ctx, req, &e);
    if (!s.ok()) return FailRpc(cmd, s);
    std::cout << name << ": " << v1::Experiment::State_Name(e.state()) << "\n";
    return 0;
  }
  if (cmd == "delete") {
    v1::DeleteExperimentRequest req;
    req.set_name(name);
    google::protobuf::Empty empty;
    grpc::Status s = client.stub()->DeleteExperiment(&ctx, req, &empty);
    if (!s.ok()) return FailRpc(cmd, s);
    std::cout << "experiment \"" << name << "\" deleted\n";
    return 0;
  }
  if (cmd == "best") {
    v1::GetBestRequest req;
    req.set_experiment(name);
    v1::GetBestResponse resp;
    grpc::Status s = client.stub()->GetBest(&ctx, req, &resp);
    if (!s.ok()) return FailRpc(cmd, s);
    std::cout << ToJson(resp);
    return 0;
  }
  std::vector<v1::Trial> trials;
  grpc::Status s = client.ListTrials(name, &trials);
  if (!s.ok()) return FailRpc(cmd, s);
  if (cmd == "trials") {
    std::vector<std::vector<std::string>> rows = {
        {"NUMBER", "STATE", "PARAMETERS", "METRICS", "DURATION"}};
    for (const auto& t : trials) {
      rows.push_back({std::to_string(t.number()),
                      v1::Trial::State_Name(t.state()), ParamsText(t),
                      MetricsText(t), DurationText(t)});
    }
    PrintTable(rows);
    return 0;
  }
  // export
  std::string format = args.Get("format", "csv");
  if (format == "json") {
    v1::ListTrialsResponse all;
    for (const auto& t : trials) *all.add_trials() = t;
    std::cout << ToJson(all);
    return 0;
  }
  if (format != "csv") return Fail("export: --format must be csv or json");
  std::vector<std::string> params, metrics;
  for (const auto& t : trials) {
    for (const auto& [k, v] : t.parameters()) {
      if (std::find(params.begin(), params.end(), k) == params.end()) {
        params.push_back(k);
      }
    }
    for (const auto& [k, v] : t.metrics()) {
      if (std::find(metrics.begin(), metrics.end(), k) == metrics.end()) {
        metrics.push_back(k);
      }
    }
  }
  std::sort(params.begin(), params.end());
  std::sort(metrics.begin(), metrics.end());
  std::cout << "number,state";
  for (const auto& p : params) std::cout << "," << CsvField("param." + p);
  for (const auto& m : metrics) std::cout << "," << CsvField("metric." + m);
  std::cout << ",duration_seconds,failure_reason\n";
  for (const auto& t : trials) {
    std::cout << t.number() << "," << v1::Trial::State_Name(t.state());
    for (const auto& p : params) {
      auto it = t.parameters().find(p);
      std::cout << ","
                << (it == t.parameters().end()
                        ? ""
                        : CsvField(ValueText(it->second)));
    }
    for (const auto& m : metrics) {
      auto it = t.metrics().find(m);
      std::cout << ",";
      if (it != t.metrics().end()) std::cout << it->second;
    }
    std::string d = DurationText(t);
    if (!d.empty()) d.pop_back();
    std::cout << "," << d << "," << CsvField(t.failure_reason()) << "\n";
  }
  return 0;
}

// ---------------------------------------------------------------- runner

struct Options {
  std::string experiment;
  std::string objective;
  RunSettings run;
  int parallel = 1;
  double grace_seconds = 5;
  std::string log_dir;
  std::string worker_id;
  // How often a running trial's lease is renewed: well within the lease.
  double heartbeat_seconds = 30;
};

struct RunningTrial {
  v1::Trial trial;
  pid_t pid = -1;
  int fd = -1;
  int log_fd = -1;
  std::string buffer;                  // a partial line of output
  std::string tail;                    // the last lines of output
  std::map<std::string, double> last;  // the last value of each metric
  int steps = 0;
  Clock::time_point start;
  Clock::time_point last_heartbeat;
  Clock::time_point kill_time;  // when SIGTERM was sent
  bool killing = false;
  bool reaped = false;   // the command's shell has exited
  bool hung_up = false;  // every writer closed the output pipe
  int wait_status = 0;
  // "pruned", "timeout", "stopped" (reported FAILED), or "release": killed
  // and handed back to the server (ReleaseTrial), so that the trial runs again
  // with the same parameters and no failure counted.
  std::string end_state;
  std::string reason;
  std::string params_file;
  std::string metrics_file;  // empty: metrics come from the output
  std::size_t metrics_file_offset = 0;
  // The last non-empty line of the metrics source (output or metrics file).
  std::string last_line;
};

std::string ParamEnvName(const std::string& name) {
  std::string out;
  for (char c : name) {
    out += std::isalnum(static_cast<unsigned char>(c))
               ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
               : '_';
  }
  return out;
}

std::string Substitute(const std::string& command, const v1::Trial& trial,
                       const std::map<std::string, std::string>& aliases) {
  std::string out = command;
  // Longest names first, so ${lr} does not eat into ${lr_decay}.
  std::vector<std::pair<std::string, std::string>> params;
  for (const auto& [k, v] : trial.parameters()) {
    params.push_back({k, ValueText(v)});
  }
  for (const auto& [alias, ref] : aliases) {
    auto it = trial.parameters().find(ref);
    if (it != trial.parameters().end()) {
      params.push_back({alias, ValueText(it->second)});
    }
  }
  std::sort(params.begin(), params.end(), [](const auto& a, const auto& b) {
    return a.first.size() > b.first.size();
  });
  for (const auto& [k, v] : params) {
    for (const std::string& pattern :
         {"${trialParameters." + k + "}", "${" + k + "}"}) {
      std::size_t pos = 0;
      while ((pos = out.find(pattern, pos)) != std::string::npos) {
        out.replace(pos, pattern.size(), v);
        pos += v.size();
      }
    }
  }
  return out;
}

class Runner {
 public:
  Runner(Client& client, Options options)
      : client_(client),
        options_(std::move(options)),
        pattern_(options_.run.metrics_pattern.empty()
                     ? std::string(kKatibPattern)
                     : options_.run.metrics_pattern),
        tty_(isatty(STDERR_FILENO) != 0) {}

  int Run();

 private:
  void Log(const std::string& line);
  void Status();
  // Asks for a trial; false when no more will come.
  enum class Ask { kStarted, kWait, kDone, kError };
  Ask Next();
  // Nothing to start now: what the server said, logged once while it stays
  // the same, so a waiting worker says why it waits without flooding.
  Ask Wait(const std::string& why);
  bool Spawn(const v1::Trial& trial);
  // Reads what the command wrote; at `eof`, a last unterminated line too.
  void Pump(RunningTrial& r, bool eof);
  void HandleLine(RunningTrial& r, const std::string& line, bool from_file);
  void Kill(RunningTrial& r, const std::string& state,
            const std::string& reason);
  void Finish(RunningTrial& r, int wait_status);
  // Hands a killed trial back to the server (ReleaseTrial): WAITING at once,
  // to run again with the same parameters, here or at any worker.
  void Release(RunningTrial& r);
  // NNI's final result: the last line, a bare number or a JSON object.
  void NniFinalResult(RunningTrial& r);
  // At `eof`, a last line without its newline too.
  void ReadMetricsFile(RunningTrial& r, bool eof = false);

  Client& client_;
  Options options_;
  std::regex pattern_;
  bool tty_;
  std::vector<std::unique_ptr<RunningTrial>> running_;
  int completed_ = 0, failed_ = 0, pruned_ = 0, released_ = 0;
  std::string error_;
  std::string waiting_for_;
};

void Runner::Log(const std::string& line) {
  if (tty_) std::cerr << "\r\033[K";
  std::cerr << "[hpoctl] " << line << "\n";
  if (tty_) Status();
}

void Runner::Status() {
  if (!tty_) return;
  std::cerr << "\r\033[K" << options_.experiment << ": " << running_.size()
            << " running, " << completed_ << " completed, " << pruned_
            << " pruned, " << failed_ << " failed" << std::flush;
}

Runner::Ask Runner::Wait(const std::string& why) {
  if (why != waiting_for_) {
    waiting_for_ = why;
    Log("waiting: " + why);
  }
  return Ask::kWait;
}

Runner::Ask Runner::Next() {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::GetTrialConfigRequest req;
  req.set_experiment(options_.experiment);
  // One worker id per slot, so a retried request gets its own trial back and
  // never another slot's.
  int slot = 0;
  auto taken = [&](int n) {
    const std::string id = options_.worker_id + "-" + std::to_string(n);
    for (const auto& r : running_) {
      if (r->trial.worker_id() == id) return true;
    }
    return false;
  };
  while (taken(slot)) ++slot;
  req.set_worker_id(options_.worker_id + "-" + std::to_string(slot));
  v1::Trial trial;
  grpc::Status s = client_.stub()->GetTrialConfig(&ctx, req, &trial);
  if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
      s.error_code() == grpc::StatusCode::UNAVAILABLE ||
      s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return Wait(OneLine(s.error_message()));
  }
  if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
    // The server says so both when the experiment is over and when it has
    // nothing to hand out right now: all max_trials allocated or the space
    // exhausted, while trials still run (here or at other workers). Those may
    // yet fail their lease and come back WAITING, so only the experiment's
    // state tells whether to stop.
    v1::Experiment e;
    grpc::Status g = client_.GetExperiment(options_.experiment, &e);
    if (!g.ok()) return Wait(OneLine(g.error_message()));
    if (Terminal(e.state()) || e.state() == v1::Experiment::STOPPED) {
      return Ask::kDone;
    }
    if (e.status().running() == 0 && e.status().waiting() == 0) {
      // Nothing runs anywhere that could change the answer (e.g. the
      // algorithm cannot run): waiting would be forever.
      error_ = "GetTrialConfig: " + OneLine(s.error_message());
      return Ask::kError;
    }
    return Wait(OneLine(s.error_message()));
  }
  if (!s.ok()) {
    error_ = "GetTrialConfig: " + OneLine(s.error_message());
    return Ask::kError;
  }
  for (const auto& r : running_) {
    if (r->trial.number() == trial.number()) return Ask::kWait;
  }
  return Spawn(trial) ? Ask::kStarted : Ask::kError;
}

bool Runner::Spawn(const v1::Trial& trial) {
  auto r = std::make_unique<RunningTrial>();
  r->trial = trial;
  std::string command =
      Substitute(options_.run.command, trial, options_.run.aliases);
  std::string base =
      options_.log_dir + "/trial-" + std::to_string(trial.number());
  std::string log_path = base + ".log";
  r->params_file = base + ".params.json";
  {
    google::protobuf::Struct params;
    for (const auto& [k, v] : trial.parameters())
      (*params.mutable_fields())[k] = v;
    std::string json;
    (void)google::protobuf::util::MessageToJsonString(params, &json);
    std::ofstream out(r->params_file);
    out << json << "\n";
  }
  std::string metrics_file;
  if (!options_.run.metrics_file.empty()) {
    // One file per trial: LOGDIR/trial-N.NAME.
    std::string name = options_.run.metrics_file;
    name = name.substr(name.rfind('/') + 1);
    metrics_file = base + "." + name;
    ::unlink(metrics_file.c_str());
    r->metrics_file = metrics_file;
  }
  r->log_fd =
      ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    error_ = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    error_ = std::string("fork: ") + std::strerror(errno);
    return false;
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::dup2(pipe_fds[1], STDERR_FILENO);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    if (!options_.run.working_dir.empty()) {
      if (::chdir(options_.run.working_dir.c_str()) != 0) _exit(127);
    }
    for (const auto& [k, v] : trial.parameters()) {
      std::string text = ValueText(v);
      ::setenv(("HPO_PARAM_" + ParamEnvName(k)).c_str(), text.c_str(), 1);
      bool valid =
          !k.empty() && !std::isdigit(static_cast<unsigned char>(k[0]));
      for (char c : k) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
          valid = false;
      }
      if (valid) ::setenv(k.c_str(), text.c_str(), 1);
    }
    ::setenv("HPO_EXPERIMENT", options_.experiment.c_str(), 1);
    ::setenv("HPO_TRIAL_NUMBER", std::to_string(trial.number()).c_str(), 1);
    ::setenv("HPO_TRIAL_PARAMETERS_FILE", r->params_file.c_str(), 1);
    if (!metrics_file.empty())
      ::setenv("HPO_METRICS_FILE", metrics_file.c_str(), 1);
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  ::setpgid(pid, pid);
  ::close(pipe_fds[1]);
  ::fcntl(pipe_fds[0], F_SETFL, ::fcntl(pipe_fds[0], F_GETFL) | O_NONBLOCK);
  r->pid = pid;
  r->fd = pipe_fds[0];
  r->start = r->last_heartbeat = Clock::now();
  Log("trial " + std::to_string(trial.number()) +
      " started: " + ParamsText(trial));
  running_.push_back(std::move(r));
  Status();
  return true;
}

void Runner::HandleLine(RunningTrial& r, const std::string& line,
                        bool from_file) {
  if (!from_file) {
    r.tail += line + "\n";
    if (r.tail.size() > 2000) r.tail = r.tail.substr(r.tail.size() - 2000);
    // With a metrics file, stdout is only kept.
    if (!options_.run.metrics_file.empty()) return;
  }
  {
    const auto first = line.find_first_not_of(" \t\r");
    if (first != std::string::npos) {
      r.last_line =
          line.substr(first, line.find_last_not_of(" \t\r") + 1 - first);
    }
  }
  std::map<std::string, double> found;
  int explicit_step = -1;
  for (auto it = std::sregex_iterator(line.begin(), line.end(), pattern_);
       it != std::sregex_iterator(); ++it) {
    const auto& m = *it;
    if (m.size() < 3 || m[2].str().empty()) continue;
    std::string name = m[1].str();
    char* end = nullptr;
    std::string text = m[2].str();
    double v = std::strtod(text.c_str(), &end);
    if (end == text.c_str()) continue;
    if (name == "step" || name == "epoch") {
      explicit_step = static_cast<int>(v);
      continue;
    }
    found[name] = v;
  }
  if (found.empty()) return;
  for (const auto& [k, v] : found) r.last[k] = v;
  if (!found.count(options_.objective) || r.killing) return;
  int step = explicit_step >= 0 ? explicit_step : r.steps;
  ++r.steps;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::ReportIntermediateRequest req;
  req.set_experiment(options_.experiment);
  req.set_trial(r.trial.number());
  req.set_step(step);
  req.set_worker_id(r.trial.worker_id());
  for (const auto& [k, v] : found) (*req.mutable_metrics())[k] = v;
  v1::ReportIntermediateResponse resp;
  grpc::Status s = client_.stub()->ReportIntermediate(&ctx, req, &resp);
  r.last_heartbeat = Clock::now();
  if (s.ok() && resp.should_stop()) {
    Kill(r, "pruned", resp.reason().empty() ? "pruned" : resp.reason());
  }
}

void Runner::Pump(RunningTrial& r, bool eof) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(r.fd, buf, sizeof(buf));
    if (n <= 0) break;
    if (r.log_fd >= 0)
      (void)!::write(r.log_fd, buf, static_cast<std::size_t>(n));
    r.buffer.append(buf, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = r.buffer.find('\n')) != std::string::npos) {
      std::string line = r.buffer.substr(0, nl);
      r.buffer.erase(0, nl + 1);
      HandleLine(r, line, false);
    }
  }
  if (eof && !r.buffer.empty()) {
    HandleLine(r, r.buffer, false);
    r.buffer.clear();
  }
}

void Runner::ReadMetricsFile(RunningTrial& r, bool eof) {
  if (r.metrics_file.empty()) return;
  std::string content;
  if (!ReadFile(r.metrics_file, &content)) return;
  if (content.size() <= r.metrics_file_offset) return;
  // While the trial runs, only whole lines: the last may be half written.
  std::size_t end = eof ? content.size() : content.rfind('\n');
  if (end == std::string::npos || end < r.metrics_file_offset) return;
  std::string fresh =
      content.substr(r.metrics_file_offset, end - r.metrics_file_offset);
  r.metrics_file_offset = eof ? end : end + 1;
  std::istringstream in(fresh);
  std::string line;
  while (std::getline(in, line)) HandleLine(r, line, true);
}

void Runner::Kill(RunningTrial& r, const std::string& state,
                  const std::string& reason) {
  if (r.killing) return;
  // A trial that has just ended on its own keeps its own outcome: releasing
  // a finished trial would run it twice.
  if (state == "release" && !r.reaped &&
      ::waitpid(r.pid, &r.wait_status, WNOHANG) == r.pid) {
    r.reaped = true;
  }
  if (state == "release" && r.reaped) return;
  r.killing = true;
  r.end_state = state;
  r.reason = reason;
  r.kill_time = Clock::now();
  ::kill(-r.pid, SIGTERM);
  Log("trial " + std::to_string(r.trial.number()) + ": " + state + " (" +
      reason + "), sent SIGTERM");
}

void Runner::NniFinalResult(RunningTrial& r) {
  const std::string& line = r.last_line;
  if (LooksNumeric(line)) {
    r.last[options_.objective] = std::strtod(line.c_str(), nullptr);
    return;
  }
  if (line.empty() || line[0] != '{') return;
  google::protobuf::Struct metrics;
  if (!google::protobuf::util::JsonStringToMessage(line, &metrics).ok()) return;
  for (const auto& [k, v] : metrics.fields()) {
    if (v.kind_case() == google::protobuf::Value::kNumberValue) {
      r.last[k] = v.number_value();
    }
  }
}

void Runner::Finish(RunningTrial& r, int wait_status) {
  ReadMetricsFile(r, /*eof=*/true);
  if (r.end_state == "release") {
    // Not the trial's failure (that would count towards max_failed_trials):
    // handed back to run again.
    Release(r);
    if (r.fd >= 0) ::close(r.fd);
    if (r.log_fd >= 0) ::close(r.log_fd);
    return;
  }
  if (options_.run.nni && r.end_state.empty()) NniFinalResult(r);
  v1::ReportResultRequest req;
  req.set_experiment(options_.experiment);
  req.set_trial(r.trial.number());
  req.set_worker_id(r.trial.worker_id());
  std::string outcome;
  if (r.end_state == "pruned") {
    req.set_pruned(true);
    for (const auto& [k, v] : r.last) (*req.mutable_metrics())[k] = v;
    outcome = "PRUNED";
    ++pruned_;
  } else if (!r.end_state.empty()) {
    req.set_failed(true);
    req.set_failure_reason(r.reason);
    outcome = "FAILED (" + r.reason + ")";
    ++failed_;
  } else {
    bool exited_ok = WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
    if (!exited_ok || !r.last.count(options_.objective)) {
      std::string why =
          !exited_ok
              ? (WIFEXITED(wait_status)
                     ? "exit status " + std::to_string(WEXITSTATUS(wait_status))
                     : "killed by signal " +
                           std::to_string(WTERMSIG(wait_status)))
              : "no value for objective metric " + options_.objective;
      std::string tail = r.tail;
      if (tail.size() > 500) tail = tail.substr(tail.size() - 500);
      req.set_failed(true);
      req.set_failure_reason(why +
                             (tail.empty() ? "" : "; output tail:\n" + tail));
      outcome = "FAILED (" + why + ")";
      ++failed_;
    } else {
      for (const auto& [k, v] : r.last) (*req.mutable_metrics())[k] = v;
      outcome = "COMPLETED " + MetricsText([&] {
                  v1::Trial t;
                  for (const auto& [k, v] : r.last)
                    (*t.mutable_metrics())[k] = v;
                  return t;
                }());
      ++completed_;
    }
  }
  // A server that restarts (a sidecar the kubelet brings back) is waited for
  // up to 30 s; the outcome line says whether the server took the result.
  grpc::Status reported;
  for (int attempt = 0; attempt < 30; ++attempt) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(30));
    v1::Trial out;
    reported = client_.stub()->ReportResult(&ctx, req, &out);
    if (reported.error_code() != grpc::StatusCode::UNAVAILABLE) break;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  Log("trial " + std::to_string(r.trial.number()) + ": " + outcome +
      (reported.ok() ? ""
                     : "; not reported: " + OneLine(reported.error_message())));
  if (r.fd >= 0) ::close(r.fd);
  if (r.log_fd >= 0) ::close(r.log_fd);
}

void Runner::Release(RunningTrial& r) {
  const std::string what = "trial " + std::to_string(r.trial.number());
  grpc::ClientContext ctx;
  // Short: hpoctl is on its way out.
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::ReleaseTrialRequest req;
  req.set_experiment(options_.experiment);
  req.set_trial(r.trial.number());
  req.set_worker_id(r.trial.worker_id());
  req.set_reason(r.reason);
  v1::Trial out;
  grpc::Status s = client_.stub()->ReleaseTrial(&ctx, req, &out);
  if (s.ok()) {
    ++released_;
    Log(what + ": " + r.reason +
        "; released, WAITING to run again with the same parameters");
  } else if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
    // It ended meanwhile, or its lease went to another worker.
    Log(what + ": " + r.reason +
        "; not released: " + OneLine(s.error_message()));
  } else {
    Log(what + ": " + r.reason + "; could not release it (" +
        OneLine(s.error_message()) +
        "); the server hands it out again when its lease expires");
  }
}

int Runner::Run() {
  ::mkdir(options_.log_dir.c_str(), 0755);
  Log("experiment " + options_.experiment + ", logs in " + options_.log_dir);
  bool done = false;
  bool interrupted = false;
  // Between asks that got nothing: from 200 ms, doubling up to 2 s.
  constexpr auto kFirstWait = std::chrono::milliseconds(200);
  constexpr auto kMaxWait = std::chrono::milliseconds(2000);
  auto wait = kFirstWait;
  Clock::time_point next_ask = Clock::now();
  Clock::time_point next_check = Clock::now() + std::chrono::seconds(1);
  while (true) {
    if (g_signal.load() != 0 && !interrupted) {
      interrupted = true;
      done = true;
      Log("interrupted: stopping the running trials");
      for (auto& r : running_) Kill(*r, "release", "interrupted");
    }
    if (!interrupted && Clock::now() >= next_check) {
      next_check = Clock::now() + std::chrono::seconds(1);
      v1::Experiment e;
      if (client_.GetExperiment(options_.experiment, &e).ok() &&
          (Terminal(e.state()) || e.state() == v1::Experiment::STOPPED)) {
        done = true;
        for (auto& r : running_) {
          if (e.state() == v1::Experiment::STOPPED) {
            // Resumable: its trials run again on resume, not as failures.
            Kill(*r, "release", "experiment stopped");
          } else {
            Kill(*r, "stopped",
                 "experiment " + v1::Experiment::State_Name(e.state()));
          }
        }
      }
    }
    while (!done && static_cast<int>(running_.size()) < options_.parallel &&
           Clock::now() >= next_ask) {
      Ask a = Next();
      if (a == Ask::kStarted) {
        wait = kFirstWait;
      } else if (a == Ask::kWait) {
        next_ask = Clock::now() + wait;
        wait = std::min(wait * 2, kMaxWait);
      } else if (a == Ask::kDone) {
        done = true;
      } else if (a == Ask::kError) {
        Log(error_);
        done = true;
        for (auto& r : running_) Kill(*r, "release", error_);
      }
    }
    if (done && running_.empty()) break;
    std::vector<pollfd> fds;
    for (auto& r : running_) {
      fds.push_back({r->hung_up ? -1 : r->fd, POLLIN, 0});
    }
    ::poll(fds.data(), fds.size(), 100);
    auto now = Clock::now();
    for (std::size_t i = 0; i < running_.size();) {
      RunningTrial& r = *running_[i];
      if (fds.size() > i && (fds[i].revents & POLLIN)) Pump(r, false);
      if (fds.size() > i && (fds[i].revents & (POLLHUP | POLLERR)) &&
          !(fds[i].revents & POLLIN)) {
        r.hung_up = true;
      }
      ReadMetricsFile(r);
      if (!r.killing && options_.run.trial_timeout > 0 &&
          now - r.start >
              std::chrono::duration<double>(options_.run.trial_timeout)) {
        Kill(r, "timeout",
             "trial timed out after " +
                 std::to_string(options_.run.trial_timeout) + "s");
      }
      if (r.killing && now - r.kill_time > std::chrono::duration<double>(
                                               options_.grace_seconds)) {
        ::kill(-r.pid, SIGKILL);
      }
      if (!r.killing &&
          now - r.last_heartbeat >
              std::chrono::duration<double>(options_.heartbeat_seconds)) {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
        v1::HeartbeatRequest req;
        req.set_experiment(options_.experiment);
        req.set_trial(r.trial.number());
        req.set_worker_id(r.trial.worker_id());
        v1::Trial out;
        (void)client_.stub()->Heartbeat(&ctx, req, &out);
        r.last_heartbeat = now;
      }
      if (!r.reaped && ::waitpid(r.pid, &r.wait_status, WNOHANG) == r.pid) {
        r.reaped = true;
      }
      // A killed trial ends when its whole process group is gone (or was
      // killed after the grace period), not just its shell.
      bool group_alive = r.killing && ::kill(-r.pid, 0) == 0;
      if (r.reaped && !group_alive) {
        Pump(r, true);
        ::kill(-r.pid, SIGKILL);  // anything the command left behind
        Finish(r, r.wait_status);
        running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(i));
        next_ask = Clock::now();
        wait = kFirstWait;
        Status();
        continue;
      }
      ++i;
    }
  }
  if (tty_) std::cerr << "\r\033[K";
  v1::Experiment e;
  std::string state = "?";
  if (client_.GetExperiment(options_.experiment, &e).ok()) {
    state = v1::Experiment::State_Name(e.state());
  }
  std::cerr << "[hpoctl] " << options_.experiment << ": " << state
            << "; this run: " << completed_ << " completed, " << pruned_
            << " pruned, " << failed_ << " failed, " << released_
            << " released\n";
  if (interrupted) return 130;
  return error_.empty() ? 0 : 1;
}

std::string DefaultWorkerId() {
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  return std::string(host) + "-" + std::to_string(::getpid());
}

// ---------------------------------------------------------------- run flags

bool ParseDouble(const std::string& text, double* out) {
  return absl::SimpleAtod(text, out) && std::isfinite(*out);
}

bool ParseInt(const std::string& text, int64_t* out) {
  return absl::SimpleAtoi(text, out);
}

constexpr char kParamSyntax[] =
    "expected NAME=double:MIN:MAX[:log], NAME=int:MIN:MAX[:log], "
    "NAME=categorical:A,B,... or NAME=discrete:V1,V2,...";

// `--param NAME=TYPE:...` to a Parameter. The server checks the rest (names,
// min < max, log with min > 0) and says so naming the field.
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
      for (int i = 0; i < 2; ++i) {
        if (!ParseInt(parts[i], i == 0 ? &lo : &hi)) {
          *error = where + (i == 0 ? "MIN" : "MAX") + " \"" + parts[i] +
                   "\" is not a whole number";
          return false;
        }
      }
      p->mutable_int_range()->set_min(lo);
      p->mutable_int_range()->set_max(hi);
      p->mutable_int_range()->set_log(log);
    } else {
      double lo, hi;
      for (int i = 0; i < 2; ++i) {
        if (!ParseDouble(parts[i], i == 0 ? &lo : &hi)) {
          *error = where + (i == 0 ? "MIN" : "MAX") + " \"" + parts[i] +
                   "\" is not a number";
          return false;
        }
      }
      p->mutable_double_range()->set_min(lo);
      p->mutable_double_range()->set_max(hi);
      p->mutable_double_range()->set_log(log);
    }
    return true;
  }
  if (type == "categorical" || type == "discrete") {
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
  *error = where + "unknown type \"" + type +
           "\" (known: double, int, categorical, discrete)";
  return false;
}

// A parameter in --param's syntax, to compare a flag with a stored
// parameter and to show the difference. What the syntax cannot say (a step,
// a normal prior, a condition) is shown too, so that it never compares equal.
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

// Flags that describe the experiment itself, as opposed to how to run it.
constexpr const char* kExperimentFlags[] = {
    "param",     "objective",         "max-trials",
    "algorithm", "max-failed-trials", "max-duration"};

bool DescribesExperiment(const Args& args) {
  for (const char* f : kExperimentFlags) {
    if (args.Has(f)) return true;
  }
  return false;
}

// A whole number flag >= `min`; false with an error naming the flag.
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

// The experiment the flags describe: `--param` (repeated), `--objective
// NAME:minimize|maximize` (repeated; the first is the one single-objective
// algorithms optimize), `--max-trials`, `--parallel`, `--max-failed-trials`,
// `--max-duration SECONDS`, `--algorithm`.
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
  int n = 0;
  if (!CountFlag(args, "max-trials", 1, &n, error)) return false;
  e->set_max_trials(n);
  n = 0;
  if (!CountFlag(args, "parallel", 1, &n, error)) return false;
  e->set_parallel_trials(n);
  n = 0;
  if (!CountFlag(args, "max-failed-trials", 0, &n, error)) return false;
  e->set_max_failed_trials(n);
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
  if (args.Has("algorithm"))
    e->mutable_algorithm()->set_name(args.Get("algorithm"));
  return true;
}

// An existing experiment against the flags that describe one. The search
// space and objectives must match: running trials of a different space than
// the user wrote would be silently wrong. Limits and the algorithm cannot be
// changed on an existing experiment; differences are warned about and
// ignored, so that extending a command line does not block a resume.
bool CheckExisting(const Args& args, const v1::Experiment& flags,
                   const v1::Experiment& existing, std::string* error) {
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
    for (const auto& o : existing.objectives())
      have += (have.empty() ? "" : " ") + ObjectiveText(o);
    for (const auto& o : flags.objectives())
      want += (want.empty() ? "" : " ") + ObjectiveText(o);
    if (have != want) {
      *error = "--objective " + want + ": " + exp + " with objective " + have;
      return false;
    }
  }
  auto warn = [&](const std::string& flag, const std::string& setting,
                  const std::string& have, const std::string& want) {
    if (args.Has(flag) && have != want) {
      std::cerr << "[hpoctl] warning: " << exp << " with " << setting << " "
                << have << "; --" << flag << " " << want
                << " is ignored (an existing experiment's limits and "
                   "algorithm cannot change)\n";
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

// The server's error about the experiment built from the flags names a field
// (experiment.parameters[1].double_range.min: ...); the user wrote a flag, so
// name that instead.
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
    std::string rest = message.substr(close + 1);
    if (!rest.empty() && rest[0] == '.') rest = rest.substr(1);
    if (rest.rfind(": ", 0) == 0) rest = rest.substr(2);
    return "--" + flag + " \"" + values[index] + "\": " + rest;
  }
  for (const auto& [field, flag] :
       std::vector<std::pair<std::string, std::string>>{
           {"experiment.algorithm", "algorithm"},
           {"experiment.max_trials", "max-trials"},
           {"experiment.parallel_trials", "parallel"},
           {"experiment.max_failed_trials", "max-failed-trials"},
           {"experiment.max_duration", "max-duration"}}) {
    if (message.rfind(field, 0) != 0 || !args.Has(flag)) continue;
    std::string rest = message.substr(field.size());
    if (!rest.empty() && rest[0] == '.') rest = rest.substr(1);
    if (rest.rfind(": ", 0) == 0) rest = rest.substr(2);
    return "--" + flag + " \"" + args.Get(flag) + "\": " + rest;
  }
  return "the experiment the flags describe: " + message;
}

// `${trialParameters.NAME}` names in a command that the experiment does not
// have: such a command would run every trial with the text left in.
std::vector<std::string> UnknownTemplateNames(
    const std::string& command, const v1::Experiment& e,
    const std::map<std::string, std::string>& aliases) {
  std::set<std::string> known;
  for (const auto& p : e.parameters()) known.insert(p.name());
  for (const auto& [alias, ref] : aliases) known.insert(alias);
  std::vector<std::string> unknown;
  const std::string open = "${trialParameters.";
  for (std::size_t pos = command.find(open); pos != std::string::npos;
       pos = command.find(open, pos + 1)) {
    const std::size_t start = pos + open.size();
    const std::size_t close = command.find('}', start);
    if (close == std::string::npos) break;
    const std::string name = command.substr(start, close - start);
    if (!known.count(name) &&
        std::find(unknown.begin(), unknown.end(), name) == unknown.end()) {
      unknown.push_back(name);
    }
  }
  return unknown;
}

int CmdRun(Client& client, const std::string& cmd, const Args& args) {
  Options options;
  v1::CreateExperimentRequest req;
  std::string spec = args.Get("f", args.Get("file"));
  const bool describes = DescribesExperiment(args);
  if (describes && (!spec.empty() || cmd == "worker")) {
    std::string flag;
    for (const char* f : kExperimentFlags) {
      if (args.Has(f)) {
        flag = f;
        break;
      }
    }
    return Fail(cmd + ": --" + flag +
                (cmd == "worker"
                     ? ": a worker joins an existing experiment; create it "
                       "with `hpoctl run` or `hpoctl create`"
                     : " describes an experiment without a spec file; it "
                       "cannot be combined with -f " +
                           spec));
  }
  if (!spec.empty()) {
    std::string error;
    if (!LoadSpec(spec, &req, &options.run, &error)) {
      return Fail(cmd + ": " + error);
    }
  }
  if (args.Has("command")) options.run.command = args.Get("command");
  if (args.Has("metrics-file"))
    options.run.metrics_file = args.Get("metrics-file");
  if (args.Has("metrics-pattern")) {
    options.run.metrics_pattern = args.Get("metrics-pattern");
  }
  // From the flag or the spec: checked here, since the runner would throw.
  if (!options.run.metrics_pattern.empty()) {
    try {
      std::regex check(options.run.metrics_pattern);
      if (check.mark_count() < 2) {
        return Fail(cmd + ": metrics pattern \"" + options.run.metrics_pattern +
                    "\": needs two groups, the name and the value");
      }
    } catch (const std::regex_error& e) {
      return Fail(cmd + ": metrics pattern \"" + options.run.metrics_pattern +
                  "\": not a valid regular expression (" + e.what() + ")");
    }
  }
  for (const char* flag : {"trial-timeout", "grace-period"}) {
    double v;
    if (args.Has(flag) && (!ParseDouble(args.Get(flag), &v) || v < 0)) {
      return Fail(cmd + ": --" + flag + " \"" + args.Get(flag) +
                  "\": expected a number of seconds >= 0");
    }
  }
  if (args.Has("trial-timeout")) {
    options.run.trial_timeout = std::atof(args.Get("trial-timeout").c_str());
  }
  if (args.Has("grace-period")) {
    options.grace_seconds = std::atof(args.Get("grace-period").c_str());
  }
  if (options.run.command.empty()) return Fail(cmd + ": --command is required");
  if (args.Has("workdir")) options.run.working_dir = args.Get("workdir");
  std::string name = args.Get("name");
  if (cmd == "worker") {
    if (args.positional.empty() && spec.empty()) {
      return Fail("worker: EXPERIMENT or -f SPEC is required");
    }
    if (!args.positional.empty()) name = args.positional[0];
  }
  if (!name.empty()) {
    if (req.has_import_spec()) req.mutable_import_spec()->set_name(name);
    req.mutable_experiment()->set_name(name);
  }
  // Everything the flags say is checked before the server is asked, so that a
  // typo never creates an experiment.
  v1::Experiment from_flags;
  if (describes) {
    if (name.empty()) return Fail(cmd + ": --name is required with --param");
    std::string error;
    if (!ExperimentFromFlags(args, name, &from_flags, &error)) {
      return Fail(cmd + ": " + error);
    }
  }
  v1::Experiment experiment;
  // With a spec, run and worker create the experiment or join it: so each of
  // many identical workers (a Kubernetes Job's pods) can be given the spec.
  if (!spec.empty()) {
    grpc::ClientContext ctx;
    grpc::Status s = client.stub()->CreateExperiment(&ctx, req, &experiment);
    if (s.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
      std::string existing = name;
      if (existing.empty()) existing = req.experiment().name();
      if (existing.empty()) {
        // The imported spec's name; it lives in the message.
        std::string msg = s.error_message();
        auto q1 = msg.find('"');
        auto q2 = q1 == std::string::npos ? q1 : msg.find('"', q1 + 1);
        if (q2 != std::string::npos) existing = msg.substr(q1 + 1, q2 - q1 - 1);
      }
      s = client.GetExperiment(existing, &experiment);
      if (!s.ok()) return FailRpc(cmd, s);
      std::cerr << "[hpoctl] " << (cmd == "run" ? "resuming" : "joining")
                << " experiment " << existing << "\n";
    } else if (s.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
      // A worker's token may not create experiments: join the experiment if
      // it is there (another worker or an admin created it).
      std::string existing = name;
      if (existing.empty()) existing = req.experiment().name();
      if (existing.empty()) existing = req.import_spec().name();
      if (existing.empty() ||
          !client.GetExperiment(existing, &experiment).ok()) {
        return FailRpc(cmd + ": creating the experiment", s);
      }
      std::cerr << "[hpoctl] " << (cmd == "run" ? "resuming" : "joining")
                << " experiment " << existing
                << " (this token may not create experiments)\n";
    } else if (!s.ok()) {
      return FailSpec(cmd, spec, s);
    } else {
      std::cerr << "[hpoctl] created experiment " << experiment.name() << "\n";
    }
    name = experiment.name();
  } else {
    if (name.empty())
      return Fail(cmd + ": -f SPEC or an experiment name is required");
    grpc::Status s = client.GetExperiment(name, &experiment);
    if (s.error_code() == grpc::StatusCode::NOT_FOUND && cmd == "run") {
      if (!describes) {
        return Fail("run: experiment \"" + name +
                    "\" does not exist; describe it with --param "
                    "NAME=TYPE:... and --objective NAME:minimize|maximize, "
                    "or give a spec with -f");
      }
      if (from_flags.parameters().empty() || from_flags.objectives().empty()) {
        return Fail(std::string("run: --") +
                    (from_flags.parameters().empty() ? "param" : "objective") +
                    " is required to create experiment \"" + name + "\"");
      }
      grpc::ClientContext ctx;
      *req.mutable_experiment() = from_flags;
      req.clear_import_spec();
      s = client.stub()->CreateExperiment(&ctx, req, &experiment);
      if (s.ok()) {
        std::cerr << "[hpoctl] created experiment " << name << "\n";
      } else if (s.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
        // Another hpoctl created it first: check it like any existing one.
        s = client.GetExperiment(name, &experiment);
        if (!s.ok()) return FailRpc(cmd, s);
        std::string error;
        if (!CheckExisting(args, from_flags, experiment, &error)) {
          return Fail(cmd + ": " + error);
        }
      } else if (s.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
        return Fail("run: " + FlagForField(args, OneLine(s.error_message())));
      } else {
        return FailRpc("create", s);
      }
    } else if (!s.ok()) {
      return FailRpc(cmd, s);
    } else if (describes) {
      std::string error;
      if (!CheckExisting(args, from_flags, experiment, &error)) {
        return Fail(cmd + ": " + error);
      }
      std::cerr << "[hpoctl] resuming experiment " << name << "\n";
    }
  }
  const std::vector<std::string> unknown = UnknownTemplateNames(
      options.run.command, experiment, options.run.aliases);
  if (!unknown.empty()) {
    std::string known;
    for (const auto& p : experiment.parameters()) {
      known += (known.empty() ? "" : ", ") + p.name();
    }
    for (const auto& [alias, ref] : options.run.aliases) {
      known += ", " + alias;
    }
    return Fail(cmd + ": the command names ${trialParameters." + unknown[0] +
                "}, but experiment \"" + name + "\" has no parameter " +
                unknown[0] + " (it has: " + known + ")");
  }
  if (!options.run.working_dir.empty()) {
    struct stat st;
    if (::stat(options.run.working_dir.c_str(), &st) != 0 ||
        !S_ISDIR(st.st_mode)) {
      return Fail(cmd + ": the trials' working directory " +
                  options.run.working_dir +
                  " does not exist here; set one with --workdir DIR");
    }
  }
  if (experiment.state() == v1::Experiment::STOPPED && cmd == "run") {
    grpc::ClientContext ctx;
    v1::ResumeExperimentRequest r;
    r.set_name(name);
    grpc::Status s = client.stub()->ResumeExperiment(&ctx, r, &experiment);
    if (!s.ok()) return FailRpc("resume", s);
  }
  if (experiment.objectives().empty()) return Fail(name + ": no objective");
  options.experiment = name;
  options.objective = experiment.objectives(0).name();
  {
    int parallel =
        cmd == "worker" ? 1 : std::max(1, experiment.parallel_trials());
    std::string error;
    if (!CountFlag(args, "parallel", 1, &parallel, &error)) {
      return Fail(cmd + ": " + error);
    }
    options.parallel = parallel;
  }
  // Three heartbeats per lease (10 minutes unless the experiment says), so a
  // late one does not lose the trial.
  const double lease =
      experiment.has_trial_lease()
          ? static_cast<double>(experiment.trial_lease().seconds()) +
                experiment.trial_lease().nanos() / 1e9
          : 600;
  options.heartbeat_seconds = std::clamp(lease / 3, 0.2, 30.0);
  options.worker_id = args.Get("worker-id", DefaultWorkerId());
  options.log_dir = args.Get("log-dir", "hpoctl-logs/" + name);
  if (options.log_dir[0] != '/') {
    char cwd[4096];
    if (::getcwd(cwd, sizeof(cwd)) != nullptr) {
      options.log_dir = std::string(cwd) + "/" + options.log_dir;
    }
  }
  if (options.log_dir.find('/') != std::string::npos) {
    ::mkdir(Dirname(options.log_dir).c_str(), 0755);
  }
  Runner runner(client, options);
  return runner.Run();
}

int Main(int argc, char** argv) {
  std::string server =
      std::getenv("HPO_SERVER") ? std::getenv("HPO_SERVER") : "localhost:50051";
  Security security = Security::FromEnv();
  int i = 1;
  while (i < argc && argv[i][0] == '-') {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return 0;
    }
    if (a.rfind("--", 0) != 0) break;
    std::string name = a.substr(2), value;
    auto eq = name.find('=');
    int used = 1;
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[i + 1];
      used = 2;
    } else {
      break;
    }
    if (name == "server") {
      server = value;
    } else if (!security.Set(name, value)) {
      break;
    }
    i += used;
  }
  if (i >= argc) {
    std::cerr << kUsage;
    return 2;
  }
  std::string cmd = argv[i];
  Args args = ParseArgs(argc, argv, i + 1);
  if (args.Has("server")) server = args.Get("server");
  for (const char* name : {"token", "tls_ca", "tls_cert", "tls_key", "tls-ca",
                           "tls-cert", "tls-key"}) {
    if (args.Has(name)) security.Set(name, args.Get(name));
  }
  g_server = server;
  std::string error;
  std::shared_ptr<grpc::Channel> channel =
      MakeChannel(server, security, &error);
  if (channel == nullptr) return Fail(error);
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  Client client(std::move(channel));
  if (cmd == "create") return CmdCreate(client, args);
  if (cmd == "run" || cmd == "worker") return CmdRun(client, cmd, args);
  for (const char* c : {"get", "list", "stop", "resume", "delete", "trials",
                        "best", "export"}) {
    if (cmd == c) return CmdSimple(client, cmd, args);
  }
  std::cerr << "hpoctl: unknown command " << cmd << "\n" << kUsage;
  return 2;
}

}  // namespace
}  // namespace hpo::cli

int main(int argc, char** argv) { return hpo::cli::Main(argc, argv); }
