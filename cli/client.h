// The connection to the hpo server: a gRPC channel secured as the settings
// say, the bearer token on every call, and the calls hpoctl makes that take
// more than one request (paging).

#ifndef HPO_CLI_CLIENT_H_
#define HPO_CLI_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "cli/errors.h"
#include "cli/security.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "hpo/v1/hpo.grpc.pb.h"

namespace hpo::cli {

class Client {
 public:
  // A client of the server at `address`, or null with an error naming the
  // setting at fault. TLS when a CA or a client certificate is given (without
  // a CA the system's CAs check the server).
  static std::unique_ptr<Client> Connect(const std::string& address,
                                         const Security& security,
                                         std::string* error);

  Client(std::shared_ptr<grpc::Channel> channel, Connection connection);

  v1::HpoService::Stub* stub() { return stub_.get(); }
  // For error messages.
  const Connection& connection() const { return connection_; }
  // The status's message on one line, the token blanked out.
  std::string Message(const grpc::Status& status) const;

  grpc::Status GetExperiment(const std::string& name, v1::Experiment* out);
  // Every page.
  grpc::Status ListExperiments(std::vector<v1::Experiment>* out);
  grpc::Status ListTrials(const std::string& name, std::vector<v1::Trial>* out);

 private:
  // Calls `method` for page after page of 1000 until the last, each request
  // filled in by `fill` and each response handed to `take`.
  template <typename Request, typename Response, typename Fill, typename Take>
  grpc::Status EveryPage(Fill fill,
                         grpc::Status (v1::HpoService::Stub::*method)(
                             grpc::ClientContext*, const Request&, Response*),
                         Take take) {
    std::string token;
    do {
      grpc::ClientContext ctx;
      Request req;
      fill(&req);
      req.set_page_size(1000);
      req.set_page_token(token);
      Response resp;
      grpc::Status s = (stub_.get()->*method)(&ctx, req, &resp);
      if (!s.ok()) return s;
      take(resp);
      token = resp.next_page_token();
    } while (!token.empty());
    return grpc::Status::OK;
  }

  std::unique_ptr<v1::HpoService::Stub> stub_;
  Connection connection_;
};

// COMPLETED, FAILED or TIMED_OUT: no trial will run again (STOPPED may be
// resumed).
bool Terminal(v1::Experiment::State s);

}  // namespace hpo::cli

#endif  // HPO_CLI_CLIENT_H_
