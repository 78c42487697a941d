#include "server/rest/route_table.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/api/annotations.pb.h"
#include "google/api/http.pb.h"

namespace hpo::rest {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::MethodDescriptor;

const FieldDescriptor* FindField(const Descriptor* message,
                                 absl::string_view name) {
  if (const FieldDescriptor* f = message->FindFieldByName(std::string(name))) {
    return f;
  }
  for (int i = 0; i < message->field_count(); ++i) {
    if (message->field(i)->json_name() == name) return message->field(i);
  }
  return nullptr;
}

absl::Status AddRule(const MethodDescriptor* method,
                     const google::api::HttpRule& rule, int binding,
                     std::vector<Route>* routes) {
  const std::string where = absl::StrCat(
      method->full_name(), " (google.api.http",
      binding > 0 ? absl::StrCat(" additional_bindings[", binding - 1, "]")
                  : "",
      ")");
  Route route;
  std::string path;
  switch (rule.pattern_case()) {
    case google::api::HttpRule::kGet:
      route.http_method = "GET";
      path = rule.get();
      break;
    case google::api::HttpRule::kPut:
      route.http_method = "PUT";
      path = rule.put();
      break;
    case google::api::HttpRule::kPost:
      route.http_method = "POST";
      path = rule.post();
      break;
    case google::api::HttpRule::kDelete:
      route.http_method = "DELETE";
      path = rule.delete_();
      break;
    case google::api::HttpRule::kPatch:
      route.http_method = "PATCH";
      path = rule.patch();
      break;
    case google::api::HttpRule::kCustom:
      route.http_method = rule.custom().kind();
      path = rule.custom().path();
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": no HTTP method and path"));
  }
  auto parsed = PathTemplate::Parse(path);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": ", parsed.status().message()));
  }
  route.path = *std::move(parsed);
  const Descriptor* input = method->input_type();
  for (const PathTemplate::Variable& v : route.path.variables()) {
    const FieldDescriptor* f = FindFieldPath(input, v.field_path);
    if (f == nullptr || f->is_repeated() ||
        f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": path variable \"", v.field_path,
          "\" is not a singular scalar field of ", input->full_name()));
    }
  }
  route.body = rule.body();
  if (!route.body.empty() && route.body != "*" &&
      input->FindFieldByName(route.body) == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": body \"", route.body, "\" is not a field of ",
                     input->full_name()));
  }
  route.response_body = rule.response_body();
  if (!route.response_body.empty() &&
      method->output_type()->FindFieldByName(route.response_body) == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": response_body \"", route.response_body,
        "\" is not a field of ", method->output_type()->full_name()));
  }
  route.method = method;
  route.grpc_path =
      absl::StrCat("/", method->service()->full_name(), "/", method->name());
  route.binding = binding;
  routes->push_back(std::move(route));
  return absl::OkStatus();
}

}  // namespace

const FieldDescriptor* FindFieldPath(const Descriptor* message,
                                     absl::string_view path) {
  const FieldDescriptor* field = nullptr;
  for (absl::string_view part : absl::StrSplit(path, '.')) {
    if (field != nullptr) {
      if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE ||
          field->is_repeated()) {
        return nullptr;
      }
      message = field->message_type();
    }
    field = FindField(message, part);
    if (field == nullptr) return nullptr;
  }
  return field;
}

absl::StatusOr<RouteTable> RouteTable::FromService(
    const google::protobuf::ServiceDescriptor* service) {
  RouteTable table;
  for (int i = 0; i < service->method_count(); ++i) {
    const MethodDescriptor* method = service->method(i);
    if (!method->options().HasExtension(google::api::http)) continue;
    if (method->client_streaming() || method->server_streaming()) {
      return absl::InvalidArgumentError(absl::StrCat(
          method->full_name(), ": streaming methods have no REST route here"));
    }
    const google::api::HttpRule& rule =
        method->options().GetExtension(google::api::http);
    if (absl::Status s = AddRule(method, rule, 0, &table.routes_); !s.ok()) {
      return s;
    }
    for (int b = 0; b < rule.additional_bindings_size(); ++b) {
      if (absl::Status s = AddRule(method, rule.additional_bindings(b), b + 1,
                                   &table.routes_);
          !s.ok()) {
        return s;
      }
    }
  }
  for (size_t i = 0; i < table.routes_.size(); ++i) table.order_.push_back(i);
  std::stable_sort(table.order_.begin(), table.order_.end(),
                   [&table](size_t a, size_t b) {
                     return table.routes_[a].path.Specificity() >
                            table.routes_[b].path.Specificity();
                   });
  return table;
}

RouteTable::Result RouteTable::Lookup(absl::string_view method,
                                      absl::string_view path,
                                      const Route** route,
                                      PathTemplate::Bindings* bindings,
                                      std::vector<std::string>* allowed) const {
  const absl::string_view wanted = method == "HEAD" ? "GET" : method;
  std::set<std::string> methods;
  PathTemplate::Bindings found;
  for (size_t i : order_) {
    const Route& r = routes_[i];
    if (!r.path.Match(path, &found)) continue;
    if (r.http_method == wanted) {
      *route = &r;
      *bindings = std::move(found);
      return Result::kFound;
    }
    methods.insert(r.http_method);
  }
  if (methods.empty()) return Result::kNoSuchPath;
  if (methods.count("GET") > 0) methods.insert("HEAD");
  allowed->assign(methods.begin(), methods.end());
  return Result::kWrongMethod;
}

}  // namespace hpo::rest
