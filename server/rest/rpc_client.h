// Calls the running gRPC server's methods by name over an in-process channel,
// with serialized messages in and out: the REST gateway and the Kruize API
// reach the service through exactly the path gRPC clients take (the same
// handlers, thread pool, logging and status codes), with no per-RPC code.

#ifndef HPO_SERVER_REST_RPC_CLIENT_H_
#define HPO_SERVER_REST_RPC_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "grpcpp/channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/status.h"

namespace hpo::rest {

class RpcClient {
 public:
  // `timeout` bounds every call (DEADLINE_EXCEEDED past it).
  RpcClient(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout);

  using Done = std::function<void(grpc::Status, std::string response)>;

  // Starts a call of `grpc_path` ("/hpo.v1.HpoService/GetExperiment") with
  // the serialized request; `done` runs on a gRPC thread with the status and
  // the serialized response. A non-empty `authorization` (an HTTP request's
  // Authorization header) is sent as the call's "authorization" metadata, so
  // the service checks a REST caller's token exactly as a gRPC caller's.
  void CallAsync(const std::string& grpc_path, std::string request, Done done,
                 const std::string& authorization = "") const;

  // Calls and waits. `response` is parsed from the answer when OK.
  grpc::Status Call(const std::string& grpc_path,
                    const google::protobuf::Message& request,
                    google::protobuf::Message* response,
                    const std::string& authorization = "") const;

 private:
  std::shared_ptr<grpc::Channel> channel_;
  mutable grpc::GenericStub stub_;
  absl::Duration timeout_;
};

}  // namespace hpo::rest

#endif  // HPO_SERVER_REST_RPC_CLIENT_H_
