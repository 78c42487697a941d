// Writes the OpenAPI 3 document of a gRPC service's REST routes: paths and
// operations from its google.api.http annotations (the same RouteTable the
// gateway serves), schemas from its messages in the proto3 JSON mapping, and
// the .proto's comments as descriptions when the descriptors carry source
// info (protoc --include_source_info).

#ifndef HPO_PROTO_OPENAPI_OPENAPI_H_
#define HPO_PROTO_OPENAPI_OPENAPI_H_

#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"

namespace hpo::openapi {

absl::StatusOr<std::string> GenerateOpenApi(
    const google::protobuf::ServiceDescriptor* service);

}  // namespace hpo::openapi

#endif  // HPO_PROTO_OPENAPI_OPENAPI_H_
