// What hpoctl prints: messages as JSON, experiments and trials as tables, and
// trials as CSV. Everything returns text, so that it can be tested; the
// commands write it to stdout.

#ifndef HPO_CLI_OUTPUT_H_
#define HPO_CLI_OUTPUT_H_

#include <string>
#include <vector>

#include "google/protobuf/message.h"
#include "google/protobuf/struct.pb.h"
#include "hpo/v1/hpo.pb.h"

namespace hpo::cli {

// A message in the proto's JSON mapping (camelCase names), indented.
std::string ToJson(const google::protobuf::Message& m);

// A parameter's value as the command line and a table show it: a string as
// is, a number with up to 6 significant digits, true/false.
std::string ValueText(const google::protobuf::Value& v);

// "a=1 b=x", sorted by name.
std::string ParamsText(const v1::Trial& t);
std::string MetricsText(const v1::Trial& t);
// "12.3s", or "" for a trial that has not ended.
std::string DurationText(const v1::Trial& t);

// Rows as columns aligned by two spaces, one line each.
std::string TableText(const std::vector<std::vector<std::string>>& rows);

// `list`'s row of an experiment: name, state, algorithm (with the one an
// "auto" algorithm picked last), trials, creation time in UTC.
std::vector<std::string> ExperimentRow(const v1::Experiment& e);
extern const std::vector<std::string> kExperimentHeader;

// `trials`: a table of number, state, parameters, metrics, duration.
std::string TrialsTable(const std::vector<v1::Trial>& trials);

// A CSV field: quoted when it holds a comma, a quote or a newline.
std::string CsvField(const std::string& s);

// `export --format csv`: number, state, param.NAME..., metric.NAME...,
// duration_seconds, failure_reason; the names sorted.
std::string TrialsCsv(const std::vector<v1::Trial>& trials);

}  // namespace hpo::cli

#endif  // HPO_CLI_OUTPUT_H_
