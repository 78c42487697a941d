// The HTTP side of hpo-server: every RPC of hpo.v1.HpoService at the REST
// route its google.api.http annotation gives, Kubernetes probes, the OpenAPI
// document and Kruize HPO's API, on one listener.
//
// The route table is built at start-up by walking the service's descriptor;
// each call is transcoded (JSON <-> protobuf, per the annotation) and made on
// the running gRPC server through an in-process channel, by method name. No
// code here is specific to any RPC: a newly annotated method is served as soon
// as the proto is rebuilt.

#ifndef HPO_SERVER_REST_GATEWAY_H_
#define HPO_SERVER_REST_GATEWAY_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "server/auth/token_file.h"
#include "server/rest/http_server.h"
#include "server/rest/kruize_api.h"
#include "server/rest/route_table.h"
#include "server/rest/rpc_client.h"
#include "server/thread_pool.h"

namespace hpo::rest {

struct GatewayOptions {
  // Bounds each call made for a request.
  absl::Duration timeout = absl::Seconds(60);
  // Besides the gRPC health service saying SERVING, what /readyz requires
  // (e.g. that storage is open). Unset: nothing more.
  std::function<bool()> ready;
  // Threads for Kruize operations, which make several blocking calls each.
  int kruize_threads = 4;
  // GET /metrics: the Prometheus text exposition. Unset: no /metrics.
  std::function<std::string()> metrics;
  // With tokens, every path but the public ones (/healthz, /readyz,
  // /openapi.json, Kruize's /health, and /metrics if `metrics_public`) needs
  // a valid token in the Authorization header, or answers 401. The header is
  // passed on to each call, and the service checks that the token's role
  // allows the method (403 if not); /metrics needs the read role.
  const auth::TokenFile* tokens = nullptr;
  bool metrics_public = false;
};

class Gateway {
 public:
  // `channel` reaches the running gRPC server in-process
  // (grpc::Server::InProcessChannel). Fails if an annotation is malformed.
  static absl::StatusOr<std::unique_ptr<Gateway>> Create(
      std::shared_ptr<grpc::Channel> channel, GatewayOptions options);

  // The HttpHandler: answers one request, usually later, from a gRPC thread.
  void Handle(HttpRequest request, Responder respond);

  const RouteTable& routes() const { return routes_; }

 private:
  Gateway(std::shared_ptr<grpc::Channel> channel, GatewayOptions options,
          RouteTable routes);

  void Transcode(const Route& route, const PathTemplate::Bindings& bindings,
                 const HttpRequest& request, Responder respond);
  void Ready(Responder respond);

  const GatewayOptions options_;
  const RouteTable routes_;
  RpcClient rpc_;
  ThreadPool kruize_pool_;
  KruizeApi kruize_;
};

// The name of the service the gateway serves.
inline constexpr char kServiceName[] = "hpo.v1.HpoService";

}  // namespace hpo::rest

#endif  // HPO_SERVER_REST_GATEWAY_H_
