#include "server/rest/transcode.h"

#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/json_quote.h"
#include "core/text_checks.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"

namespace hpo::rest {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

absl::Status Invalid(absl::string_view where, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", what));
}

// Protobuf's JSON errors read "INVALID_ARGUMENT:Unexpected token..."; the
// code is ours to state.
std::string CleanJsonError(google::protobuf::StringPiece piece) {
  absl::string_view message(piece.data(), piece.size());
  absl::ConsumePrefix(&message, "INVALID_ARGUMENT:");
  // Its first line says what is wrong; the rest is a caret under an excerpt.
  message = message.substr(0, message.find('\n'));
  return std::string(absl::StripAsciiWhitespace(message));
}

bool ParseBool(absl::string_view s, bool* out) {
  if (s == "true" || s == "True" || s == "TRUE" || s == "1") {
    *out = true;
    return true;
  }
  if (s == "false" || s == "False" || s == "FALSE" || s == "0") {
    *out = false;
    return true;
  }
  return false;
}

const char* TypeName(const FieldDescriptor* f) {
  switch (f->type()) {
    case FieldDescriptor::TYPE_ENUM:
      return "enum";
    case FieldDescriptor::TYPE_MESSAGE:
    case FieldDescriptor::TYPE_GROUP:
      return "message";
    default:
      return f->type_name();
  }
}

// Sets (or, for a repeated field, adds) one value given as text, as it comes
// in a path or a query string.
absl::Status SetFromText(Message* message, const FieldDescriptor* f,
                         absl::string_view text, absl::string_view where) {
  const Reflection* r = message->GetReflection();
  const bool repeated = f->is_repeated();
  const auto bad = [&]() {
    return Invalid(where, absl::StrCat("\"", absl::CHexEscape(text),
                                       "\" is not a valid ", TypeName(f)));
  };
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      if (!absl::SimpleAtoi(text, &v)) return bad();
      repeated ? r->AddInt32(message, f, v) : r->SetInt32(message, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!absl::SimpleAtoi(text, &v)) return bad();
      repeated ? r->AddInt64(message, f, v) : r->SetInt64(message, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v;
      if (!absl::SimpleAtoi(text, &v)) return bad();
      repeated ? r->AddUInt32(message, f, v) : r->SetUInt32(message, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (!absl::SimpleAtoi(text, &v)) return bad();
      repeated ? r->AddUInt64(message, f, v) : r->SetUInt64(message, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double v;
      if (!absl::SimpleAtod(text, &v)) return bad();
      repeated ? r->AddDouble(message, f, v) : r->SetDouble(message, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_FLOAT: {
      float v;
      if (!absl::SimpleAtof(text, &v)) return bad();
      repeated ? r->AddFloat(message, f, v) : r->SetFloat(message, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool v;
      if (!ParseBool(text, &v)) return bad();
      repeated ? r->AddBool(message, f, v) : r->SetBool(message, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const EnumValueDescriptor* e =
          f->enum_type()->FindValueByName(std::string(text));
      int number;
      if (e != nullptr) {
        number = e->number();
      } else if (absl::SimpleAtoi(text, &number)) {
        if (f->enum_type()->FindValueByNumber(number) == nullptr) return bad();
      } else {
        std::vector<std::string> names;
        for (int i = 0; i < f->enum_type()->value_count(); ++i) {
          names.push_back(f->enum_type()->value(i)->name());
        }
        return Invalid(where, absl::StrCat("\"", absl::CHexEscape(text),
                                           "\" is not one of ",
                                           absl::StrJoin(names, ", ")));
      }
      repeated ? r->AddEnumValue(message, f, number)
               : r->SetEnumValue(message, f, number);
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string v(text);
      if (f->type() == FieldDescriptor::TYPE_BYTES) {
        if (!absl::Base64Unescape(text, &v) &&
            !absl::WebSafeBase64Unescape(text, &v)) {
          return Invalid(where, "is not base64");
        }
      } else if (!IsValidUtf8(v)) {
        // Percent-decoding can make any bytes; protobuf strings are UTF-8.
        return Invalid(where, absl::StrCat("\"", absl::CHexEscape(text),
                                           "\" is not valid UTF-8"));
      }
      repeated ? r->AddString(message, f, std::move(v))
               : r->SetString(message, f, std::move(v));
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      // Well-known types with a JSON scalar form: Timestamp, Duration,
      // FieldMask and the wrappers. Anything else has no text form.
      const std::string& type = f->message_type()->full_name();
      std::string json;
      if (type == "google.protobuf.BoolValue") {
        bool v;
        if (!ParseBool(text, &v)) return bad();
        json = v ? "true" : "false";
      } else if (type == "google.protobuf.Timestamp" ||
                 type == "google.protobuf.Duration" ||
                 type == "google.protobuf.FieldMask" ||
                 absl::EndsWith(type, "Value")) {
        // Numbers may be strings in proto3 JSON, so quoting suits all.
        json = JsonQuote(text);
      } else {
        return Invalid(where,
                       absl::StrCat("a ", type, " cannot be given as text"));
      }
      Message* sub =
          repeated ? r->AddMessage(message, f) : r->MutableMessage(message, f);
      google::protobuf::util::JsonParseOptions options;
      auto status =
          google::protobuf::util::JsonStringToMessage(json, sub, options);
      if (!status.ok()) {
        return Invalid(
            where,
            absl::StrCat("\"", absl::CHexEscape(text), "\" is not a valid ",
                         type, " (", CleanJsonError(status.message()), ")"));
      }
      break;
    }
  }
  return absl::OkStatus();
}

// The message that holds the leaf of `path` in `root`, creating the messages
// on the way; `leaf` gets the leaf field. The path was resolved already.
Message* Holder(Message* root, absl::string_view path,
                const FieldDescriptor** leaf) {
  Message* m = root;
  std::vector<absl::string_view> parts = absl::StrSplit(path, '.');
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    const FieldDescriptor* f = FindFieldPath(m->GetDescriptor(), parts[i]);
    m = m->GetReflection()->MutableMessage(m, f);
  }
  *leaf = FindFieldPath(m->GetDescriptor(), parts.back());
  return m;
}

bool IsWellKnownScalar(const Descriptor* d) {
  const std::string& n = d->full_name();
  return n == "google.protobuf.Timestamp" || n == "google.protobuf.Duration" ||
         n == "google.protobuf.FieldMask" ||
         (absl::StartsWith(n, "google.protobuf.") &&
          absl::EndsWith(n, "Value") && n != "google.protobuf.Value" &&
          n != "google.protobuf.ListValue");
}

}  // namespace

int HttpStatusFromGrpcCode(int code) {
  switch (code) {
    case 0:  // OK
      return 200;
    case 1:  // CANCELLED
      return 499;
    case 2:  // UNKNOWN
      return 500;
    case 3:  // INVALID_ARGUMENT
      return 400;
    case 4:  // DEADLINE_EXCEEDED
      return 504;
    case 5:  // NOT_FOUND
      return 404;
    case 6:  // ALREADY_EXISTS
      return 409;
    case 7:  // PERMISSION_DENIED
      return 403;
    case 8:  // RESOURCE_EXHAUSTED
      return 429;
    case 9:  // FAILED_PRECONDITION
      return 400;
    case 10:  // ABORTED
      return 409;
    case 11:  // OUT_OF_RANGE
      return 400;
    case 12:  // UNIMPLEMENTED
      return 501;
    case 13:  // INTERNAL
      return 500;
    case 14:  // UNAVAILABLE
      return 503;
    case 15:  // DATA_LOSS
      return 500;
    case 16:  // UNAUTHENTICATED
      return 401;
    default:
      return 500;
  }
}

HttpResponse ErrorResponse(int http_status, int grpc_code,
                           absl::string_view message) {
  HttpResponse r;
  r.status = http_status;
  r.content_type = "application/json";
  r.body =
      absl::StrCat("{\"code\": ", grpc_code,
                   ", \"message\": ", JsonQuote(message), ", \"details\": []}");
  // RFC 6750: a 401 names the scheme the client should use.
  if (http_status == 401) {
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"hpo\"");
  }
  return r;
}

HttpResponse ErrorResponse(const absl::Status& status) {
  const int code = static_cast<int>(status.code());
  return ErrorResponse(HttpStatusFromGrpcCode(code), code, status.message());
}

bool IsJsonContentType(absl::string_view content_type) {
  absl::string_view media = content_type.substr(0, content_type.find(';'));
  const std::string m =
      absl::AsciiStrToLower(absl::StripAsciiWhitespace(media));
  return m == "application/json" ||
         (absl::StartsWith(m, "application/") && absl::EndsWith(m, "+json"));
}

absl::Status BuildRequest(const Route& route,
                          const PathTemplate::Bindings& bindings,
                          const HttpRequest& http, Message* request) {
  const Descriptor* input = request->GetDescriptor();
  // 1. The body.
  const bool has_body =
      !absl::StripAsciiWhitespace(http.body).empty() && !route.body.empty();
  if (!http.body.empty() && route.body.empty() &&
      !absl::StripAsciiWhitespace(http.body).empty()) {
    return Invalid("body",
                   absl::StrCat(route.http_method, " ", route.path.text(),
                                " takes no body; use query parameters"));
  }
  if (has_body) {
    if (JsonNesting(http.body, kMaxJsonNesting) > kMaxJsonNesting) {
      return Invalid("body", absl::StrCat("nests objects and arrays deeper "
                                          "than ",
                                          kMaxJsonNesting, " levels"));
    }
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    std::string json;
    Message* target = request;
    if (route.body != "*") {
      // The body is one field's value: parse it as that field of the
      // request, which suits messages, scalars and repeated fields alike.
      const FieldDescriptor* f = input->FindFieldByName(route.body);
      json = absl::StrCat("{", JsonQuote(f->json_name()), ":", http.body, "}");
    }
    auto status = google::protobuf::util::JsonStringToMessage(
        route.body == "*" ? http.body : json, target, options);
    if (!status.ok()) {
      return Invalid("body", CleanJsonError(status.message()));
    }
  }

  // 2. The path variables, over whatever the body said.
  std::set<std::string> bound;
  for (const auto& [path, value] : bindings) {
    const FieldDescriptor* leaf = nullptr;
    Message* holder = Holder(request, path, &leaf);
    holder->GetReflection()->ClearField(holder, leaf);
    if (absl::Status s = SetFromText(holder, leaf, value,
                                     absl::StrCat("path variable ", path));
        !s.ok()) {
      return s;
    }
    bound.insert(path);
  }

  // 3. Query parameters: fields the path and the body leave.
  if (http.query.empty()) return absl::OkStatus();
  if (route.body == "*") {
    return Invalid(absl::StrCat("query parameter ", http.query[0].first),
                   "not accepted: the body carries the whole request");
  }
  std::set<const FieldDescriptor*> cleared;
  for (const auto& [key, value] : http.query) {
    const std::string where = absl::StrCat("query parameter ", key);
    const FieldDescriptor* f = FindFieldPath(input, key);
    if (f == nullptr) {
      return Invalid(where,
                     absl::StrCat("no such field in ", input->full_name()));
    }
    // The same field may be written as "page_size" or "pageSize".
    for (const auto& [path, unused] : bindings) {
      if (FindFieldPath(input, path) == f) {
        return Invalid(where, "already given in the path");
      }
    }
    if (!route.body.empty() &&
        FindFieldPath(input, key.substr(0, key.find('.'))) ==
            input->FindFieldByName(route.body)) {
      return Invalid(where, "is the request body's field");
    }
    if (f->is_map()) return Invalid(where, "maps cannot be query parameters");
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
        !IsWellKnownScalar(f->message_type())) {
      return Invalid(where,
                     "messages cannot be query parameters; set its "
                     "fields (name.field=...)");
    }
    const FieldDescriptor* leaf = nullptr;
    Message* holder = Holder(request, key, &leaf);
    if (!f->is_repeated() && cleared.count(f) > 0) {
      return Invalid(where, "given more than once");
    }
    if (cleared.insert(f).second) {
      // A query parameter replaces what the body said.
      holder->GetReflection()->ClearField(holder, leaf);
    }
    if (absl::Status s = SetFromText(holder, leaf, value, where); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

std::string MessageToJson(const Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = false;
  std::string out;
  auto status =
      google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) return "{}";
  return out;
}

absl::StatusOr<std::string> ResponseToJson(const Route& route,
                                           const Message& response) {
  if (route.response_body.empty()) return MessageToJson(response);
  const FieldDescriptor* f =
      response.GetDescriptor()->FindFieldByName(route.response_body);
  if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !f->is_repeated()) {
    return MessageToJson(response.GetReflection()->GetMessage(response, f));
  }
  // A scalar or repeated field: print the response with only that field and
  // take its value out of the object.
  std::unique_ptr<Message> only(response.New());
  only->CopyFrom(response);
  std::vector<const FieldDescriptor*> fields;
  only->GetReflection()->ListFields(*only, &fields);
  for (const FieldDescriptor* other : fields) {
    if (other != f) only->GetReflection()->ClearField(only.get(), other);
  }
  std::string json = MessageToJson(*only);
  const std::string key = absl::StrCat(JsonQuote(f->json_name()), ":");
  const size_t at = json.find(key);
  if (at == std::string::npos || json.size() < at + key.size() + 1) {
    return absl::InternalError("cannot print the response body field");
  }
  return json.substr(at + key.size(), json.size() - at - key.size() - 1);
}

}  // namespace hpo::rest
