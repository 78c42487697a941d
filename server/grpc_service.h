// HpoService over gRPC's callback API. Each handler parses its request and
// hands it to the transport-independent Service, which runs it here or on its
// thread pool (gRPC's own threads never wait on a sampler or a lock); the call
// is finished from the Service's completion, once what it changed is durable,
// so no thread waits on a disk.
//
// Requests arrive as bytes and are parsed here rather than by gRPC, so that a
// request that is not a valid message (a string field whose bytes are not
// UTF-8, which C++ clients can send) gets INVALID_ARGUMENT saying so; gRPC's
// own parsing answers UNIMPLEMENTED with no message.

#ifndef HPO_SERVER_GRPC_SERVICE_H_
#define HPO_SERVER_GRPC_SERVICE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/byte_buffer.h"
#include "hpo/v1/hpo.grpc.pb.h"
#include "server/auth/token_file.h"
#include "server/metrics/metrics.h"
#include "server/service.h"

namespace hpo {

// The gRPC status with the same code and message.
grpc::Status ToGrpcStatus(const absl::Status& status);

class GrpcService final : public v1::HpoService::CallbackService {
 public:
  // A Service method, over messages of its request and response types.
  using Handler =
      std::function<void(::hpo::Service&, const google::protobuf::Message&,
                         google::protobuf::Message*, ::hpo::Service::Done)>;

  // `service` must outlive this object, and `metrics` too when given: each
  // RPC is counted there by method and status code (hpo_rpc_requests_total)
  // and timed from arrival to answer (hpo_rpc_duration_seconds). Calls the
  // REST gateway makes in-process are counted alike. With `tokens`, each call
  // must carry "authorization: Bearer TOKEN" metadata for a token whose role
  // includes the method's (its hpo.v1.required_role option); the gateway
  // passes on the HTTP request's Authorization header as that metadata.
  explicit GrpcService(::hpo::Service* service,
                       metrics::Registry* metrics = nullptr,
                       const auth::TokenFile* tokens = nullptr);

 private:
  // One RPC: its name, its messages' types, and the Service method serving
  // it.
  struct Method {
    std::string name;
    size_t index;  // in the service
    const google::protobuf::Message* request;
    const google::protobuf::Message* response;
    Handler serve;
    v1::Role role;  // the role a caller's token must include
    metrics::Histogram* duration = nullptr;
  };

  // Counts and times one answered call, if there are metrics.
  void Record(const Method& method, grpc::StatusCode code,
              absl::Time start) const;

  grpc::ServerUnaryReactor* Handle(const Method& method,
                                   grpc::CallbackServerContext* context,
                                   const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response);

  ::hpo::Service* const service_;
  const auth::TokenFile* const tokens_;
  metrics::Family<metrics::Counter>* requests_ = nullptr;
  // gRPC's status codes, 0 (OK) to 16 (UNAUTHENTICATED).
  static constexpr size_t kCodes = 17;
  // requests_' series by method index * kCodes + code, made on first use.
  std::unique_ptr<std::atomic<metrics::Counter*>[]> counters_;
  // By the method's index in the service.
  std::vector<Method> methods_;
};

}  // namespace hpo

#endif  // HPO_SERVER_GRPC_SERVICE_H_
