#include "cli/metrics.h"

#include <cstdlib>

#include "cli/text.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace hpo::cli {

const char kKatibPattern[] =
    R"(([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?))";

bool CheckMetricsPattern(const std::string& pattern, std::string* error) {
  try {
    std::regex check(pattern);
    if (check.mark_count() < 2) {
      *error = "metrics pattern \"" + pattern +
               "\": needs two groups, the name and the value";
      return false;
    }
  } catch (const std::regex_error& e) {
    *error = "metrics pattern \"" + pattern +
             "\": not a valid regular expression (" + e.what() + ")";
    return false;
  }
  return true;
}

MetricLine ParseMetricLine(const std::string& line, const std::regex& pattern) {
  MetricLine out;
  for (auto it = std::sregex_iterator(line.begin(), line.end(), pattern);
       it != std::sregex_iterator(); ++it) {
    const auto& m = *it;
    if (m.size() < 3 || m[2].str().empty()) continue;
    std::string name = m[1].str();
    char* end = nullptr;
    std::string text = m[2].str();
    double v = std::strtod(text.c_str(), &end);
    if (end == text.c_str()) continue;
    if (name == "step" || name == "epoch") {
      out.step = static_cast<int>(v);
      continue;
    }
    out.values[name] = v;
  }
  return out;
}

void AddNniFinalResult(const std::string& last_line,
                       const std::string& objective,
                       std::map<std::string, double>* metrics) {
  if (LooksNumeric(last_line)) {
    (*metrics)[objective] = std::strtod(last_line.c_str(), nullptr);
    return;
  }
  if (last_line.empty() || last_line[0] != '{') return;
  google::protobuf::Struct values;
  if (!google::protobuf::util::JsonStringToMessage(last_line, &values).ok()) {
    return;
  }
  for (const auto& [k, v] : values.fields()) {
    if (v.kind_case() == google::protobuf::Value::kNumberValue) {
      (*metrics)[k] = v.number_value();
    }
  }
}

}  // namespace hpo::cli
