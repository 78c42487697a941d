#include "server/rest/openapi/openapi.h"

#include <map>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "hpo/v1/hpo.pb.h"
#include "server/rest/openapi/json_writer.h"
#include "server/rest/route_table.h"

namespace hpo::openapi {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;
using google::protobuf::SourceLocation;
using rest::Route;

constexpr char kStatusSchema[] = "Status";

// A .proto comment as prose: the single space after "//" dropped, blank lines
// at either end removed.
std::string CleanComment(const std::string& comment) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(comment, '\n')) {
    absl::ConsumePrefix(&line, " ");
    lines.emplace_back(absl::StripTrailingAsciiWhitespace(line));
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  size_t first = 0;
  while (first < lines.size() && lines[first].empty()) ++first;
  return absl::StrJoin(lines.begin() + first, lines.end(), "\n");
}

template <typename T>
std::string Comment(const T* descriptor) {
  SourceLocation location;
  if (!descriptor->GetSourceLocation(&location)) return "";
  std::string text = CleanComment(location.leading_comments);
  if (text.empty()) text = CleanComment(location.trailing_comments);
  return text;
}

std::string Ref(absl::string_view name) {
  return absl::StrCat("#/components/schemas/", name);
}

// The schema of a well-known type that the JSON mapping writes specially, or
// null for any other message.
Json WellKnown(const Descriptor* m) {
  const std::string& name = m->full_name();
  Json s = Json::Object();
  if (name == "google.protobuf.Timestamp") {
    s["type"] = Json::String("string");
    s["format"] = Json::String("date-time");
    s["description"] = Json::String(
        "RFC 3339, always Z-normalized, e.g. \"2024-01-31T12:00:00.5Z\".");
  } else if (name == "google.protobuf.Duration") {
    s["type"] = Json::String("string");
    s["pattern"] = Json::String("^-?[0-9]+(\\.[0-9]{1,9})?s$");
    s["description"] = Json::String(
        "Seconds with up to nine fractional digits and the suffix \"s\", "
        "e.g. \"600s\" or \"1.5s\".");
  } else if (name == "google.protobuf.Empty") {
    s["type"] = Json::String("object");
  } else if (name == "google.protobuf.Struct") {
    s["type"] = Json::String("object");
    s["additionalProperties"] = Json::Bool(true);
  } else if (name == "google.protobuf.Value") {
    s["description"] = Json::String(
        "Any JSON value: a number, string, boolean, object, "
        "array or null.");
  } else if (name == "google.protobuf.ListValue") {
    s["type"] = Json::String("array");
    s["items"] = Json::Object();
  } else if (name == "google.protobuf.FieldMask") {
    s["type"] = Json::String("string");
    s["description"] =
        Json::String("Comma-separated field paths in lowerCamelCase.");
  } else if (name == "google.protobuf.Any") {
    s["type"] = Json::String("object");
    s["properties"]["@type"]["type"] = Json::String("string");
    s["additionalProperties"] = Json::Bool(true);
  } else if (absl::StartsWith(name, "google.protobuf.") &&
             absl::EndsWith(name, "Value") && m->field_count() == 1) {
    // Wrappers: the wrapped value itself, or null.
    return Json();
  } else {
    return Json();
  }
  return s;
}

bool IsWrapper(const Descriptor* m) {
  const std::string& name = m->full_name();
  return absl::StartsWith(name, "google.protobuf.") &&
         absl::EndsWith(name, "Value") && name != "google.protobuf.Value" &&
         name != "google.protobuf.ListValue" && m->field_count() == 1;
}

bool IsScalarWellKnown(const Descriptor* m) {
  const std::string& name = m->full_name();
  return IsWrapper(m) || name == "google.protobuf.Timestamp" ||
         name == "google.protobuf.Duration" ||
         name == "google.protobuf.FieldMask";
}

class Generator {
 public:
  explicit Generator(const ServiceDescriptor* service) : service_(service) {}

  absl::StatusOr<std::string> Run() {
    auto routes = rest::RouteTable::FromService(service_);
    if (!routes.ok()) return routes.status();

    Json doc = Json::Object();
    doc["openapi"] = Json::String("3.0.3");
    Json& info = doc["info"];
    info["title"] =
        Json::String(absl::StrCat(service_->full_name(), " REST API"));
    info["version"] = Json::String(service_->file()->package());
    info["description"] = Json::String(absl::StrCat(
        Comment(service_), "\n\nGenerated from ", service_->file()->name(),
        " (google.api.http annotations). Bodies are JSON in the proto3 JSON "
        "mapping: requests accept lowerCamelCase or the .proto's field names; "
        "responses use lowerCamelCase and include fields at their default "
        "values. 64-bit integers are strings, enums are their names. Errors "
        "are {\"code\", \"message\", \"details\"} with the gRPC status code."));
    Json& tag = doc["tags"].Push(Json::Object());
    tag["name"] = Json::String(service_->name());
    tag["description"] = Json::String(Comment(service_));

    Json& paths = doc["paths"];
    paths = Json::Object();
    for (const Route& route : routes->routes()) {
      Json& item = paths[route.path.OpenApiPath()];
      item[absl::AsciiStrToLower(route.http_method)] = Operation(route);
    }

    Json& bearer = doc["components"]["securitySchemes"]["bearer"];
    bearer["type"] = Json::String("http");
    bearer["scheme"] = Json::String("bearer");
    bearer["description"] = Json::String(
        "With hpo-server --auth_tokens: \"Authorization: Bearer TOKEN\" for "
        "a token whose role (read, worker, admin; each includes the ones "
        "before) includes the operation's x-hpo-required-role. 401 without a "
        "valid token, 403 for a role too weak.");
    Json& schemas = doc["components"]["schemas"];
    Json status = Json::Object();
    status["type"] = Json::String("object");
    status["description"] = Json::String(
        "An error: the gRPC status code and message (google.rpc.Status).");
    status["properties"]["code"]["type"] = Json::String("integer");
    status["properties"]["code"]["format"] = Json::String("int32");
    status["properties"]["code"]["description"] = Json::String(
        "The gRPC status code, e.g. 3 for INVALID_ARGUMENT, 5 for NOT_FOUND.");
    status["properties"]["message"]["type"] = Json::String("string");
    status["properties"]["details"]["type"] = Json::String("array");
    status["properties"]["details"]["items"]["type"] = Json::String("object");
    schemas[kStatusSchema] = std::move(status);
    // Schemas reached while writing others are written too, until none is
    // left; then they are listed by name.
    while (!pending_.empty()) {
      const Descriptor* m = pending_.back();
      pending_.pop_back();
      defined_[m->full_name()] = MessageSchema(m);
    }
    for (auto& [name, schema] : defined_) schemas[name] = std::move(schema);
    return doc.Dump();
  }

 private:
  Json Operation(const Route& route) {
    const MethodDescriptor* method = route.method;
    Json op = Json::Object();
    op["tags"].Push(Json::String(service_->name()));
    op["summary"] = Json::String(method->name());
    const std::string comment = Comment(method);
    if (!comment.empty()) op["description"] = Json::String(comment);
    op["operationId"] = Json::String(
        absl::StrCat(service_->name(), "_", method->name(),
                     route.binding > 0 ? absl::StrCat(route.binding + 1) : ""));
    // The role the method's (hpo.v1.required_role) option names: "read",
    // "worker" or "admin". A server without --auth_tokens asks for no token,
    // hence the empty alternative.
    const google::protobuf::EnumValueDescriptor* role =
        v1::Role_descriptor()->FindValueByNumber(
            method->options().GetExtension(v1::required_role));
    if (role != nullptr && role->number() != v1::ROLE_UNSPECIFIED) {
      const std::string name = absl::AsciiStrToLower(role->name());
      op["x-hpo-required-role"] =
          Json::String(std::string(absl::StripPrefix(name, "role_")));
      Json& security = op["security"];
      security = Json::Array();
      security.Push(Json::Object())["bearer"] = Json::Array();
      security.Push(Json::Object());
    }

    const Descriptor* input = method->input_type();
    std::set<const FieldDescriptor*> bound;
    Json parameters = Json::Array();
    for (const auto& variable : route.path.variables()) {
      const FieldDescriptor* f =
          rest::FindFieldPath(input, variable.field_path);
      bound.insert(f);
      Json& p = parameters.Push(Json::Object());
      p["name"] = Json::String(variable.field_path);
      p["in"] = Json::String("path");
      p["required"] = Json::Bool(true);
      const std::string description = Comment(f);
      if (!description.empty()) p["description"] = Json::String(description);
      p["schema"] = ValueSchema(f);
    }
    if (route.body.empty()) {
      QueryParameters(input, "", bound, 0, &parameters);
    } else if (route.body != "*") {
      std::set<const FieldDescriptor*> skip = bound;
      skip.insert(input->FindFieldByName(route.body));
      QueryParameters(input, "", skip, 0, &parameters);
    }
    if (!parameters.empty()) op["parameters"] = std::move(parameters);

    if (!route.body.empty()) {
      Json schema;
      if (route.body == "*") {
        bool path_fields = false;
        for (int i = 0; i < input->field_count(); ++i) {
          if (bound.count(input->field(i)) > 0) path_fields = true;
        }
        if (!path_fields) {
          schema = MessageRef(input);
        } else {
          // The request minus what the path gives.
          schema = Json::Object();
          schema["type"] = Json::String("object");
          Json& properties = schema["properties"];
          properties = Json::Object();
          for (int i = 0; i < input->field_count(); ++i) {
            const FieldDescriptor* f = input->field(i);
            if (bound.count(f) > 0) continue;
            properties[f->json_name()] = FieldSchema(f);
          }
        }
      } else {
        schema = FieldSchema(input->FindFieldByName(route.body));
      }
      Json& body = op["requestBody"];
      body["content"]["application/json"]["schema"] = std::move(schema);
    }

    Json& responses = op["responses"];
    Json& ok = responses["200"];
    ok["description"] = Json::String("OK");
    const Descriptor* output = method->output_type();
    ok["content"]["application/json"]["schema"] =
        route.response_body.empty()
            ? MessageRef(output)
            : FieldSchema(output->FindFieldByName(route.response_body));
    Json& error = responses["default"];
    error["description"] = Json::String(
        "An error, with the HTTP status of its gRPC code (400 "
        "INVALID_ARGUMENT and FAILED_PRECONDITION, 404 NOT_FOUND, 409 "
        "ALREADY_EXISTS, 429 RESOURCE_EXHAUSTED, ...).");
    error["content"]["application/json"]["schema"]["$ref"] =
        Json::String(Ref(kStatusSchema));
    return op;
  }

  // Each field of `m` a query string can set, as "a.b" for nested messages.
  void QueryParameters(const Descriptor* m, const std::string& prefix,
                       const std::set<const FieldDescriptor*>& skip, int depth,
                       Json* parameters) {
    if (depth > 4) return;  // Recursive messages end somewhere.
    for (int i = 0; i < m->field_count(); ++i) {
      const FieldDescriptor* f = m->field(i);
      if (skip.count(f) > 0 || f->is_map()) continue;
      const std::string name = absl::StrCat(prefix, f->json_name());
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
          !IsScalarWellKnown(f->message_type())) {
        if (!f->is_repeated()) {
          QueryParameters(f->message_type(), absl::StrCat(name, "."), {},
                          depth + 1, parameters);
        }
        continue;
      }
      Json& p = parameters->Push(Json::Object());
      p["name"] = Json::String(name);
      p["in"] = Json::String("query");
      const std::string description = Comment(f);
      if (!description.empty()) p["description"] = Json::String(description);
      p["schema"] = FieldSchema(f, /*describe=*/false);
      if (f->is_repeated()) {
        p["style"] = Json::String("form");
        p["explode"] = Json::Bool(true);
      }
    }
  }

  Json MessageRef(const Descriptor* m) {
    Json known = WellKnown(m);
    if (!known.empty()) return known;
    if (IsWrapper(m)) {
      Json s = ValueSchema(m->field(0));
      s["nullable"] = Json::Bool(true);
      return s;
    }
    if (seen_.insert(m->full_name()).second) pending_.push_back(m);
    Json s = Json::Object();
    s["$ref"] = Json::String(Ref(m->full_name()));
    return s;
  }

  Json EnumRef(const EnumDescriptor* e) {
    if (seen_.insert(e->full_name()).second) {
      Json s = Json::Object();
      s["type"] = Json::String("string");
      std::string description = Comment(e);
      std::vector<std::string> notes;
      for (int i = 0; i < e->value_count(); ++i) {
        s["enum"].Push(Json::String(e->value(i)->name()));
        const std::string c = Comment(e->value(i));
        if (!c.empty()) {
          notes.push_back(absl::StrCat("- ", e->value(i)->name(), ": ",
                                       absl::StrReplaceAll(c, {{"\n", " "}})));
        }
      }
      if (!notes.empty()) {
        absl::StrAppend(&description, description.empty() ? "" : "\n\n",
                        absl::StrJoin(notes, "\n"));
      }
      if (!description.empty()) s["description"] = Json::String(description);
      defined_[e->full_name()] = std::move(s);
    }
    Json s = Json::Object();
    s["$ref"] = Json::String(Ref(e->full_name()));
    return s;
  }

  // One value of `f` (an element, for a repeated field).
  Json ValueSchema(const FieldDescriptor* f) {
    Json s = Json::Object();
    switch (f->type()) {
      case FieldDescriptor::TYPE_DOUBLE:
        s["type"] = Json::String("number");
        s["format"] = Json::String("double");
        break;
      case FieldDescriptor::TYPE_FLOAT:
        s["type"] = Json::String("number");
        s["format"] = Json::String("float");
        break;
      case FieldDescriptor::TYPE_INT32:
      case FieldDescriptor::TYPE_SINT32:
      case FieldDescriptor::TYPE_SFIXED32:
        s["type"] = Json::String("integer");
        s["format"] = Json::String("int32");
        break;
      case FieldDescriptor::TYPE_UINT32:
      case FieldDescriptor::TYPE_FIXED32:
        s["type"] = Json::String("integer");
        s["format"] = Json::String("int64");
        s["minimum"] = Json::Integer(0);
        s["maximum"] = Json::Integer(4294967295LL);
        break;
      case FieldDescriptor::TYPE_INT64:
      case FieldDescriptor::TYPE_SINT64:
      case FieldDescriptor::TYPE_SFIXED64:
        // The JSON mapping writes 64-bit integers as strings.
        s["type"] = Json::String("string");
        s["format"] = Json::String("int64");
        break;
      case FieldDescriptor::TYPE_UINT64:
      case FieldDescriptor::TYPE_FIXED64:
        s["type"] = Json::String("string");
        s["format"] = Json::String("uint64");
        break;
      case FieldDescriptor::TYPE_BOOL:
        s["type"] = Json::String("boolean");
        break;
      case FieldDescriptor::TYPE_STRING:
        s["type"] = Json::String("string");
        break;
      case FieldDescriptor::TYPE_BYTES:
        s["type"] = Json::String("string");
        s["format"] = Json::String("byte");
        break;
      case FieldDescriptor::TYPE_ENUM:
        return EnumRef(f->enum_type());
      case FieldDescriptor::TYPE_MESSAGE:
      case FieldDescriptor::TYPE_GROUP:
        return MessageRef(f->message_type());
    }
    return s;
  }

  // The field's schema: its value, an array of them, or a map.
  Json FieldSchema(const FieldDescriptor* f, bool describe = true) {
    Json s;
    if (f->is_map()) {
      s = Json::Object();
      s["type"] = Json::String("object");
      s["additionalProperties"] = ValueSchema(f->message_type()->map_value());
    } else if (f->is_repeated()) {
      s = Json::Object();
      s["type"] = Json::String("array");
      s["items"] = ValueSchema(f);
    } else {
      s = ValueSchema(f);
    }
    const std::string description = describe ? Comment(f) : "";
    if (description.empty()) return s;
    if (s.Has("$ref")) {
      // OpenAPI 3.0 ignores a $ref's siblings; allOf keeps the description.
      Json wrapped = Json::Object();
      wrapped["description"] = Json::String(description);
      wrapped["allOf"].Push(std::move(s));
      return wrapped;
    }
    if (s.Has("description")) {
      Json merged = Json::Object();
      merged["description"] = Json::String(description);
      merged["allOf"].Push(std::move(s));
      return merged;
    }
    s["description"] = Json::String(description);
    return s;
  }

  Json MessageSchema(const Descriptor* m) {
    Json s = Json::Object();
    s["type"] = Json::String("object");
    std::string description = Comment(m);
    for (int i = 0; i < m->real_oneof_decl_count(); ++i) {
      const auto* oneof = m->oneof_decl(i);  // Real oneofs come first.
      std::vector<std::string> names;
      for (int j = 0; j < oneof->field_count(); ++j) {
        names.push_back(absl::StrCat("`", oneof->field(j)->json_name(), "`"));
      }
      absl::StrAppend(&description, description.empty() ? "" : "\n\n",
                      "At most one of ", absl::StrJoin(names, ", "),
                      " is set (oneof ", oneof->name(), ").");
    }
    if (!description.empty()) s["description"] = Json::String(description);
    Json& properties = s["properties"];
    properties = Json::Object();
    for (int i = 0; i < m->field_count(); ++i) {
      const FieldDescriptor* f = m->field(i);
      properties[f->json_name()] = FieldSchema(f);
    }
    return s;
  }

  const ServiceDescriptor* service_;
  std::set<std::string> seen_;
  std::vector<const Descriptor*> pending_;
  std::map<std::string, Json> defined_;
};

}  // namespace

absl::StatusOr<std::string> GenerateOpenApi(const ServiceDescriptor* service) {
  return Generator(service).Run();
}

}  // namespace hpo::openapi
