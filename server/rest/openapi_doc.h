// The OpenAPI 3 document of the REST API, generated from hpo.proto at build
// time (server/rest/openapi) and compiled in, so that GET /openapi.json serves
// exactly the checked-in server/rest/openapi/hpo.openapi.json.

#ifndef HPO_SERVER_REST_OPENAPI_DOC_H_
#define HPO_SERVER_REST_OPENAPI_DOC_H_

#include <cstddef>

namespace hpo::rest {

extern const char kOpenApiJson[];
extern const size_t kOpenApiJsonSize;

}  // namespace hpo::rest

#endif  // HPO_SERVER_REST_OPENAPI_DOC_H_
