// End-to-end: the real hpo-server binary's HTTP listener, spoken to over real
// sockets by a tiny HTTP/1.1 client. Covers every annotated route, JSON round
// trips, each class of error, keep-alive, concurrency, probes, the OpenAPI
// document, and experiments shared between gRPC and REST.

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "google/api/annotations.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "hpo/v1/hpo.pb.h"
#include "tests/http_client.h"
#include "tests/server_process.h"
#include "tests/test_client.h"

namespace hpo {
namespace {

using testing::HttpClient;
using testing::HttpResult;
using testing::ServerProcess;

constexpr char kIris[] = R"({"experiment": {
  "name": "NAME",
  "parameters": [
    {"name": "lr", "doubleRange": {"min": 0.01, "max": 0.05}},
    {"name": "num-layers", "int_range": {"min": "2", "max": 5}},
    {"name": "optimizer", "categorical": {"values": ["sgd", "adam"]}}],
  "objectives": [{"name": "accuracy", "goal": "MAXIMIZE"}],
  "max_trials": 12, "parallelTrials": 3}})";

std::string Iris(const std::string& name) {
  return absl::StrReplaceAll(kIris, {{"NAME", name}});
}

// Parses a JSON answer into `message`, refusing unknown fields: the answer
// must be in the proto3 JSON mapping of the right type.
template <typename T>
T Parse(const HttpResult& r) {
  T message;
  google::protobuf::util::JsonParseOptions options;
  auto status =
      google::protobuf::util::JsonStringToMessage(r.body, &message, options);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << r.body;
  return message;
}

// An error answer: the JSON shape every error has.
void ExpectError(const HttpResult& r, int http_status, int grpc_code,
                 const std::string& fragment) {
  EXPECT_EQ(r.status, http_status) << r.body;
  EXPECT_EQ(r.Header("content-type"), "application/json");
  EXPECT_NE(r.body.find(absl::StrCat("\"code\": ", grpc_code)),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("\"details\": []"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(fragment), std::string::npos)
      << "expected \"" << fragment << "\" in " << r.body;
}

class RestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start({"--max_body_bytes=65536"}));
    port_ = testing::HttpPortFromLog(server_.Log());
    ASSERT_GT(port_, 0) << server_.Log();
    http_ = std::make_unique<HttpClient>(port_);
  }

  HttpResult Create(const std::string& name) {
    return http_->Post("/v1/experiments", Iris(name));
  }

  ServerProcess server_;
  int port_ = 0;
  std::unique_ptr<HttpClient> http_;
};

TEST_F(RestTest, PrintsTheAddressKruizeDemosLookFor) {
  EXPECT_NE(server_.Log().find(absl::StrCat(
                "Access REST Service at http://127.0.0.1:", port_)),
            std::string::npos);
}

TEST_F(RestTest, Probes) {
  HttpResult live = http_->Get("/healthz");
  EXPECT_EQ(live.status, 200);
  HttpResult ready = http_->Get("/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_NE(ready.body.find("ready"), std::string::npos);
  EXPECT_EQ(http_->Request("HEAD", "/healthz").status, 200);
  EXPECT_EQ(http_->Post("/healthz", "{}").status, 405);
}

TEST_F(RestTest, ServesTheCheckedInOpenApiDocument) {
  HttpResult r = http_->Get("/openapi.json");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-type"), "application/json");
  const std::string checked_in =
      testing::ReadRunfile("server/rest/openapi/hpo.openapi.json");
  ASSERT_FALSE(checked_in.empty());
  EXPECT_TRUE(r.body == checked_in)
      << "GET /openapi.json differs from server/rest/openapi/hpo.openapi.json";
}

// Every method of the service, at every binding its annotation gives, reaches
// the service: the answer may be the service's own error (no such experiment)
// but never the gateway's "no route".
TEST_F(RestTest, EveryRpcIsRoutedFromItsAnnotation) {
  const auto* service =
      v1::Experiment::descriptor()->file()->pool()->FindServiceByName(
          "hpo.v1.HpoService");
  ASSERT_NE(service, nullptr);
  int checked = 0;
  for (int i = 0; i < service->method_count(); ++i) {
    const auto* method = service->method(i);
    ASSERT_TRUE(method->options().HasExtension(google::api::http))
        << method->name() << " has no google.api.http annotation";
    const auto& rule = method->options().GetExtension(google::api::http);
    std::vector<google::api::HttpRule> rules = {rule};
    for (const auto& b : rule.additional_bindings()) rules.push_back(b);
    for (const auto& r : rules) {
      std::string verb, path;
      if (!r.get().empty()) verb = "GET", path = r.get();
      if (!r.post().empty()) verb = "POST", path = r.post();
      if (!r.delete_().empty()) verb = "DELETE", path = r.delete_();
      if (!r.put().empty()) verb = "PUT", path = r.put();
      if (!r.patch().empty()) verb = "PATCH", path = r.patch();
      ASSERT_FALSE(verb.empty()) << method->name();
      // Fill each {variable} with a value of its kind.
      path = absl::StrReplaceAll(path, {{"{name}", "no-such-experiment"},
                                        {"{experiment}", "no-such-experiment"},
                                        {"{trial}", "0"}});
      ASSERT_EQ(path.find('{'), std::string::npos) << path;
      HttpResult answer =
          http_->Request(verb, path, r.body().empty() ? "" : "{}");
      EXPECT_NE(answer.status, 0) << verb << " " << path;
      EXPECT_EQ(answer.body.find("no route"), std::string::npos)
          << method->name() << ": " << verb << " " << path << " -> "
          << answer.body;
      EXPECT_NE(answer.status, 405) << verb << " " << path;
      ++checked;
    }
  }
  EXPECT_GE(checked, service->method_count());
}

TEST_F(RestTest, ExperimentLifecycleRoundTrips) {
  HttpResult created = Create("iris");
  ASSERT_EQ(created.status, 200) << created.body;
  v1::Experiment e = Parse<v1::Experiment>(created);
  EXPECT_EQ(e.name(), "iris");
  EXPECT_EQ(e.parameters_size(), 3);
  EXPECT_EQ(e.max_trials(), 12);
  EXPECT_EQ(e.parallel_trials(), 3);
  EXPECT_EQ(e.state(), v1::Experiment::CREATED);
  // lowerCamelCase out, int64 as strings, enums as names, defaults printed.
  EXPECT_NE(created.body.find("\"maxTrials\":12"), std::string::npos);
  EXPECT_NE(created.body.find("\"min\":\"2\""), std::string::npos)
      << created.body;
  EXPECT_NE(created.body.find("\"goal\":\"MAXIMIZE\""), std::string::npos);
  EXPECT_NE(created.body.find("\"maxFailedTrials\":0"), std::string::npos);

  HttpResult got = http_->Get("/v1/experiments/iris");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(Parse<v1::Experiment>(got).name(), "iris");

  ASSERT_EQ(Create("iris-2").status, 200);
  HttpResult list = http_->Get("/v1/experiments?pageSize=1");
  ASSERT_EQ(list.status, 200);
  auto page = Parse<v1::ListExperimentsResponse>(list);
  ASSERT_EQ(page.experiments_size(), 1);
  EXPECT_EQ(page.experiments(0).name(), "iris");
  ASSERT_FALSE(page.next_page_token().empty());
  HttpResult next = http_->Get(absl::StrCat(
      "/v1/experiments?page_size=1&pageToken=", page.next_page_token()));
  ASSERT_EQ(next.status, 200) << next.body;
  EXPECT_EQ(Parse<v1::ListExperimentsResponse>(next).experiments(0).name(),
            "iris-2");

  // Trials: suggest, read back through the additional binding, report.
  HttpResult suggested = http_->Post("/v1/experiments/iris/trials:suggest",
                                     R"({"workerId": "w1"})");
  ASSERT_EQ(suggested.status, 200) << suggested.body;
  v1::Trial t0 = Parse<v1::Trial>(suggested);
  EXPECT_EQ(t0.number(), 0);
  EXPECT_NE(suggested.body.find("\"number\":0"), std::string::npos);
  EXPECT_EQ(t0.worker_id(), "w1");
  EXPECT_EQ(t0.state(), v1::Trial::RUNNING);
  EXPECT_EQ(t0.parameters().size(), 3u);

  HttpResult read = http_->Get("/v1/experiments/iris/trials/0");
  ASSERT_EQ(read.status, 200);
  EXPECT_EQ(Parse<v1::Trial>(read).parameters().at("optimizer").string_value(),
            t0.parameters().at("optimizer").string_value());

  HttpResult beat = http_->Post("/v1/experiments/iris/trials/0:heartbeat",
                                R"({"worker_id": "w1"})");
  EXPECT_EQ(beat.status, 200) << beat.body;
  HttpResult step =
      http_->Post("/v1/experiments/iris/trials/0:reportIntermediate",
                  R"({"step": 1, "metrics": {"accuracy": 0.5}})");
  EXPECT_EQ(step.status, 200) << step.body;
  Parse<v1::ReportIntermediateResponse>(step);

  HttpResult reported = http_->Post("/v1/experiments/iris/trials/0:report",
                                    R"({"metrics": {"accuracy": 0.91}})");
  ASSERT_EQ(reported.status, 200) << reported.body;
  EXPECT_EQ(Parse<v1::Trial>(reported).state(), v1::Trial::COMPLETED);

  ASSERT_EQ(http_->Post("/v1/experiments/iris/trials:suggest", "").status, 200);
  HttpResult added = http_->Post(
      "/v1/experiments/iris/trials:add",
      R"({"parameters": {"lr": 0.02, "num-layers": 3, "optimizer": "sgd"},
          "metrics": {"accuracy": 0.5}})");
  EXPECT_EQ(added.status, 200) << added.body;
  HttpResult queued = http_->Post("/v1/experiments/iris/trials:enqueue",
                                  R"({"parameters": {"lr": 0.03}})");
  EXPECT_EQ(queued.status, 200) << queued.body;

  // Query parameters, repeated ones included.
  HttpResult filtered =
      http_->Get("/v1/experiments/iris/trials?states=COMPLETED&states=RUNNING");
  ASSERT_EQ(filtered.status, 200) << filtered.body;
  std::set<int> numbers;
  const auto listed = Parse<v1::ListTrialsResponse>(filtered);
  for (const v1::Trial& t : listed.trials()) {
    EXPECT_TRUE(t.state() == v1::Trial::COMPLETED ||
                t.state() == v1::Trial::RUNNING);
    numbers.insert(t.number());
  }
  EXPECT_EQ(numbers.count(0), 1u);
  EXPECT_EQ(numbers.count(1), 1u);
  HttpResult waiting = http_->Get("/v1/experiments/iris/trials?states=WAITING");
  ASSERT_EQ(waiting.status, 200);
  EXPECT_EQ(Parse<v1::ListTrialsResponse>(waiting).trials_size(), 1);

  HttpResult best = http_->Get("/v1/experiments/iris/best");
  ASSERT_EQ(best.status, 200);
  auto best_trials = Parse<v1::GetBestResponse>(best);
  ASSERT_EQ(best_trials.trials_size(), 1);
  EXPECT_DOUBLE_EQ(best_trials.trials(0).metrics().at("accuracy"), 0.91);

  HttpResult stopped =
      http_->Post("/v1/experiments/iris:stop", R"({"reason": "lunch"})");
  ASSERT_EQ(stopped.status, 200) << stopped.body;
  EXPECT_EQ(Parse<v1::Experiment>(stopped).state(), v1::Experiment::STOPPED);
  HttpResult resumed = http_->Post("/v1/experiments/iris:resume", "");
  ASSERT_EQ(resumed.status, 200) << resumed.body;
  EXPECT_EQ(Parse<v1::Experiment>(resumed).state(), v1::Experiment::RUNNING);

  HttpResult deleted = http_->Request("DELETE", "/v1/experiments/iris-2");
  EXPECT_EQ(deleted.status, 200);
  EXPECT_EQ(deleted.body, "{}");
  ExpectError(http_->Get("/v1/experiments/iris-2"), 404, 5, "iris-2");
}

TEST_F(RestTest, ServiceErrorsMapToHttpStatuses) {
  ASSERT_EQ(Create("errs").status, 200);
  // ALREADY_EXISTS
  ExpectError(Create("errs"), 409, 6, "already exists");
  // INVALID_ARGUMENT from validation, with the field's path.
  ExpectError(
      http_->Post("/v1/experiments", R"({"experiment": {"name": "x"}})"), 400,
      3, "experiment.");
  // NOT_FOUND
  ExpectError(http_->Get("/v1/experiments/nope/trials/0"), 404, 5, "nope");
  ExpectError(http_->Get("/v1/experiments/errs/trials/7"), 404, 5, "trial");
  // RESOURCE_EXHAUSTED at parallel_trials (3).
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(http_->Post("/v1/experiments/errs/trials:suggest", "").status,
              200);
  }
  ExpectError(http_->Post("/v1/experiments/errs/trials:suggest", ""), 429, 8,
              "");
  // FAILED_PRECONDITION: a different report for a finished trial.
  ASSERT_EQ(http_
                ->Post("/v1/experiments/errs/trials/0:report",
                       R"({"metrics": {"accuracy": 0.5}})")
                .status,
            200);
  ExpectError(http_->Post("/v1/experiments/errs/trials/0:report",
                          R"({"metrics": {"accuracy": 0.7}})"),
              400, 9, "");
}

TEST_F(RestTest, GatewayErrorsAreClearJson) {
  ASSERT_EQ(Create("gw").status, 200);
  // Malformed JSON names the problem.
  ExpectError(http_->Post("/v1/experiments", R"({"experiment": )"), 400, 3,
              "body: ");
  ExpectError(http_->Post("/v1/experiments", "[1, 2]"), 400, 3, "body: ");
  // Unknown fields name the field, at any depth.
  ExpectError(http_->Post("/v1/experiments", R"({"experimnet": {}})"), 400, 3,
              "experimnet");
  ExpectError(
      http_->Post("/v1/experiments/gw/trials:suggest", R"({"worker": "w"})"),
      400, 3, "worker");
  // Wrong value types.
  ExpectError(
      http_->Post("/v1/experiments/gw/trials:suggest", R"({"trial": "seven"})"),
      400, 3, "body: ");
  // A body that is not JSON.
  ExpectError(http_->Post("/v1/experiments", "name=x",
                          "application/x-www-form-urlencoded"),
              415, 3, "application/json");
  ExpectError(http_->Post("/v1/experiments", "{}", "text/plain"), 415, 3,
              "text/plain");
  // Charset parameters are fine.
  EXPECT_EQ(http_
                ->Post("/v1/experiments/gw/trials:suggest", "{}",
                       "application/json; charset=utf-8")
                .status,
            200);
  // Unknown paths and wrong methods.
  ExpectError(http_->Get("/v2/experiments"), 404, 5, "no route");
  ExpectError(http_->Get("/v1/experiments/gw/nothing"), 404, 5, "no route");
  HttpResult wrong = http_->Request("PUT", "/v1/experiments/gw", "{}");
  ExpectError(wrong, 405, 12, "PUT");
  EXPECT_EQ(wrong.Header("allow"), "DELETE, GET, HEAD");
  HttpResult get_only = http_->Post("/v1/experiments/gw/best", "{}");
  EXPECT_EQ(get_only.status, 405);
  EXPECT_EQ(get_only.Header("allow"), "GET, HEAD");
  // Bad path variables and query parameters.
  ExpectError(http_->Get("/v1/experiments/gw/trials/abc"), 400, 3,
              "path variable trial");
  ExpectError(http_->Get("/v1/experiments/gw/trials/99999999999"), 400, 3,
              "path variable trial");
  ExpectError(http_->Get("/v1/experiments/gw/trials?states=SLEEPY"), 400, 3,
              "query parameter states");
  ExpectError(http_->Get("/v1/experiments/gw/trials?pageSize=ten"), 400, 3,
              "query parameter pageSize");
  ExpectError(http_->Get("/v1/experiments/gw/trials?colour=red"), 400, 3,
              "query parameter colour");
  ExpectError(http_->Post("/v1/experiments/gw/trials:suggest?x=1", "{}"), 400,
              3, "query parameter x");
  ExpectError(http_->Get("/v1/experiments/gw/trials/0?trial=1"), 400, 3,
              "already given in the path");
  // A GET takes no body.
  ExpectError(http_->Request("GET", "/v1/experiments/gw", "{\"a\": 1}"), 400, 3,
              "takes no body");
  // Percent-encoded path variables are decoded.
  HttpResult encoded = http_->Get("/v1/experiments/g%77");
  EXPECT_EQ(encoded.status, 200) << encoded.body;
  // The connection survived every error.
  EXPECT_EQ(http_->connects(), 1);
}

TEST_F(RestTest, BodyLimit) {
  // Declared too large: refused before it is read.
  std::string big(70000, ' ');
  big[0] = '{';
  big.back() = '}';
  HttpResult r = http_->Post("/v1/experiments", big);
  ExpectError(r, 413, 8, "65536");
  // Chunked and too large: refused too.
  HttpClient chunked(port_);
  std::string request =
      "POST /v1/experiments HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 20; ++i) {
    request +=
        absl::StrCat(absl::Hex(5000), "\r\n", std::string(5000, ' '), "\r\n");
  }
  request += "0\r\n\r\n";
  HttpResult c = chunked.Raw(request);
  EXPECT_EQ(c.status, 413) << c.body;
  // The server still serves.
  HttpClient after(port_);
  EXPECT_EQ(after.Get("/healthz").status, 200);
}

TEST_F(RestTest, ChunkedRequestBodiesAreAccepted) {
  const std::string body = Iris("chunky");
  std::string request =
      "POST /v1/experiments HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (size_t at = 0; at < body.size(); at += 100) {
    const std::string piece = body.substr(at, 100);
    request += absl::StrCat(absl::Hex(piece.size()), "\r\n", piece, "\r\n");
  }
  request += "0\r\n\r\n";
  HttpResult r = http_->Raw(request);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Parse<v1::Experiment>(r).name(), "chunky");
}

TEST_F(RestTest, KeepAliveReusesOneConnection) {
  ASSERT_EQ(Create("keep").status, 200);
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(http_->Get("/v1/experiments/keep").status, 200) << i;
  }
  // Pipelined: two requests in one write, two answers in order.
  HttpResult first = http_->Raw(
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /v1/experiments/keep HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(first.status, 200);
  HttpResult second = http_->Raw("");
  EXPECT_EQ(second.status, 200);
  EXPECT_NE(second.body.find("\"keep\""), std::string::npos);
  EXPECT_EQ(http_->connects(), 1);
}

TEST_F(RestTest, ManyConcurrentConnections) {
  ASSERT_EQ(Create("busy").status, 200);
  // Idle connections held open while others work.
  std::vector<std::unique_ptr<HttpClient>> idle;
  for (int i = 0; i < 200; ++i) {
    idle.push_back(std::make_unique<HttpClient>(port_));
    ASSERT_TRUE(idle.back()->Send(""));
  }
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 32; ++t) {
    threads.emplace_back([&, t] {
      HttpClient client(port_);
      for (int i = 0; i < 10; ++i) {
        HttpResult r = (i % 2 == 0)
                           ? client.Get("/v1/experiments/busy")
                           : client.Post("/v1/experiments/busy/trials:add",
                                         R"({"parameters": {"lr": 0.02,
                                             "num-layers": 2, "optimizer":
                                             "adam"}, "metrics":
                                             {"accuracy": 0.1}})");
        if (r.status == 200) ++ok;
      }
      EXPECT_EQ(client.connects(), 1) << t;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 320);
  // The idle ones still work.
  EXPECT_EQ(idle.front()->Get("/healthz").status, 200);
  EXPECT_EQ(idle.back()->Get("/healthz").status, 200);
  HttpResult trials = http_->Get("/v1/experiments/busy/trials?pageSize=1000");
  EXPECT_EQ(Parse<v1::ListTrialsResponse>(trials).trials_size(), 160);
}

TEST_F(RestTest, GrpcAndRestShareExperiments) {
  testing::TestClient grpc_client(server_.NewStub());
  v1::Experiment e = testing::ParseExperiment(R"pb(
    name: "from-grpc"
    parameters {
      name: "x"
      double_range { min: 0 max: 1 }
    }
    objectives { name: "loss" goal: MINIMIZE }
  )pb");
  ASSERT_TRUE(grpc_client.Create(e).ok());
  v1::Trial t;
  ASSERT_TRUE(grpc_client.Suggest("from-grpc", &t, "g").ok());
  HttpResult over_rest = http_->Get("/v1/experiments/from-grpc/trials/0");
  ASSERT_EQ(over_rest.status, 200);
  EXPECT_DOUBLE_EQ(
      Parse<v1::Trial>(over_rest).parameters().at("x").number_value(),
      t.parameters().at("x").number_value());
  ASSERT_EQ(http_
                ->Post("/v1/experiments/from-grpc/trials/0:report",
                       R"({"metrics": {"loss": 0.25}})")
                .status,
            200);

  ASSERT_EQ(Create("from-rest").status, 200);
  EXPECT_EQ(grpc_client.Get("from-rest").parameters_size(), 3);
  EXPECT_EQ(grpc_client.Trials("from-grpc").trials(0).state(),
            v1::Trial::COMPLETED);
}

TEST(RestFlagsTest, HttpCanBeTurnedOff) {
  ServerProcess server;
  ASSERT_TRUE(server.Start({"--http=false"}));
  EXPECT_EQ(server.Log().find("Access REST Service"), std::string::npos);
}

TEST(RestFlagsTest, IdleConnectionsTimeOut) {
  ServerProcess server;
  ASSERT_TRUE(server.Start({"--http_timeout_seconds=1"}));
  const int port = testing::HttpPortFromLog(server.Log());
  ASSERT_GT(port, 0);
  HttpClient stalled(port, /*timeout_seconds=*/10);
  // Half a request, then nothing: the server closes the connection.
  ASSERT_TRUE(stalled.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n"));
  EXPECT_TRUE(stalled.WaitForClose());
  HttpClient fresh(port);
  EXPECT_EQ(fresh.Get("/healthz").status, 200);
}

}  // namespace
}  // namespace hpo
