// The listener Katib's controller and kubelet's probes dial: Katib's
// Suggestion and EarlyStopping services and the gRPC health service on a
// port of their own, plaintext and without tokens (Katib's controller sends
// neither), so it belongs inside the cluster. hpo's own API is not served on
// it: the services reach hpo through an in-process server of their own,
// whatever TLS and tokens hpo's port asks for.

#ifndef HPO_SERVER_KATIB_KATIB_SERVER_H_
#define HPO_SERVER_KATIB_KATIB_SERVER_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/server.h"
#include "server/grpc_service.h"
#include "server/katib/katib_service.h"
#include "server/rest/rpc_client.h"
#include "server/service.h"

namespace hpo::katib {

// The health service's names: kubelet's probe in Katib's manifests asks for
// the first.
inline constexpr char kSuggestionHealthName[] = "manager.v1beta1.Suggestion";
inline constexpr char kEarlyStoppingHealthName[] =
    "manager.v1beta1.EarlyStopping";

class KatibServer {
 public:
  // Listens on host:port (0: a free port) and serves `service`, which must
  // outlive the server. Needs grpc::EnableDefaultHealthCheckService(true)
  // first.
  static absl::StatusOr<std::unique_ptr<KatibServer>> Start(
      const std::string& host, int port, Service* service);

  // The flag's way: nullptr (and OK) when `port` is unset, else Start's.
  // Logs where it listens.
  static absl::StatusOr<std::unique_ptr<KatibServer>> MaybeStart(
      std::optional<int> port, const std::string& host, Service* service);

  // Stops listening, lets calls in flight finish for up to 5 s, then stops.
  ~KatibServer();

  int port() const { return port_; }

 private:
  KatibServer() = default;

  std::unique_ptr<GrpcService> hpo_;
  std::unique_ptr<grpc::Server> inner_;  // hpo's API, in-process only
  std::unique_ptr<rest::RpcClient> rpc_;
  std::unique_ptr<SuggestionService> suggestion_;
  std::unique_ptr<EarlyStoppingService> early_stopping_;
  std::unique_ptr<grpc::Server> server_;  // Katib's port
  int port_ = 0;
};

}  // namespace hpo::katib

#endif  // HPO_SERVER_KATIB_KATIB_SERVER_H_
