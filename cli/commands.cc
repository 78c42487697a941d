#include "cli/commands.h"

#include <iostream>
#include <vector>

#include "cli/errors.h"
#include "cli/output.h"
#include "cli/spec_file.h"
#include "grpcpp/client_context.h"

namespace hpo::cli {
namespace {

// The experiment's state after stop or resume: "NAME: STATE".
int PrintState(const std::string& name, const v1::Experiment& e) {
  std::cout << name << ": " << v1::Experiment::State_Name(e.state()) << "\n";
  return 0;
}

int CmdExport(const std::vector<v1::Trial>& trials, const Args& args) {
  const std::string format = args.Get("format", "csv");
  if (format == "json") {
    v1::ListTrialsResponse all;
    for (const auto& t : trials) *all.add_trials() = t;
    std::cout << ToJson(all);
    return 0;
  }
  if (format != "csv") return Fail("export: --format must be csv or json");
  std::cout << TrialsCsv(trials);
  return 0;
}

}  // namespace

int RunCommand(Client& client, const std::string& cmd, const Args& args) {
  if (cmd == "create") return CmdCreate(client, args);
  if (cmd == "run" || cmd == "worker") return CmdRun(client, cmd, args);
  if (cmd == "list") return CmdList(client);
  for (const char* c :
       {"get", "stop", "resume", "delete", "trials", "best", "export"}) {
    if (cmd == c) return CmdExperiment(client, cmd, args);
  }
  std::cerr << "hpoctl: unknown command " << cmd << "\n" << kUsage;
  return 2;
}

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
  if (!s.ok()) return FailSpec(client.connection(), "create", path, s);
  std::cout << "experiment \"" << out.name() << "\" created\n";
  return 0;
}

int CmdList(Client& client) {
  std::vector<v1::Experiment> experiments;
  grpc::Status s = client.ListExperiments(&experiments);
  if (!s.ok()) return FailRpc(client.connection(), "list", s);
  std::vector<std::vector<std::string>> rows = {kExperimentHeader};
  for (const auto& e : experiments) rows.push_back(ExperimentRow(e));
  std::cout << TableText(rows);
  return 0;
}

int CmdExperiment(Client& client, const std::string& cmd, const Args& args) {
  if (args.positional.empty()) return Fail(cmd + ": EXPERIMENT is required");
  const std::string name = args.positional[0];
  const Connection& connection = client.connection();
  grpc::ClientContext ctx;
  grpc::Status s;
  v1::Experiment e;
  if (cmd == "get") {
    s = client.GetExperiment(name, &e);
    if (!s.ok()) return FailRpc(connection, cmd, s);
    std::cout << ToJson(e);
    return 0;
  }
  if (cmd == "stop") {
    v1::StopExperimentRequest req;
    req.set_name(name);
    req.set_reason(args.Get("reason", "stopped by hpoctl"));
    s = client.stub()->StopExperiment(&ctx, req, &e);
    return s.ok() ? PrintState(name, e) : FailRpc(connection, cmd, s);
  }
  if (cmd == "resume") {
    v1::ResumeExperimentRequest req;
    req.set_name(name);
    s = client.stub()->ResumeExperiment(&ctx, req, &e);
    return s.ok() ? PrintState(name, e) : FailRpc(connection, cmd, s);
  }
  if (cmd == "delete") {
    v1::DeleteExperimentRequest req;
    req.set_name(name);
    google::protobuf::Empty empty;
    s = client.stub()->DeleteExperiment(&ctx, req, &empty);
    if (!s.ok()) return FailRpc(connection, cmd, s);
    std::cout << "experiment \"" << name << "\" deleted\n";
    return 0;
  }
  if (cmd == "best") {
    v1::GetBestRequest req;
    req.set_experiment(name);
    v1::GetBestResponse resp;
    s = client.stub()->GetBest(&ctx, req, &resp);
    if (!s.ok()) return FailRpc(connection, cmd, s);
    std::cout << ToJson(resp);
    return 0;
  }
  // trials, export
  std::vector<v1::Trial> trials;
  s = client.ListTrials(name, &trials);
  if (!s.ok()) return FailRpc(connection, cmd, s);
  if (cmd == "trials") {
    std::cout << TrialsTable(trials);
    return 0;
  }
  return CmdExport(trials, args);
}

}  // namespace hpo::cli
