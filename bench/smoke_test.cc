// The benchmark's CI smoke test: runs the real run_hpo binary on two problems
// (one continuous, one conditional) for 5 trials with every registered sampler
// and checks the JSON traces it writes. No Python involved.

#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bench/problems.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "samplers/registry.h"

namespace hpo::bench {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

constexpr int kBudget = 5;
const std::vector<std::string> kProblems = {"branin", "cond_mix"};

std::string Runner() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return std::string(srcdir ? srcdir : ".") + "/" +
         (workspace ? workspace : "hpo") + "/bench/run_hpo";
}

std::string TmpDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return std::string(tmp ? tmp : "/tmp") + "/" + name;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs the binary; its exit code.
int RunBinary(const std::string& args) {
  const std::string command = Runner() + " " + args;
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Struct Parse(const std::string& json) {
  Struct s;
  auto status = google::protobuf::util::JsonStringToMessage(json, &s);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << json;
  return s;
}

std::vector<double> Numbers(const Struct& s, const std::string& key) {
  std::vector<double> out;
  for (const Value& v : s.fields().at(key).list_value().values()) {
    out.push_back(v.number_value());
  }
  return out;
}

std::vector<Struct> ReadTraces(const std::string& dir,
                               const std::string& problem,
                               const std::string& sampler) {
  const std::string path =
      absl::StrCat(dir, "/", problem, "__hpo-", sampler, ".jsonl");
  std::vector<Struct> traces;
  for (absl::string_view line :
       absl::StrSplit(ReadFile(path), '\n', absl::SkipEmpty())) {
    traces.push_back(Parse(std::string(line)));
  }
  return traces;
}

class SmokeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string common = absl::StrCat(
        "--problems=branin,cond_mix --samplers=all --seeds=0,1 --budgets=",
        kBudget, " --keep_params --quiet --out_dir=");
    first_exit_ = RunBinary(common + TmpDir("first"));
    second_exit_ = RunBinary(common + TmpDir("second"));
  }
  static int first_exit_;
  static int second_exit_;
};
int SmokeTest::first_exit_ = -1;
int SmokeTest::second_exit_ = -1;

TEST_F(SmokeTest, RunnerSucceeds) {
  EXPECT_EQ(first_exit_, 0);
  EXPECT_EQ(second_exit_, 0);
}

TEST_F(SmokeTest, ListsEveryRegisteredSamplerAndProblem) {
  const std::string out = TmpDir("list.json");
  ASSERT_EQ(RunBinary("--list > " + out), 0);
  const Struct list = Parse(ReadFile(out));
  std::vector<std::string> samplers;
  for (const Value& v : list.fields().at("samplers").list_value().values()) {
    samplers.push_back(v.string_value());
  }
  EXPECT_EQ(samplers, SamplerNames());
  EXPECT_EQ(list.fields().at("problems").list_value().values_size(),
            static_cast<int>(Problems().size()));
}

TEST_F(SmokeTest, EverySamplerWritesWellFormedTraces) {
  ASSERT_FALSE(SamplerNames().empty());
  for (const std::string& problem_name : kProblems) {
    const Problem* problem = FindProblem(problem_name);
    ASSERT_NE(problem, nullptr);
    for (const std::string& sampler : SamplerNames()) {
      SCOPED_TRACE(problem_name + " " + sampler);
      const std::vector<Struct> traces =
          ReadTraces(TmpDir("first"), problem_name, sampler);
      ASSERT_EQ(traces.size(), 2u);  // two seeds, one budget
      std::set<double> seeds;
      for (const Struct& t : traces) {
        const auto& f = t.fields();
        EXPECT_EQ(f.at("format").string_value(), "hpo-bench-trace/1");
        EXPECT_EQ(f.at("problem").string_value(), problem_name);
        EXPECT_EQ(f.at("method").string_value(), "hpo/" + sampler);
        EXPECT_EQ(f.at("budget").number_value(), kBudget);
        EXPECT_EQ(f.at("optimum").number_value(), problem->optimum);
        seeds.insert(f.at("seed").number_value());
        const std::string status = f.at("status").string_value();
        const int n = static_cast<int>(f.at("n_trials").number_value());
        if (status == "unsupported") {
          EXPECT_FALSE(f.at("message").string_value().empty());
          EXPECT_EQ(n, 0);
          // Every algorithm handles a 2-D box.
          EXPECT_NE(problem_name, "branin") << f.at("message").string_value();
          continue;
        }
        ASSERT_TRUE(status == "ok" || status == "exhausted") << status;
        if (status == "ok") {
          EXPECT_EQ(n, kBudget);
        }
        EXPECT_GE(n, 1);
        const std::vector<double> values = Numbers(t, "values");
        const std::vector<double> best = Numbers(t, "best");
        const std::vector<double> regret = Numbers(t, "regret");
        const std::vector<double> seconds = Numbers(t, "suggest_seconds");
        ASSERT_EQ(values.size(), static_cast<size_t>(n));
        ASSERT_EQ(best.size(), values.size());
        ASSERT_EQ(regret.size(), values.size());
        ASSERT_EQ(seconds.size(), values.size());
        for (size_t i = 0; i < values.size(); ++i) {
          EXPECT_TRUE(std::isfinite(values[i]));
          EXPECT_LE(best[i], values[i]);
          if (i > 0) {
            EXPECT_LE(best[i], best[i - 1]);
          }
          EXPECT_DOUBLE_EQ(regret[i], best[i] - problem->optimum);
          EXPECT_GE(regret[i], -1e-9);
          EXPECT_GE(seconds[i], 0);
        }
        EXPECT_EQ(f.at("final_regret").number_value(), regret.back());

        // The trials' parameters: exactly the active ones, each legal, and
        // the value is the problem's at them.
        const auto& params = f.at("params").list_value().values();
        ASSERT_EQ(params.size(), n);
        for (int i = 0; i < n; ++i) {
          NamedParams named;
          for (const auto& [k, v] : params[i].struct_value().fields()) {
            if (v.kind_case() == Value::kStringValue) {
              named[k] = v.string_value();
            } else {
              named[k] = v.number_value();
            }
          }
          if (problem_name == "cond_mix") {
            const std::string branch = std::get<std::string>(named.at("branch"));
            const size_t expected = branch == "branin"            ? 3
                                    : branch == "styblinski_tang" ? 4
                                                                  : 3;
            EXPECT_EQ(named.size(), expected) << branch;
          } else {
            EXPECT_EQ(named.size(), 2u);
          }
          EXPECT_EQ(problem->evaluate(named), values[static_cast<size_t>(i)]);
        }
      }
      EXPECT_EQ(seeds.size(), 2u);
    }
  }
}

TEST_F(SmokeTest, SameSeedSameTrials) {
  for (const std::string& problem_name : kProblems) {
    for (const std::string& sampler : SamplerNames()) {
      SCOPED_TRACE(problem_name + " " + sampler);
      const std::vector<Struct> a =
          ReadTraces(TmpDir("first"), problem_name, sampler);
      const std::vector<Struct> b =
          ReadTraces(TmpDir("second"), problem_name, sampler);
      ASSERT_EQ(a.size(), b.size());
      for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(Numbers(a[i], "values"), Numbers(b[i], "values"));
      }
    }
  }
}

}  // namespace
}  // namespace hpo::bench
