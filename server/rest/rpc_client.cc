#include "server/rest/rpc_client.h"

#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"

namespace hpo::rest {
namespace {

// One call's state, alive until its completion runs.
struct PendingCall {
  grpc::ClientContext context;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
};

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  out.reserve(buffer.Length());
  for (const grpc::Slice& s : slices) {
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return out;
}

}  // namespace

RpcClient::RpcClient(std::shared_ptr<grpc::Channel> channel,
                     absl::Duration timeout)
    : channel_(channel), stub_(channel), timeout_(timeout) {}

void RpcClient::CallAsync(const std::string& grpc_path, std::string request,
                          Done done, const std::string& authorization) const {
  auto* call = new PendingCall;
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  if (!authorization.empty()) {
    call->context.AddMetadata("authorization", authorization);
  }
  grpc::Slice slice(std::move(request));
  call->request = grpc::ByteBuffer(&slice, 1);
  stub_.UnaryCall(&call->context, grpc_path, grpc::StubOptions(),
                  &call->request, &call->response,
                  [call, done = std::move(done)](grpc::Status status) {
                    std::string response;
                    if (status.ok()) response = Flatten(call->response);
                    delete call;
                    done(std::move(status), std::move(response));
                  });
}

grpc::Status RpcClient::Call(const std::string& grpc_path,
                             const google::protobuf::Message& request,
                             google::protobuf::Message* response,
                             const std::string& authorization) const {
  absl::Notification finished;
  grpc::Status result;
  std::string bytes;
  CallAsync(
      grpc_path, request.SerializeAsString(),
      [&](grpc::Status status, std::string answer) {
        result = std::move(status);
        bytes = std::move(answer);
        finished.Notify();
      },
      authorization);
  finished.WaitForNotification();
  if (result.ok() && !response->ParseFromString(bytes)) {
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        "cannot parse the service's response");
  }
  return result;
}

}  // namespace hpo::rest
