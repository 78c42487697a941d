// The trial runner behind `hpoctl run` and `hpoctl worker`: asks the server
// for trials, runs each as `/bin/sh -c COMMAND` in its own process group,
// reads metrics from its output (or its metrics file) as they come, reports
// intermediate values and the result, and kills what early stopping, a
// timeout, the experiment's end or Ctrl-C tells it to.

#ifndef HPO_CLI_RUNNER_H_
#define HPO_CLI_RUNNER_H_

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "cli/client.h"
#include "cli/spec_file.h"
#include "hpo/v1/hpo.pb.h"

namespace hpo::cli {

// SIGINT and SIGTERM to hpoctl are noted, for the runner to release its
// trials and exit 130, rather than ending hpoctl at once; SIGPIPE is ignored.
void InstallSignalHandlers();

struct Options {
  std::string experiment;
  std::string objective;  // the metric that makes a trial COMPLETED
  RunSettings run;
  int parallel = 1;
  double grace_seconds = 5;  // between SIGTERM and SIGKILL
  std::string log_dir;
  std::string worker_id;  // each slot asks as WORKER_ID-SLOT
  // How often a running trial's lease is renewed: well within the lease.
  double heartbeat_seconds = 30;
};

// A trial whose command runs (or has just ended).
struct RunningTrial {
  using Clock = std::chrono::steady_clock;

  v1::Trial trial;
  pid_t pid = -1;  // of the shell, and of its process group
  int fd = -1;     // the read end of its stdout and stderr
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

class Runner {
 public:
  Runner(Client& client, Options options);

  // Runs trials until the experiment is over or STOPPED (0), the server
  // refuses for good (1), or hpoctl is interrupted (130).
  int Run();

 private:
  using Clock = RunningTrial::Clock;
  enum class Ask { kStarted, kWait, kDone, kError };

  void Log(const std::string& line);
  // The live status line, on a terminal only.
  void Status();

  // One turn of Run's loop, in order.
  void CheckSignal();
  // Once a second: has the experiment ended or been stopped elsewhere?
  void CheckExperiment();
  void AskForTrials();
  // Waits up to 100 ms for output, then serves each running trial.
  void PollTrials();
  // Output, timeouts, kills, heartbeats and the end of one trial; true when
  // it has ended and been reported.
  bool Serve(RunningTrial& r, short revents, Clock::time_point now);
  void Heartbeat(RunningTrial& r, Clock::time_point now);
  // The line that ends a run, and its exit code.
  int Summary();

  // Asks for a trial, and starts it.
  Ask Next();
  // Nothing to start now: what the server said, logged once while it stays
  // the same, so a waiting worker says why it waits without flooding.
  Ask Wait(const std::string& why);
  // The server refuses GetTrialConfig with FAILED_PRECONDITION: over, or
  // nothing to hand out while other trials run.
  Ask NothingToStart(const grpc::Status& status);
  bool Spawn(const v1::Trial& trial);
  // In the forked child: becomes the trial's command.
  [[noreturn]] void Exec(const v1::Trial& trial, const std::string& command,
                         const RunningTrial& r, int out_fd);
  // Reads what the command wrote; at `eof`, a last unterminated line too.
  void Pump(RunningTrial& r, bool eof);
  void HandleLine(RunningTrial& r, const std::string& line, bool from_file);
  void ReportIntermediate(RunningTrial& r,
                          const std::map<std::string, double>& values,
                          int step);
  // At `eof`, a last line without its newline too.
  void ReadMetricsFile(RunningTrial& r, bool eof = false);
  void Kill(RunningTrial& r, const std::string& state,
            const std::string& reason);
  void Finish(RunningTrial& r, int wait_status);
  // The result to report for a trial that ended, and the outcome to log.
  v1::ReportResultRequest Result(const RunningTrial& r, int wait_status,
                                 std::string* outcome);
  // Hands a killed trial back to the server (ReleaseTrial): WAITING at once,
  // to run again with the same parameters, here or at any worker.
  void Release(RunningTrial& r);

  Client& client_;
  Options options_;
  std::regex pattern_;
  bool tty_;
  std::vector<std::unique_ptr<RunningTrial>> running_;
  int completed_ = 0, failed_ = 0, pruned_ = 0, released_ = 0;
  std::string error_;
  std::string waiting_for_;

  // Run's state.
  bool done_ = false;
  bool interrupted_ = false;
  std::chrono::milliseconds wait_;  // before asking again after a kWait
  Clock::time_point next_ask_;
  Clock::time_point next_check_;
};

}  // namespace hpo::cli

#endif  // HPO_CLI_RUNNER_H_
