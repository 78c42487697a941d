#include "server/grpc_service.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "grpcpp/support/proto_buffer_writer.h"
#include "server/log.h"

namespace hpo {
namespace {

using google::protobuf::Message;

// A Service method as a Handler.
template <typename Request, typename Response>
GrpcService::Handler Serve(void (Service::*method)(const Request&, Response*,
                                                   Service::Done)) {
  return [method](Service& service, const Message& request, Message* response,
                  Service::Done done) {
    (service.*method)(static_cast<const Request&>(request),
                      static_cast<Response*>(response), std::move(done));
  };
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

GrpcService::GrpcService(::hpo::Service* service) : service_(service) {
  const std::vector<std::pair<std::string, Handler>> served = {
      {"CreateExperiment", Serve(&::hpo::Service::CreateExperiment)},
      {"GetExperiment", Serve(&::hpo::Service::GetExperiment)},
      {"ListExperiments", Serve(&::hpo::Service::ListExperiments)},
      {"DeleteExperiment", Serve(&::hpo::Service::DeleteExperiment)},
      {"GetTrialConfig", Serve(&::hpo::Service::GetTrialConfig)},
      {"ReportResult", Serve(&::hpo::Service::ReportResult)},
      {"ReportIntermediate", Serve(&::hpo::Service::ReportIntermediate)},
      {"StopExperiment", Serve(&::hpo::Service::StopExperiment)},
      {"ResumeExperiment", Serve(&::hpo::Service::ResumeExperiment)},
      {"Heartbeat", Serve(&::hpo::Service::Heartbeat)},
      {"ReleaseTrial", Serve(&::hpo::Service::ReleaseTrial)},
      {"AddTrial", Serve(&::hpo::Service::AddTrial)},
      {"EnqueueTrial", Serve(&::hpo::Service::EnqueueTrial)},
      {"GetBest", Serve(&::hpo::Service::GetBest)},
      {"ListTrials", Serve(&::hpo::Service::ListTrials)},
  };
  const google::protobuf::ServiceDescriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          v1::HpoService::service_full_name());
  google::protobuf::MessageFactory* factory =
      google::protobuf::MessageFactory::generated_factory();
  methods_.resize(static_cast<size_t>(descriptor->method_count()));
  for (const auto& [name, serve] : served) {
    const google::protobuf::MethodDescriptor* m =
        descriptor->FindMethodByName(name);
    // A row for a method the proto no longer has is a build's mistake.
    if (m == nullptr) {
      HPO_LOG(ERROR) << "HpoService has no method " << name;
      std::abort();
    }
    methods_[static_cast<size_t>(m->index())] = {
        name, factory->GetPrototype(m->input_type()),
        factory->GetPrototype(m->output_type()), serve};
  }
  for (size_t i = 0; i < methods_.size(); ++i) {
    // A method of the proto without a row would answer UNIMPLEMENTED.
    if (!methods_[i].serve) {
      HPO_LOG(ERROR) << "no handler for HpoService."
                     << descriptor->method(static_cast<int>(i))->name();
      std::abort();
    }
    const Method* method = &methods_[i];
    MarkMethodRawCallback(
        static_cast<int>(i),
        new grpc::internal::CallbackUnaryHandler<grpc::ByteBuffer,
                                                 grpc::ByteBuffer>(
            [this, method](grpc::CallbackServerContext* context,
                           const grpc::ByteBuffer* request,
                           grpc::ByteBuffer* response) {
              return Handle(*method, context, request, response);
            }));
  }
}

grpc::ServerUnaryReactor* GrpcService::Handle(
    const Method& method, grpc::CallbackServerContext* context,
    const grpc::ByteBuffer* request_bytes, grpc::ByteBuffer* response_bytes) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::Time start = absl::Now();
  // Shared: the completion holds it, and the Service may still read it.
  std::shared_ptr<Message> request(method.request->New());
  {
    grpc::ByteBuffer bytes = *request_bytes;  // shares the slices
    grpc::ProtoBufferReader reader(&bytes);
    if (!request->ParseFromZeroCopyStream(&reader)) {
      reactor->Finish(grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("request: not a valid ",
                       method.request->GetDescriptor()->full_name(),
                       " (malformed, or a string field holding bytes that "
                       "are not UTF-8)")));
      return reactor;
    }
  }
  {
    std::shared_ptr<Message> response(method.response->New());
    Message* out = response.get();
    method.serve(
        *service_, *request, out,
        // Runs once the answer is final: here, or on a storage thread after
        // the commit. Holds the request, which the Service may still read.
        [&method, context, request, response, response_bytes, reactor,
         start](absl::Status status) {
          HPO_LOG(DEBUG) << method.name << " from " << context->peer() << ": "
                         << (status.ok() ? "OK" : status.ToString()) << " in "
                         << absl::FormatDuration(absl::Now() - start);
          if (!status.ok()) {
            reactor->Finish(ToGrpcStatus(status));
            return;
          }
          grpc::ProtoBufferWriter writer(
              response_bytes, grpc::kProtoBufferWriterMaxBufferLength,
              static_cast<int>(response->ByteSizeLong()));
          if (!response->SerializeToZeroCopyStream(&writer)) {
            reactor->Finish(grpc::Status(grpc::StatusCode::INTERNAL,
                                         "could not serialize the response"));
            return;
          }
          reactor->Finish(grpc::Status::OK);
        });
  }
  return reactor;
}

}  // namespace hpo
