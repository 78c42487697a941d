#include "server/metrics/metrics.h"

#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/metrics/process_metrics.h"

namespace hpo::metrics {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTest, CountersByLabels) {
  Registry registry;
  auto& calls = registry.AddCounter("hpo_rpc_requests_total", "RPCs answered.",
                                    {"method", "code"});
  calls.With({"GetTrialConfig", "OK"}).Increment();
  calls.With({"GetTrialConfig", "OK"}).Increment(2);
  calls.With({"ReportResult", "NOT_FOUND"}).Increment();
  EXPECT_EQ(
      registry.Exposition(),
      "# HELP hpo_rpc_requests_total RPCs answered.\n"
      "# TYPE hpo_rpc_requests_total counter\n"
      "hpo_rpc_requests_total{method=\"GetTrialConfig\",code=\"OK\"} 3\n"
      "hpo_rpc_requests_total{method=\"ReportResult\",code=\"NOT_FOUND\"} "
      "1\n");
}

TEST(MetricsTest, CounterNeverGoesDown) {
  Counter c;
  c.Increment(5);
  c.Increment(-3);
  EXPECT_EQ(c.value(), 5);
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  Registry registry;
  static const std::vector<double> bounds = {0.1, 1};
  auto& h = registry.AddHistogram("x_seconds", "X.", {"kind"}, &bounds);
  h.With({"a"}).Observe(0.05);
  h.With({"a"}).Observe(0.1);  // on the bound: in that bucket (le)
  h.With({"a"}).Observe(0.5);
  h.With({"a"}).Observe(7);
  EXPECT_EQ(registry.Exposition(),
            "# HELP x_seconds X.\n"
            "# TYPE x_seconds histogram\n"
            "x_seconds_bucket{kind=\"a\",le=\"0.1\"} 2\n"
            "x_seconds_bucket{kind=\"a\",le=\"1\"} 3\n"
            "x_seconds_bucket{kind=\"a\",le=\"+Inf\"} 4\n"
            "x_seconds_sum{kind=\"a\"} 7.65\n"
            "x_seconds_count{kind=\"a\"} 4\n");
}

TEST(MetricsTest, LabelValuesAndHelpAreEscaped) {
  Registry registry;
  registry.AddCounter("c_total", "line one\nback\\slash", {"name"})
      .With({"a \"quoted\"\nname\\"})
      .Increment();
  EXPECT_EQ(registry.Exposition(),
            "# HELP c_total line one\\nback\\\\slash\n"
            "# TYPE c_total counter\n"
            "c_total{name=\"a \\\"quoted\\\"\\nname\\\\\"} 1\n");
}

TEST(MetricsTest, ValuesAsTheTextFormatWritesThem) {
  EXPECT_EQ(FormatValue(1), "1");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(1e-300), "1e-300");
  EXPECT_EQ(FormatValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(FormatValue(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(FormatValue(0.0 / 0.0), "NaN");
  EXPECT_EQ(FormatValue(123456789012.0), "123456789012");
}

TEST(MetricsTest, CollectorsRunAtScrapeInOrder) {
  Registry registry;
  int scrapes = 0;
  registry.AddCollector([&](Exposition& out) {
    ++scrapes;
    out.Gauge("g", "G.",
              {{{{"state", "RUNNING"}}, 2}, {{{"state", "DONE"}}, 1}});
  });
  registry.AddCounter("after_total", "After.", {});
  EXPECT_EQ(registry.Exposition(),
            "# HELP g G.\n# TYPE g gauge\ng{state=\"RUNNING\"} 2\n"
            "g{state=\"DONE\"} 1\n"
            "# HELP after_total After.\n# TYPE after_total counter\n");
  registry.Exposition();
  EXPECT_EQ(scrapes, 2);
}

TEST(MetricsTest, ConcurrentIncrementsAllCount) {
  Registry registry;
  auto& family = registry.AddCounter("n_total", "N.", {"t"});
  static const std::vector<double> bounds = {1};
  auto& h = registry.AddHistogram("h", "H.", {}, &bounds);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        family.With({t % 2 == 0 ? "even" : "odd"}).Increment();
        h.With({}).Observe(0.5);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(family.With({"even"}).value(), 40000);
  EXPECT_EQ(family.With({"odd"}).value(), 40000);
  EXPECT_EQ(h.With({}).counts()[0], 80000u);
  EXPECT_EQ(h.With({}).sum(), 40000);
}

TEST(MetricsTest, ProcessFigures) {
  Registry registry;
  AddProcessMetrics(registry);
  const std::string text = registry.Exposition();
  EXPECT_THAT(text, HasSubstr("# TYPE process_resident_memory_bytes gauge\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE process_cpu_seconds_total counter\n"));
  EXPECT_THAT(text, HasSubstr("process_open_fds "));
  EXPECT_THAT(text, HasSubstr("process_threads "));
  // Resident memory is more than a megabyte and less than a terabyte.
  const size_t at = text.find("\nprocess_resident_memory_bytes ");
  ASSERT_NE(at, std::string::npos);
  const double rss = std::stod(text.substr(at + 31));
  EXPECT_GT(rss, 1e6);
  EXPECT_LT(rss, 1e12);
  const size_t start = text.find("\nprocess_start_time_seconds ");
  ASSERT_NE(start, std::string::npos);
  EXPECT_GT(std::stod(text.substr(start + 28)), 1.6e9);  // after 2020
}

}  // namespace
}  // namespace hpo::metrics
