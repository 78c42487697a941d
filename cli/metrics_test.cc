#include "cli/metrics.h"

#include <map>
#include <regex>
#include <string>

#include "gtest/gtest.h"

namespace hpo::cli {
namespace {

TEST(ParseMetricLineTest, KatibsPattern) {
  const std::regex katib(kKatibPattern);
  MetricLine m =
      ParseMetricLine("epoch 3: loss=0.25, accuracy = 9.5e-1", katib);
  EXPECT_EQ(m.values, (std::map<std::string, double>{{"loss", 0.25},
                                                     {"accuracy", 0.95}}));
  EXPECT_EQ(m.step, -1);
  m = ParseMetricLine("step=4 val-loss=-1.5 epoch=", katib);
  EXPECT_EQ(m.step, 4);
  EXPECT_EQ(m.values, (std::map<std::string, double>{{"val-loss", -1.5}}));
  EXPECT_EQ(ParseMetricLine("epoch=7 loss=1", katib).step, 7);
  EXPECT_TRUE(ParseMetricLine("no metrics here", katib).values.empty());
  EXPECT_TRUE(ParseMetricLine("loss=abc", katib).values.empty());
}

TEST(ParseMetricLineTest, AnotherPattern) {
  const std::regex colon(R"((\w+):\s*(\S+))");
  EXPECT_EQ(ParseMetricLine("loss: 0.5 acc: 1", colon).values,
            (std::map<std::string, double>{{"loss", 0.5}, {"acc", 1}}));
}

TEST(CheckMetricsPatternTest, TwoGroupsAndValid) {
  std::string error;
  EXPECT_TRUE(CheckMetricsPattern(kKatibPattern, &error));
  EXPECT_FALSE(CheckMetricsPattern("(\\w+)=.*", &error));
  EXPECT_EQ(error,
            "metrics pattern \"(\\w+)=.*\": needs two groups, the name and "
            "the value");
  EXPECT_FALSE(CheckMetricsPattern("(a", &error));
  EXPECT_EQ(error.rfind("metrics pattern \"(a\": not a valid regular "
                        "expression (",
                        0),
            0u)
      << error;
}

TEST(NniFinalResultTest, BareNumberOrJsonObject) {
  std::map<std::string, double> m = {{"default", 0.1}};
  AddNniFinalResult("0.93", "default", &m);
  EXPECT_EQ(m, (std::map<std::string, double>{{"default", 0.93}}));
  AddNniFinalResult(R"({"default": 0.95, "loss": 0.2, "note": "x"})", "default",
                    &m);
  EXPECT_EQ(m,
            (std::map<std::string, double>{{"default", 0.95}, {"loss", 0.2}}));
  for (const char* ignored : {"", "done", "{not json", "[1]", "nan", "1e"}) {
    std::map<std::string, double> none;
    AddNniFinalResult(ignored, "default", &none);
    EXPECT_TRUE(none.empty()) << ignored;
  }
}

}  // namespace
}  // namespace hpo::cli
