// Metrics in a trial's output: lines matched against a pattern (Katib's
// `name=value` by default), and NNI's final result on the last line.

#ifndef HPO_CLI_METRICS_H_
#define HPO_CLI_METRICS_H_

#include <map>
#include <regex>
#include <string>

namespace hpo::cli {

// Katib's default metrics pattern: group 1 the name, group 2 the value.
extern const char kKatibPattern[];

// A metrics pattern the user gave: a regular expression with at least two
// groups; else false with an error saying which.
bool CheckMetricsPattern(const std::string& pattern, std::string* error);

// What one line of output says.
struct MetricLine {
  std::map<std::string, double> values;
  // `step=N` or `epoch=N` on the line; -1 when there is none.
  int step = -1;
};
MetricLine ParseMetricLine(const std::string& line, const std::regex& pattern);

// NNI's final result, what nni.report_final_result leaves as the last
// non-empty line: a bare number is `objective`'s value, a JSON object's
// numbers are metrics. Adds them to `metrics`; anything else adds nothing.
void AddNniFinalResult(const std::string& last_line,
                       const std::string& objective,
                       std::map<std::string, double>* metrics);

}  // namespace hpo::cli

#endif  // HPO_CLI_METRICS_H_
