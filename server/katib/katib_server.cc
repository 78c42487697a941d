#include "server/katib/katib_server.h"

#include <chrono>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/channel_arguments.h"
#include "server/log.h"

namespace hpo::katib {
namespace {

// Katib's controller gives a call 60 s.
constexpr absl::Duration kCallTimeout = absl::Seconds(60);

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" ||
         host.rfind("127.", 0) == 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<KatibServer>> KatibServer::Start(
    const std::string& host, int port, Service* service) {
  std::unique_ptr<KatibServer> k(new KatibServer());
  // hpo's API with no tokens, reachable only in-process: the adapter's calls
  // take the same handlers as any gRPC client's.
  k->hpo_ = std::make_unique<GrpcService>(service);
  grpc::ServerBuilder inner;
  inner.RegisterService(k->hpo_.get());
  k->inner_ = inner.BuildAndStart();
  if (k->inner_ == nullptr) {
    return absl::InternalError("cannot start the in-process server");
  }
  k->rpc_ = std::make_unique<rest::RpcClient>(
      k->inner_->InProcessChannel(grpc::ChannelArguments()), kCallTimeout);
  k->suggestion_ = std::make_unique<SuggestionService>(k->rpc_.get());
  k->early_stopping_ = std::make_unique<EarlyStoppingService>();

  grpc::ServerBuilder builder;
  const std::string address = absl::StrCat(host, ":", port);
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(),
                           &k->port_);
  builder.RegisterService(k->suggestion_.get());
  builder.RegisterService(k->early_stopping_.get());
  // Katib sends one experiment's calls one at a time: a few threads do.
  builder.SetSyncServerOption(
      grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 2);
  k->server_ = builder.BuildAndStart();
  if (k->server_ == nullptr || k->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address, " for Katib"));
  }
  grpc::HealthCheckServiceInterface* health =
      k->server_->GetHealthCheckService();
  if (health == nullptr) {
    return absl::FailedPreconditionError(
        "the gRPC health service is not enabled");
  }
  health->SetServingStatus(kSuggestionHealthName, true);
  health->SetServingStatus(kEarlyStoppingHealthName, true);
  health->SetServingStatus(true);
  return k;
}

absl::StatusOr<std::unique_ptr<KatibServer>> KatibServer::MaybeStart(
    std::optional<int> port, const std::string& host, Service* service) {
  if (!port.has_value()) return std::unique_ptr<KatibServer>();
  if (*port < 0 || *port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--katib_port: must be 0 to 65535, got ", *port));
  }
  auto started = Start(host, *port, service);
  if (!started.ok()) return started.status();
  HPO_LOG(INFO) << "Katib suggestion API listening on " << host << ":"
                << (*started)->port() << " (plaintext, no tokens)";
  if (!IsLoopbackHost(host)) {
    HPO_LOG(WARNING) << "Katib's port serves anyone who reaches it, in "
                        "plaintext: keep it inside the cluster";
  }
  return started;
}

KatibServer::~KatibServer() {
  if (server_ != nullptr) {
    if (auto* health = server_->GetHealthCheckService(); health != nullptr) {
      health->SetServingStatus(false);
    }
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(5));
  }
  if (inner_ != nullptr) {
    inner_->Shutdown(std::chrono::system_clock::now() +
                     std::chrono::seconds(5));
  }
}

}  // namespace hpo::katib
