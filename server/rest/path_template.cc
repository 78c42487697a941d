#include "server/rest/path_template.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace hpo::rest {
namespace {

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsIdentifier(absl::string_view s) {
  if (s.empty() || absl::ascii_isdigit(s[0])) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(c) && c != '_') return false;
  }
  return true;
}

// Recursive-descent parser over the template text.
class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(
        "path template \"", text_, "\": ", what, " at offset ", pos_));
  }
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }

  // Segments up to (not including) '}', ':' or the end.
  template <typename OnSegment, typename OnVariable>
  absl::Status Segments(bool in_variable, OnSegment on_segment,
                        OnVariable on_variable) {
    while (true) {
      if (Peek() == '{') {
        if (in_variable) return Error("nested variable");
        ++pos_;
        const size_t start = pos_;
        while (!AtEnd() && Peek() != '=' && Peek() != '}') ++pos_;
        const std::string path(text_.substr(start, pos_ - start));
        for (absl::string_view part : absl::StrSplit(path, '.')) {
          if (!IsIdentifier(part)) {
            return Error(absl::StrCat("bad field path \"", path, "\""));
          }
        }
        if (absl::Status s = on_variable(path, /*begin=*/true); !s.ok()) {
          return s;
        }
        if (Peek() == '=') {
          ++pos_;
          if (absl::Status s = Segments(true, on_segment, on_variable);
              !s.ok()) {
            return s;
          }
        } else {
          on_segment("*");
        }
        if (Peek() != '}') return Error("expected '}'");
        ++pos_;
        if (absl::Status s = on_variable(path, /*begin=*/false); !s.ok()) {
          return s;
        }
      } else {
        const size_t start = pos_;
        while (!AtEnd() && Peek() != '/' && Peek() != '}' && Peek() != ':' &&
               Peek() != '{') {
          ++pos_;
        }
        if (pos_ == start) return Error("empty segment");
        on_segment(text_.substr(start, pos_ - start));
      }
      if (Peek() != '/') return absl::OkStatus();
      ++pos_;
    }
  }

  absl::string_view Rest() {
    absl::string_view rest = text_.substr(pos_);
    pos_ = text_.size();
    return rest;
  }
  void Skip() { ++pos_; }

 private:
  absl::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

bool PercentDecode(absl::string_view in, bool keep_slashes, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      *out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = Hex(in[i + 1]), lo = Hex(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    const char c = static_cast<char>(hi * 16 + lo);
    if (keep_slashes && c == '/') {
      out->append(in.data() + i, 3);
    } else {
      *out += c;
    }
    i += 2;
  }
  return true;
}

absl::StatusOr<PathTemplate> PathTemplate::Parse(absl::string_view text) {
  PathTemplate t;
  t.text_ = std::string(text);
  Parser parser(text);
  if (parser.Peek() != '/') return parser.Error("must start with '/'");
  parser.Skip();
  absl::Status s = parser.Segments(
      false,
      [&t](absl::string_view segment) {
        Segment seg;
        if (segment == "*") {
          seg.kind = Kind::kStar;
        } else if (segment == "**") {
          seg.kind = Kind::kDoubleStar;
        } else {
          seg.kind = Kind::kLiteral;
          seg.literal = std::string(segment);
        }
        t.segments_.push_back(std::move(seg));
      },
      [&t, &parser](const std::string& path, bool begin) -> absl::Status {
        if (begin) {
          for (const Variable& v : t.variables_) {
            if (v.field_path == path) {
              return parser.Error(
                  absl::StrCat("variable \"", path, "\" appears twice"));
            }
          }
          t.variables_.push_back({path, t.segments_.size(), 0});
        } else {
          t.variables_.back().end = t.segments_.size();
        }
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  if (parser.Peek() == ':') {
    parser.Skip();
    t.verb_ = std::string(parser.Rest());
    if (t.verb_.empty() || t.verb_.find('/') != std::string::npos) {
      return parser.Error("bad verb");
    }
  }
  if (!parser.AtEnd()) return parser.Error("unexpected character");
  for (size_t i = 0; i < t.segments_.size(); ++i) {
    if (t.segments_[i].kind == Kind::kDoubleStar &&
        i + 1 != t.segments_.size()) {
      return parser.Error("'**' must be the last segment");
    }
  }
  return t;
}

bool PathTemplate::MatchFrom(size_t t,
                             const std::vector<absl::string_view>& parts,
                             size_t p, std::vector<size_t>* ends) const {
  if (t == segments_.size()) return p == parts.size();
  const Segment& seg = segments_[t];
  switch (seg.kind) {
    case Kind::kLiteral:
      if (p >= parts.size() || parts[p] != seg.literal) return false;
      (*ends)[t] = p + 1;
      return MatchFrom(t + 1, parts, p + 1, ends);
    case Kind::kStar:
      if (p >= parts.size() || parts[p].empty()) return false;
      (*ends)[t] = p + 1;
      return MatchFrom(t + 1, parts, p + 1, ends);
    case Kind::kDoubleStar:
      // Last segment: takes whatever is left.
      (*ends)[t] = parts.size();
      return MatchFrom(t + 1, parts, parts.size(), ends);
  }
  return false;
}

bool PathTemplate::Match(absl::string_view path, Bindings* bindings) const {
  if (path.empty() || path[0] != '/') return false;
  path.remove_prefix(1);
  if (!verb_.empty()) {
    const std::string suffix = absl::StrCat(":", verb_);
    if (path.size() <= suffix.size() ||
        path.substr(path.size() - suffix.size()) != suffix) {
      return false;
    }
    path.remove_suffix(suffix.size());
    // The verb belongs to the last segment: "a/:verb" has an empty one.
    if (path.empty() || path.back() == '/') return false;
  }
  std::vector<absl::string_view> parts = absl::StrSplit(path, '/');
  std::vector<size_t> ends(segments_.size(), 0);
  if (!MatchFrom(0, parts, 0, &ends)) return false;
  bindings->clear();
  for (const Variable& v : variables_) {
    const size_t first = v.begin == 0 ? 0 : ends[v.begin - 1];
    const size_t last = v.end == 0 ? 0 : ends[v.end - 1];
    std::vector<absl::string_view> span(parts.begin() + first,
                                        parts.begin() + last);
    const bool single =
        v.end - v.begin == 1 && segments_[v.begin].kind != Kind::kDoubleStar;
    std::string value;
    if (!PercentDecode(absl::StrJoin(span, "/"), !single, &value)) {
      return false;
    }
    bindings->emplace_back(v.field_path, std::move(value));
  }
  return true;
}

std::string PathTemplate::OpenApiPath() const {
  std::string out;
  size_t var = 0;
  for (size_t i = 0; i < segments_.size();) {
    out += '/';
    if (var < variables_.size() && variables_[var].begin == i) {
      absl::StrAppend(&out, "{", variables_[var].field_path, "}");
      i = std::max(variables_[var].end, i + 1);
      ++var;
      continue;
    }
    const Segment& seg = segments_[i];
    out += seg.kind == Kind::kLiteral ? seg.literal
           : seg.kind == Kind::kStar  ? "*"
                                      : "**";
    ++i;
  }
  if (!verb_.empty()) absl::StrAppend(&out, ":", verb_);
  return out;
}

int PathTemplate::Specificity() const {
  int score = verb_.empty() ? 0 : 1000;
  for (const Segment& seg : segments_) {
    if (seg.kind == Kind::kLiteral) score += 10;
    if (seg.kind == Kind::kDoubleStar) score -= 1;
  }
  return score;
}

}  // namespace hpo::rest
