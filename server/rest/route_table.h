// The REST routes of a gRPC service, derived from its methods' google.api.http
// annotations (and their additional_bindings). Nothing here names an RPC:
// annotate a new method in the .proto and it has a route.

#ifndef HPO_SERVER_REST_ROUTE_TABLE_H_
#define HPO_SERVER_REST_ROUTE_TABLE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "server/rest/path_template.h"

namespace hpo::rest {

struct Route {
  std::string http_method;  // "GET", "POST", ... or a custom kind.
  PathTemplate path;
  // "" (no body), "*" (the whole request) or the name of the request field
  // the body fills.
  std::string body;
  // "" (the whole response) or the response field sent as the body.
  std::string response_body;
  const google::protobuf::MethodDescriptor* method = nullptr;
  // "/hpo.v1.HpoService/CreateExperiment": what gRPC calls it.
  std::string grpc_path;
  // 0 for the method's main binding, 1, 2, ... for additional_bindings.
  int binding = 0;
};

// The leaf field a dotted path ("parent.name") names in `message`, with
// each part matched against field names and JSON names; nullptr if none.
// Parts before the last must be singular message fields.
const google::protobuf::FieldDescriptor* FindFieldPath(
    const google::protobuf::Descriptor* message, absl::string_view path);

class RouteTable {
 public:
  // Every annotated method of `service`, in declaration order. Methods
  // without an annotation get no route. INVALID_ARGUMENT for a malformed
  // template, a variable or body naming no field, or a streaming method.
  static absl::StatusOr<RouteTable> FromService(
      const google::protobuf::ServiceDescriptor* service);

  enum class Result { kFound, kNoSuchPath, kWrongMethod };

  // The route for `method` on `path` (as sent, without the query), its
  // variables in `bindings`. kWrongMethod fills `allowed` with the methods
  // the path does take. HEAD is served as GET.
  Result Lookup(absl::string_view method, absl::string_view path,
                const Route** route, PathTemplate::Bindings* bindings,
                std::vector<std::string>* allowed) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
  // Indices into routes_, most specific template first.
  std::vector<size_t> order_;
};

}  // namespace hpo::rest

#endif  // HPO_SERVER_REST_ROUTE_TABLE_H_
