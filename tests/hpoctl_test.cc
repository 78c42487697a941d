// End-to-end tests of hpoctl: the real server, the real hpoctl binary, and real
// subprocess trials (small shell and Python scripts in testdata/hpoctl).

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "tests/server_process.h"
#include "tests/test_client.h"

namespace hpo::testing {
namespace {

std::string Runfile(const std::string& path) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return std::string(srcdir ? srcdir : ".") + "/" +
         (workspace ? workspace : "hpo") + "/" + path;
}

std::string Data(const std::string& name) {
  return Runfile("tests/testdata/hpoctl/" + name);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// An hpoctl process, its stdout and stderr in one file.
struct Hpoctl {
  pid_t pid = -1;
  std::string out_path;

  std::string Output() const { return ReadAll(out_path); }

  // The exit code (128 + signal when killed).
  int Wait() {
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
};

Hpoctl StartHpoctl(const ServerProcess& server,
                   const std::vector<std::string>& args) {
  static int counter = 0;
  Hpoctl p;
  p.out_path = TempPath("hpoctl-" + std::to_string(counter++) + ".out");
  std::vector<std::string> argv = {Runfile("cli/hpoctl"), "--server",
                                   server.address()};
  argv.insert(argv.end(), args.begin(), args.end());
  p.pid = ::fork();
  if (p.pid == 0) {
    int fd = ::open(p.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    ::execv(cargv[0], cargv.data());
    _exit(127);
  }
  return p;
}

// Waits for `p` at most `seconds`; kills it (and fails) past that, so that a
// hung hpoctl fails the test instead of hanging it.
int WaitAtMost(Hpoctl& p, int seconds) {
  for (int i = 0; i < seconds * 20; ++i) {
    int status = 0;
    if (::waitpid(p.pid, &status, WNOHANG) == p.pid) {
      p.pid = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "hpoctl still runs after " << seconds << " s:\n"
                << p.Output();
  ::kill(p.pid, SIGKILL);
  return p.Wait();
}

// True if `p` still runs.
bool Running(const Hpoctl& p) {
  int status = 0;
  return ::waitpid(p.pid, &status, WNOHANG) == 0;
}

int Lines(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

int RunHpoctl(const ServerProcess& server, const std::vector<std::string>& args,
              std::string* output = nullptr) {
  Hpoctl p = StartHpoctl(server, args);
  int code = p.Wait();
  std::string out = p.Output();
  if (output != nullptr) *output = out;
  if (code != 0) std::cerr << "hpoctl output:\n" << out;
  return code;
}

class HpoctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start());
    client_ = std::make_unique<TestClient>(server_.NewStub());
    stub_ = server_.NewStub();
    log_dir_ = TempPath("logs");
  }

  std::vector<v1::Trial> Trials(const std::string& exp) {
    grpc::ClientContext ctx;
    v1::ListTrialsRequest req;
    req.set_experiment(exp);
    req.set_page_size(1000);
    v1::ListTrialsResponse resp;
    EXPECT_TRUE(stub_->ListTrials(&ctx, req, &resp).ok());
    return {resp.trials().begin(), resp.trials().end()};
  }

  int CountState(const std::string& exp, v1::Trial::State state) {
    int n = 0;
    for (const auto& t : Trials(exp)) n += t.state() == state;
    return n;
  }

  bool Exists(const std::string& exp) {
    grpc::ClientContext ctx;
    v1::GetExperimentRequest req;
    req.set_name(exp);
    v1::Experiment e;
    return stub_->GetExperiment(&ctx, req, &e).ok();
  }

  v1::Experiment Get(const std::string& exp) {
    grpc::ClientContext ctx;
    v1::GetExperimentRequest req;
    req.set_name(exp);
    v1::Experiment e;
    EXPECT_TRUE(stub_->GetExperiment(&ctx, req, &e).ok());
    return e;
  }

  // An experiment over x in [0, 1] minimizing `loss`, plus `extra` text proto.
  void CreateExperiment(const std::string& name, const std::string& extra) {
    ASSERT_TRUE(client_
                    ->Create(ParseExperiment(
                        "name: '" + name +
                        "' parameters { name: 'x' double_range { min: 0 max: "
                        "1 } } objectives { name: 'loss' goal: MINIMIZE } " +
                        extra))
                    .ok());
  }

  std::vector<std::string> Run(const std::string& exp, const std::string& cmd,
                               std::vector<std::string> more = {}) {
    std::vector<std::string> args = {"run",
                                     "--name",
                                     exp,
                                     "--command",
                                     cmd,
                                     "--log-dir",
                                     log_dir_ + "/" + exp};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }

  ServerProcess server_;
  std::unique_ptr<TestClient> client_;
  std::unique_ptr<v1::HpoService::Stub> stub_;
  std::string log_dir_;
};

TEST_F(HpoctlTest, CreateFromOwnSpecAndManage) {
  std::string out;
  ASSERT_EQ(RunHpoctl(server_, {"create", "-f", Data("quadratic.yaml")}, &out),
            0);
  EXPECT_NE(out.find("quadratic"), std::string::npos);
  v1::Experiment e = Get("quadratic");
  EXPECT_EQ(e.parameters_size(), 2);
  EXPECT_EQ(e.max_trials(), 4);
  EXPECT_EQ(e.parallel_trials(), 2);
  ASSERT_EQ(RunHpoctl(server_, {"get", "quadratic"}, &out), 0);
  EXPECT_NE(out.find("\"maxTrials\": 4"), std::string::npos) << out;
  ASSERT_EQ(RunHpoctl(server_, {"list"}, &out), 0);
  EXPECT_NE(out.find("quadratic"), std::string::npos);
  ASSERT_EQ(RunHpoctl(server_, {"stop", "quadratic"}, &out), 0);
  EXPECT_EQ(Get("quadratic").state(), v1::Experiment::STOPPED);
  ASSERT_EQ(RunHpoctl(server_, {"resume", "quadratic"}, &out), 0);
  EXPECT_NE(Get("quadratic").state(), v1::Experiment::STOPPED);
  ASSERT_EQ(RunHpoctl(server_, {"trials", "quadratic"}, &out), 0);
  EXPECT_NE(out.find("NUMBER"), std::string::npos);
  ASSERT_EQ(RunHpoctl(server_, {"delete", "quadratic"}, &out), 0);
  EXPECT_NE(RunHpoctl(server_, {"get", "quadratic"}, &out), 0);
  EXPECT_NE(RunHpoctl(server_, {"create", "-f", Data("missing.yaml")}, &out),
            0);
}

TEST_F(HpoctlTest, RunSubstitutesParametersEveryWay) {
  std::string out;
  ASSERT_EQ(RunHpoctl(server_,
                      {"run", "-f", Data("quadratic.yaml"), "--log-dir",
                       log_dir_ + "/q"},
                      &out),
            0);
  EXPECT_EQ(Get("quadratic").state(), v1::Experiment::COMPLETED);
  std::vector<v1::Trial> trials = Trials("quadratic");
  ASSERT_EQ(trials.size(), 4u);
  for (const auto& t : trials) {
    ASSERT_EQ(t.state(), v1::Trial::COMPLETED) << t.failure_reason();
    double x = t.parameters().at("x").number_value();
    EXPECT_NEAR(t.metrics().at("loss"), x * x, 1e-4);
    EXPECT_NE(
        ReadAll(log_dir_ + "/q/trial-" + std::to_string(t.number()) + ".log")
            .find("loss="),
        std::string::npos);
  }
  ASSERT_EQ(
      RunHpoctl(server_, {"export", "quadratic", "--format", "csv"}, &out), 0);
  EXPECT_EQ(out.rfind("number,state,param.kind,param.x,metric.loss", 0), 0u)
      << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 5);
  ASSERT_EQ(
      RunHpoctl(server_, {"export", "quadratic", "--format", "json"}, &out), 0);
  EXPECT_NE(out.find("\"trials\""), std::string::npos);
  ASSERT_EQ(RunHpoctl(server_, {"best", "quadratic"}, &out), 0);
  EXPECT_NE(out.find("\"loss\""), std::string::npos);
  // Running it again resumes the finished experiment: nothing more to do.
  ASSERT_EQ(RunHpoctl(server_,
                      {"run", "-f", Data("quadratic.yaml"), "--log-dir",
                       log_dir_ + "/q"},
                      &out),
            0);
  EXPECT_EQ(Trials("quadratic").size(), 4u);
}

TEST_F(HpoctlTest, IntermediateValuesFromStdout) {
  CreateExperiment("steps", "max_trials: 1");
  ASSERT_EQ(
      RunHpoctl(server_, Run("steps", "python3 " + Data("steps.py") +
                                          " --start 10 --steps 3 --sleep 0")),
      0);
  std::vector<v1::Trial> trials = Trials("steps");
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].state(), v1::Trial::COMPLETED);
  EXPECT_DOUBLE_EQ(trials[0].metrics().at("loss"), 8);
  ASSERT_EQ(trials[0].intermediate_values_size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(trials[0].intermediate_values(i).step(), i);
    EXPECT_DOUBLE_EQ(trials[0].intermediate_values(i).metrics().at("loss"),
                     10 - i);
  }
}

TEST_F(HpoctlTest, CustomPatternAndMetricsFile) {
  CreateExperiment("file", "max_trials: 1");
  ASSERT_EQ(RunHpoctl(server_,
                      Run("file",
                          "echo 'loss=99 is noise'; for v in 5 4 3; do echo "
                          "\"loss: $v\" >> \"$HPO_METRICS_FILE\"; done",
                          {"--metrics-file", "metrics.txt", "--metrics-pattern",
                           R"(([\w-]+):\s*([+-]?\d+(\.\d+)?))"})),
            0);
  std::vector<v1::Trial> trials = Trials("file");
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].state(), v1::Trial::COMPLETED)
      << trials[0].failure_reason();
  EXPECT_DOUBLE_EQ(trials[0].metrics().at("loss"), 3);
  EXPECT_EQ(trials[0].intermediate_values_size(), 3);
}

TEST_F(HpoctlTest, PruningKillsTheProcess) {
  CreateExperiment("prune",
                   "max_trials: 1 early_stopping { name: 'threshold' settings "
                   "{ key: 'lower' value: '6.5' } }");
  auto start = std::chrono::steady_clock::now();
  // The script ignores SIGTERM: only the SIGKILL after the grace period ends
  // it.
  ASSERT_EQ(RunHpoctl(server_, Run("prune",
                                   "python3 " + Data("steps.py") +
                                       " --start 10 --steps 100 --sleep 0.1 "
                                       "--ignore-term",
                                   {"--grace-period", "1"})),
            0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(8));
  std::vector<v1::Trial> trials = Trials("prune");
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].state(), v1::Trial::PRUNED);
  EXPECT_GE(trials[0].intermediate_values_size(), 5);
  EXPECT_LT(trials[0].intermediate_values_size(), 30);
}

TEST_F(HpoctlTest, FailuresCarryTheOutputTail) {
  CreateExperiment("fail", "max_trials: 1");
  ASSERT_EQ(RunHpoctl(server_, Run("fail", "echo something broke; exit 3")), 0);
  std::vector<v1::Trial> trials = Trials("fail");
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].state(), v1::Trial::FAILED);
  EXPECT_NE(trials[0].failure_reason().find("exit status 3"),
            std::string::npos);
  EXPECT_NE(trials[0].failure_reason().find("something broke"),
            std::string::npos);

  CreateExperiment("nometric", "max_trials: 1");
  ASSERT_EQ(RunHpoctl(server_, Run("nometric", "echo accuracy=0.5")), 0);
  trials = Trials("nometric");
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].state(), v1::Trial::FAILED);
  EXPECT_NE(trials[0].failure_reason().find("loss"), std::string::npos);
}

TEST_F(HpoctlTest, TrialTimeoutFailsTheTrial) {
  CreateExperiment("slow", "max_trials: 1");
  auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(RunHpoctl(server_, Run("slow", "sleep 30; echo loss=1",
                                   {"--trial-timeout", "1"})),
            0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));
  std::vector<v1::Trial> trials = Trials("slow");
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].state(), v1::Trial::FAILED);
  EXPECT_NE(trials[0].failure_reason().find("timed out"), std::string::npos);
}

TEST_F(HpoctlTest, ExperimentDurationEndsItTimedOut) {
  CreateExperiment("duration", "max_duration { seconds: 2 }");
  auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(RunHpoctl(server_, Run("duration", "sleep 0.3; echo loss=${x}")),
            0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  EXPECT_EQ(Get("duration").state(), v1::Experiment::TIMED_OUT);
  for (const auto& t : Trials("duration")) {
    EXPECT_NE(t.state(), v1::Trial::RUNNING);
  }
}

TEST_F(HpoctlTest, SigintReleasesTrialsAndRunResumesThem) {
  CreateExperiment("interrupt",
                   "max_trials: 6 parallel_trials: 2 max_failed_trials: 1");
  std::vector<std::string> args = Run("interrupt", "sleep 0.7; echo loss=${x}");
  Hpoctl p = StartHpoctl(server_, args);
  // Interrupt once two trials completed and one runs.
  for (int i = 0; i < 400; ++i) {
    if (CountState("interrupt", v1::Trial::COMPLETED) >= 2 &&
        CountState("interrupt", v1::Trial::RUNNING) >= 1) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(p.pid, SIGINT);
  EXPECT_EQ(WaitAtMost(p, 30), 130) << p.Output();
  EXPECT_NE(p.Output().find("interrupted; released"), std::string::npos)
      << p.Output();
  // Nothing failed and nothing is held: the interrupted trials went back to
  // WAITING (ReleaseTrial), not FAILED towards max_failed_trials.
  std::map<int, double> released;
  int completed_before = 0;
  for (const auto& t : Trials("interrupt")) {
    EXPECT_NE(t.state(), v1::Trial::FAILED) << t.failure_reason();
    EXPECT_NE(t.state(), v1::Trial::RUNNING) << t.number();
    completed_before += t.state() == v1::Trial::COMPLETED;
    if (t.state() == v1::Trial::WAITING) {
      released[t.number()] = t.parameters().at("x").number_value();
    }
  }
  EXPECT_GE(completed_before, 2);
  EXPECT_GE(released.size(), 1u);
  EXPECT_EQ(Get("interrupt").status().failed(), 0);
  EXPECT_NE(::access((log_dir_ + "/interrupt/handed-back").c_str(), F_OK), 0)
      << "no state is left for the next run: the server has it";

  // The next run gets them first, runs them again with the same parameters,
  // and finishes the experiment: max_trials completed, none failed.
  std::string out;
  ASSERT_EQ(RunHpoctl(server_, args, &out), 0);
  for (const auto& [number, x] : released) {
    EXPECT_NE(out.find("trial " + std::to_string(number) + " started"),
              std::string::npos)
        << out;
  }
  v1::Experiment e = Get("interrupt");
  EXPECT_EQ(e.state(), v1::Experiment::COMPLETED) << e.status().message();
  EXPECT_EQ(e.status().failed(), 0);
  EXPECT_EQ(e.status().completed(), 6);
  std::vector<v1::Trial> after = Trials("interrupt");
  EXPECT_EQ(after.size(), 6u);
  for (const auto& t : after) {
    EXPECT_EQ(t.state(), v1::Trial::COMPLETED) << t.number();
    auto it = released.find(t.number());
    if (it != released.end()) {
      EXPECT_EQ(t.parameters().at("x").number_value(), it->second);
      EXPECT_NEAR(t.metrics().at("loss"), it->second, 1e-4);
    }
  }
}

TEST_F(HpoctlTest, StopReleasesTrialsAndRunResumesThem) {
  CreateExperiment("pause", "max_trials: 2 max_failed_trials: 1");
  // Long enough that the stop, seen within a second, comes first.
  Hpoctl p = StartHpoctl(
      server_, Run("pause", "sleep 10; echo loss=${x}", {"--parallel", "1"}));
  for (int i = 0; i < 400; ++i) {
    if (CountState("pause", v1::Trial::RUNNING) == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::string out;
  ASSERT_EQ(RunHpoctl(server_, {"stop", "pause"}, &out), 0);
  // STOPPED is resumable: hpoctl ends, its trial released, not failed.
  EXPECT_EQ(WaitAtMost(p, 30), 0) << p.Output();
  EXPECT_NE(p.Output().find("experiment stopped; released"), std::string::npos)
      << p.Output();
  EXPECT_EQ(Get("pause").status().failed(), 0);
  EXPECT_EQ(CountState("pause", v1::Trial::FAILED), 0);
  EXPECT_EQ(CountState("pause", v1::Trial::WAITING), 1);
  // `run` resumes the experiment and runs the trial again.
  ASSERT_EQ(
      RunHpoctl(server_, Run("pause", "echo loss=${x}", {"--parallel", "1"}),
                &out),
      0);
  EXPECT_NE(out.find("trial 0 started"), std::string::npos) << out;
  EXPECT_EQ(Get("pause").state(), v1::Experiment::COMPLETED);
  EXPECT_EQ(Get("pause").status().failed(), 0);
  EXPECT_EQ(CountState("pause", v1::Trial::COMPLETED), 2);
  EXPECT_EQ(Trials("pause").size(), 2u);
}

TEST_F(HpoctlTest, TrialReleasedByOneWorkerRunsAtAnotherAtOnce) {
  // A lease far longer than the test: only the release can hand the trial to
  // the other worker in time.
  CreateExperiment("handover", "max_trials: 2 trial_lease { seconds: 600 }");
  Hpoctl a = StartHpoctl(
      server_, {"worker", "handover", "--command", "sleep 30; echo loss=${x}",
                "--worker-id", "a", "--log-dir", log_dir_ + "/a"});
  for (int i = 0; i < 400; ++i) {
    if (CountState("handover", v1::Trial::RUNNING) == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::vector<v1::Trial> trials = Trials("handover");
  ASSERT_EQ(trials.size(), 1u) << a.Output();
  ASSERT_EQ(trials[0].state(), v1::Trial::RUNNING);
  const int held = trials[0].number();
  const double x = trials[0].parameters().at("x").number_value();
  // b runs the other trial, then waits: a holds the last one.
  Hpoctl b =
      StartHpoctl(server_, {"worker", "handover", "--command", "echo loss=${x}",
                            "--worker-id", "b", "--log-dir", log_dir_ + "/b"});
  for (int i = 0; i < 400; ++i) {
    if (CountState("handover", v1::Trial::COMPLETED) == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(CountState("handover", v1::Trial::COMPLETED), 1) << b.Output();
  EXPECT_TRUE(Running(b)) << b.Output();

  const auto start = std::chrono::steady_clock::now();
  ::kill(a.pid, SIGTERM);
  EXPECT_EQ(WaitAtMost(a, 30), 130) << a.Output();
  EXPECT_NE(a.Output().find("trial " + std::to_string(held) +
                            ": interrupted; released"),
            std::string::npos)
      << a.Output();
  EXPECT_EQ(WaitAtMost(b, 30), 0) << b.Output();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(8))
      << b.Output();
  v1::Experiment e = Get("handover");
  EXPECT_EQ(e.state(), v1::Experiment::COMPLETED);
  EXPECT_EQ(e.status().completed(), 2);
  EXPECT_EQ(e.status().failed(), 0);
  for (const auto& t : Trials("handover")) {
    EXPECT_EQ(t.state(), v1::Trial::COMPLETED) << t.failure_reason();
    EXPECT_EQ(t.worker_id().substr(0, 2), "b-");
    if (t.number() == held) {
      EXPECT_EQ(t.parameters().at("x").number_value(), x);
      EXPECT_NEAR(t.metrics().at("loss"), x, 1e-4);
    }
  }
}

TEST_F(HpoctlTest, WorkerWaitsWhileOtherWorkersHoldTheTrials) {
  // A short lease, shorter than b's wait: only a's heartbeats (at a third of
  // it) keep a's trials meanwhile.
  CreateExperiment("waiting", "max_trials: 2 trial_lease { seconds: 2 }");
  Hpoctl a =
      StartHpoctl(server_, {"worker", "waiting", "--parallel", "2", "--command",
                            "sleep 30; echo loss=${x}", "--worker-id", "a",
                            "--log-dir", log_dir_ + "/a"});
  for (int i = 0; i < 400; ++i) {
    if (CountState("waiting", v1::Trial::RUNNING) == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(CountState("waiting", v1::Trial::RUNNING), 2) << a.Output();
  // Worker b finds both max_trials handed out: it must wait, not exit.
  Hpoctl b = StartHpoctl(
      server_, {"worker", "waiting", "--command", "sleep 0.3; echo loss=${x}",
                "--worker-id", "b", "--log-dir", log_dir_ + "/b"});
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_TRUE(Running(b)) << b.Output();
  EXPECT_EQ(CountState("waiting", v1::Trial::RUNNING), 2)
      << "a's heartbeats keep its trials";
  ::kill(a.pid, SIGTERM);
  EXPECT_EQ(WaitAtMost(a, 30), 130) << a.Output();
  // a releases its trials; b runs them and exits 0 once the experiment is
  // COMPLETED.
  EXPECT_EQ(WaitAtMost(b, 60), 0) << b.Output();
  EXPECT_NE(b.Output().find("waiting: "), std::string::npos) << b.Output();
  v1::Experiment e = Get("waiting");
  EXPECT_EQ(e.state(), v1::Experiment::COMPLETED);
  EXPECT_EQ(e.status().failed(), 0);
  std::vector<v1::Trial> trials = Trials("waiting");
  ASSERT_EQ(trials.size(), 2u);
  for (const auto& t : trials) {
    EXPECT_EQ(t.state(), v1::Trial::COMPLETED) << t.failure_reason();
    EXPECT_EQ(t.worker_id().substr(0, 2), "b-");
  }
}

TEST_F(HpoctlTest, TwoWorkersShareOneExperiment) {
  CreateExperiment("shared", "max_trials: 10");
  std::vector<Hpoctl> workers;
  for (const std::string id : {"w1", "w2"}) {
    workers.push_back(StartHpoctl(
        server_, {"worker", "shared", "--command", "sleep 0.3; echo loss=${x}",
                  "--worker-id", id, "--log-dir", log_dir_ + "/" + id}));
  }
  for (auto& w : workers) EXPECT_EQ(w.Wait(), 0) << w.Output();
  std::vector<v1::Trial> trials = Trials("shared");
  ASSERT_EQ(trials.size(), 10u);
  std::set<int> numbers;
  std::set<std::string> seen;
  std::set<double> xs;
  for (const auto& t : trials) {
    EXPECT_EQ(t.state(), v1::Trial::COMPLETED);
    numbers.insert(t.number());
    seen.insert(t.worker_id().substr(0, 2));
    xs.insert(t.parameters().at("x").number_value());
  }
  EXPECT_EQ(numbers.size(), 10u);
  EXPECT_EQ(xs.size(), 10u);
  EXPECT_EQ(seen, (std::set<std::string>{"w1", "w2"}));
  EXPECT_EQ(Get("shared").state(), v1::Experiment::COMPLETED);
}

// Identical workers given one spec (a Kubernetes Job's pods): the first to
// ask creates the experiment, the others join it, and together they run it.
TEST_F(HpoctlTest, WorkersGivenOneSpecCreateOrJoinIt) {
  const std::string spec = TempPath("workers-spec.yaml");
  std::ofstream(spec) << "name: from-spec\n"
                         "parameters:\n"
                         "  - name: x\n"
                         "    doubleRange: {min: -2, max: 2}\n"
                         "objectives: [{name: loss, goal: MINIMIZE}]\n"
                         "maxTrials: 9\n"
                         "parallelTrials: 3\n"
                         "command: sleep 0.5; echo loss=${trialParameters.x}\n";
  std::vector<Hpoctl> workers;
  for (const std::string id : {"pod-0", "pod-1", "pod-2"}) {
    workers.push_back(
        StartHpoctl(server_, {"worker", "-f", spec, "--worker-id", id,
                              "--log-dir", log_dir_ + "/" + id}));
  }
  int created = 0, joined = 0;
  for (auto& w : workers) {
    EXPECT_EQ(w.Wait(), 0) << w.Output();
    const std::string out = w.Output();
    created += out.find("created experiment from-spec") != std::string::npos;
    joined += out.find("joining experiment from-spec") != std::string::npos;
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(joined, 2);
  std::vector<v1::Trial> trials = Trials("from-spec");
  ASSERT_EQ(trials.size(), 9u);
  std::set<std::string> pods;
  for (const auto& t : trials) {
    EXPECT_EQ(t.state(), v1::Trial::COMPLETED) << t.failure_reason();
    pods.insert(t.worker_id().substr(0, 5));
  }
  EXPECT_GE(pods.size(), 2u);  // 4.5 s of trials for one: the others join
  EXPECT_EQ(Get("from-spec").state(), v1::Experiment::COMPLETED);

  // A worker needs an experiment: a name or a spec.
  std::string out;
  EXPECT_EQ(RunHpoctl(server_, {"worker", "--command", "true"}, &out), 1);
  EXPECT_NE(out.find("EXPERIMENT or -f SPEC is required"), std::string::npos)
      << out;
}

TEST_F(HpoctlTest, NniConfigWithSearchSpaceFile) {
  ASSERT_EQ(RunHpoctl(server_, {"run", "-f", Data("nni-config.yaml"),
                                "--log-dir", log_dir_ + "/nni"}),
            0);
  std::vector<v1::Trial> trials = Trials("nni-quadratic");
  ASSERT_EQ(trials.size(), 3u);
  for (const auto& t : trials) {
    EXPECT_EQ(t.state(), v1::Trial::COMPLETED) << t.failure_reason();
  }
}

TEST_F(HpoctlTest, KatibIrisFromKatibYaml) {
  if (std::system("python3 -c 'import sklearn' 2>/dev/null") != 0) {
    GTEST_SKIP() << "scikit-learn is not installed";
  }
  std::string out;
  ASSERT_EQ(RunHpoctl(server_,
                      {"run", "-f", Data("katib-iris.yaml"), "--log-dir",
                       log_dir_ + "/iris"},
                      &out),
            0);
  std::vector<v1::Trial> trials = Trials("katib-iris");
  ASSERT_EQ(trials.size(), 4u);
  for (const auto& t : trials) {
    ASSERT_EQ(t.state(), v1::Trial::COMPLETED) << t.failure_reason();
    EXPECT_GE(t.metrics().at("accuracy"), 0.0);
    EXPECT_LE(t.metrics().at("accuracy"), 1.0);
  }
  ASSERT_EQ(RunHpoctl(server_, {"best", "katib-iris"}, &out), 0);
  EXPECT_NE(out.find("accuracy"), std::string::npos);
}

TEST_F(HpoctlTest, ListShowsWhichAlgorithmAutoPicked) {
  std::string out;
  ASSERT_EQ(RunHpoctl(server_,
                      Run("picked", "echo loss=${x}",
                          {"--param", "x=double:0:1", "--objective",
                           "loss:minimize", "--max-trials", "2"}),
                      &out),
            0)
      << out;
  EXPECT_EQ(Get("picked").algorithm().name(), "auto");
  ASSERT_EQ(RunHpoctl(server_, {"list"}, &out), 0);
  EXPECT_NE(out.find("auto (gp)"), std::string::npos) << out;
}

TEST_F(HpoctlTest, RunCreatesTheExperimentFromFlags) {
  const std::vector<std::string> space = {
      "--param",      "lr=double:1e-4:1e-1:log",
      "--param",      "layers=int:1:4",
      "--param",      "opt=categorical:sgd,adam",
      "--param",      "batch=discrete:16,32,64",
      "--objective",  "loss:minimize",
      "--max-trials", "4",
      "--parallel",   "2",
      "--algorithm",  "tpe"};
  const std::string cmd =
      "echo \"layers=${trialParameters.layers} opt=${opt} batch=${batch}\"; "
      "echo loss=${trialParameters.lr}";
  std::string out;
  ASSERT_EQ(RunHpoctl(server_, Run("flags", cmd, space), &out), 0);
  EXPECT_NE(out.find("created experiment flags"), std::string::npos) << out;
  v1::Experiment e = Get("flags");
  ASSERT_EQ(e.parameters_size(), 4);
  EXPECT_EQ(e.parameters(0).name(), "lr");
  EXPECT_DOUBLE_EQ(e.parameters(0).double_range().min(), 1e-4);
  EXPECT_DOUBLE_EQ(e.parameters(0).double_range().max(), 1e-1);
  EXPECT_TRUE(e.parameters(0).double_range().log());
  EXPECT_EQ(e.parameters(1).int_range().max(), 4);
  EXPECT_EQ(e.parameters(2).categorical().values_size(), 2);
  EXPECT_EQ(e.parameters(3).discrete().values_size(), 3);
  ASSERT_EQ(e.objectives_size(), 1);
  EXPECT_EQ(e.objectives(0).goal(), v1::Objective::MINIMIZE);
  EXPECT_EQ(e.max_trials(), 4);
  EXPECT_EQ(e.parallel_trials(), 2);
  EXPECT_EQ(e.algorithm().name(), "tpe");
  EXPECT_EQ(e.state(), v1::Experiment::COMPLETED);
  std::vector<v1::Trial> trials = Trials("flags");
  ASSERT_EQ(trials.size(), 4u);
  for (const auto& t : trials) {
    ASSERT_EQ(t.state(), v1::Trial::COMPLETED) << t.failure_reason();
    const double lr = t.parameters().at("lr").number_value();
    EXPECT_NEAR(t.metrics().at("loss"), lr, lr * 1e-5);
    EXPECT_DOUBLE_EQ(t.metrics().at("layers"),
                     t.parameters().at("layers").number_value());
    EXPECT_DOUBLE_EQ(t.metrics().at("batch"),
                     t.parameters().at("batch").number_value());
  }

  // The same line again resumes it: nothing more to run.
  ASSERT_EQ(RunHpoctl(server_, Run("flags", cmd, space), &out), 0);
  EXPECT_NE(out.find("resuming experiment flags"), std::string::npos) << out;
  EXPECT_EQ(Trials("flags").size(), 4u);
  // A limit that differs is ignored with a warning.
  std::vector<std::string> more = space;
  more[11] = "9";  // --max-trials
  ASSERT_EQ(RunHpoctl(server_, Run("flags", cmd, more), &out), 0);
  EXPECT_NE(out.find("warning: experiment \"flags\" exists with max_trials 4; "
                     "--max-trials 9 is ignored"),
            std::string::npos)
      << out;
  EXPECT_EQ(Get("flags").max_trials(), 4);
  // A search space that differs is refused, naming the flag and both.
  more = space;
  more[1] = "lr=double:1e-3:1e-1:log";
  EXPECT_EQ(RunHpoctl(server_, Run("flags", cmd, more), &out), 1);
  EXPECT_EQ(out,
            "hpoctl: run: --param lr=double:0.001:0.1:log: experiment "
            "\"flags\" exists with lr=double:0.0001:0.1:log\n");
  more = space;
  more[9] = "loss:maximize";
  EXPECT_EQ(RunHpoctl(server_, Run("flags", cmd, more), &out), 1);
  EXPECT_NE(out.find("--objective loss:maximize"), std::string::npos) << out;
}

TEST_F(HpoctlTest, RunFlagErrorsNameTheFlagAndCreateNothing) {
  struct Case {
    std::vector<std::string> flags;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--param", "lr=double:1e-4", "--objective", "loss:minimize"},
       "hpoctl: run: --param \"lr=double:1e-4\": expected double:MIN:MAX or "
       "double:MIN:MAX:log\n"},
      {{"--param", "lr=double:a:1", "--objective", "loss:minimize"},
       "hpoctl: run: --param \"lr=double:a:1\": MIN \"a\" is not a number\n"},
      {{"--param", "n=int:1:2.5", "--objective", "loss:minimize"},
       "hpoctl: run: --param \"n=int:1:2.5\": MAX \"2.5\" is not a whole "
       "number\n"},
      {{"--param", "lr=real:0:1", "--objective", "loss:minimize"},
       "hpoctl: run: --param \"lr=real:0:1\": unknown type \"real\" (known: "
       "double, int, categorical, discrete)\n"},
      {{"--param", "lr", "--objective", "loss:minimize"},
       "hpoctl: run: --param \"lr\": expected NAME=double:MIN:MAX[:log], "
       "NAME=int:MIN:MAX[:log], NAME=categorical:A,B,... or "
       "NAME=discrete:V1,V2,...\n"},
      {{"--param", "lr=double:0:1", "--objective", "loss"},
       "hpoctl: run: --objective \"loss\": expected NAME:minimize or "
       "NAME:maximize\n"},
      {{"--param", "lr=double:0:1", "--objective", "loss:minimize",
        "--max-trials", "0"},
       "hpoctl: run: --max-trials \"0\": expected a whole number >= 1\n"},
      {{"--param", "lr=double:0:1"},
       "hpoctl: run: --objective is required to create experiment \"bad\"\n"},
      {{},
       "hpoctl: run: experiment \"bad\" does not exist; describe it with "
       "--param NAME=TYPE:... and --objective NAME:minimize|maximize, or give "
       "a spec with -f\n"},
  };
  for (const Case& c : cases) {
    std::string out;
    EXPECT_EQ(RunHpoctl(server_, Run("bad", "echo loss=1", c.flags), &out), 1);
    EXPECT_EQ(out, c.message);
  }
  std::string out;
  EXPECT_EQ(RunHpoctl(server_,
                      Run("bad", "echo loss=1",
                          {"--metrics-pattern", "(", "--param", "x=double:0:1",
                           "--objective", "loss:minimize"}),
                      &out),
            1);
  EXPECT_EQ(out.rfind("hpoctl: run: metrics pattern \"(\": not a valid "
                      "regular expression",
                      0),
            0u)
      << out;
  EXPECT_EQ(
      RunHpoctl(server_,
                Run("bad", "echo loss=1", {"--metrics-pattern", "loss=(\\d+)"}),
                &out),
      1);
  EXPECT_EQ(out,
            "hpoctl: run: metrics pattern \"loss=(\\d+)\": needs two groups, "
            "the name and the value\n");
  // What only the server checks comes back naming the flag.
  EXPECT_EQ(RunHpoctl(server_,
                      Run("bad", "echo loss=1",
                          {"--param", "x=double:0:1", "--param",
                           "lr=double:1:0", "--objective", "loss:minimize"}),
                      &out),
            1);
  EXPECT_EQ(out,
            "hpoctl: run: --param \"lr=double:1:0\": double_range.min: must "
            "be <= max (min 1, max 0)\n");
  EXPECT_EQ(RunHpoctl(server_,
                      Run("bad", "echo loss=1",
                          {"--param", "x=double:0:1", "--objective",
                           "loss:minimize", "--algorithm", "nosuch"}),
                      &out),
            1);
  EXPECT_EQ(Lines(out), 1) << out;
  EXPECT_EQ(out.rfind("hpoctl: run: --algorithm \"nosuch\": ", 0), 0u) << out;
  EXPECT_FALSE(Exists("bad"));
}

TEST_F(HpoctlTest, UnknownTemplateParameterIsRefusedBeforeAnyTrial) {
  CreateExperiment("typo", "max_trials: 2");
  std::string out;
  EXPECT_EQ(
      RunHpoctl(server_, Run("typo", "echo loss=${trialParameters.y}"), &out),
      1);
  EXPECT_EQ(out,
            "hpoctl: run: the command names ${trialParameters.y}, but "
            "experiment \"typo\" has no parameter y (it has: x)\n");
  EXPECT_TRUE(Trials("typo").empty());
}

TEST_F(HpoctlTest, UnreachableServerIsOneClearLine) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"list"},
        std::vector<std::string>{"run", "--name", "x", "--command",
                                 "echo loss=1"},
        std::vector<std::string>{"worker", "x", "--command", "echo loss=1"}}) {
    std::vector<std::string> with = args;
    with.insert(with.end(), {"--server", "127.0.0.1:1"});
    std::string out;
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(RunHpoctl(server_, with, &out), 1);
    EXPECT_LT(std::chrono::steady_clock::now() - start,
              std::chrono::seconds(10));
    EXPECT_EQ(Lines(out), 1) << out;
    EXPECT_EQ(out.rfind("hpoctl: " + args[0] +
                            ": cannot reach the hpo server at 127.0.0.1:1 (",
                        0),
              0u)
        << out;
    EXPECT_NE(out.find("set --server HOST:PORT or $HPO_SERVER"),
              std::string::npos)
        << out;
  }
}

TEST_F(HpoctlTest, SpecErrorNamesTheFileAndTheField) {
  std::string out;
  EXPECT_EQ(RunHpoctl(server_, {"run", "-f", Data("nni-bad.yaml")}, &out), 1);
  EXPECT_EQ(Lines(out), 1) << out;
  EXPECT_EQ(out.rfind("hpoctl: run: " + Data("nni-bad.yaml") + ": ", 0), 0u)
      << out;
  EXPECT_NE(out.find("x._type: unknown _type \"uniformish\""),
            std::string::npos)
      << out;
  EXPECT_EQ(RunHpoctl(server_, {"create", "-f", Data("nni-bad.yaml")}, &out),
            1);
  EXPECT_EQ(out.rfind("hpoctl: create: " + Data("nni-bad.yaml") +
                          ": searchSpace.x._type: unknown _type",
                      0),
            0u)
      << out;
  EXPECT_FALSE(Exists("nni-bad"));
  // hpo's own format, parsed by hpoctl itself, says it the same way.
  EXPECT_EQ(RunHpoctl(server_, {"run", "-f", Data("bad-own.yaml")}, &out), 1);
  EXPECT_EQ(out, "hpoctl: run: " + Data("bad-own.yaml") +
                     ": parameters[0].doubleRang: unknown field\n");
  EXPECT_FALSE(Exists("bad-own"));
  // A list where a single value belongs: an error at its place (hpoctl
  // used to end with an uncaught yaml-cpp exception).
  const std::string wrong_type = TempPath("wrong-type.yaml");
  {
    std::ofstream file(wrong_type);
    file << "name: wrong\nkind: [1, 2]\n";
  }
  EXPECT_EQ(RunHpoctl(server_, {"create", "-f", wrong_type}, &out), 1);
  EXPECT_EQ(out, "hpoctl: create: " + wrong_type +
                     ": line 2, column 7: bad conversion (a list or mapping "
                     "where a single value belongs)\n");
}

TEST_F(HpoctlTest, NniFinalResultAsBareNumberOrJson) {
  // The last line of output, a bare number, is the final `default`; the
  // default=5 before it was an intermediate value.
  ASSERT_EQ(RunHpoctl(server_, {"run", "-f", Data("nni-final-result.yaml"),
                                "--log-dir", log_dir_ + "/nni-final"}),
            0);
  std::vector<v1::Trial> trials = Trials("nni-final");
  ASSERT_EQ(trials.size(), 2u);
  for (const auto& t : trials) {
    ASSERT_EQ(t.state(), v1::Trial::COMPLETED) << t.failure_reason();
    EXPECT_NEAR(t.metrics().at("default"),
                t.parameters().at("x").number_value(), 1e-5);
    ASSERT_EQ(t.intermediate_values_size(), 1);
    EXPECT_EQ(t.intermediate_values(0).metrics().at("default"), 5);
  }
  // A metrics file whose last line is a JSON object (no newline at its end),
  // as nni.report_final_result({"default": ..., ...}) writes it.
  ASSERT_EQ(
      RunHpoctl(server_, {"run", "-f", Data("nni-final-result.yaml"), "--name",
                          "nni-json", "--log-dir", log_dir_ + "/nni-json",
                          "--metrics-file", "metrics.json", "--command",
                          "echo 0.5; printf '{\"default\": %s, \"other\": 7}' "
                          "${x} > \"$HPO_METRICS_FILE\""}),
      0);
  trials = Trials("nni-json");
  ASSERT_EQ(trials.size(), 2u);
  for (const auto& t : trials) {
    ASSERT_EQ(t.state(), v1::Trial::COMPLETED) << t.failure_reason();
    EXPECT_NEAR(t.metrics().at("default"),
                t.parameters().at("x").number_value(), 1e-5);
    EXPECT_EQ(t.metrics().at("other"), 7);
  }
  // hpo's own specs keep to name=value: a bare number is no result.
  CreateExperiment("bare", "max_trials: 1");
  ASSERT_EQ(RunHpoctl(server_, Run("bare", "echo 0.5")), 0);
  trials = Trials("bare");
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].state(), v1::Trial::FAILED);
  EXPECT_NE(trials[0].failure_reason().find("no value for objective"),
            std::string::npos);
}

TEST_F(HpoctlTest, T9kAutoTuneExperiment) {
  std::string out;
  ASSERT_EQ(RunHpoctl(server_,
                      {"run", "-f", Data("t9k-autotune.yaml"), "--log-dir",
                       log_dir_ + "/t9k"},
                      &out),
            0);
  v1::Experiment e = Get("t9k-quadratic");
  EXPECT_EQ(e.state(), v1::Experiment::COMPLETED);
  EXPECT_EQ(e.algorithm().name(), "tpe");
  EXPECT_EQ(e.parallel_trials(), 2);
  EXPECT_EQ(e.objectives(0).name(), "default");
  EXPECT_EQ(e.objectives(0).goal(), v1::Objective::MINIMIZE);
  std::vector<v1::Trial> trials = Trials("t9k-quadratic");
  ASSERT_EQ(trials.size(), 3u);
  for (const auto& t : trials) {
    ASSERT_EQ(t.state(), v1::Trial::COMPLETED) << t.failure_reason();
    const double lr = t.parameters().at("learning_rate").number_value();
    const double batch = t.parameters().at("batch_size").number_value();
    EXPECT_NEAR(t.metrics().at("default"),
                (lr - 0.01) * (lr - 0.01) + batch / 1e5, 1e-6);
  }
}

}  // namespace
}  // namespace hpo::testing
