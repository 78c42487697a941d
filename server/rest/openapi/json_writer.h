// A JSON value that keeps its object keys in insertion order, and prints
// itself indented: enough to write an OpenAPI document that reads top-down
// (openapi, info, paths, components) and diffs cleanly.

#ifndef HPO_PROTO_OPENAPI_JSON_WRITER_H_
#define HPO_PROTO_OPENAPI_JSON_WRITER_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace hpo::openapi {

class Json {
 public:
  // null.
  Json() = default;
  static Json Object();
  static Json Array();
  static Json String(absl::string_view s);
  static Json Number(double n);
  static Json Integer(long long n);
  static Json Bool(bool b);

  // The member `key` of an object, added (as null) if missing.
  Json& operator[](absl::string_view key);
  bool Has(absl::string_view key) const;
  bool empty() const { return members_.empty() && items_.empty(); }
  // Appends to an array.
  Json& Push(Json value);

  // Two-space indented, with a final newline.
  std::string Dump() const;

 private:
  enum class Kind { kNull, kObject, kArray, kString, kRaw };
  void DumpTo(std::string* out, int indent) const;

  Kind kind_ = Kind::kNull;
  std::string text_;  // kString: the string; kRaw: the literal.
  std::vector<std::pair<std::string, Json>> members_;
  std::vector<Json> items_;
};

}  // namespace hpo::openapi

#endif  // HPO_PROTO_OPENAPI_JSON_WRITER_H_
