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

TEST_F(HpoctlTest, SigintStopsCleanlyAndRunResumes) {
  CreateExperiment("interrupt", "max_trials: 6 parallel_trials: 2");
  std::vector<std::string> args = Run("interrupt", "sleep 0.7; echo loss=${x}");
  Hpoctl p = StartHpoctl(server_, args);
  for (int i = 0; i < 200; ++i) {
    int completed = 0;
    for (const auto& t : Trials("interrupt")) {
      completed += t.state() == v1::Trial::COMPLETED;
    }
    if (completed >= 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(p.pid, SIGINT);
  EXPECT_EQ(p.Wait(), 130) << p.Output();
  std::vector<v1::Trial> before = Trials("interrupt");
  int completed_before = 0;
  for (const auto& t : before) {
    EXPECT_NE(t.state(), v1::Trial::RUNNING) << t.number();
    completed_before += t.state() == v1::Trial::COMPLETED;
  }
  EXPECT_GE(completed_before, 2);
  EXPECT_LT(before.size(), 6u);
  ASSERT_EQ(RunHpoctl(server_, args), 0);
  EXPECT_EQ(Get("interrupt").state(), v1::Experiment::COMPLETED);
  std::vector<v1::Trial> after = Trials("interrupt");
  EXPECT_EQ(after.size(), 6u);
  int completed_after = 0;
  for (const auto& t : after)
    completed_after += t.state() == v1::Trial::COMPLETED;
  EXPECT_GT(completed_after, completed_before);
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

}  // namespace
}  // namespace hpo::testing
