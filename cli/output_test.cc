#include "cli/output.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace hpo::cli {
namespace {

google::protobuf::Value Number(double v) {
  google::protobuf::Value out;
  out.set_number_value(v);
  return out;
}
google::protobuf::Value Text(const std::string& v) {
  google::protobuf::Value out;
  out.set_string_value(v);
  return out;
}

v1::Trial MakeTrial(int number, v1::Trial::State state) {
  v1::Trial t;
  t.set_number(number);
  t.set_state(state);
  return t;
}

TEST(OutputTest, ValueText) {
  EXPECT_EQ(ValueText(Text("adam")), "adam");
  EXPECT_EQ(ValueText(Number(3)), "3");
  EXPECT_EQ(ValueText(Number(0.001)), "0.001");
  EXPECT_EQ(ValueText(Number(1.0 / 3)), "0.333333");
  EXPECT_EQ(ValueText(Number(1e-7)), "1e-07");
  google::protobuf::Value b;
  b.set_bool_value(true);
  EXPECT_EQ(ValueText(b), "true");
  EXPECT_EQ(ValueText(google::protobuf::Value()), "");
}

TEST(OutputTest, TrialTexts) {
  v1::Trial t = MakeTrial(1, v1::Trial::COMPLETED);
  (*t.mutable_parameters())["opt"] = Text("sgd");
  (*t.mutable_parameters())["lr"] = Number(0.5);
  (*t.mutable_metrics())["loss"] = 0.25;
  (*t.mutable_metrics())["acc"] = 0.9;
  EXPECT_EQ(ParamsText(t), "lr=0.5 opt=sgd");
  EXPECT_EQ(MetricsText(t), "acc=0.9 loss=0.25");
  EXPECT_EQ(DurationText(t), "");
  t.mutable_start_time()->set_seconds(100);
  t.mutable_start_time()->set_nanos(900000000);
  t.mutable_end_time()->set_seconds(102);
  t.mutable_end_time()->set_nanos(200000000);
  EXPECT_EQ(DurationText(t), "1.3s");
}

TEST(OutputTest, TableColumnsAreAligned) {
  EXPECT_EQ(TableText({{"NAME", "STATE"}, {"a-long-name", "RUNNING"}, {"b"}}),
            "NAME         STATE\n"
            "a-long-name  RUNNING\n"
            "b\n");
  EXPECT_EQ(TableText({}), "");
}

TEST(OutputTest, ExperimentRow) {
  v1::Experiment e;
  e.set_name("mnist");
  e.set_state(v1::Experiment::RUNNING);
  e.mutable_algorithm()->set_name("auto");
  e.mutable_status()->set_algorithm("gp");
  e.mutable_status()->set_trials(7);
  e.mutable_create_time()->set_seconds(86400 + 3661);
  EXPECT_EQ(ExperimentRow(e),
            (std::vector<std::string>{"mnist", "RUNNING", "auto (gp)", "7",
                                      "1970-01-02 01:01:01"}));
  e.mutable_status()->clear_algorithm();
  EXPECT_EQ(ExperimentRow(e)[2], "auto");
}

TEST(OutputTest, TrialsTable) {
  v1::Trial t = MakeTrial(0, v1::Trial::RUNNING);
  (*t.mutable_parameters())["x"] = Number(2);
  EXPECT_EQ(TrialsTable({t}),
            "NUMBER  STATE    PARAMETERS  METRICS  DURATION\n"
            "0       RUNNING  x=2                  \n");
}

TEST(OutputTest, CsvFieldQuotesOnlyWhatItMust) {
  EXPECT_EQ(CsvField("plain text"), "plain text");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(CsvField(""), "");
}

TEST(OutputTest, TrialsCsv) {
  v1::Trial a = MakeTrial(0, v1::Trial::COMPLETED);
  (*a.mutable_parameters())["lr"] = Number(0.1);
  (*a.mutable_parameters())["opt"] = Text("a,b");
  (*a.mutable_metrics())["loss"] = 0.5;
  a.mutable_start_time()->set_seconds(10);
  a.mutable_end_time()->set_seconds(12);
  v1::Trial b = MakeTrial(1, v1::Trial::FAILED);
  (*b.mutable_parameters())["lr"] = Number(1e-5);
  (*b.mutable_metrics())["acc"] = 0.25;
  b.set_failure_reason("exit status 1; output tail:\nboom");
  EXPECT_EQ(TrialsCsv({a, b}),
            "number,state,param.lr,param.opt,metric.acc,metric.loss,"
            "duration_seconds,failure_reason\n"
            "0,COMPLETED,0.1,\"a,b\",,0.5,2.0,\n"
            "1,FAILED,1e-05,,0.25,,,\"exit status 1; output tail:\nboom\"\n");
  EXPECT_EQ(TrialsCsv({}), "number,state,duration_seconds,failure_reason\n");
}

TEST(OutputTest, ToJsonUsesTheJsonNames) {
  v1::Experiment e;
  e.set_name("x");
  e.set_max_trials(3);
  EXPECT_EQ(ToJson(e), "{\n \"name\": \"x\",\n \"maxTrials\": 3\n}\n");
}

}  // namespace
}  // namespace hpo::cli
