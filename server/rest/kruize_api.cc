#include "server/rest/kruize_api.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <set>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "core/json_quote.h"
#include "core/text_checks.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "hpo/v1/hpo.pb.h"
#include "server/import/foreign_names.h"
#include "server/log.h"
#include "server/rest/transcode.h"

namespace hpo::rest {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

// Kruize's own messages (src/utils.py of kruize/hpo), word for word.
constexpr char kInvalidContentType[] =
    "Invalid content type. Should be application/json!";
constexpr char kNotFound[] =
    "Could not be find requested resource. Please check the URL!";
constexpr char kInvalidOperation[] = "Invalid Operation value!";
constexpr char kEmptyOrNull[] = "Parameters cannot be empty or null!";
constexpr char kDirectionNotSupported[] = "Direction not supported!";
constexpr char kValueTypeNotSupported[] = "Unsupported value type!";
constexpr char kAlgorithmNotSupported[] = "HPO algorithm not supported!";
constexpr char kInvalidResultStatus[] = "Trial result status is invalid!";
constexpr char kMissingParameters[] =
    "Missing required parameters: experiment_name, trial_number";
constexpr char kExperimentNotFound[] = "Experiment not found!";
constexpr char kExperimentExists[] = "Experiment already exists!";
constexpr char kInvalidTotalTrials[] = "Total trials should be greater than 0!";
constexpr char kNegativeTrial[] = "Trial number cannot be negative!";
constexpr char kTrialExceeded[] =
    "Requested trial exceeds the completed trial limit!";
constexpr char kTrialPrecedes[] = "Requested trial is already completed!";
constexpr char kNonInteger[] = "Only Integer value is allowed!";
constexpr char kValueTypeMismatch[] = "Value and value type do not match!";
constexpr char kJsonStructure[] = "Invalid JSON structure: ";
constexpr char kResultPosted[] = "Result posted successfully!";
constexpr char kTrialsCompleted[] = "Trials completed for experiment: ";
constexpr char kExperimentDeleted[] = "Experiment deleted!";
constexpr char kExperimentStopped[] = "Experiment stopped!";

constexpr char kService[] = "/hpo.v1.HpoService/";

// Kruize clients run a trial (a benchmark) without heartbeats, for as long as
// it takes; the lease only has to outlast that.
constexpr int64_t kKruizeLeaseSeconds = 30 * 24 * 3600;

HttpResponse Text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

// A gRPC failure with no Kruize message of its own: its HTTP status and its
// message, as text like the rest of this API.
HttpResponse FromStatus(const grpc::Status& status) {
  return Text(HttpStatusFromGrpcCode(status.error_code()),
              status.error_message());
}

// How jsonschema quotes an instance in its messages.
std::string Describe(const Value& v) {
  switch (v.kind_case()) {
    case Value::kStringValue:
      return absl::StrCat("'", v.string_value(), "'");
    case Value::kNumberValue:
      return absl::StrFormat("%g", v.number_value());
    case Value::kBoolValue:
      return v.bool_value() ? "True" : "False";
    case Value::kStructValue:
      return "{...}";
    case Value::kListValue:
      return "[...]";
    default:
      return "None";
  }
}

bool IsBlank(const std::string& s) {
  return absl::StripAsciiWhitespace(s).empty();
}

bool IsInteger(const Value& v) {
  return v.kind_case() == Value::kNumberValue &&
         std::isfinite(v.number_value()) &&
         v.number_value() == std::floor(v.number_value()) &&
         std::fabs(v.number_value()) <= std::numeric_limits<int32_t>::max();
}

enum class Type { kString, kInteger, kNumber, kArray, kObject, kAny };

struct Rule {
  const char* name;
  Type type;
  bool required;
};

// The checks Kruize's JSON schemas make: unexpected keys (unless
// `open`), required keys, nulls and blank strings, types. The first
// failure's message, or nullopt.
std::optional<std::string> Check(const Struct& object,
                                 std::initializer_list<Rule> rules, bool open) {
  if (!open) {
    for (const auto& field : object.fields()) {
      // A name, not a structured binding: lambdas capture those only from
      // C++20.
      const std::string& key = field.first;
      const bool known =
          std::any_of(rules.begin(), rules.end(),
                      [&](const Rule& r) { return key == r.name; });
      if (!known) {
        return absl::StrCat("Additional properties are not allowed ('", key,
                            "' was unexpected)");
      }
    }
  }
  for (const Rule& rule : rules) {
    auto it = object.fields().find(rule.name);
    if (it == object.fields().end()) {
      if (rule.required) {
        return absl::StrCat("'", rule.name, "' is a required property");
      }
      continue;
    }
    const Value& v = it->second;
    if (v.kind_case() == Value::kNullValue ||
        v.kind_case() == Value::KIND_NOT_SET) {
      return std::string(kEmptyOrNull);
    }
    const char* expected = nullptr;
    switch (rule.type) {
      case Type::kString:
        if (v.kind_case() != Value::kStringValue)
          expected = "string";
        else if (IsBlank(v.string_value()))
          return std::string(kEmptyOrNull);
        break;
      case Type::kInteger:
        if (!IsInteger(v)) expected = "integer";
        break;
      case Type::kNumber:
        if (v.kind_case() != Value::kNumberValue) expected = "number";
        break;
      case Type::kArray:
        if (v.kind_case() != Value::kListValue) expected = "array";
        break;
      case Type::kObject:
        if (v.kind_case() != Value::kStructValue) expected = "object";
        break;
      case Type::kAny:
        break;
    }
    if (expected != nullptr) {
      return absl::StrCat(Describe(v), " is not of type '", expected, "'");
    }
  }
  return std::nullopt;
}

const Value& Get(const Struct& object, const char* key) {
  static const Value* const kNull = new Value;
  auto it = object.fields().find(key);
  return it == object.fields().end() ? *kNull : it->second;
}

std::string Method(const char* name) { return absl::StrCat(kService, name); }

std::string NewWorkerId() {
  // Unique per allocation: the service hands a worker that asks again its
  // running trial, and a Kruize client asking for the next trial while one
  // runs (parallel_trials > 1) wants a new one.
  absl::BitGen gen;
  return absl::StrCat(
      "kruize-", absl::Hex(absl::Uniform<uint64_t>(gen), absl::kZeroPad16));
}

}  // namespace

KruizeApi::KruizeApi(const RpcClient* rpc, ThreadPool* pool,
                     std::function<bool()> ready)
    : rpc_(rpc), pool_(pool), ready_(std::move(ready)) {}

bool KruizeApi::Owns(absl::string_view path) {
  return path == "/health" || path == "/experiment_trials" ||
         absl::StartsWith(path, "/experiment_trials/");
}

void KruizeApi::Handle(HttpRequest request, Responder respond) {
  pool_->Schedule(
      [this, request = std::move(request),
       respond = std::move(respond)]() mutable { respond(Serve(request)); });
}

namespace {

// The state of one Kruize request: the calls it makes, in order.
class Operation {
 public:
  // `authorization` is the request's Authorization header, passed on to each
  // call.
  Operation(const RpcClient* rpc, std::string authorization)
      : rpc_(rpc), authorization_(std::move(authorization)) {}

  HttpResponse GenerateNew(const Struct& body, const std::string& text);
  HttpResponse GenerateSubsequent(const Struct& body);
  HttpResponse Result(const Struct& body);
  HttpResponse Delete(const Struct& body);
  HttpResponse Stop(const Struct& body);
  HttpResponse TrialConfig(const HttpRequest& request);

 private:
  // The experiment, or the 404 to answer.
  std::optional<HttpResponse> Find(const std::string& name,
                                   v1::Experiment* experiment);
  HttpResponse NextTrial(const std::string& name);
  grpc::Status Call(const std::string& grpc_path,
                    const google::protobuf::Message& request,
                    google::protobuf::Message* response) const {
    return rpc_->Call(grpc_path, request, response, authorization_);
  }

  const RpcClient* rpc_;
  const std::string authorization_;
};

std::optional<HttpResponse> Operation::Find(const std::string& name,
                                            v1::Experiment* experiment) {
  v1::GetExperimentRequest request;
  request.set_name(name);
  grpc::Status s = Call(Method("GetExperiment"), request, experiment);
  if (s.ok()) return std::nullopt;
  // A name hpo cannot hold (INVALID_ARGUMENT) names no experiment either.
  if (s.error_code() == grpc::StatusCode::NOT_FOUND ||
      s.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    return Text(404, kExperimentNotFound);
  }
  return FromStatus(s);
}

HttpResponse Operation::NextTrial(const std::string& name) {
  v1::GetTrialConfigRequest request;
  request.set_experiment(name);
  request.set_worker_id(NewWorkerId());
  v1::Trial trial;
  grpc::Status s = Call(Method("GetTrialConfig"), request, &trial);
  if (s.ok()) return Text(200, absl::StrCat(trial.number()));
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
    return Text(404, kExperimentNotFound);
  }
  if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
    v1::Experiment e;
    if (!Find(name, &e).has_value() &&
        (e.state() == v1::Experiment::COMPLETED ||
         (e.max_trials() > 0 && e.status().trials() >= e.max_trials()))) {
      return Text(400, absl::StrCat(kTrialsCompleted, name));
    }
  }
  return FromStatus(s);
}

HttpResponse Operation::GenerateNew(const Struct& body,
                                    const std::string& text) {
  if (auto error = Check(body,
                         {{"operation", Type::kString, true},
                          {"search_space", Type::kObject, true}},
                         false)) {
    return Text(400, *error);
  }
  const Struct& space = Get(body, "search_space").struct_value();
  // Kruize's schema, except that other keys (slo_class, ...) are let through.
  if (auto error = Check(space,
                         {{"experiment_name", Type::kString, true},
                          {"experiment_id", Type::kString, true},
                          {"total_trials", Type::kInteger, true},
                          {"parallel_trials", Type::kInteger, false},
                          {"value_type", Type::kString, false},
                          {"hpo_algo_impl", Type::kString, false},
                          {"objective_function", Type::kString, true},
                          {"tunables", Type::kArray, true},
                          {"direction", Type::kString, true}},
                         true)) {
    return Text(400, *error);
  }
  const std::string& direction = Get(space, "direction").string_value();
  if (direction != "minimize" && direction != "maximize") {
    return Text(400, kDirectionNotSupported);
  }
  const std::string kruize_algorithm =
      Get(space, "hpo_algo_impl").kind_case() == Value::kStringValue
          ? Get(space, "hpo_algo_impl").string_value()
          : "optuna_tpe";
  // server/import turns it into hpo's algorithm, from the same table.
  if (FindForeignAlgorithm(KruizeAlgorithms(), kruize_algorithm) == nullptr) {
    return Text(400, kAlgorithmNotSupported);
  }
  if (const Value& v = Get(space, "value_type");
      v.kind_case() == Value::kStringValue && v.string_value() != "double" &&
      v.string_value() != "int" && v.string_value() != "float") {
    return Text(400, kValueTypeNotSupported);
  }
  if (Get(space, "total_trials").number_value() <= 0) {
    return Text(400, kInvalidTotalTrials);
  }
  const std::string& name = Get(space, "experiment_name").string_value();

  // The search space itself is server/import's to convert ("kruize"); what
  // is set beside it overrides the import field by field.
  v1::CreateExperimentRequest create;
  create.mutable_import_spec()->set_format("kruize");
  create.mutable_import_spec()->set_content(text);
  v1::Experiment* e = create.mutable_experiment();
  // Kruize runs one trial at a time unless told otherwise; hpo's 0 would
  // mean no limit.
  if (Get(space, "parallel_trials").number_value() <= 0) {
    e->set_parallel_trials(1);
  }
  e->mutable_trial_lease()->set_seconds(kKruizeLeaseSeconds);
  v1::Experiment created;
  grpc::Status s = Call(Method("CreateExperiment"), create, &created);
  if (s.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
    return Text(400, kExperimentExists);
  }
  if (!s.ok()) return FromStatus(s);
  // Kruize answers with the first trial's number, ready to be read.
  return NextTrial(name);
}

HttpResponse Operation::GenerateSubsequent(const Struct& body) {
  if (auto error = Check(body,
                         {{"experiment_name", Type::kString, true},
                          {"operation", Type::kString, true}},
                         false)) {
    return Text(400, *error);
  }
  const std::string& name = Get(body, "experiment_name").string_value();
  v1::Experiment e;
  if (auto missing = Find(name, &e)) return *missing;
  return NextTrial(name);
}

HttpResponse Operation::Result(const Struct& body) {
  if (auto error = Check(body,
                         {{"experiment_name", Type::kString, true},
                          {"trial_number", Type::kInteger, true},
                          {"trial_result", Type::kAny, true},
                          {"result_value_type", Type::kAny, true},
                          {"result_value", Type::kAny, true},
                          {"operation", Type::kString, true}},
                         false)) {
    return Text(400, *error);
  }
  const Value& status = Get(body, "trial_result");
  const std::string outcome = status.kind_case() == Value::kStringValue
                                  ? status.string_value()
                                  : std::string();
  if (outcome != "success" && outcome != "failure" && outcome != "error") {
    return Text(400, kInvalidResultStatus);
  }
  const Value& type = Get(body, "result_value_type");
  const std::string value_type = type.kind_case() == Value::kStringValue
                                     ? type.string_value()
                                     : std::string();
  if (value_type != "double" && value_type != "int" && value_type != "float") {
    return Text(400, kValueTypeNotSupported);
  }
  const Value& value = Get(body, "result_value");
  if (value.kind_case() != Value::kNumberValue ||
      (value_type == "int" && !IsInteger(value))) {
    return Text(400, kValueTypeMismatch);
  }

  const std::string& name = Get(body, "experiment_name").string_value();
  v1::Experiment e;
  if (auto missing = Find(name, &e)) return *missing;
  const int number = static_cast<int>(Get(body, "trial_number").number_value());
  if (number < 0) return Text(400, kNegativeTrial);

  v1::GetTrialConfigRequest get;
  get.set_experiment(name);
  get.set_trial(number);
  v1::Trial trial;
  grpc::Status s = Call(Method("GetTrialConfig"), get, &trial);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
    return Text(400, kTrialExceeded);
  }
  if (!s.ok()) return FromStatus(s);
  const bool finished = trial.state() == v1::Trial::COMPLETED ||
                        trial.state() == v1::Trial::FAILED ||
                        trial.state() == v1::Trial::PRUNED;

  v1::ReportResultRequest report;
  report.set_experiment(name);
  report.set_trial(number);
  if (outcome == "success") {
    const std::string metric =
        e.objectives_size() > 0 ? e.objectives(0).name() : "objective";
    (*report.mutable_metrics())[metric] = value.number_value();
  } else {
    report.set_failed(true);
    report.set_failure_reason(absl::StrCat("Kruize trial_result: ", outcome));
  }
  v1::Trial reported;
  s = Call(Method("ReportResult"), report, &reported);
  if (!s.ok()) {
    // Repeating the same report is a harmless retry (OK above); a different
    // one for a finished trial is Kruize's "already completed".
    if (finished) return Text(400, kTrialPrecedes);
    return FromStatus(s);
  }
  if (outcome == "error" && !finished) {
    // Kruize: "error: the experiment terminates". Stopped, it can still be
    // resumed over gRPC or REST.
    v1::StopExperimentRequest stop;
    stop.set_name(name);
    stop.set_reason(
        absl::StrCat("Kruize trial ", number, " reported trial_result error"));
    v1::Experiment stopped;
    s = Call(Method("StopExperiment"), stop, &stopped);
    // Already ended (its last trial) is fine: nothing more will be handed out.
    if (!s.ok() && s.error_code() != grpc::StatusCode::FAILED_PRECONDITION) {
      return FromStatus(s);
    }
  }
  return Text(200, kResultPosted);
}

HttpResponse Operation::Delete(const Struct& body) {
  if (auto error = Check(body,
                         {{"experiment_name", Type::kString, true},
                          {"operation", Type::kString, true}},
                         false)) {
    return Text(400, *error);
  }
  v1::DeleteExperimentRequest request;
  request.set_name(Get(body, "experiment_name").string_value());
  google::protobuf::Empty empty;
  grpc::Status s = Call(Method("DeleteExperiment"), request, &empty);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND ||
      s.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    return Text(404, kExperimentNotFound);
  }
  if (!s.ok()) return FromStatus(s);
  return Text(200, kExperimentDeleted);
}

HttpResponse Operation::Stop(const Struct& body) {
  if (auto error = Check(body,
                         {{"experiment_name", Type::kString, true},
                          {"operation", Type::kString, true}},
                         false)) {
    return Text(400, *error);
  }
  const std::string& name = Get(body, "experiment_name").string_value();
  v1::Experiment e;
  if (auto missing = Find(name, &e)) return *missing;
  v1::StopExperimentRequest request;
  request.set_name(name);
  request.set_reason("stopped by Kruize EXP_STOP");
  grpc::Status s = Call(Method("StopExperiment"), request, &e);
  if (!s.ok()) return FromStatus(s);
  return Text(200, kExperimentStopped);
}

HttpResponse Operation::TrialConfig(const HttpRequest& request) {
  const std::string* name = request.Query("experiment_name");
  const std::string* number_text = request.Query("trial_number");
  if (name == nullptr || number_text == nullptr) {
    return Text(400, kMissingParameters);
  }
  if (IsBlank(*name) || IsBlank(*number_text) || *name == "null" ||
      *number_text == "null") {
    return Text(400, kEmptyOrNull);
  }
  if (!IsValidUtf8(*name)) {
    return Text(400, "experiment_name is not valid UTF-8");
  }
  int number;
  if (!absl::SimpleAtoi(*number_text, &number)) {
    return Text(400, kNonInteger);
  }
  v1::Experiment e;
  if (auto missing = Find(*name, &e)) return *missing;
  if (number < 0) return Text(400, kNegativeTrial);
  v1::GetTrialConfigRequest get;
  get.set_experiment(*name);
  get.set_trial(number);
  v1::Trial trial;
  grpc::Status s = Call(Method("GetTrialConfig"), get, &trial);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
    return Text(400, kTrialExceeded);
  }
  if (!s.ok()) return FromStatus(s);

  // [{"tunable_name": ..., "tunable_value": ...}] in the search space's
  // order, keys in Kruize's order; integers print without a fraction.
  std::string json = "[";
  for (const v1::Parameter& p : e.parameters()) {
    auto it = trial.parameters().find(p.name());
    if (it == trial.parameters().end()) continue;  // Inactive (conditional).
    std::string value;
    if (!google::protobuf::util::MessageToJsonString(it->second, &value).ok()) {
      return Text(500, "cannot print the trial");
    }
    absl::StrAppend(&json, json.size() > 1 ? ", " : "",
                    "{\"tunable_name\": ", JsonQuote(p.name()),
                    ", \"tunable_value\": ", value, "}");
  }
  json += "]";
  HttpResponse r;
  r.body = std::move(json);
  return r;
}

}  // namespace

HttpResponse KruizeApi::Serve(const HttpRequest& request) {
  const bool get = request.method == "GET" || request.method == "HEAD";
  if (request.path == "/health") {
    if (!get) return Text(405, "Method not allowed");
    if (ready_ && !ready_()) return Text(503, "Service Unavailable");
    return Text(200, "OK");
  }
  if (request.path != "/experiment_trials") return Text(404, kNotFound);
  Operation op(rpc_, request.authorization);
  if (get) return op.TrialConfig(request);
  if (request.method != "POST") {
    HttpResponse r = Text(405, "Method not allowed");
    r.headers.emplace_back("Allow", "GET, HEAD, POST");
    return r;
  }
  if (!IsJsonContentType(request.content_type)) {
    return Text(400, kInvalidContentType);
  }
  if (JsonNesting(request.body, kMaxJsonNesting) > kMaxJsonNesting) {
    return Text(400, absl::StrCat(kJsonStructure, "nested deeper than ",
                                  kMaxJsonNesting, " levels"));
  }
  Value parsed;
  google::protobuf::util::JsonParseOptions options;
  auto status = google::protobuf::util::JsonStringToMessage(request.body,
                                                            &parsed, options);
  if (!status.ok()) {
    absl::string_view message(status.message().data(), status.message().size());
    absl::ConsumePrefix(&message, "INVALID_ARGUMENT:");
    return Text(400, absl::StrCat(kJsonStructure, message));
  }
  if (parsed.kind_case() != Value::kStructValue) {
    return Text(400, absl::StrCat(kJsonStructure, "expected a JSON object"));
  }
  const Struct& body = parsed.struct_value();
  const Value& operation = Get(body, "operation");
  if (body.fields().count("operation") == 0) {
    return Text(400, "'operation' is a required property");
  }
  if (operation.kind_case() != Value::kStringValue ||
      IsBlank(operation.string_value())) {
    return Text(400, kEmptyOrNull);
  }
  const std::string& name = operation.string_value();
  if (name == "EXP_TRIAL_GENERATE_NEW") {
    return op.GenerateNew(body, request.body);
  }
  if (name == "EXP_TRIAL_GENERATE_SUBSEQUENT") {
    return op.GenerateSubsequent(body);
  }
  if (name == "EXP_TRIAL_RESULT") return op.Result(body);
  if (name == "EXP_DELETE") return op.Delete(body);
  if (name == "EXP_STOP") return op.Stop(body);
  return Text(400, kInvalidOperation);
}

}  // namespace hpo::rest
