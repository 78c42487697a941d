#include "cli/param_flags.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace hpo::cli {
namespace {

Args Flags(std::vector<std::pair<std::string, std::string>> flags) {
  Args args;
  for (const auto& [k, v] : flags) args.flags[k].push_back(v);
  return args;
}

// The flag parsed, then printed back.
std::string RoundTrip(const std::string& flag) {
  v1::Parameter p;
  std::string error;
  if (!ParseParamFlag(flag, &p, &error)) return "error: " + error;
  return ParamText(p);
}

std::string ParseError(const std::string& flag) {
  v1::Parameter p;
  std::string error;
  EXPECT_FALSE(ParseParamFlag(flag, &p, &error)) << flag;
  return error;
}

TEST(ParamFlagTest, RoundTrips) {
  for (const char* flag :
       {"lr=double:0.0001:0.1:log", "x=double:-2:2", "layers=int:1:4",
        "batch=int:16:512:log", "opt=categorical:sgd,adam,rms prop",
        "d=discrete:1,2.5,-3"}) {
    EXPECT_EQ(RoundTrip(flag), flag);
  }
  // float is double; a number is printed in its shortest form.
  EXPECT_EQ(RoundTrip("x=float:1e-3:1.50"), "x=double:0.001:1.5");
}

TEST(ParamFlagTest, Fields) {
  v1::Parameter p;
  std::string error;
  ASSERT_TRUE(ParseParamFlag("lr=double:1e-4:1e-1:log", &p, &error));
  EXPECT_EQ(p.name(), "lr");
  EXPECT_EQ(p.double_range().min(), 1e-4);
  EXPECT_EQ(p.double_range().max(), 1e-1);
  EXPECT_TRUE(p.double_range().log());
  v1::Parameter n;
  ASSERT_TRUE(ParseParamFlag("n=int:-3:4", &n, &error));
  EXPECT_EQ(n.int_range().min(), -3);
  EXPECT_FALSE(n.int_range().log());
}

TEST(ParamFlagTest, ErrorsNameTheFlagAndTheProblem) {
  EXPECT_EQ(ParseError("lr"),
            "--param \"lr\": expected NAME=double:MIN:MAX[:log], "
            "NAME=int:MIN:MAX[:log], NAME=categorical:A,B,... or "
            "NAME=discrete:V1,V2,...");
  EXPECT_EQ(ParseError("=double:0:1")
                .rfind("--param \"=double:0:1\": expected "
                       "NAME=",
                       0),
            0u);
  EXPECT_EQ(ParseError("lr=double:1e-4"),
            "--param \"lr=double:1e-4\": expected double:MIN:MAX or "
            "double:MIN:MAX:log");
  EXPECT_EQ(ParseError("lr=double:0:1:lin"),
            "--param \"lr=double:0:1:lin\": expected double:MIN:MAX or "
            "double:MIN:MAX:log");
  EXPECT_EQ(ParseError("lr=double:a:1"),
            "--param \"lr=double:a:1\": MIN \"a\" is not a number");
  EXPECT_EQ(ParseError("lr=double:0:inf"),
            "--param \"lr=double:0:inf\": MAX \"inf\" is not a number");
  EXPECT_EQ(ParseError("n=int:1:2.5"),
            "--param \"n=int:1:2.5\": MAX \"2.5\" is not a whole number");
  EXPECT_EQ(ParseError("o=categorical:a,,b"),
            "--param \"o=categorical:a,,b\": an empty value in the list");
  EXPECT_EQ(ParseError("d=discrete:1,x"),
            "--param \"d=discrete:1,x\": \"x\" is not a number");
  EXPECT_EQ(ParseError("x=normal:0:1"),
            "--param \"x=normal:0:1\": unknown type \"normal\" (known: "
            "double, int, categorical, discrete)");
}

TEST(ParamTextTest, ShowsWhatTheFlagsCannotSay) {
  v1::Parameter p;
  p.set_name("x");
  p.mutable_double_range()->set_min(0);
  p.mutable_double_range()->set_max(1);
  p.mutable_double_range()->set_step(0.25);
  p.mutable_condition()->set_parent("opt");
  EXPECT_EQ(ParamText(p), "x=double:0:1 step 0.25 if opt");
  v1::Parameter n;
  n.set_name("n");
  n.mutable_int_range()->set_max(8);
  n.mutable_int_range()->set_distribution(v1::NORMAL);
  EXPECT_EQ(ParamText(n), "n=int:0:8 NORMAL");
  v1::Parameter none;
  none.set_name("z");
  EXPECT_EQ(ParamText(none), "z=?");
}

TEST(ExperimentFromFlagsTest, EveryFlag) {
  Args args = Flags({{"param", "lr=double:0:1"},
                     {"param", "opt=categorical:a,b"},
                     {"objective", "loss:minimize"},
                     {"objective", "acc:maximize"},
                     {"max-trials", "20"},
                     {"parallel", "2"},
                     {"max-failed-trials", "0"},
                     {"max-duration", "90.5"},
                     {"algorithm", "tpe"}});
  v1::Experiment e;
  std::string error;
  ASSERT_TRUE(ExperimentFromFlags(args, "exp", &e, &error)) << error;
  EXPECT_EQ(e.name(), "exp");
  ASSERT_EQ(e.parameters_size(), 2);
  EXPECT_EQ(e.parameters(1).categorical().values(1), "b");
  ASSERT_EQ(e.objectives_size(), 2);
  EXPECT_EQ(ObjectiveText(e.objectives(0)), "loss:minimize");
  EXPECT_EQ(ObjectiveText(e.objectives(1)), "acc:maximize");
  EXPECT_EQ(e.max_trials(), 20);
  EXPECT_EQ(e.parallel_trials(), 2);
  EXPECT_EQ(e.max_failed_trials(), 0);
  EXPECT_EQ(e.max_duration().seconds(), 90);
  EXPECT_EQ(e.max_duration().nanos(), 500000000);
  EXPECT_EQ(e.algorithm().name(), "tpe");
}

TEST(ExperimentFromFlagsTest, Errors) {
  auto error_of = [](const Args& args) {
    v1::Experiment e;
    std::string error;
    EXPECT_FALSE(ExperimentFromFlags(args, "exp", &e, &error));
    return error;
  };
  EXPECT_EQ(error_of(Flags({{"objective", "loss"}})),
            "--objective \"loss\": expected NAME:minimize or NAME:maximize");
  EXPECT_EQ(error_of(Flags({{"objective", ":minimize"}})),
            "--objective \":minimize\": expected NAME:minimize or "
            "NAME:maximize");
  EXPECT_EQ(error_of(Flags({{"max-trials", "0"}})),
            "--max-trials \"0\": expected a whole number >= 1");
  EXPECT_EQ(error_of(Flags({{"max-failed-trials", "-1"}})),
            "--max-failed-trials \"-1\": expected a whole number >= 0");
  EXPECT_EQ(error_of(Flags({{"parallel", "2000000000"}})),
            "--parallel \"2000000000\": expected a whole number >= 1");
  EXPECT_EQ(error_of(Flags({{"max-duration", "0"}})),
            "--max-duration \"0\": expected a number of seconds > 0");
  EXPECT_EQ(error_of(Flags({{"param", "bad"}})).rfind("--param \"bad\"", 0),
            0u);
}

TEST(ExperimentFlagTest, FirstOfTheFlagsThatDescribeAnExperiment) {
  EXPECT_EQ(ExperimentFlag(Flags({{"command", "x"}, {"parallel", "2"}})), "");
  EXPECT_EQ(ExperimentFlag(Flags({{"algorithm", "tpe"}, {"param", "x"}})),
            "param");
  EXPECT_EQ(ExperimentFlag(Flags({{"max-duration", "5"}})), "max-duration");
}

TEST(CountFlagTest, LeavesTheValueWithoutTheFlag) {
  int n = 7;
  std::string error;
  EXPECT_TRUE(CountFlag(Flags({}), "parallel", 1, &n, &error));
  EXPECT_EQ(n, 7);
  EXPECT_TRUE(CountFlag(Flags({{"parallel", "3"}}), "parallel", 1, &n, &error));
  EXPECT_EQ(n, 3);
  EXPECT_FALSE(
      CountFlag(Flags({{"parallel", "x"}}), "parallel", 1, &n, &error));
  EXPECT_EQ(error, "--parallel \"x\": expected a whole number >= 1");
}

class CheckExistingTest : public ::testing::Test {
 protected:
  // The experiment the flags describe, named "exp".
  v1::Experiment Described(const Args& args) {
    v1::Experiment e;
    std::string error;
    EXPECT_TRUE(ExperimentFromFlags(args, "exp", &e, &error)) << error;
    return e;
  }
  Args stored_flags_ = Flags({{"param", "lr=double:0:1"},
                              {"param", "n=int:1:4"},
                              {"objective", "loss:minimize"},
                              {"max-trials", "10"},
                              {"algorithm", "tpe"}});
  v1::Experiment stored_ = Described(stored_flags_);
  // Why `args` may not run on the stored experiment.
  std::string Refusal(const Args& args) {
    EXPECT_FALSE(
        CheckExisting(args, Described(args), stored_, &warnings_, &error_));
    return error_;
  }
  std::vector<std::string> warnings_;
  std::string error_;
};

TEST_F(CheckExistingTest, SameSpaceResumes) {
  EXPECT_TRUE(CheckExisting(stored_flags_, Described(stored_flags_), stored_,
                            &warnings_, &error_));
  EXPECT_TRUE(warnings_.empty());
}

TEST_F(CheckExistingTest, ADifferentSpaceIsAnError) {
  EXPECT_EQ(
      Refusal(Flags({{"param", "lr=double:0:2"}, {"param", "n=int:1:4"}})),
      "--param lr=double:0:2: experiment \"exp\" exists with lr=double:0:1");
  EXPECT_EQ(Refusal(Flags({{"param", "lr=double:0:1"},
                           {"param", "n=int:1:4"},
                           {"param", "m=int:1:2"}})),
            "--param m=int:1:2: experiment \"exp\" exists without parameter m");
  EXPECT_EQ(Refusal(Flags({{"param", "lr=double:0:1"}})),
            "--param: experiment \"exp\" exists with one more parameter, "
            "n=int:1:4");
  EXPECT_EQ(Refusal(Flags({{"objective", "loss:maximize"}})),
            "--objective loss:maximize: experiment \"exp\" exists with "
            "objective loss:minimize");
}

TEST_F(CheckExistingTest, OtherLimitsAreWarnedAboutAndIgnored) {
  Args limits = Flags(
      {{"max-trials", "20"}, {"algorithm", "random"}, {"max-duration", "60"}});
  EXPECT_TRUE(
      CheckExisting(limits, Described(limits), stored_, &warnings_, &error_));
  EXPECT_EQ(warnings_,
            (std::vector<std::string>{
                "experiment \"exp\" exists with max_trials 10; --max-trials 20 "
                "is ignored (an existing experiment's limits and algorithm "
                "cannot change)",
                "experiment \"exp\" exists with max_duration (seconds) 0; "
                "--max-duration 60 is ignored (an existing experiment's "
                "limits and algorithm cannot change)",
                "experiment \"exp\" exists with algorithm tpe; --algorithm "
                "random is ignored (an existing experiment's limits and "
                "algorithm cannot change)"}));
}

TEST(FlagForFieldTest, NamesTheFlagTheUserWrote) {
  Args args = Flags({{"param", "lr=double:0:1"},
                     {"param", "x=double:1:0"},
                     {"objective", "loss:minimize"},
                     {"algorithm", "nope"}});
  EXPECT_EQ(FlagForField(args,
                         "experiment.parameters[1].double_range.min: must be "
                         "<= max"),
            "--param \"x=double:1:0\": double_range.min: must be <= max");
  EXPECT_EQ(FlagForField(args, "experiment.objectives[0]: duplicate"),
            "--objective \"loss:minimize\": duplicate");
  EXPECT_EQ(FlagForField(args, "experiment.algorithm.name: unknown \"nope\""),
            "--algorithm \"nope\": name: unknown \"nope\"");
  // A field no flag set, or an index past the flags.
  EXPECT_EQ(FlagForField(args, "experiment.max_trials: too many"),
            "the experiment the flags describe: experiment.max_trials: too "
            "many");
  EXPECT_EQ(FlagForField(args, "experiment.parameters[5].name: bad"),
            "the experiment the flags describe: experiment.parameters[5].name: "
            "bad");
}

}  // namespace
}  // namespace hpo::cli
