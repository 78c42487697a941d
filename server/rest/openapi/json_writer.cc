#include "server/rest/openapi/json_writer.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/json_quote.h"

namespace hpo::openapi {

Json Json::Object() {
  Json j;
  j.kind_ = Kind::kObject;
  return j;
}

Json Json::Array() {
  Json j;
  j.kind_ = Kind::kArray;
  return j;
}

Json Json::String(absl::string_view s) {
  Json j;
  j.kind_ = Kind::kString;
  j.text_ = std::string(s);
  return j;
}

Json Json::Number(double n) {
  Json j;
  j.kind_ = Kind::kRaw;
  j.text_ = absl::StrFormat("%.17g", n);
  return j;
}

Json Json::Integer(long long n) {
  Json j;
  j.kind_ = Kind::kRaw;
  j.text_ = absl::StrCat(n);
  return j;
}

Json Json::Bool(bool b) {
  Json j;
  j.kind_ = Kind::kRaw;
  j.text_ = b ? "true" : "false";
  return j;
}

Json& Json::operator[](absl::string_view key) {
  kind_ = Kind::kObject;
  for (auto& [k, v] : members_) {
    if (k == key) return v;
  }
  members_.emplace_back(std::string(key), Json());
  return members_.back().second;
}

bool Json::Has(absl::string_view key) const {
  for (const auto& [k, v] : members_) {
    if (k == key) return true;
  }
  return false;
}

Json& Json::Push(Json value) {
  kind_ = Kind::kArray;
  items_.push_back(std::move(value));
  return items_.back();
}

std::string Json::Dump() const {
  std::string out;
  DumpTo(&out, 0);
  out += '\n';
  return out;
}

void Json::DumpTo(std::string* out, int indent) const {
  const std::string pad(indent + 2, ' ');
  switch (kind_) {
    case Kind::kNull:
      *out += "null";
      return;
    case Kind::kString:
      *out += JsonQuote(text_);
      return;
    case Kind::kRaw:
      *out += text_;
      return;
    case Kind::kObject:
      if (members_.empty()) {
        *out += "{}";
        return;
      }
      *out += "{\n";
      for (size_t i = 0; i < members_.size(); ++i) {
        absl::StrAppend(out, pad, JsonQuote(members_[i].first), ": ");
        members_[i].second.DumpTo(out, indent + 2);
        *out += i + 1 < members_.size() ? ",\n" : "\n";
      }
      absl::StrAppend(out, std::string(indent, ' '), "}");
      return;
    case Kind::kArray:
      if (items_.empty()) {
        *out += "[]";
        return;
      }
      *out += "[\n";
      for (size_t i = 0; i < items_.size(); ++i) {
        *out += pad;
        items_[i].DumpTo(out, indent + 2);
        *out += i + 1 < items_.size() ? ",\n" : "\n";
      }
      absl::StrAppend(out, std::string(indent, ' '), "]");
      return;
  }
}

}  // namespace hpo::openapi
