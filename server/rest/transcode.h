// Between HTTP/JSON and protobuf messages, the way google.api.http describes:
// a request message is filled from the body (per the rule's `body`), then
// from the path variables, then from the query parameters (fields neither
// the path nor the body binds); a response message becomes JSON in the proto3
// JSON mapping; a gRPC status becomes an HTTP status and a JSON error.
//
// Requests accept both lowerCamelCase and the .proto's field names. Responses
// use lowerCamelCase and print every field, defaults included (so a trial
// numbered 0 says "number": 0); 64-bit integers are strings, enums are names.

#ifndef HPO_SERVER_REST_TRANSCODE_H_
#define HPO_SERVER_REST_TRANSCODE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "server/rest/http_server.h"
#include "server/rest/route_table.h"

namespace hpo::rest {

// The HTTP status for a gRPC status code (0..16), as google.rpc.Code
// documents it; CANCELLED is 499, as nginx and grpc-gateway use.
int HttpStatusFromGrpcCode(int code);

// A JSON error: {"code": <gRPC code>, "message": "...", "details": []}.
HttpResponse ErrorResponse(int http_status, int grpc_code,
                           absl::string_view message);
// The same for an absl::Status, with its code's HTTP status.
HttpResponse ErrorResponse(const absl::Status& status);

// True for "application/json" and "application/<anything>+json", with any
// parameters ("; charset=utf-8").
bool IsJsonContentType(absl::string_view content_type);

// JSON bodies nesting objects and arrays deeper than this are refused before
// they are parsed: hpo's requests nest a few levels, and protobuf's parser
// takes seconds over a 40 kB body of nested arrays.
inline constexpr int kMaxJsonNesting = 64;

// Fills `request`, an empty message of the route's input type. Errors are
// INVALID_ARGUMENT and name the part that is wrong: "body: ...", "path
// variable trial: ...", "query parameter states: ...".
absl::Status BuildRequest(const Route& route,
                          const PathTemplate::Bindings& bindings,
                          const HttpRequest& http,
                          google::protobuf::Message* request);

// The route's response body: the message (or its response_body field) as
// JSON.
absl::StatusOr<std::string> ResponseToJson(
    const Route& route, const google::protobuf::Message& response);

// The options every JSON answer is printed with.
std::string MessageToJson(const google::protobuf::Message& message);

}  // namespace hpo::rest

#endif  // HPO_SERVER_REST_TRANSCODE_H_
