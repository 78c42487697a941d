// Thousands of random and half-broken requests to every RPC of the real
// server, seeded so a failure repeats: each must get OK or a client-error
// status with a message (never INTERNAL, UNKNOWN or a dropped connection), the
// server must keep serving, and what it acknowledged must survive a restart.
// Requests are built by protobuf reflection, so a field added to the API is
// fuzzed without touching this file; a third of them follow a worker's life
// on real experiments (suggest, intermediate reports, result) with hostile
// values, which is where the deep code is. Under `--config=asan` the server
// runs with the sanitizers too.

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "google/api/annotations.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/reflection.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "tests/http_client.h"
#include "tests/server_process.h"
#include "tests/test_client.h"

namespace hpo {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using testing::HttpClient;
using testing::HttpResult;
using testing::ParseExperiment;
using testing::ServerProcess;

using Rng = std::mt19937_64;

constexpr double kMax = std::numeric_limits<double>::max();

const std::vector<std::string>& Strings() {
  static const auto* strings =
      new std::vector<std::string>{"",
                                   "a",
                                   "loss",
                                   "acc",
                                   "lr",
                                   "sgd",
                                   "p0",
                                   "p1",
                                   "f0",
                                   "x.y",
                                   "a/b",
                                   " ",
                                   "-1",
                                   "1e999",
                                   "NaN",
                                   "true",
                                   std::string(64, 'x'),
                                   std::string(300, 'y'),
                                   "\xc3\xa9",
                                   std::string("\0z", 2),
                                   "../etc",
                                   "\xff\xfe"};
  return *strings;
}

const std::vector<double>& Numbers() {
  static const auto* numbers =
      new std::vector<double>{0,
                              1,
                              -1,
                              0.5,
                              3,
                              1e-300,
                              -1e300,
                              kMax,
                              -kMax,
                              std::numeric_limits<double>::denorm_min(),
                              std::numeric_limits<double>::quiet_NaN(),
                              std::numeric_limits<double>::infinity(),
                              -std::numeric_limits<double>::infinity(),
                              9007199254740993.0};
  return *numbers;
}

template <typename T>
const T& Pick(const std::vector<T>& v, Rng& rng) {
  return v[rng() % v.size()];
}

bool Chance(Rng& rng, double p) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53 < p;
}

int64_t RandomInt(Rng& rng) {
  static const std::vector<int64_t> ints = {
      0,
      1,
      -1,
      2,
      5,
      100,
      int64_t{1} << 31,
      std::numeric_limits<int32_t>::max(),
      std::numeric_limits<int32_t>::min(),
      std::numeric_limits<int64_t>::max(),
      std::numeric_limits<int64_t>::min()};
  return Pick(ints, rng);
}

// Sets a random value (of the field's type) on a singular scalar field, or
// adds one to a repeated one.
void SetScalar(Message& m, const FieldDescriptor* f, Rng& rng) {
  const Reflection* r = m.GetReflection();
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      const std::string s = Pick(Strings(), rng);
      rep ? r->AddString(&m, f, s) : r->SetString(&m, f, s);
      break;
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      const bool b = Chance(rng, 0.5);
      rep ? r->AddBool(&m, f, b) : r->SetBool(&m, f, b);
      break;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      const double d = Pick(Numbers(), rng);
      rep ? r->AddDouble(&m, f, d) : r->SetDouble(&m, f, d);
      break;
    }
    case FieldDescriptor::CPPTYPE_FLOAT: {
      const float x = static_cast<float>(Pick(Numbers(), rng) / 1e300);
      rep ? r->AddFloat(&m, f, x) : r->SetFloat(&m, f, x);
      break;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      // Known values and one the proto does not define (open enums keep it).
      const int count = f->enum_type()->value_count();
      const int pick = static_cast<int>(rng() % (count + 1));
      const int number =
          pick < count ? f->enum_type()->value(pick)->number() : 77;
      rep ? r->AddEnumValue(&m, f, number) : r->SetEnumValue(&m, f, number);
      break;
    }
    case FieldDescriptor::CPPTYPE_INT32: {
      const auto v = static_cast<int32_t>(RandomInt(rng));
      rep ? r->AddInt32(&m, f, v) : r->SetInt32(&m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      const int64_t v = RandomInt(rng);
      rep ? r->AddInt64(&m, f, v) : r->SetInt64(&m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      const auto v = static_cast<uint32_t>(RandomInt(rng));
      rep ? r->AddUInt32(&m, f, v) : r->SetUInt32(&m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      const auto v = static_cast<uint64_t>(RandomInt(rng));
      rep ? r->AddUInt64(&m, f, v) : r->SetUInt64(&m, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
}

// Fills about half of `m`'s fields with random values, recursively (maps and
// google.protobuf.Value included) down to `depth` 4.
void Fill(Message& m, Rng& rng, int depth = 0) {
  const Descriptor* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (Chance(rng, 0.45)) continue;
    const bool message = f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
    if (message && depth >= 4) continue;
    if (f->is_repeated()) {
      const int n = static_cast<int>(rng() % 4);
      for (int k = 0; k < n; ++k) {
        if (message) {
          Fill(*r->AddMessage(&m, f), rng, depth + 1);
        } else {
          SetScalar(m, f, rng);
        }
      }
    } else if (message) {
      Fill(*r->MutableMessage(&m, f), rng, depth + 1);
    } else {
      SetScalar(m, f, rng);
    }
  }
}

// A well-formed experiment whose algorithm and early-stopping rule vary.
v1::Experiment GoodExperiment(const std::string& name, Rng& rng) {
  v1::Experiment e = ParseExperiment(R"pb(
    parameters {
      name: "lr"
      double_range { min: 0.0001 max: 1 log: true }
    }
    parameters {
      name: "n"
      int_range { min: 1 max: 9 }
    }
    parameters {
      name: "opt"
      categorical { values: [ "sgd", "adam" ] }
    }
    objectives { name: "loss" goal: MINIMIZE }
    max_trials: 100000
  )pb");
  e.set_name(name);
  static const std::vector<std::string> algorithms = {
      "auto", "tpe", "gp", "random", "cmaes", "sobol", "anneal", "evolution"};
  e.mutable_algorithm()->set_name(Pick(algorithms, rng));
  static const std::vector<
      std::pair<std::string, std::map<std::string, std::string>>>
      rules = {{"", {}},
               {"median", {}},
               {"asha", {}},
               {"hyperband", {{"max_resource", "20"}}},
               {"curve_fitting", {{"epoch_num", "20"}}},
               {"percentile", {{"percentile", "25"}}},
               {"patient", {{"patience", "2"}}}};
  const auto& [rule, settings] = Pick(rules, rng);
  if (!rule.empty()) {
    e.mutable_early_stopping()->set_name(rule);
    for (const auto& [k, v] : settings) {
      (*e.mutable_early_stopping()->mutable_settings())[k] = v;
    }
  }
  return e;
}

// Statuses a client may get for a bad or ill-timed request. Anything else
// (INTERNAL, UNKNOWN, UNAVAILABLE, DATA_LOSS, UNIMPLEMENTED, ...) is the
// server's fault.
bool ClientError(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::ABORTED:
      return true;
    default:
      return false;
  }
}

class ApiFuzzTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start());
    Connect();
  }

  void Connect() { stub_ = server_.NewStub(); }

  // Calls `method` with `request`; returns its status.
  grpc::Status Call(const std::string& method, const Message& request,
                    std::unique_ptr<Message>* response = nullptr) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(60));
    const auto& rpc = Rpcs().at(method);
    std::unique_ptr<Message> out(rpc.response->New());
    grpc::Status s = rpc.call(*stub_, &ctx, request, out.get());
    if (response != nullptr) *response = std::move(out);
    return s;
  }

  struct Rpc {
    const Message* request;
    const Message* response;
    std::function<grpc::Status(v1::HpoService::Stub&, grpc::ClientContext*,
                               const Message&, Message*)>
        call;
  };

  // Every RPC of HpoService by name.
  static const std::map<std::string, Rpc>& Rpcs() {
#define HPO_RPC(Name, Req, Resp)                                   \
  {                                                                \
#Name, Rpc {                                                   \
      &Req::default_instance(), &Resp::default_instance(),         \
          [](v1::HpoService::Stub& stub, grpc::ClientContext* ctx, \
             const Message& in, Message* out) {                    \
            return stub.Name(ctx, static_cast<const Req&>(in),     \
                             static_cast<Resp*>(out));             \
          }                                                        \
    }                                                              \
  }
    static const auto* rpcs = new std::map<std::string, Rpc>{
        HPO_RPC(CreateExperiment, v1::CreateExperimentRequest, v1::Experiment),
        HPO_RPC(GetExperiment, v1::GetExperimentRequest, v1::Experiment),
        HPO_RPC(ListExperiments, v1::ListExperimentsRequest,
                v1::ListExperimentsResponse),
        HPO_RPC(DeleteExperiment, v1::DeleteExperimentRequest,
                google::protobuf::Empty),
        HPO_RPC(GetTrialConfig, v1::GetTrialConfigRequest, v1::Trial),
        HPO_RPC(ReportResult, v1::ReportResultRequest, v1::Trial),
        HPO_RPC(ReportIntermediate, v1::ReportIntermediateRequest,
                v1::ReportIntermediateResponse),
        HPO_RPC(StopExperiment, v1::StopExperimentRequest, v1::Experiment),
        HPO_RPC(ResumeExperiment, v1::ResumeExperimentRequest, v1::Experiment),
        HPO_RPC(Heartbeat, v1::HeartbeatRequest, v1::Trial),
        HPO_RPC(ReleaseTrial, v1::ReleaseTrialRequest, v1::Trial),
        HPO_RPC(AddTrial, v1::AddTrialRequest, v1::Trial),
        HPO_RPC(EnqueueTrial, v1::EnqueueTrialRequest, v1::Trial),
        HPO_RPC(GetBest, v1::GetBestRequest, v1::GetBestResponse),
        HPO_RPC(ListTrials, v1::ListTrialsRequest, v1::ListTrialsResponse),
    };
#undef HPO_RPC
    return *rpcs;
  }

  // The experiment's completed, pruned and failed trials, page by page, as
  // text: what a restart must keep.
  std::string FinishedTrials(const std::string& experiment) {
    std::string text;
    v1::ListTrialsRequest list;
    list.set_experiment(experiment);
    do {
      std::unique_ptr<Message> out;
      const grpc::Status s = Call("ListTrials", list, &out);
      EXPECT_TRUE(s.ok()) << experiment << ": " << s.error_message();
      if (!s.ok()) return "";
      const auto& page = static_cast<const v1::ListTrialsResponse&>(*out);
      for (const v1::Trial& t : page.trials()) {
        if (t.state() != v1::Trial::COMPLETED &&
            t.state() != v1::Trial::PRUNED && t.state() != v1::Trial::FAILED) {
          continue;
        }
        v1::Trial kept;
        kept.set_number(t.number());
        kept.set_state(t.state());
        *kept.mutable_metrics() = t.metrics();
        *kept.mutable_intermediate_values() = t.intermediate_values();
        *kept.mutable_parameters() = t.parameters();
        absl::StrAppend(&text, kept.ShortDebugString(), "\n");
      }
      list.set_page_token(page.next_page_token());
    } while (!list.page_token().empty());
    return text;
  }

  ServerProcess server_;
  std::unique_ptr<v1::HpoService::Stub> stub_;
};

TEST_F(ApiFuzzTest, EveryRpcTakesHostileRequestsAndTheServerKeepsItsWord) {
  // The proto's service and this table must agree, so that no RPC goes
  // unfuzzed.
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          v1::HpoService::service_full_name());
  ASSERT_NE(service, nullptr);
  ASSERT_EQ(static_cast<size_t>(service->method_count()), Rpcs().size());
  std::vector<std::string> methods;
  for (int i = 0; i < service->method_count(); ++i) {
    methods.push_back(service->method(i)->name());
    ASSERT_EQ(Rpcs().count(methods.back()), 1u) << methods.back();
  }

  Rng rng(20261206);
  // Experiments no fuzzed request may delete: where workers live.
  const std::vector<std::string> kept = {"p0", "p1", "p2", "p3"};
  for (const std::string& name : kept) {
    v1::CreateExperimentRequest req;
    *req.mutable_experiment() = GoodExperiment(name, rng);
    // One with a target, so that results can complete it.
    if (name == "p3") {
      req.mutable_experiment()->mutable_objectives(0)->set_target(-1e300);
    }
    ASSERT_TRUE(Call("CreateExperiment", req).ok()) << name;
  }
  const std::vector<std::string> targets = {"p0", "p1", "p2", "p3",
                                            "f0", "f1", ""};
  std::map<std::string, int> ok_by_method;
  int failures = 0;
  auto check = [&](const std::string& method, const grpc::Status& s,
                   const Message& request) {
    if (s.ok()) {
      ++ok_by_method[method];
      return;
    }
    if (ClientError(s.error_code()) && !s.error_message().empty()) return;
    ++failures;
    ADD_FAILURE() << method << ": code " << s.error_code() << " \""
                  << s.error_message() << "\" for\n"
                  << request.DebugString().substr(0, 2000);
  };

  // A worker's life on a kept experiment, with hostile values.
  auto worker = [&] {
    v1::GetTrialConfigRequest get;
    get.set_experiment(Pick(kept, rng));
    get.set_worker_id(Chance(rng, 0.5) ? "w1" : "w2");
    std::unique_ptr<Message> got;
    const grpc::Status s = Call("GetTrialConfig", get, &got);
    check("GetTrialConfig", s, get);
    if (!s.ok()) return;
    const auto& trial = static_cast<const v1::Trial&>(*got);
    std::vector<int> steps;
    for (int step = 0; step < 25; ++step) {
      if (Chance(rng, 0.25)) steps.push_back(step);
    }
    if (Chance(rng, 0.1)) std::reverse(steps.begin(), steps.end());
    for (int step : steps) {
      v1::ReportIntermediateRequest rep;
      rep.set_experiment(trial.experiment());
      rep.set_trial(trial.number());
      rep.set_worker_id(trial.worker_id());
      rep.set_step(step);
      (*rep.mutable_metrics())["loss"] =
          Chance(rng, 0.7) ? static_cast<double>(rng() % 1000) / 1000
                           : Pick(Numbers(), rng);
      std::unique_ptr<Message> answer;
      const grpc::Status r = Call("ReportIntermediate", rep, &answer);
      check("ReportIntermediate", r, rep);
      if (r.ok() && static_cast<const v1::ReportIntermediateResponse&>(*answer)
                        .should_stop()) {
        break;
      }
    }
    v1::ReportResultRequest result;
    result.set_experiment(trial.experiment());
    result.set_trial(trial.number());
    result.set_worker_id(trial.worker_id());
    if (Chance(rng, 0.1)) {
      result.set_failed(true);
    } else {
      if (Chance(rng, 0.1)) result.set_pruned(true);
      (*result.mutable_metrics())["loss"] =
          Chance(rng, 0.7) ? static_cast<double>(rng() % 1000) / 1000
                           : Pick(Numbers(), rng);
    }
    check("ReportResult", Call("ReportResult", result), result);
  };

  // Trials from outside (AddTrial) and queued ones (EnqueueTrial) on a kept
  // experiment: parameters legal or not, objective metric there or not.
  auto outside = [&] {
    const bool add = Chance(rng, 0.6);
    std::unique_ptr<Message> request(
        add ? static_cast<Message*>(new v1::AddTrialRequest)
            : static_cast<Message*>(new v1::EnqueueTrialRequest));
    const Reflection* r = request->GetReflection();
    const Descriptor* d = request->GetDescriptor();
    r->SetString(request.get(), d->FindFieldByName("experiment"),
                 Pick(kept, rng));
    auto* params =
        add ? static_cast<v1::AddTrialRequest&>(*request).mutable_parameters()
            : static_cast<v1::EnqueueTrialRequest&>(*request)
                  .mutable_parameters();
    if (Chance(rng, 0.8)) (*params)["lr"].set_number_value(0.01);
    if (Chance(rng, 0.8))
      (*params)["n"].set_number_value(Chance(rng, 0.9) ? 3 : 3.5);
    if (Chance(rng, 0.8))
      (*params)["opt"].set_string_value(Chance(rng, 0.9) ? "adam" : "x");
    if (Chance(rng, 0.2))
      (*params)[Pick(Strings(), rng)].set_number_value(Pick(Numbers(), rng));
    if (add) {
      auto& req = static_cast<v1::AddTrialRequest&>(*request);
      if (Chance(rng, 0.8))
        (*req.mutable_metrics())["loss"] =
            Chance(rng, 0.8) ? 0.25 : Pick(Numbers(), rng);
      if (Chance(rng, 0.2))
        (*req.mutable_metrics())[Pick(Strings(), rng)] = Pick(Numbers(), rng);
      req.set_failed(Chance(rng, 0.1));
    }
    const char* method = add ? "AddTrial" : "EnqueueTrial";
    check(method, Call(method, *request), *request);
  };

  constexpr int kCalls = 2500;
  for (int call = 0; call < kCalls && failures < 5; ++call) {
    if (Chance(rng, 0.3)) {
      worker();
      continue;
    }
    if (Chance(rng, 0.1)) {
      outside();
      continue;
    }
    const std::string& method = Pick(methods, rng);
    const Rpc& rpc = Rpcs().at(method);
    std::unique_ptr<Message> request(rpc.request->New());
    if (method == "CreateExperiment" && Chance(rng, 0.6)) {
      // Mostly well-formed, one part scrambled.
      v1::Experiment e = GoodExperiment(
          Chance(rng, 0.2) ? Pick(kept, rng) : absl::StrCat("c", rng() % 40),
          rng);
      if (Chance(rng, 0.5)) {
        Fill(*e.mutable_parameters(static_cast<int>(rng() % 3)), rng);
      } else if (Chance(rng, 0.5)) {
        Fill(*e.mutable_early_stopping(), rng);
      } else {
        Fill(*e.mutable_algorithm(), rng);
      }
      *static_cast<v1::CreateExperimentRequest&>(*request)
           .mutable_experiment() = e;
    } else {
      Fill(*request, rng);
      // Aim most requests at experiments that exist (but never delete or
      // stop the kept ones: the workers and the restart check need them).
      const FieldDescriptor* name = nullptr;
      for (const char* field : {"experiment", "name"}) {
        const FieldDescriptor* f =
            request->GetDescriptor()->FindFieldByName(field);
        if (f != nullptr && f->cpp_type() == FieldDescriptor::CPPTYPE_STRING &&
            !f->is_repeated()) {
          name = f;
        }
      }
      const Reflection* r = request->GetReflection();
      if (name != nullptr && Chance(rng, 0.7)) {
        r->SetString(request.get(), name, Pick(targets, rng));
      }
      if (name != nullptr &&
          (method == "DeleteExperiment" || method == "StopExperiment")) {
        const std::string target = r->GetString(*request, name);
        if (std::find(kept.begin(), kept.end(), target) != kept.end()) {
          r->SetString(request.get(), name, "f0");
        }
      }
    }
    check(method, Call(method, *request), *request);
  }
  // The fuzzing reached past validation: workers' trials came and went, and
  // every RPC succeeded at least once except those that need luck.
  EXPECT_GT(ok_by_method["GetTrialConfig"], 100);
  EXPECT_GT(ok_by_method["ReportIntermediate"], 100);
  EXPECT_GT(ok_by_method["ReportResult"], 100);
  EXPECT_GT(ok_by_method["CreateExperiment"], 3);
  EXPECT_GT(ok_by_method["AddTrial"], 20);
  EXPECT_GT(ok_by_method["EnqueueTrial"], 20);

  // Still serving, and what it acknowledged (every finished trial, its
  // values and intermediate values) is there after a restart.
  std::map<std::string, std::string> before;
  for (const std::string& name : kept) before[name] = FinishedTrials(name);
  ASSERT_EQ(WEXITSTATUS(server_.Signal(SIGTERM)), 0) << server_.Log();
  ASSERT_TRUE(server_.Start());
  Connect();
  for (const std::string& name : kept) {
    EXPECT_EQ(FinishedTrials(name), before[name]) << name;
    EXPECT_NE(before[name], "") << name;
  }
}

// What a JSON body can be made into: cut short, a byte changed, nested
// past any parser's patience, numbers no double holds, a bad escape.
std::string Mangle(std::string json, Rng& rng) {
  switch (rng() % 8) {
    case 0:
      return json.substr(0, json.empty() ? 0 : rng() % json.size());
    case 1:
      if (!json.empty()) json[rng() % json.size()] = static_cast<char>(rng());
      return json;
    case 2:
      return std::string(20000, '[') + std::string(20000, ']');
    case 3:
      return absl::StrCat("{\"experiment\": ", std::string(5000, '{'), "}");
    case 4:
      return absl::StrReplaceAll(json,
                                 {{"1", "1e999999"}, {"0", "-0.0e-9999"}});
    case 5:
      return absl::StrReplaceAll(json, {{"\"", "\"\\ud800"}});
    case 6:
      return absl::StrCat(json, json);
    default:
      return json;  // well-formed
  }
}

// The gateway's routes as the proto's annotations give them, each {variable}
// to be filled in: (verb, path template, the request's descriptor).
std::vector<std::tuple<std::string, std::string, const Descriptor*>> Routes() {
  std::vector<std::tuple<std::string, std::string, const Descriptor*>> routes;
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          v1::HpoService::service_full_name());
  for (int i = 0; i < service->method_count(); ++i) {
    const auto* method = service->method(i);
    const auto& rule = method->options().GetExtension(google::api::http);
    std::vector<google::api::HttpRule> rules = {rule};
    for (const auto& b : rule.additional_bindings()) rules.push_back(b);
    for (const auto& r : rules) {
      std::string verb = "GET", path = r.get();
      if (!r.post().empty()) verb = "POST", path = r.post();
      if (!r.delete_().empty()) verb = "DELETE", path = r.delete_();
      if (!r.put().empty()) verb = "PUT", path = r.put();
      if (!r.patch().empty()) verb = "PATCH", path = r.patch();
      routes.emplace_back(verb, path, method->input_type());
    }
  }
  // Kruize HPO's API and the probes, beside the proto's routes.
  routes.emplace_back("POST", "/experiment_trials", nullptr);
  routes.emplace_back("GET", "/experiment_trials", nullptr);
  routes.emplace_back("GET", "/health", nullptr);
  routes.emplace_back("GET", "/healthz", nullptr);
  routes.emplace_back("GET", "/openapi.json", nullptr);
  return routes;
}

TEST_F(ApiFuzzTest, RestGatewayAnswersEveryMalformedRequest) {
  const int port = testing::HttpPortFromLog(server_.Log());
  ASSERT_GT(port, 0) << server_.Log();
  HttpClient http(port);
  Rng rng(61206);
  {
    v1::CreateExperimentRequest req;
    *req.mutable_experiment() = GoodExperiment("p0", rng);
    ASSERT_TRUE(Call("CreateExperiment", req).ok());
  }
  const auto routes = Routes();
  const std::vector<std::string> segments = {
      "p0",       "f0",         "0",  "-1",    "99999999999999999999",
      "%00",      "%ff%fe",     "..", "a%2Fb", std::string(2000, 'z'),
      "\xc3\xa9", "p0:suggest", ""};
  const std::vector<std::string> queries = {
      "",
      "?pageSize=-1",
      "?pageSize=abc",
      "?page_size=1&pageSize=2",
      "?unknown=1",
      "?states=COMPLETED&states=BOGUS",
      "?experiment_name=p0&trial_number=x",
      "?experiment_name=p0&trial_number=0",
      "?%zz=1",
      "?a"};
  const std::vector<std::string> verbs = {"GET",   "POST", "DELETE",
                                          "PATCH", "PUT",  "OPTIONS"};
  std::map<int, int> by_status;
  int failures = 0;
  constexpr int kRequests = 1500;
  for (int k = 0; k < kRequests && failures < 5; ++k) {
    const auto& [route_verb, path_template, input] = Pick(routes, rng);
    std::string path = path_template;
    for (const char* variable : {"{name}", "{experiment}", "{trial}"}) {
      path = absl::StrReplaceAll(path, {{variable, Pick(segments, rng)}});
    }
    path += Pick(queries, rng);
    const std::string verb = Chance(rng, 0.85) ? route_verb : Pick(verbs, rng);
    std::string body;
    if (input != nullptr) {
      std::unique_ptr<Message> request(
          google::protobuf::MessageFactory::generated_factory()
              ->GetPrototype(input)
              ->New());
      Fill(*request, rng);
      google::protobuf::util::MessageToJsonString(*request, &body);
    } else {
      // Kruize's operations, on the experiment "k" they create.
      static const std::vector<std::string> kruize = {
          R"({"operation": "EXP_TRIAL_GENERATE_NEW", "search_space": {
              "experiment_name": "k", "total_trials": 3,
              "direction": "minimize", "objective_function": "x",
              "hpo_algo_impl": "optuna_tpe", "value_type": "double",
              "tunables": [{"name": "a", "value_type": "double",
              "lower_bound": 0, "upper_bound": 1, "step": 0.1}]}})",
          R"({"experiment_name": "k",
              "operation": "EXP_TRIAL_GENERATE_SUBSEQUENT"})",
          R"({"experiment_name": "k", "trial_number": 0,
              "trial_result": "success", "result_value_type": "double",
              "result_value": 0.5, "operation": "EXP_TRIAL_RESULT"})",
          R"({"experiment_name": "k", "operation": "EXP_STOP"})",
          R"({"experiment_name": "k", "operation": "EXP_DELETE"})"};
      body = Pick(kruize, rng);
    }
    body = Mangle(body, rng);
    if (verb == "GET" || verb == "DELETE") body.clear();
    const HttpResult answer = http.Request(verb, path, body);
    ++by_status[answer.status];
    if (answer.status == 0 || answer.status >= 500) {
      ++failures;
      ADD_FAILURE() << verb << " " << path.substr(0, 200) << " -> "
                    << answer.status << " " << answer.body.substr(0, 500)
                    << "\nbody: " << body.substr(0, 500);
    }
  }
  // Some requests got through to the service.
  EXPECT_GT(by_status[200], 20);
  // And the server still serves both ways.
  EXPECT_EQ(http.Get("/healthz").status, 200);
  v1::GetExperimentRequest get;
  get.set_name("p0");
  EXPECT_TRUE(Call("GetExperiment", get).ok());
}

// A spec file from server/import/testdata.
std::string Fixture(const std::string& name) {
  return testing::ReadRunfile("server/import/testdata/" + name);
}

// One edit of a spec's text, of the kinds a hand-edited file gets (and some
// it should not): a line lost, doubled or moved, a token swapped for a
// hostile one, the indentation broken, the file cut short.
std::string MutateSpec(const std::string& spec, Rng& rng) {
  std::vector<std::string> lines = absl::StrSplit(spec, '\n');
  if (lines.empty()) return spec;
  const size_t at = rng() % lines.size();
  static const std::vector<std::string> tokens = {"-1e999",
                                                  "1e308",
                                                  "-0",
                                                  ".nan",
                                                  ".inf",
                                                  "~",
                                                  "null",
                                                  "[]",
                                                  "{}",
                                                  "\"\"",
                                                  "0x1F",
                                                  "2147483648",
                                                  "9223372036854775808",
                                                  "true",
                                                  "*alias",
                                                  "&anchor x",
                                                  "!!binary aGk=",
                                                  "\"\\ud800\"",
                                                  std::string(5000, 'w')};
  switch (rng() % 6) {
    case 0:
      lines.erase(lines.begin() + static_cast<ptrdiff_t>(at));
      break;
    case 1:
      lines.insert(lines.begin() + static_cast<ptrdiff_t>(at), lines[at]);
      break;
    case 2:
      std::swap(lines[at], lines[rng() % lines.size()]);
      break;
    case 3: {
      // The token after the line's last ':' (a YAML or JSON value).
      std::string& line = lines[at];
      const size_t colon = line.rfind(':');
      if (colon != std::string::npos) {
        line = absl::StrCat(line.substr(0, colon + 1), " ", Pick(tokens, rng),
                            line.back() == ',' ? "," : "");
      } else {
        line += Pick(tokens, rng);
      }
      break;
    }
    case 4:
      lines[at] = absl::StrCat(Chance(rng, 0.5) ? "\t" : "   ", lines[at]);
      break;
    default:
      return spec.substr(0, rng() % (spec.size() + 1));
  }
  return absl::StrJoin(lines, "\n");
}

TEST_F(ApiFuzzTest, ImportersTakeMutatedSpecs) {
  const std::vector<std::pair<std::string, std::string>> specs = {
      {"katib", "katib-distributions.yaml"},
      {"katib", "katib-iris-experiment.yaml"},
      {"katib", "katib-spec.json"},
      {"kruize", "kruize-generate-new.json"},
      {"kruize", "kruize-search-space.json"},
      {"nni", "nni-all-types.json"},
      {"nni", "nni-experiment-config.yml"},
      {"nni", "nni-tabs.json"},
      {"nni", "runai-hpo1.nni.yaml"},
      {"nni", "t9k-autotune-experiment.yaml"},
      {"nni", "t9k-search-space.json"}};
  Rng rng(1206);
  std::map<std::string, int> ok_by_file;
  int failures = 0;
  for (const auto& [format, file] : specs) {
    const std::string spec = Fixture(file);
    ASSERT_FALSE(spec.empty()) << file;
    for (int k = 0; k < 150 && failures < 5; ++k) {
      // One to three edits.
      std::string mutated = spec;
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits; ++e) mutated = MutateSpec(mutated, rng);
      v1::CreateExperimentRequest req;
      req.mutable_import_spec()->set_format(format);
      req.mutable_import_spec()->set_content(mutated);
      req.mutable_import_spec()->set_name(absl::StrCat("i", k));
      const grpc::Status s = Call("CreateExperiment", req);
      if (s.ok()) {
        ++ok_by_file[file];
        continue;
      }
      if (ClientError(s.error_code()) && !s.error_message().empty()) continue;
      ++failures;
      ADD_FAILURE() << file << ": code " << s.error_code() << " \""
                    << s.error_message() << "\" for\n"
                    << mutated.substr(0, 3000);
    }
  }
  // Edits that leave a file valid (a comment or description changed, a
  // value still legal) import, so the mutations reach past the parser.
  int imported = 0;
  for (const auto& [file, n] : ok_by_file) imported += n;
  EXPECT_GT(imported, 100);
}

// Several clients at once on a handful of experiments that are created,
// used, stopped and deleted under each other's feet: a suggestion racing
// the deletion of its experiment, a result racing a restart of the same
// trial's lease. Every answer must still be OK or a client error; under
// `--config=asan` a use after free anywhere in that would fail the server.
TEST_F(ApiFuzzTest, ConcurrentClientsRaceOnTheSameExperiments) {
  const std::vector<std::string> names = {"r0", "r1", "r2"};
  constexpr int kThreads = 4;
  constexpr int kCallsPerThread = 400;
  std::atomic<int> failures{0};
  std::atomic<int> suggested{0};
  auto client = [&](uint64_t seed) {
    Rng rng(seed);
    auto stub = server_.NewStub();
    auto check = [&](const char* method, const grpc::Status& s) {
      if (s.ok() ||
          (ClientError(s.error_code()) && !s.error_message().empty())) {
        return;
      }
      if (failures.fetch_add(1) < 5) {
        ADD_FAILURE() << method << ": code " << s.error_code() << " \""
                      << s.error_message() << "\"";
      }
    };
    for (int k = 0; k < kCallsPerThread && failures.load() < 5; ++k) {
      const std::string& name = Pick(names, rng);
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(60));
      const uint64_t action = rng() % 10;
      if (action == 0) {
        v1::CreateExperimentRequest req;
        *req.mutable_experiment() = GoodExperiment(name, rng);
        v1::Experiment out;
        check("CreateExperiment", stub->CreateExperiment(&ctx, req, &out));
      } else if (action == 1) {
        v1::DeleteExperimentRequest req;
        req.set_name(name);
        google::protobuf::Empty out;
        check("DeleteExperiment", stub->DeleteExperiment(&ctx, req, &out));
      } else if (action == 2) {
        v1::StopExperimentRequest req;
        req.set_name(name);
        v1::Experiment out;
        check("StopExperiment", stub->StopExperiment(&ctx, req, &out));
      } else if (action == 3) {
        v1::ResumeExperimentRequest req;
        req.set_name(name);
        v1::Experiment out;
        check("ResumeExperiment", stub->ResumeExperiment(&ctx, req, &out));
      } else if (action == 4) {
        v1::ListTrialsRequest req;
        req.set_experiment(name);
        v1::ListTrialsResponse out;
        check("ListTrials", stub->ListTrials(&ctx, req, &out));
      } else {
        // A worker's cycle: suggest, a report or two, a result (or a
        // release), each a separate call that may find the ground moved.
        v1::GetTrialConfigRequest get;
        get.set_experiment(name);
        get.set_worker_id(absl::StrCat("w", seed));
        v1::Trial trial;
        const grpc::Status s = stub->GetTrialConfig(&ctx, get, &trial);
        check("GetTrialConfig", s);
        if (!s.ok()) continue;
        ++suggested;
        for (int step = 1; step <= static_cast<int>(rng() % 3); ++step) {
          grpc::ClientContext c;
          v1::ReportIntermediateRequest rep;
          rep.set_experiment(name);
          rep.set_trial(trial.number());
          rep.set_worker_id(trial.worker_id());
          rep.set_step(step);
          (*rep.mutable_metrics())["loss"] =
              static_cast<double>(rng() % 100) / 100;
          v1::ReportIntermediateResponse out;
          check("ReportIntermediate", stub->ReportIntermediate(&c, rep, &out));
        }
        grpc::ClientContext c;
        if (Chance(rng, 0.1)) {
          v1::ReleaseTrialRequest rel;
          rel.set_experiment(name);
          rel.set_trial(trial.number());
          rel.set_worker_id(trial.worker_id());
          v1::Trial out;
          check("ReleaseTrial", stub->ReleaseTrial(&c, rel, &out));
        } else {
          v1::ReportResultRequest res;
          res.set_experiment(name);
          res.set_trial(trial.number());
          res.set_worker_id(trial.worker_id());
          (*res.mutable_metrics())["loss"] =
              static_cast<double>(rng() % 100) / 100;
          v1::Trial out;
          check("ReportResult", stub->ReportResult(&c, res, &out));
        }
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(client, 100 + t);
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  // The races reached trials, not only the experiments' lifecycle.
  EXPECT_GT(suggested.load(), 100);
  // And the server is still there.
  v1::ListExperimentsRequest list;
  EXPECT_TRUE(Call("ListExperiments", list).ok());
}

}  // namespace
}  // namespace hpo

namespace hpo {
namespace {

// The same server with --auth_tokens: whatever a request holds, one without a
// valid token, or with a token whose role is too weak for its method, is
// refused before it reaches a handler, and changes nothing.
class ApiFuzzAuthTest : public ApiFuzzTest {
 protected:
  static constexpr char kRead[] = "fuzz-read-7d1c";
  static constexpr char kWorker[] = "fuzz-worker-93ab";
  static constexpr char kAdmin[] = "fuzz-admin-40fe";

  void SetUp() override {
    tokens_path_ = testing::TempPath("tokens.csv");
    std::ofstream(tokens_path_) << "# token,name,role\n"
                                << kRead << ",dashboard,read\n"
                                << kWorker << ",workers,worker\n"
                                << kAdmin << ",ops,admin\n";
    ASSERT_TRUE(server_.Start({"--auth_tokens=" + tokens_path_}));
    Connect();
  }

  // Calls `method` with "authorization: `authorization`" (none if empty).
  grpc::Status CallAs(const std::string& authorization,
                      const std::string& method, const Message& request,
                      std::unique_ptr<Message>* response = nullptr) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(60));
    if (!authorization.empty()) ctx.AddMetadata("authorization", authorization);
    const auto& rpc = Rpcs().at(method);
    std::unique_ptr<Message> out(rpc.response->New());
    grpc::Status s = rpc.call(*stub_, &ctx, request, out.get());
    if (response != nullptr) *response = std::move(out);
    return s;
  }

  // Everything the server holds, read with the admin token: what refused
  // calls must leave as it was.
  std::string Everything() {
    std::string text;
    v1::ListExperimentsRequest list;
    std::unique_ptr<Message> out;
    grpc::Status s =
        CallAs(absl::StrCat("Bearer ", kAdmin), "ListExperiments", list, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (!s.ok()) return "";
    for (const v1::Experiment& e :
         static_cast<const v1::ListExperimentsResponse&>(*out).experiments()) {
      v1::Experiment kept = e;
      kept.clear_update_time();
      absl::StrAppend(&text, kept.ShortDebugString(), "\n");
      v1::ListTrialsRequest trials;
      trials.set_experiment(e.name());
      trials.set_page_size(1000);
      std::unique_ptr<Message> page;
      s = CallAs(absl::StrCat("Bearer ", kAdmin), "ListTrials", trials, &page);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (s.ok()) absl::StrAppend(&text, page->ShortDebugString(), "\n");
    }
    return text;
  }

  std::string tokens_path_;
};

constexpr char ApiFuzzAuthTest::kRead[];
constexpr char ApiFuzzAuthTest::kWorker[];
constexpr char ApiFuzzAuthTest::kAdmin[];

v1::Role RoleOf(const std::string& method) {
  return google::protobuf::DescriptorPool::generated_pool()
      ->FindServiceByName(v1::HpoService::service_full_name())
      ->FindMethodByName(method)
      ->options()
      .GetExtension(v1::required_role);
}

TEST_F(ApiFuzzAuthTest, NoRequestWithoutAValidTokenReachesAHandler) {
  Rng rng(20261208);
  const std::string admin = absl::StrCat("Bearer ", kAdmin);
  for (const char* name : {"p0", "p1"}) {
    v1::CreateExperimentRequest req;
    *req.mutable_experiment() = GoodExperiment(name, rng);
    ASSERT_TRUE(CallAs(admin, "CreateExperiment", req).ok()) << name;
  }
  // A running trial and a finished one, for the fuzzed calls to aim at.
  for (int i = 0; i < 2; ++i) {
    v1::GetTrialConfigRequest get;
    get.set_experiment("p0");
    get.set_worker_id(absl::StrCat("w", i));
    std::unique_ptr<Message> trial;
    ASSERT_TRUE(CallAs(admin, "GetTrialConfig", get, &trial).ok());
    if (i == 0) {
      v1::ReportResultRequest report;
      report.set_experiment("p0");
      report.set_trial(static_cast<const v1::Trial&>(*trial).number());
      (*report.mutable_metrics())["loss"] = 1.5;
      ASSERT_TRUE(CallAs(admin, "ReportResult", report).ok());
    }
  }
  const std::string before = Everything();
  ASSERT_NE(before, "");

  // What a caller without a valid token can send: nothing, another scheme,
  // a listed token cut short or grown by a character or in another case, a
  // token with its scheme missing, and garbage.
  const std::vector<std::string> invalid = {
      "",
      "Bearer",
      "Bearer ",
      absl::StrCat("Basic ", kAdmin),
      kAdmin,
      absl::StrCat("Bearer ", std::string(kAdmin).substr(0, 10)),
      absl::StrCat("Bearer ", kAdmin, "x"),
      absl::StrCat("Bearer x", kAdmin),
      absl::StrCat("Bearer ", absl::AsciiStrToUpper(kAdmin)),
      absl::StrCat("Bearer ", kAdmin, ",", kWorker),
      absl::StrCat("Bearer ", std::string(5000, 'a'))};
  const std::vector<std::pair<std::string, v1::Role>> valid = {
      {kRead, v1::ROLE_READ},
      {kWorker, v1::ROLE_WORKER},
      {kAdmin, v1::ROLE_ADMIN}};
  std::vector<std::string> methods;
  for (const auto& [name, rpc] : Rpcs()) methods.push_back(name);
  const std::vector<std::string> targets = {"p0", "p1", "f0", ""};

  std::map<grpc::StatusCode, int> by_code;
  int failures = 0;
  constexpr int kRequests = 3000;
  for (int k = 0; k < kRequests && failures < 5; ++k) {
    const std::string& method = Pick(methods, rng);
    std::unique_ptr<Message> request(Rpcs().at(method).request->New());
    Fill(*request, rng);
    // Aim most requests at real experiments and trials, where a handler
    // that ran would change something.
    const Descriptor* d = request->GetDescriptor();
    for (const char* field : {"experiment", "name"}) {
      const FieldDescriptor* f = d->FindFieldByName(field);
      if (f != nullptr && f->cpp_type() == FieldDescriptor::CPPTYPE_STRING &&
          Chance(rng, 0.8)) {
        request->GetReflection()->SetString(request.get(), f,
                                            Pick(targets, rng));
      }
    }
    if (const FieldDescriptor* f = d->FindFieldByName("trial");
        f != nullptr && f->cpp_type() == FieldDescriptor::CPPTYPE_INT32 &&
        Chance(rng, 0.8)) {
      request->GetReflection()->SetInt32(request.get(), f,
                                         static_cast<int32_t>(rng() % 2));
    }
    // A valid token whose role is too weak for the method, or no valid
    // token at all.
    std::string authorization;
    grpc::StatusCode expected = grpc::StatusCode::UNAUTHENTICATED;
    const v1::Role needed = RoleOf(method);
    if (needed > v1::ROLE_READ && Chance(rng, 0.4)) {
      std::vector<std::string> weaker;
      for (const auto& [token, role] : valid) {
        if (role < needed) weaker.push_back(token);
      }
      authorization = absl::StrCat(Chance(rng, 0.5) ? "Bearer " : "bearer ",
                                   Pick(weaker, rng));
      expected = grpc::StatusCode::PERMISSION_DENIED;
    } else {
      authorization = Pick(invalid, rng);
    }
    const grpc::Status s = CallAs(authorization, method, *request);
    ++by_code[s.error_code()];
    const bool echoed =
        authorization.size() > 7 &&
        s.error_message().find(authorization.substr(7)) != std::string::npos;
    if (s.error_code() != expected || s.error_message().empty() || echoed) {
      ++failures;
      ADD_FAILURE() << method << " with \"" << authorization.substr(0, 60)
                    << "\": code " << s.error_code() << " \""
                    << s.error_message() << "\", expected " << expected;
    }
  }
  EXPECT_GT(by_code[grpc::StatusCode::UNAUTHENTICATED], 1000);
  EXPECT_GT(by_code[grpc::StatusCode::PERMISSION_DENIED], 300);

  // The REST routes alike: the gateway passes the header on, and /metrics
  // asks for the read role itself.
  const int port = testing::HttpPortFromLog(server_.Log());
  ASSERT_GT(port, 0) << server_.Log();
  HttpClient http(port);
  const auto routes = Routes();
  std::map<int, int> by_status;
  for (int k = 0; k < 1000 && failures < 5; ++k) {
    const auto& [verb, path_template, input] = Pick(routes, rng);
    std::string path = path_template;
    for (const char* variable : {"{name}", "{experiment}", "{trial}"}) {
      path = absl::StrReplaceAll(
          path, {{variable, variable[1] == 't' ? "0" : Pick(targets, rng)}});
    }
    std::string body;
    if (input != nullptr && verb != "GET" && verb != "DELETE") {
      std::unique_ptr<Message> request(
          google::protobuf::MessageFactory::generated_factory()
              ->GetPrototype(input)
              ->New());
      Fill(*request, rng);
      google::protobuf::util::MessageToJsonString(*request, &body);
    } else if (path == "/experiment_trials" && verb == "POST") {
      body = R"({"experiment_name": "p0", "operation": "EXP_DELETE"})";
    }
    // Bytes gRPC's metadata cannot carry, but an HTTP header can.
    const std::string authorization =
        Chance(rng, 0.05) ? std::string("Bearer \xff\xfe") : Pick(invalid, rng);
    std::vector<std::pair<std::string, std::string>> headers;
    if (!authorization.empty())
      headers.emplace_back("Authorization", authorization);
    const bool is_public =
        path == "/healthz" || path == "/health" || path == "/openapi.json";
    const HttpResult answer =
        http.Request(verb, path, body, "application/json", headers);
    ++by_status[answer.status];
    const bool refused =
        answer.status == 401 &&
        absl::StrContains(answer.Header("www-authenticate"), "Bearer");
    if (is_public ? answer.status != 200 : !refused) {
      ++failures;
      ADD_FAILURE() << verb << " " << path << " with \""
                    << authorization.substr(0, 60) << "\" -> " << answer.status
                    << " " << answer.body.substr(0, 300);
    }
  }
  EXPECT_GT(by_status[401], 500);
  {
    // /metrics: 401 without a token, 200 with the read one.
    EXPECT_EQ(http.Get("/metrics").status, 401);
    const HttpResult metrics =
        http.Request("GET", "/metrics", "", "",
                     {{"Authorization", absl::StrCat("Bearer ", kRead)}});
    EXPECT_EQ(metrics.status, 200) << metrics.body.substr(0, 300);
    EXPECT_TRUE(absl::StrContains(
        metrics.body, "hpo_auth_failures_total{reason=\"forbidden\"}"));
  }

  {
    // Through the gateway a token's role is the service's check: the header
    // reaches it.
    const auto as = [](const char* token) {
      return std::vector<std::pair<std::string, std::string>>{
          {"Authorization", absl::StrCat("Bearer ", token)}};
    };
    EXPECT_EQ(
        http.Request("GET", "/v1/experiments/p0", "", "", as(kRead)).status,
        200);
    const HttpResult denied =
        http.Request("DELETE", "/v1/experiments/p1", "", "", as(kWorker));
    EXPECT_EQ(denied.status, 403) << denied.body;
    EXPECT_TRUE(absl::StrContains(denied.body, "needs admin")) << denied.body;
    // A role too weak is told so before its body is read.
    const HttpResult malformed = http.Request(
        "POST", "/v1/experiments", "{\"name\": ", "text/plain", as(kWorker));
    EXPECT_EQ(malformed.status, 403) << malformed.body;
    const HttpResult kruize =
        http.Request("POST", "/experiment_trials",
                     R"({"experiment_name": "p1", "operation": "EXP_DELETE"})",
                     "application/json", as(kRead));
    EXPECT_EQ(kruize.status, 403) << kruize.body;
  }

  // Not one refused call changed anything.
  EXPECT_EQ(Everything(), before);
  // And the valid tokens work for what their roles allow.
  v1::GetTrialConfigRequest get;
  get.set_experiment("p1");
  get.set_worker_id("late");
  EXPECT_TRUE(
      CallAs(absl::StrCat("Bearer ", kWorker), "GetTrialConfig", get).ok());
  v1::ListExperimentsRequest list;
  EXPECT_TRUE(
      CallAs(absl::StrCat("Bearer ", kRead), "ListExperiments", list).ok());
}

}  // namespace
}  // namespace hpo
