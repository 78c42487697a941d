#include "cli/output.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>

#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"

namespace hpo::cli {
namespace {

// The names in `map`'s keys over all trials, sorted.
template <typename Map>
std::vector<std::string> SortedKeys(const std::vector<v1::Trial>& trials,
                                    Map (v1::Trial::*get)() const) {
  std::vector<std::string> names;
  for (const auto& t : trials) {
    for (const auto& [k, v] : (t.*get)()) {
      if (std::find(names.begin(), names.end(), k) == names.end()) {
        names.push_back(k);
      }
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

const std::vector<std::string> kExperimentHeader = {
    "NAME", "STATE", "ALGORITHM", "TRIALS", "CREATED (UTC)"};

std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = false;
  (void)google::protobuf::util::MessageToJsonString(m, &out, options);
  return out;
}

std::string ValueText(const google::protobuf::Value& v) {
  switch (v.kind_case()) {
    case google::protobuf::Value::kStringValue:
      return v.string_value();
    case google::protobuf::Value::kNumberValue: {
      std::ostringstream ss;
      ss << v.number_value();
      return ss.str();
    }
    case google::protobuf::Value::kBoolValue:
      return v.bool_value() ? "true" : "false";
    default:
      return "";
  }
}

std::string ParamsText(const v1::Trial& t) {
  std::map<std::string, std::string> sorted;
  for (const auto& [k, v] : t.parameters()) sorted[k] = ValueText(v);
  std::string out;
  for (const auto& [k, v] : sorted) {
    if (!out.empty()) out += " ";
    out += k + "=" + v;
  }
  return out;
}

std::string MetricsText(const v1::Trial& t) {
  std::map<std::string, double> sorted(t.metrics().begin(), t.metrics().end());
  std::string out;
  for (const auto& [k, v] : sorted) {
    std::ostringstream ss;
    ss << k << "=" << v;
    if (!out.empty()) out += " ";
    out += ss.str();
  }
  return out;
}

std::string DurationText(const v1::Trial& t) {
  if (!t.has_start_time() || !t.has_end_time()) return "";
  double s = (t.end_time().seconds() - t.start_time().seconds()) +
             (t.end_time().nanos() - t.start_time().nanos()) / 1e9;
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1fs", s);
  return buf;
}

std::string TableText(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) {
        out += std::string(width[i] - row[i].size() + 2, ' ');
      }
    }
    out += "\n";
  }
  return out;
}

std::vector<std::string> ExperimentRow(const v1::Experiment& e) {
  // "auto (gp)": an algorithm that picks others shows its latest pick.
  std::string algorithm = e.algorithm().name();
  if (!e.status().algorithm().empty()) {
    algorithm += " (" + e.status().algorithm() + ")";
  }
  return {e.name(), v1::Experiment::State_Name(e.state()), algorithm,
          std::to_string(e.status().trials()),
          absl::FormatTime("%Y-%m-%d %H:%M:%S",
                           absl::FromUnixSeconds(e.create_time().seconds()),
                           absl::UTCTimeZone())};
}

std::string TrialsTable(const std::vector<v1::Trial>& trials) {
  std::vector<std::vector<std::string>> rows = {
      {"NUMBER", "STATE", "PARAMETERS", "METRICS", "DURATION"}};
  for (const auto& t : trials) {
    rows.push_back({std::to_string(t.number()),
                    v1::Trial::State_Name(t.state()), ParamsText(t),
                    MetricsText(t), DurationText(t)});
  }
  return TableText(rows);
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string TrialsCsv(const std::vector<v1::Trial>& trials) {
  const std::vector<std::string> params =
      SortedKeys(trials, &v1::Trial::parameters);
  const std::vector<std::string> metrics =
      SortedKeys(trials, &v1::Trial::metrics);
  std::ostringstream out;
  out << "number,state";
  for (const auto& p : params) out << "," << CsvField("param." + p);
  for (const auto& m : metrics) out << "," << CsvField("metric." + m);
  out << ",duration_seconds,failure_reason\n";
  for (const auto& t : trials) {
    out << t.number() << "," << v1::Trial::State_Name(t.state());
    for (const auto& p : params) {
      auto it = t.parameters().find(p);
      out << ","
          << (it == t.parameters().end() ? ""
                                         : CsvField(ValueText(it->second)));
    }
    for (const auto& m : metrics) {
      auto it = t.metrics().find(m);
      out << ",";
      if (it != t.metrics().end()) out << it->second;
    }
    std::string d = DurationText(t);
    if (!d.empty()) d.pop_back();
    out << "," << d << "," << CsvField(t.failure_reason()) << "\n";
  }
  return out.str();
}

}  // namespace hpo::cli
