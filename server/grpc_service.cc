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

// The name of the token a call came with, if any, for its log line.
LogFields CallerField(const std::string& caller) {
  LogFields fields;
  if (!caller.empty()) fields.Add("caller", caller);
  return fields;
}

// The experiment (`experiment` or `name`, or the new one's name) and the trial
// a request names, if any, and the caller's name, for its log line.
LogFields RequestIds(const Message& request, const std::string& caller) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Descriptor* d = request.GetDescriptor();
  const google::protobuf::Reflection* r = request.GetReflection();
  LogFields ids;
  for (const char* name : {"experiment", "name"}) {
    const FieldDescriptor* f = d->FindFieldByName(name);
    if (f == nullptr || f->is_repeated()) continue;
    std::string experiment;
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
      experiment = r->GetString(request, f);
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
               r->HasField(request, f)) {
      const Message& m = r->GetMessage(request, f);
      const FieldDescriptor* n = m.GetDescriptor()->FindFieldByName("name");
      if (n != nullptr && !n->is_repeated() &&
          n->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
        experiment = m.GetReflection()->GetString(m, n);
      }
    }
    if (!experiment.empty()) {
      ids.Add("experiment", experiment);
      break;
    }
  }
  const FieldDescriptor* trial = d->FindFieldByName("trial");
  if (trial != nullptr && !trial->is_repeated() &&
      trial->cpp_type() == FieldDescriptor::CPPTYPE_INT32 &&
      (!trial->has_presence() || r->HasField(request, trial))) {
    ids.Add("trial", r->GetInt32(request, trial));
  }
  ids.Add(CallerField(caller));
  return ids;
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

GrpcService::GrpcService(::hpo::Service* service, metrics::Registry* metrics,
                         const auth::TokenFile* tokens)
    : service_(service), tokens_(tokens) {
  metrics::Family<metrics::Histogram>* durations = nullptr;
  if (metrics != nullptr) {
    requests_ = &metrics->AddCounter(
        "hpo_rpc_requests_total",
        "hpo.v1.HpoService calls answered, by method and gRPC status code "
        "(REST requests included: the gateway calls the same methods).",
        {"method", "code"});
    durations = &metrics->AddHistogram(
        "hpo_rpc_duration_seconds",
        "Time from a call's arrival to its answer (after its writes are "
        "durable), by method.",
        {"method"}, &metrics::LatencyBuckets());
  }
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
    // So is a method that does not say who may call it.
    const v1::Role role = m->options().GetExtension(v1::required_role);
    if (role == v1::ROLE_UNSPECIFIED) {
      HPO_LOG(ERROR) << "HpoService." << name
                     << " has no (hpo.v1.required_role) option";
      std::abort();
    }
    methods_[static_cast<size_t>(m->index())] = {
        name,
        static_cast<size_t>(m->index()),
        factory->GetPrototype(m->input_type()),
        factory->GetPrototype(m->output_type()),
        serve,
        role,
        durations != nullptr ? &durations->With({name}) : nullptr};
  }
  counters_.reset(new std::atomic<metrics::Counter*>[methods_.size() * kCodes]);
  for (size_t i = 0; i < methods_.size() * kCodes; ++i) counters_[i] = nullptr;
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

void GrpcService::Record(const Method& method, grpc::StatusCode code,
                         absl::Time start) const {
  if (requests_ == nullptr) return;
  const int index = static_cast<int>(code);
  if (index >= 0 && static_cast<size_t>(index) < kCodes) {
    // The series looked up once per method and code: later calls take no
    // lock and allocate nothing.
    std::atomic<metrics::Counter*>& cached =
        counters_[method.index * kCodes + static_cast<size_t>(index)];
    metrics::Counter* counter = cached.load(std::memory_order_acquire);
    if (counter == nullptr) {
      counter = &requests_->With(
          {method.name,
           absl::StatusCodeToString(static_cast<absl::StatusCode>(code))});
      cached.store(counter, std::memory_order_release);
    }
    counter->Increment();
  } else {
    requests_->With({method.name, "UNKNOWN"}).Increment();
  }
  method.duration->Observe(absl::ToDoubleSeconds(absl::Now() - start));
}

grpc::ServerUnaryReactor* GrpcService::Handle(
    const Method& method, grpc::CallbackServerContext* context,
    const grpc::ByteBuffer* request_bytes, grpc::ByteBuffer* response_bytes) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::Time start = absl::Now();
  std::string caller;
  if (tokens_ != nullptr) {
    absl::string_view authorization;
    const auto& metadata = context->client_metadata();
    if (auto it = metadata.find("authorization"); it != metadata.end()) {
      authorization = absl::string_view(it->second.data(), it->second.size());
    }
    auth::Verdict verdict = tokens_->Check(authorization, method.role);
    if (!verdict.status.ok()) {
      HPO_LOG(DEBUG)
              .With("rpc", method.name)
              .With("peer", context->peer())
              .With("status", absl::StatusCodeToString(verdict.status.code()))
              .With("auth", auth::FailureName(verdict.failure))
              .With(CallerField(verdict.caller))
          << method.name << ": " << verdict.status.ToString();
      Record(method, static_cast<grpc::StatusCode>(verdict.status.code()),
             start);
      reactor->Finish(ToGrpcStatus(verdict.status));
      return reactor;
    }
    caller = std::move(verdict.caller);
  }
  // Shared: the completion holds it, and the Service may still read it.
  std::shared_ptr<Message> request(method.request->New());
  {
    grpc::ByteBuffer bytes = *request_bytes;  // shares the slices
    grpc::ProtoBufferReader reader(&bytes);
    if (!request->ParseFromZeroCopyStream(&reader)) {
      Record(method, grpc::StatusCode::INVALID_ARGUMENT, start);
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
        [this, &method, context, request, response, response_bytes, reactor,
         start, caller = std::move(caller)](absl::Status status) {
          HPO_LOG(DEBUG)
                  .With("rpc", method.name)
                  .With("peer", context->peer())
                  .With("status", absl::StatusCodeToString(status.code()))
                  .With("duration_ms",
                        absl::ToDoubleMilliseconds(absl::Now() - start))
                  .With(RequestIds(*request, caller))
              << method.name << ": "
              << (status.ok() ? "OK" : status.ToString());
          if (!status.ok()) {
            Record(method, static_cast<grpc::StatusCode>(status.code()), start);
            reactor->Finish(ToGrpcStatus(status));
            return;
          }
          grpc::ProtoBufferWriter writer(
              response_bytes, grpc::kProtoBufferWriterMaxBufferLength,
              static_cast<int>(response->ByteSizeLong()));
          if (!response->SerializeToZeroCopyStream(&writer)) {
            Record(method, grpc::StatusCode::INTERNAL, start);
            reactor->Finish(grpc::Status(grpc::StatusCode::INTERNAL,
                                         "could not serialize the response"));
            return;
          }
          Record(method, grpc::StatusCode::OK, start);
          reactor->Finish(grpc::Status::OK);
        });
  }
  return reactor;
}

}  // namespace hpo
