// A google.api.http path template ("/v1/{name=experiments/*}:stop") and the
// matching of request paths against it. Grammar, from google/api/http.proto:
//
//   Template = "/" Segments [ Verb ] ;
//   Segments = Segment { "/" Segment } ;
//   Segment  = "*" | "**" | LITERAL | Variable ;
//   Variable = "{" FieldPath [ "=" Segments ] "}" ;
//   FieldPath = IDENT { "." IDENT } ;
//   Verb     = ":" LITERAL ;
//
// "{x}" means "{x=*}". A variable over one segment is percent-decoded in full;
// one over several keeps "%2F" encoded, so that its slashes stay apart from
// encoded ones (the spec's "reserved expansion").

#ifndef HPO_SERVER_REST_PATH_TEMPLATE_H_
#define HPO_SERVER_REST_PATH_TEMPLATE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hpo::rest {

class PathTemplate {
 public:
  struct Variable {
    std::string field_path;  // "name", or "parent.name"
    // Template segments [begin, end) that the variable spans.
    size_t begin = 0;
    size_t end = 0;
  };
  // A variable's field path and its decoded value.
  using Bindings = std::vector<std::pair<std::string, std::string>>;

  // INVALID_ARGUMENT naming the problem if `text` is not a template.
  static absl::StatusOr<PathTemplate> Parse(absl::string_view text);

  // True if `path` (as sent: percent-encoded, without the query) matches;
  // fills `bindings` with the variables' values.
  bool Match(absl::string_view path, Bindings* bindings) const;

  const std::string& text() const { return text_; }
  const std::string& verb() const { return verb_; }
  const std::vector<Variable>& variables() const { return variables_; }
  // The template in OpenAPI's form: "{name}" for each variable, so
  // "/v1/{name=experiments/*}:stop" gives "/v1/{name}:stop".
  std::string OpenApiPath() const;
  // How specific the template is: templates with a verb first, then more
  // literal segments. Ties go to the earlier route.
  int Specificity() const;

 private:
  enum class Kind { kLiteral, kStar, kDoubleStar };
  struct Segment {
    Kind kind;
    std::string literal;
  };

  bool MatchFrom(size_t t, const std::vector<absl::string_view>& parts,
                 size_t p, std::vector<size_t>* ends) const;

  std::string text_;
  std::vector<Segment> segments_;
  std::vector<Variable> variables_;
  std::string verb_;
};

// Percent-decodes a path segment. With `keep_slashes`, "%2F" stays encoded.
// False (and `out` unspecified) for a malformed escape.
bool PercentDecode(absl::string_view in, bool keep_slashes, std::string* out);

}  // namespace hpo::rest

#endif  // HPO_SERVER_REST_PATH_TEMPLATE_H_
