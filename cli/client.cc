#include "cli/client.h"

#include <utility>

#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "grpcpp/support/client_interceptor.h"

namespace hpo::cli {
namespace {

// Adds "authorization: Bearer TOKEN" to every call. Metadata rather than call
// credentials, which gRPC sends only over TLS: a server on the same machine may
// take tokens over plaintext.
class TokenInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit TokenInterceptor(std::string header) : header_(std::move(header)) {}
  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::
                PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace("authorization", header_);
    }
    methods->Proceed();
  }

 private:
  const std::string header_;
};

class TokenInterceptorFactory
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit TokenInterceptorFactory(const std::string& token)
      : header_("Bearer " + token) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* /*info*/) override {
    return new TokenInterceptor(header_);
  }

 private:
  const std::string header_;
};

}  // namespace

std::unique_ptr<Client> Client::Connect(const std::string& address,
                                        const Security& security,
                                        std::string* error) {
  Connection connection;
  connection.server = address;
  if (!CheckSecurity(security, &connection.token, error)) return nullptr;
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (!security.ca.value.empty() || !security.cert.value.empty()) {
    grpc::SslCredentialsOptions ssl;
    if (!security.ca.value.empty() &&
        !ReadPem(security.ca, &ssl.pem_root_certs, error)) {
      return nullptr;
    }
    if (!security.cert.value.empty() &&
        (!ReadPem(security.cert, &ssl.pem_cert_chain, error) ||
         !ReadPem(security.key, &ssl.pem_private_key, error))) {
      return nullptr;
    }
    creds = grpc::SslCredentials(ssl);
    connection.tls = true;
    connection.client_cert = !security.cert.value.empty();
  } else {
    creds = grpc::InsecureChannelCredentials();
  }
  std::vector<
      std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
      interceptors;
  if (!connection.token.empty()) {
    interceptors.push_back(
        std::make_unique<TokenInterceptorFactory>(connection.token));
  }
  return std::make_unique<Client>(
      grpc::experimental::CreateCustomChannelWithInterceptors(
          address, creds, grpc::ChannelArguments(), std::move(interceptors)),
      std::move(connection));
}

Client::Client(std::shared_ptr<grpc::Channel> channel, Connection connection)
    : stub_(v1::HpoService::NewStub(std::move(channel))),
      connection_(std::move(connection)) {}

std::string Client::Message(const grpc::Status& status) const {
  return OneLine(status.error_message(), connection_.token);
}

grpc::Status Client::GetExperiment(const std::string& name,
                                   v1::Experiment* out) {
  grpc::ClientContext ctx;
  v1::GetExperimentRequest req;
  req.set_name(name);
  return stub_->GetExperiment(&ctx, req, out);
}

grpc::Status Client::ListExperiments(std::vector<v1::Experiment>* out) {
  return EveryPage<v1::ListExperimentsRequest, v1::ListExperimentsResponse>(
      [](v1::ListExperimentsRequest*) {},
      &v1::HpoService::Stub::ListExperiments,
      [&](v1::ListExperimentsResponse& resp) {
        for (auto& e : *resp.mutable_experiments()) {
          out->push_back(std::move(e));
        }
      });
}

grpc::Status Client::ListTrials(const std::string& name,
                                std::vector<v1::Trial>* out) {
  return EveryPage<v1::ListTrialsRequest, v1::ListTrialsResponse>(
      [&](v1::ListTrialsRequest* req) { req->set_experiment(name); },
      &v1::HpoService::Stub::ListTrials,
      [&](v1::ListTrialsResponse& resp) {
        for (auto& t : *resp.mutable_trials()) out->push_back(std::move(t));
      });
}

bool Terminal(v1::Experiment::State s) {
  return s == v1::Experiment::COMPLETED || s == v1::Experiment::FAILED ||
         s == v1::Experiment::TIMED_OUT;
}

}  // namespace hpo::cli
