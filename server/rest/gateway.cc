#include "server/rest/gateway.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "hpo/v1/hpo.pb.h"
#include "server/log.h"
#include "server/rest/openapi_doc.h"
#include "server/rest/transcode.h"

namespace hpo::rest {
namespace {

using google::protobuf::Message;
using google::protobuf::MessageFactory;

std::unique_ptr<Message> NewMessage(const google::protobuf::Descriptor* type) {
  return std::unique_ptr<Message>(
      MessageFactory::generated_factory()->GetPrototype(type)->New());
}

HttpResponse Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse MethodNotAllowed(const std::string& method,
                              const std::string& path,
                              const std::vector<std::string>& allowed) {
  HttpResponse r = ErrorResponse(
      405, 12,
      absl::StrCat(method, " is not allowed on ", path,
                   " (allowed: ", absl::StrJoin(allowed, ", "), ")"));
  r.headers.emplace_back("Allow", absl::StrJoin(allowed, ", "));
  return r;
}

// True if `method` may read a fixed resource; otherwise answers 405.
bool IsRead(const HttpRequest& request, const Responder& respond) {
  if (request.method == "GET" || request.method == "HEAD") return true;
  respond(MethodNotAllowed(request.method, request.path, {"GET", "HEAD"}));
  return false;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Create(
    std::shared_ptr<grpc::Channel> channel, GatewayOptions options) {
  // Touching a generated type makes sure hpo.proto is in the generated pool.
  const google::protobuf::ServiceDescriptor* service =
      v1::Experiment::descriptor()->file()->pool()->FindServiceByName(
          kServiceName);
  if (service == nullptr) {
    return absl::InternalError(
        absl::StrCat(kServiceName, " is not in the descriptor pool"));
  }
  auto routes = RouteTable::FromService(service);
  if (!routes.ok()) return routes.status();
  return std::unique_ptr<Gateway>(
      new Gateway(std::move(channel), std::move(options), *std::move(routes)));
}

Gateway::Gateway(std::shared_ptr<grpc::Channel> channel, GatewayOptions options,
                 RouteTable routes)
    : options_(std::move(options)),
      routes_(std::move(routes)),
      rpc_(std::move(channel), options_.timeout),
      kruize_pool_(std::max(1, options_.kruize_threads)),
      kruize_(&rpc_, &kruize_pool_, [this] {
        // Kruize's /health is answered on a pool thread: it may wait.
        absl::Notification done;
        bool ready = false;
        Ready([&](HttpResponse r) {
          ready = r.status == 200;
          done.Notify();
        });
        done.WaitForNotification();
        return ready;
      }) {}

void Gateway::Handle(HttpRequest request, Responder respond) {
  if (GetLogLevel() <= LogLevel::DEBUG) {
    // One line per request, like the gRPC side.
    respond = [respond = std::move(respond), start = absl::Now(),
               method = request.method, path = request.path,
               peer = request.peer](HttpResponse r) {
      const absl::Duration took = absl::Now() - start;
      HPO_LOG(DEBUG)
              .With("http_method", method)
              .With("path", path)
              .With("http_status", r.status)
              .With("duration_ms", absl::ToDoubleMilliseconds(took))
              .With("peer", peer)
          << "http " << method << " " << path << " from " << peer << ": "
          << r.status << " in " << absl::FormatDuration(took);
      respond(std::move(r));
    };
  }
  const std::string& path = request.path;
  if (path == "/healthz") {
    // Liveness: the process answers.
    if (IsRead(request, respond)) respond(Json(200, "{\"status\": \"ok\"}"));
    return;
  }
  if (path == "/readyz") {
    if (IsRead(request, respond)) Ready(std::move(respond));
    return;
  }
  if (path == "/openapi.json") {
    if (IsRead(request, respond)) {
      respond(Json(200, std::string(kOpenApiJson, kOpenApiJsonSize)));
    }
    return;
  }
  const bool metrics = path == "/metrics" && options_.metrics;
  // Past the public paths, a request without a valid token is refused before
  // it is routed or parsed: it learns nothing of the API but the 401. Whether
  // its token's role suffices is the service's check, per method.
  const bool is_public =
      (metrics && options_.metrics_public) || KruizeApi::IsPublic(path);
  if (options_.tokens != nullptr && !is_public) {
    const auth::Verdict verdict =
        options_.tokens->Check(request.authorization, v1::ROLE_READ);
    if (!verdict.status.ok()) {
      respond(ErrorResponse(verdict.status));
      return;
    }
  }
  if (metrics) {
    if (IsRead(request, respond)) {
      HttpResponse r;
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = options_.metrics();
      respond(std::move(r));
    }
    return;
  }
  if (KruizeApi::Owns(path)) {
    kruize_.Handle(std::move(request), std::move(respond));
    return;
  }

  const Route* route = nullptr;
  PathTemplate::Bindings bindings;
  std::vector<std::string> allowed;
  switch (routes_.Lookup(request.method, path, &route, &bindings, &allowed)) {
    case RouteTable::Result::kNoSuchPath:
      respond(ErrorResponse(404, 5,
                            absl::StrCat("no route for ", request.method, " ",
                                         path, " (see /openapi.json)")));
      return;
    case RouteTable::Result::kWrongMethod:
      respond(MethodNotAllowed(request.method, path, allowed));
      return;
    case RouteTable::Result::kFound:
      break;
  }
  if (options_.tokens != nullptr) {
    // The role too, before the body is parsed: a caller whose role cannot
    // call the method learns nothing of what its body would get. (The
    // service checks again, as for any call.)
    const auth::Verdict verdict = options_.tokens->Check(
        request.authorization,
        route->method->options().GetExtension(v1::required_role));
    if (!verdict.status.ok()) {
      respond(ErrorResponse(verdict.status));
      return;
    }
  }
  if (!route->body.empty() &&
      !absl::StripAsciiWhitespace(request.body).empty() &&
      !IsJsonContentType(request.content_type)) {
    respond(ErrorResponse(
        415, 3,
        absl::StrCat("Content-Type must be application/json, got \"",
                     request.content_type, "\"")));
    return;
  }
  Transcode(*route, bindings, request, std::move(respond));
}

void Gateway::Transcode(const Route& route,
                        const PathTemplate::Bindings& bindings,
                        const HttpRequest& request, Responder respond) {
  std::unique_ptr<Message> message = NewMessage(route.method->input_type());
  if (absl::Status s = BuildRequest(route, bindings, request, message.get());
      !s.ok()) {
    respond(ErrorResponse(s));
    return;
  }
  rpc_.CallAsync(
      route.grpc_path, message->SerializeAsString(),
      [&route, respond = std::move(respond)](grpc::Status status,
                                             std::string bytes) {
        if (!status.ok()) {
          const int code = static_cast<int>(status.error_code());
          respond(ErrorResponse(HttpStatusFromGrpcCode(code), code,
                                status.error_message()));
          return;
        }
        std::unique_ptr<Message> response =
            NewMessage(route.method->output_type());
        if (!response->ParseFromString(bytes)) {
          respond(
              ErrorResponse(500, 13, "cannot parse the service's response"));
          return;
        }
        auto json = ResponseToJson(route, *response);
        if (!json.ok()) {
          respond(ErrorResponse(json.status()));
          return;
        }
        respond(Json(200, *std::move(json)));
      },
      request.authorization);
}

void Gateway::Ready(Responder respond) {
  if (options_.ready && !options_.ready()) {
    respond(ErrorResponse(503, 14, "not ready: storage is not open"));
    return;
  }
  // grpc.health.v1.Health/Check for the whole server (service ""): an empty
  // request; SERVING answers field 1 = 1, which encodes as 08 01.
  rpc_.CallAsync(
      "/grpc.health.v1.Health/Check", "",
      [respond = std::move(respond)](grpc::Status status, std::string bytes) {
        if (status.ok() && bytes == std::string("\x08\x01", 2)) {
          respond(Json(200, "{\"status\": \"ready\"}"));
          return;
        }
        respond(ErrorResponse(503, 14,
                              status.ok()
                                  ? "not ready: the gRPC server is not serving"
                                  : absl::StrCat("not ready: health check: ",
                                                 status.error_message())));
      });
}

}  // namespace hpo::rest
