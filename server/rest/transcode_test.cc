// The route table derived from hpo.proto, and the transcoding of HTTP pieces
// into requests, without a server.

#include "server/rest/transcode.h"

#include <set>

#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "hpo/v1/hpo.pb.h"
#include "server/rest/route_table.h"

namespace hpo::rest {
namespace {

const google::protobuf::ServiceDescriptor* Service() {
  return v1::Experiment::descriptor()->file()->pool()->FindServiceByName(
      "hpo.v1.HpoService");
}

class TranscodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto table = RouteTable::FromService(Service());
    ASSERT_TRUE(table.ok()) << table.status();
    table_ = *std::move(table);
  }

  // Looks up and builds the request; the status of the build.
  absl::Status Build(
      const std::string& method, const std::string& path,
      const std::string& body, google::protobuf::Message* out,
      std::vector<std::pair<std::string, std::string>> query = {}) {
    const Route* route = nullptr;
    PathTemplate::Bindings bindings;
    std::vector<std::string> allowed;
    if (table_.Lookup(method, path, &route, &bindings, &allowed) !=
        RouteTable::Result::kFound) {
      return absl::NotFoundError("no route");
    }
    EXPECT_EQ(route->method->input_type(), out->GetDescriptor());
    HttpRequest http;
    http.method = method;
    http.path = path;
    http.body = body;
    http.query = std::move(query);
    return BuildRequest(*route, bindings, http, out);
  }

  RouteTable table_;
};

TEST_F(TranscodeTest, EveryRpcHasARoute) {
  std::set<std::string> routed;
  for (const Route& r : table_.routes()) routed.insert(r.method->name());
  const auto* service = Service();
  for (int i = 0; i < service->method_count(); ++i) {
    EXPECT_EQ(routed.count(service->method(i)->name()), 1u)
        << service->method(i)->name() << " has no google.api.http route";
  }
}

TEST_F(TranscodeTest, AdditionalBindingsAreRoutes) {
  int bindings = 0;
  for (const Route& r : table_.routes()) {
    if (r.method->name() == "GetTrialConfig") ++bindings;
  }
  EXPECT_EQ(bindings, 2);
}

TEST_F(TranscodeTest, BodyStarAndPathVariables) {
  v1::ReportResultRequest req;
  ASSERT_TRUE(Build("POST", "/v1/experiments/iris/trials/4:report",
                    R"({"metrics": {"accuracy": 0.9}, "worker_id": "w1",
                        "trial": 99})",
                    &req)
                  .ok());
  EXPECT_EQ(req.experiment(), "iris");
  EXPECT_EQ(req.trial(), 4);  // The path wins over the body.
  EXPECT_EQ(req.worker_id(), "w1");
  EXPECT_DOUBLE_EQ(req.metrics().at("accuracy"), 0.9);
}

TEST_F(TranscodeTest, AcceptsCamelCaseAndProtoNames) {
  v1::GetTrialConfigRequest a, b;
  ASSERT_TRUE(Build("POST", "/v1/experiments/e/trials:suggest",
                    R"({"workerId": "x"})", &a)
                  .ok());
  ASSERT_TRUE(Build("POST", "/v1/experiments/e/trials:suggest",
                    R"({"worker_id": "x"})", &b)
                  .ok());
  EXPECT_EQ(a.worker_id(), "x");
  EXPECT_EQ(b.worker_id(), "x");
}

TEST_F(TranscodeTest, QueryParametersIncludingRepeatedEnums) {
  v1::ListTrialsRequest req;
  ASSERT_TRUE(Build("GET", "/v1/experiments/e/trials", "", &req,
                    {{"states", "RUNNING"},
                     {"states", "5"},
                     {"pageSize", "7"},
                     {"page_token", "abc"}})
                  .ok());
  ASSERT_EQ(req.states_size(), 2);
  EXPECT_EQ(req.states(0), v1::Trial::RUNNING);
  EXPECT_EQ(req.states(1), v1::Trial::FAILED);
  EXPECT_EQ(req.page_size(), 7);
  EXPECT_EQ(req.page_token(), "abc");
}

TEST_F(TranscodeTest, ErrorsNameTheirPart) {
  v1::GetTrialConfigRequest get;
  absl::Status s = Build("GET", "/v1/experiments/e/trials/abc", "", &get);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("path variable trial"), std::string::npos) << s;

  v1::ListTrialsRequest list;
  s = Build("GET", "/v1/experiments/e/trials", "", &list, {{"nope", "1"}});
  EXPECT_NE(s.message().find("query parameter nope"), std::string::npos) << s;
  list.Clear();
  s = Build("GET", "/v1/experiments/e/trials", "", &list,
            {{"states", "SLEEPING"}});
  EXPECT_NE(s.message().find("RUNNING"), std::string::npos) << s;
  list.Clear();
  s = Build("GET", "/v1/experiments/e/trials", "", &list,
            {{"pageSize", "1"}, {"page_size", "2"}});
  EXPECT_FALSE(s.ok());

  v1::CreateExperimentRequest create;
  s = Build("POST", "/v1/experiments", R"({"experiment": {"nmae": "x"}})",
            &create);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("nmae"), std::string::npos) << s;
  create.Clear();
  s = Build("POST", "/v1/experiments", R"({"experiment": )", &create);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("body"), std::string::npos) << s;
}

// Bytes that cannot be a protobuf string, and bodies nested past any real
// request, are refused by the gateway itself, naming the part, rather than
// failing in the RPC layer (a 501 with no message) or taking seconds to parse.
TEST_F(TranscodeTest, RefusesNonUtf8TextAndDeepNesting) {
  v1::ListTrialsRequest list;
  absl::Status s = Build("GET", "/v1/experiments/%ff%fe/trials", "", &list);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("path variable experiment"), std::string::npos)
      << s;
  EXPECT_NE(s.message().find("not valid UTF-8"), std::string::npos) << s;
  list.Clear();
  s = Build("GET", "/v1/experiments/e/trials", "", &list,
            {{"pageToken", "\xc0\xaf"}});
  EXPECT_NE(s.message().find("query parameter pageToken"), std::string::npos)
      << s;
  list.Clear();
  EXPECT_TRUE(
      Build("GET", "/v1/experiments/%C3%A9t%C3%A9/trials", "", &list).ok());
  EXPECT_EQ(list.experiment(), "\xc3\xa9t\xc3\xa9");

  v1::AddTrialRequest add;
  const std::string deep = absl::StrCat(
      R"({"parameters": {"x": )", std::string(kMaxJsonNesting, '['),
      std::string(kMaxJsonNesting, ']'), "}}");
  s = Build("POST", "/v1/experiments/e/trials:add", deep, &add);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("body: nests objects and arrays deeper than 64"),
            std::string::npos)
      << s;
  // A few levels are for the parser to judge: a list of lists is a Value.
  add.Clear();
  s = Build("POST", "/v1/experiments/e/trials:add",
            R"({"parameters": {"x": [[1, [2]], []]}})", &add);
  EXPECT_TRUE(s.ok()) << s;
}

TEST_F(TranscodeTest, WrongMethodListsAllowedOnes) {
  const Route* route = nullptr;
  PathTemplate::Bindings bindings;
  std::vector<std::string> allowed;
  EXPECT_EQ(
      table_.Lookup("PUT", "/v1/experiments/x", &route, &bindings, &allowed),
      RouteTable::Result::kWrongMethod);
  EXPECT_EQ(allowed, (std::vector<std::string>{"DELETE", "GET", "HEAD"}));
  EXPECT_EQ(table_.Lookup("GET", "/v2/nothing", &route, &bindings, &allowed),
            RouteTable::Result::kNoSuchPath);
}

TEST_F(TranscodeTest, ResponsesUseCamelCaseAndPrintDefaults) {
  v1::Trial t;
  t.set_experiment("e");
  t.set_state(v1::Trial::RUNNING);
  const std::string json = MessageToJson(t);
  EXPECT_NE(json.find("\"number\":0"), std::string::npos) << json;
  EXPECT_NE(json.find("\"workerId\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"RUNNING\""), std::string::npos) << json;
  v1::IntRange r;
  r.set_max(5);
  EXPECT_NE(MessageToJson(r).find("\"max\":\"5\""), std::string::npos);
}

TEST(HttpStatusTest, FollowsGoogleRpcCode) {
  EXPECT_EQ(HttpStatusFromGrpcCode(3), 400);
  EXPECT_EQ(HttpStatusFromGrpcCode(5), 404);
  EXPECT_EQ(HttpStatusFromGrpcCode(6), 409);
  EXPECT_EQ(HttpStatusFromGrpcCode(9), 400);
  EXPECT_EQ(HttpStatusFromGrpcCode(8), 429);
  EXPECT_EQ(HttpStatusFromGrpcCode(16), 401);
  EXPECT_EQ(HttpStatusFromGrpcCode(7), 403);
  EXPECT_EQ(HttpStatusFromGrpcCode(14), 503);
  EXPECT_EQ(HttpStatusFromGrpcCode(4), 504);
  EXPECT_EQ(HttpStatusFromGrpcCode(12), 501);
  EXPECT_EQ(HttpStatusFromGrpcCode(13), 500);
  EXPECT_EQ(HttpStatusFromGrpcCode(2), 500);
  EXPECT_EQ(HttpStatusFromGrpcCode(15), 500);
  EXPECT_EQ(HttpStatusFromGrpcCode(10), 409);
  EXPECT_EQ(HttpStatusFromGrpcCode(11), 400);
  EXPECT_EQ(HttpStatusFromGrpcCode(1), 499);
}

TEST(ContentTypeTest, JsonVariants) {
  EXPECT_TRUE(IsJsonContentType("application/json"));
  EXPECT_TRUE(IsJsonContentType("Application/JSON; charset=utf-8"));
  EXPECT_TRUE(IsJsonContentType("application/merge-patch+json"));
  EXPECT_FALSE(IsJsonContentType("text/plain"));
  EXPECT_FALSE(IsJsonContentType(""));
  EXPECT_FALSE(IsJsonContentType("application/x-www-form-urlencoded"));
}

}  // namespace
}  // namespace hpo::rest
