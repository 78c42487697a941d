// `hpoctl run` and `hpoctl worker`: from a spec file, an experiment name, or
// flags that describe the experiment, to an existing experiment on the server
// (created, joined or resumed) and the Options its trials run with.

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/metrics.h"
#include "cli/param_flags.h"
#include "cli/runner.h"
#include "cli/spec_file.h"
#include "cli/text.h"
#include "cli/trial_command.h"
#include "grpcpp/client_context.h"

namespace hpo::cli {
namespace {

std::string DefaultWorkerId() {
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  return std::string(host) + "-" + std::to_string(::getpid());
}

// One run or worker command. Each step returns false with the error line to
// print; everything the flags say is checked before the server is asked, so
// that a typo never creates an experiment.
class RunOrWork {
 public:
  RunOrWork(Client& client, const std::string& cmd, const Args& args)
      : client_(client),
        cmd_(cmd),
        args_(args),
        spec_(args.Get("f", args.Get("file"))),
        describes_(!ExperimentFlag(args).empty()) {}

  int Run() {
    std::string error;
    if (!CheckFlags(&error) || !LoadRunSettings(&error) ||
        !ResolveName(&error) ||
        !(spec_.empty() ? FindOrCreate(&error) : CreateOrJoin(&error)) ||
        !CheckRunSettings(&error) || !ResumeStopped(&error) ||
        !FinishOptions(&error)) {
      return Fail(error);
    }
    Runner runner(client_, options_);
    return runner.Run();
  }

 private:
  const Connection& connection() const { return client_.connection(); }

  // --param and the like describe an experiment, which neither a spec file
  // nor a worker (which joins one) can be combined with.
  bool CheckFlags(std::string* error) {
    if (!describes_ || (spec_.empty() && cmd_ != "worker")) return true;
    *error = cmd_ + ": --" + ExperimentFlag(args_) +
             (cmd_ == "worker"
                  ? ": a worker joins an existing experiment; create it "
                    "with `hpoctl run` or `hpoctl create`"
                  : " describes an experiment without a spec file; it "
                    "cannot be combined with -f " +
                        spec_);
    return false;
  }

  // The spec's run settings, and the flags over them.
  bool LoadRunSettings(std::string* error) {
    RunSettings& run = options_.run;
    if (!spec_.empty() && !LoadSpec(spec_, &req_, &run, error)) {
      *error = cmd_ + ": " + *error;
      return false;
    }
    if (args_.Has("command")) run.command = args_.Get("command");
    if (args_.Has("metrics-file")) run.metrics_file = args_.Get("metrics-file");
    if (args_.Has("metrics-pattern")) {
      run.metrics_pattern = args_.Get("metrics-pattern");
    }
    // From the flag or the spec: checked here, since the runner would throw.
    if (!run.metrics_pattern.empty() &&
        !CheckMetricsPattern(run.metrics_pattern, error)) {
      *error = cmd_ + ": " + *error;
      return false;
    }
    for (const char* flag : {"trial-timeout", "grace-period"}) {
      double v;
      if (args_.Has(flag) && (!ParseDouble(args_.Get(flag), &v) || v < 0)) {
        *error = cmd_ + ": --" + flag + " \"" + args_.Get(flag) +
                 "\": expected a number of seconds >= 0";
        return false;
      }
    }
    if (args_.Has("trial-timeout")) {
      run.trial_timeout = std::atof(args_.Get("trial-timeout").c_str());
    }
    if (args_.Has("grace-period")) {
      options_.grace_seconds = std::atof(args_.Get("grace-period").c_str());
    }
    if (run.command.empty()) {
      *error = cmd_ + ": --command is required";
      return false;
    }
    if (args_.Has("workdir")) run.working_dir = args_.Get("workdir");
    return true;
  }

  // The experiment's name (--name, or a worker's positional), over the
  // spec's; and the experiment the flags describe.
  bool ResolveName(std::string* error) {
    name_ = args_.Get("name");
    if (cmd_ == "worker") {
      if (args_.positional.empty() && spec_.empty()) {
        *error = "worker: EXPERIMENT or -f SPEC is required";
        return false;
      }
      if (!args_.positional.empty()) name_ = args_.positional[0];
    }
    if (!name_.empty()) {
      if (req_.has_import_spec()) req_.mutable_import_spec()->set_name(name_);
      req_.mutable_experiment()->set_name(name_);
    }
    if (!describes_) return true;
    if (name_.empty()) {
      *error = cmd_ + ": --name is required with --param";
      return false;
    }
    if (!ExperimentFromFlags(args_, name_, &from_flags_, error)) {
      *error = cmd_ + ": " + *error;
      return false;
    }
    return true;
  }

  // With a spec, run and worker create the experiment or join it: so each of
  // many identical workers (a Kubernetes Job's pods) can be given the spec.
  bool CreateOrJoin(std::string* error) {
    grpc::ClientContext ctx;
    grpc::Status s = client_.stub()->CreateExperiment(&ctx, req_, &experiment_);
    const std::string joining = cmd_ == "run" ? "resuming" : "joining";
    if (s.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
      std::string existing = name_;
      if (existing.empty()) existing = req_.experiment().name();
      if (existing.empty()) {
        // The imported spec's name; it lives in the message.
        const std::string msg = s.error_message();
        auto q1 = msg.find('"');
        auto q2 = q1 == std::string::npos ? q1 : msg.find('"', q1 + 1);
        if (q2 != std::string::npos) existing = msg.substr(q1 + 1, q2 - q1 - 1);
      }
      s = client_.GetExperiment(existing, &experiment_);
      if (!s.ok()) {
        *error = RpcError(connection(), cmd_, s);
        return false;
      }
      std::cerr << "[hpoctl] " << joining << " experiment " << existing << "\n";
    } else if (s.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
      // A worker's token may not create experiments: join the experiment if
      // it is there (another worker or an admin created it).
      std::string existing = name_;
      if (existing.empty()) existing = req_.experiment().name();
      if (existing.empty()) existing = req_.import_spec().name();
      if (existing.empty() ||
          !client_.GetExperiment(existing, &experiment_).ok()) {
        *error = RpcError(connection(), cmd_ + ": creating the experiment", s);
        return false;
      }
      std::cerr << "[hpoctl] " << joining << " experiment " << existing
                << " (this token may not create experiments)\n";
    } else if (!s.ok()) {
      *error = SpecError(connection(), cmd_, spec_, s);
      return false;
    } else {
      std::cerr << "[hpoctl] created experiment " << experiment_.name() << "\n";
    }
    name_ = experiment_.name();
    return true;
  }

  // Without a spec: the experiment by name; `run` creates it from the flags
  // when it does not exist, and checks the flags against it when it does.
  bool FindOrCreate(std::string* error) {
    if (name_.empty()) {
      *error = cmd_ + ": -f SPEC or an experiment name is required";
      return false;
    }
    grpc::Status s = client_.GetExperiment(name_, &experiment_);
    if (s.error_code() == grpc::StatusCode::NOT_FOUND && cmd_ == "run") {
      return CreateFromFlags(error);
    }
    if (!s.ok()) {
      *error = RpcError(connection(), cmd_, s);
      return false;
    }
    if (!describes_) return true;
    if (!CheckAgainstFlags(error)) return false;
    std::cerr << "[hpoctl] resuming experiment " << name_ << "\n";
    return true;
  }

  bool CreateFromFlags(std::string* error) {
    if (!describes_) {
      *error = "run: experiment \"" + name_ +
               "\" does not exist; describe it with --param "
               "NAME=TYPE:... and --objective NAME:minimize|maximize, "
               "or give a spec with -f";
      return false;
    }
    if (from_flags_.parameters().empty() || from_flags_.objectives().empty()) {
      *error = std::string("run: --") +
               (from_flags_.parameters().empty() ? "param" : "objective") +
               " is required to create experiment \"" + name_ + "\"";
      return false;
    }
    grpc::ClientContext ctx;
    *req_.mutable_experiment() = from_flags_;
    req_.clear_import_spec();
    grpc::Status s = client_.stub()->CreateExperiment(&ctx, req_, &experiment_);
    if (s.ok()) {
      std::cerr << "[hpoctl] created experiment " << name_ << "\n";
      return true;
    }
    if (s.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
      // Another hpoctl created it first: check it like any existing one.
      s = client_.GetExperiment(name_, &experiment_);
      if (!s.ok()) {
        *error = RpcError(connection(), cmd_, s);
        return false;
      }
      return CheckAgainstFlags(error);
    }
    *error = s.error_code() == grpc::StatusCode::INVALID_ARGUMENT
                 ? "run: " + FlagForField(args_, client_.Message(s))
                 : RpcError(connection(), "create", s);
    return false;
  }

  bool CheckAgainstFlags(std::string* error) {
    std::vector<std::string> warnings;
    const bool ok =
        CheckExisting(args_, from_flags_, experiment_, &warnings, error);
    for (const std::string& w : warnings) {
      std::cerr << "[hpoctl] warning: " << w << "\n";
    }
    if (!ok) *error = cmd_ + ": " + *error;
    return ok;
  }

  // The command's template names and the working directory, before any
  // trial runs.
  bool CheckRunSettings(std::string* error) {
    const RunSettings& run = options_.run;
    const std::vector<std::string> unknown =
        UnknownTemplateNames(run.command, experiment_, run.aliases);
    if (!unknown.empty()) {
      std::string known;
      for (const auto& p : experiment_.parameters()) {
        known += (known.empty() ? "" : ", ") + p.name();
      }
      for (const auto& [alias, ref] : run.aliases) known += ", " + alias;
      *error = cmd_ + ": the command names ${trialParameters." + unknown[0] +
               "}, but experiment \"" + name_ + "\" has no parameter " +
               unknown[0] + " (it has: " + known + ")";
      return false;
    }
    if (!run.working_dir.empty()) {
      struct stat st;
      if (::stat(run.working_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        *error = cmd_ + ": the trials' working directory " + run.working_dir +
                 " does not exist here; set one with --workdir DIR";
        return false;
      }
    }
    return true;
  }

  // `run` resumes a STOPPED experiment; a worker waits for someone to.
  bool ResumeStopped(std::string* error) {
    if (experiment_.state() != v1::Experiment::STOPPED || cmd_ != "run") {
      return true;
    }
    grpc::ClientContext ctx;
    v1::ResumeExperimentRequest r;
    r.set_name(name_);
    grpc::Status s = client_.stub()->ResumeExperiment(&ctx, r, &experiment_);
    if (!s.ok()) *error = RpcError(connection(), "resume", s);
    return s.ok();
  }

  bool FinishOptions(std::string* error) {
    if (experiment_.objectives().empty()) {
      *error = name_ + ": no objective";
      return false;
    }
    options_.experiment = name_;
    options_.objective = experiment_.objectives(0).name();
    int parallel =
        cmd_ == "worker" ? 1 : std::max(1, experiment_.parallel_trials());
    if (!CountFlag(args_, "parallel", 1, &parallel, error)) {
      *error = cmd_ + ": " + *error;
      return false;
    }
    options_.parallel = parallel;
    // Three heartbeats per lease (10 minutes unless the experiment says), so a
    // late one does not lose the trial.
    const double lease =
        experiment_.has_trial_lease()
            ? static_cast<double>(experiment_.trial_lease().seconds()) +
                  experiment_.trial_lease().nanos() / 1e9
            : 600;
    options_.heartbeat_seconds = std::clamp(lease / 3, 0.2, 30.0);
    options_.worker_id = args_.Get("worker-id", DefaultWorkerId());
    options_.log_dir = args_.Get("log-dir", "hpoctl-logs/" + name_);
    if (options_.log_dir[0] != '/') {
      char cwd[4096];
      if (::getcwd(cwd, sizeof(cwd)) != nullptr) {
        options_.log_dir = std::string(cwd) + "/" + options_.log_dir;
      }
    }
    if (options_.log_dir.find('/') != std::string::npos) {
      ::mkdir(Dirname(options_.log_dir).c_str(), 0755);
    }
    return true;
  }

  Client& client_;
  const std::string& cmd_;
  const Args& args_;
  const std::string spec_;  // -f, or ""
  const bool describes_;    // flags describe the experiment
  std::string name_;
  v1::CreateExperimentRequest req_;
  v1::Experiment from_flags_;  // what the flags describe, if they do
  v1::Experiment experiment_;  // the server's
  Options options_;
};

}  // namespace

int CmdRun(Client& client, const std::string& cmd, const Args& args) {
  return RunOrWork(client, cmd, args).Run();
}

}  // namespace hpo::cli
