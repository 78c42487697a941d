#include "cli/runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>
#include <utility>

#include "cli/metrics.h"
#include "cli/output.h"
#include "cli/text.h"
#include "cli/trial_command.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/client_context.h"

namespace hpo::cli {
namespace {

// Between asks that got nothing: from 200 ms, doubling up to 2 s.
constexpr auto kFirstWait = std::chrono::milliseconds(200);
constexpr auto kMaxWait = std::chrono::milliseconds(2000);

// The signal hpoctl received, 0 for none: the handler only notes it.
std::atomic<int> g_signal{0};

void OnSignal(int sig) { g_signal.store(sig); }

// A deadline `seconds` from now, for one call.
std::chrono::system_clock::time_point In(int seconds) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

bool Over(const v1::Experiment& e) {
  return Terminal(e.state()) || e.state() == v1::Experiment::STOPPED;
}

void CloseFiles(RunningTrial& r) {
  if (r.fd >= 0) ::close(r.fd);
  if (r.log_fd >= 0) ::close(r.log_fd);
}

// The trial's parameters as a JSON object, for $HPO_TRIAL_PARAMETERS_FILE.
void WriteParamsFile(const v1::Trial& trial, const std::string& path) {
  google::protobuf::Struct params;
  for (const auto& [k, v] : trial.parameters()) {
    (*params.mutable_fields())[k] = v;
  }
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(params, &json);
  std::ofstream out(path);
  out << json << "\n";
}

// A request about the running trial `r`, as its worker.
template <typename Request>
Request About(const std::string& experiment, const RunningTrial& r) {
  Request req;
  req.set_experiment(experiment);
  req.set_trial(r.trial.number());
  req.set_worker_id(r.trial.worker_id());
  return req;
}

}  // namespace

void InstallSignalHandlers() {
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

Runner::Runner(Client& client, Options options)
    : client_(client),
      options_(std::move(options)),
      pattern_(options_.run.metrics_pattern.empty()
                   ? std::string(kKatibPattern)
                   : options_.run.metrics_pattern),
      tty_(isatty(STDERR_FILENO) != 0),
      wait_(kFirstWait) {}

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

int Runner::Run() {
  ::mkdir(options_.log_dir.c_str(), 0755);
  Log("experiment " + options_.experiment + ", logs in " + options_.log_dir);
  next_ask_ = Clock::now();
  next_check_ = Clock::now() + std::chrono::seconds(1);
  while (true) {
    CheckSignal();
    CheckExperiment();
    AskForTrials();
    if (done_ && running_.empty()) break;
    PollTrials();
  }
  return Summary();
}

void Runner::CheckSignal() {
  if (g_signal.load() == 0 || interrupted_) return;
  interrupted_ = true;
  done_ = true;
  Log("interrupted: stopping the running trials");
  for (auto& r : running_) Kill(*r, "release", "interrupted");
}

void Runner::CheckExperiment() {
  if (interrupted_ || Clock::now() < next_check_) return;
  next_check_ = Clock::now() + std::chrono::seconds(1);
  v1::Experiment e;
  if (!client_.GetExperiment(options_.experiment, &e).ok() || !Over(e)) return;
  done_ = true;
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

void Runner::AskForTrials() {
  while (!done_ && static_cast<int>(running_.size()) < options_.parallel &&
         Clock::now() >= next_ask_) {
    switch (Next()) {
      case Ask::kStarted:
        wait_ = kFirstWait;
        break;
      case Ask::kWait:
        next_ask_ = Clock::now() + wait_;
        wait_ = std::min(wait_ * 2, kMaxWait);
        break;
      case Ask::kDone:
        done_ = true;
        break;
      case Ask::kError:
        Log(error_);
        done_ = true;
        for (auto& r : running_) Kill(*r, "release", error_);
        break;
    }
  }
}

void Runner::PollTrials() {
  std::vector<pollfd> fds;
  for (auto& r : running_) {
    fds.push_back({r->hung_up ? -1 : r->fd, POLLIN, 0});
  }
  ::poll(fds.data(), fds.size(), 100);
  const auto now = Clock::now();
  // fds[k] stays with its trial while ended ones leave running_.
  for (std::size_t i = 0, k = 0; i < running_.size(); ++k) {
    if (Serve(*running_[i], fds[k].revents, now)) {
      running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(i));
      next_ask_ = Clock::now();
      wait_ = kFirstWait;
      Status();
    } else {
      ++i;
    }
  }
}

bool Runner::Serve(RunningTrial& r, short revents, Clock::time_point now) {
  if (revents & POLLIN) Pump(r, false);
  if ((revents & (POLLHUP | POLLERR)) && !(revents & POLLIN)) r.hung_up = true;
  ReadMetricsFile(r);
  if (!r.killing && options_.run.trial_timeout > 0 &&
      now - r.start >
          std::chrono::duration<double>(options_.run.trial_timeout)) {
    Kill(r, "timeout",
         "trial timed out after " + std::to_string(options_.run.trial_timeout) +
             "s");
  }
  if (r.killing && now - r.kill_time >
                       std::chrono::duration<double>(options_.grace_seconds)) {
    ::kill(-r.pid, SIGKILL);
  }
  if (!r.killing && now - r.last_heartbeat > std::chrono::duration<double>(
                                                 options_.heartbeat_seconds)) {
    Heartbeat(r, now);
  }
  if (!r.reaped && ::waitpid(r.pid, &r.wait_status, WNOHANG) == r.pid) {
    r.reaped = true;
  }
  // A killed trial ends when its whole process group is gone (or was killed
  // after the grace period), not just its shell.
  const bool group_alive = r.killing && ::kill(-r.pid, 0) == 0;
  if (!r.reaped || group_alive) return false;
  Pump(r, true);
  ::kill(-r.pid, SIGKILL);  // anything the command left behind
  Finish(r, r.wait_status);
  return true;
}

void Runner::Heartbeat(RunningTrial& r, Clock::time_point now) {
  grpc::ClientContext ctx;
  ctx.set_deadline(In(10));
  const auto req = About<v1::HeartbeatRequest>(options_.experiment, r);
  v1::Trial out;
  (void)client_.stub()->Heartbeat(&ctx, req, &out);
  r.last_heartbeat = now;
}

int Runner::Summary() {
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
  if (interrupted_) return 130;
  return error_.empty() ? 0 : 1;
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
  ctx.set_deadline(In(30));
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
    return Wait(client_.Message(s));
  }
  if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
    return NothingToStart(s);
  }
  if (!s.ok()) {
    error_ = "GetTrialConfig: " + client_.Message(s);
    return Ask::kError;
  }
  for (const auto& r : running_) {
    if (r->trial.number() == trial.number()) return Ask::kWait;
  }
  return Spawn(trial) ? Ask::kStarted : Ask::kError;
}

Runner::Ask Runner::NothingToStart(const grpc::Status& status) {
  // The server says so both when the experiment is over and when it has
  // nothing to hand out right now: all max_trials allocated or the space
  // exhausted, while trials still run (here or at other workers). Those may
  // yet fail their lease and come back WAITING, so only the experiment's
  // state tells whether to stop.
  v1::Experiment e;
  grpc::Status g = client_.GetExperiment(options_.experiment, &e);
  if (!g.ok()) return Wait(client_.Message(g));
  if (Over(e)) return Ask::kDone;
  if (e.status().running() == 0 && e.status().waiting() == 0) {
    // Nothing runs anywhere that could change the answer (e.g. the
    // algorithm cannot run): waiting would be forever.
    error_ = "GetTrialConfig: " + client_.Message(status);
    return Ask::kError;
  }
  return Wait(client_.Message(status));
}

bool Runner::Spawn(const v1::Trial& trial) {
  auto r = std::make_unique<RunningTrial>();
  r->trial = trial;
  const std::string command =
      Substitute(options_.run.command, trial, options_.run.aliases);
  const std::string base =
      options_.log_dir + "/trial-" + std::to_string(trial.number());
  const std::string log_path = base + ".log";
  r->params_file = base + ".params.json";
  WriteParamsFile(trial, r->params_file);
  if (!options_.run.metrics_file.empty()) {
    // One file per trial: LOGDIR/trial-N.NAME.
    std::string name = options_.run.metrics_file;
    name = name.substr(name.rfind('/') + 1);
    r->metrics_file = base + "." + name;
    ::unlink(r->metrics_file.c_str());
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
  if (pid == 0) Exec(trial, command, *r, pipe_fds[1]);
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

void Runner::Exec(const v1::Trial& trial, const std::string& command,
                  const RunningTrial& r, int out_fd) {
  // Its own process group, so that a kill reaches whatever the command
  // started.
  ::setpgid(0, 0);
  ::dup2(out_fd, STDOUT_FILENO);
  ::dup2(out_fd, STDERR_FILENO);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGPIPE, SIG_DFL);
  if (!options_.run.working_dir.empty()) {
    if (::chdir(options_.run.working_dir.c_str()) != 0) _exit(127);
  }
  for (const auto& [k, v] : trial.parameters()) {
    const std::string text = ValueText(v);
    ::setenv(("HPO_PARAM_" + ParamEnvName(k)).c_str(), text.c_str(), 1);
    if (IsEnvName(k)) ::setenv(k.c_str(), text.c_str(), 1);
  }
  ::setenv("HPO_EXPERIMENT", options_.experiment.c_str(), 1);
  ::setenv("HPO_TRIAL_NUMBER", std::to_string(trial.number()).c_str(), 1);
  ::setenv("HPO_TRIAL_PARAMETERS_FILE", r.params_file.c_str(), 1);
  if (!r.metrics_file.empty()) {
    ::setenv("HPO_METRICS_FILE", r.metrics_file.c_str(), 1);
  }
  execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
  _exit(127);
}

void Runner::Pump(RunningTrial& r, bool eof) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(r.fd, buf, sizeof(buf));
    if (n <= 0) break;
    if (r.log_fd >= 0) {
      (void)!::write(r.log_fd, buf, static_cast<std::size_t>(n));
    }
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

void Runner::HandleLine(RunningTrial& r, const std::string& line,
                        bool from_file) {
  if (!from_file) {
    r.tail += line + "\n";
    if (r.tail.size() > 2000) r.tail = r.tail.substr(r.tail.size() - 2000);
    // With a metrics file, stdout is only kept.
    if (!options_.run.metrics_file.empty()) return;
  }
  const auto first = line.find_first_not_of(" \t\r");
  if (first != std::string::npos) {
    r.last_line =
        line.substr(first, line.find_last_not_of(" \t\r") + 1 - first);
  }
  const MetricLine found = ParseMetricLine(line, pattern_);
  if (found.values.empty()) return;
  for (const auto& [k, v] : found.values) r.last[k] = v;
  if (!found.values.count(options_.objective) || r.killing) return;
  const int step = found.step >= 0 ? found.step : r.steps;
  ++r.steps;
  ReportIntermediate(r, found.values, step);
}

void Runner::ReportIntermediate(RunningTrial& r,
                                const std::map<std::string, double>& values,
                                int step) {
  grpc::ClientContext ctx;
  ctx.set_deadline(In(30));
  auto req = About<v1::ReportIntermediateRequest>(options_.experiment, r);
  req.set_step(step);
  for (const auto& [k, v] : values) (*req.mutable_metrics())[k] = v;
  v1::ReportIntermediateResponse resp;
  grpc::Status s = client_.stub()->ReportIntermediate(&ctx, req, &resp);
  r.last_heartbeat = Clock::now();
  if (s.ok() && resp.should_stop()) {
    Kill(r, "pruned", resp.reason().empty() ? "pruned" : resp.reason());
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

void Runner::Finish(RunningTrial& r, int wait_status) {
  ReadMetricsFile(r, /*eof=*/true);
  if (r.end_state == "release") {
    // Not the trial's failure (that would count towards max_failed_trials):
    // handed back to run again.
    Release(r);
    CloseFiles(r);
    return;
  }
  if (options_.run.nni && r.end_state.empty()) {
    AddNniFinalResult(r.last_line, options_.objective, &r.last);
  }
  std::string outcome;
  const v1::ReportResultRequest req = Result(r, wait_status, &outcome);
  // A server that restarts (a sidecar the kubelet brings back) is waited for
  // up to 30 s; the outcome line says whether the server took the result.
  grpc::Status reported;
  for (int attempt = 0; attempt < 30; ++attempt) {
    grpc::ClientContext ctx;
    ctx.set_deadline(In(30));
    v1::Trial out;
    reported = client_.stub()->ReportResult(&ctx, req, &out);
    if (reported.error_code() != grpc::StatusCode::UNAVAILABLE) break;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  Log("trial " + std::to_string(r.trial.number()) + ": " + outcome +
      (reported.ok() ? "" : "; not reported: " + client_.Message(reported)));
  CloseFiles(r);
}

v1::ReportResultRequest Runner::Result(const RunningTrial& r, int wait_status,
                                       std::string* outcome) {
  auto req = About<v1::ReportResultRequest>(options_.experiment, r);
  if (r.end_state == "pruned") {
    req.set_pruned(true);
    for (const auto& [k, v] : r.last) (*req.mutable_metrics())[k] = v;
    *outcome = "PRUNED";
    ++pruned_;
    return req;
  }
  if (!r.end_state.empty()) {
    req.set_failed(true);
    req.set_failure_reason(r.reason);
    *outcome = "FAILED (" + r.reason + ")";
    ++failed_;
    return req;
  }
  const bool exited_ok =
      WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
  if (!exited_ok || !r.last.count(options_.objective)) {
    const std::string why =
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
    *outcome = "FAILED (" + why + ")";
    ++failed_;
    return req;
  }
  v1::Trial completed;
  for (const auto& [k, v] : r.last) {
    (*req.mutable_metrics())[k] = v;
    (*completed.mutable_metrics())[k] = v;
  }
  *outcome = "COMPLETED " + MetricsText(completed);
  ++completed_;
  return req;
}

void Runner::Release(RunningTrial& r) {
  const std::string what = "trial " + std::to_string(r.trial.number());
  grpc::ClientContext ctx;
  // Short: hpoctl is on its way out.
  ctx.set_deadline(In(5));
  auto req = About<v1::ReleaseTrialRequest>(options_.experiment, r);
  req.set_reason(r.reason);
  v1::Trial out;
  grpc::Status s = client_.stub()->ReleaseTrial(&ctx, req, &out);
  if (s.ok()) {
    ++released_;
    Log(what + ": " + r.reason +
        "; released, WAITING to run again with the same parameters");
  } else if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
    // It ended meanwhile, or its lease went to another worker.
    Log(what + ": " + r.reason + "; not released: " + client_.Message(s));
  } else {
    Log(what + ": " + r.reason + "; could not release it (" +
        client_.Message(s) +
        "); the server hands it out again when its lease expires");
  }
}

}  // namespace hpo::cli
