// Checks on text from outside (HTTP paths, query strings, JSON bodies) made
// before it reaches protobuf, which would otherwise fail late and obscurely
// (a string field must be UTF-8) or slowly (deeply nested JSON).

#ifndef HPO_CORE_TEXT_CHECKS_H_
#define HPO_CORE_TEXT_CHECKS_H_

#include "absl/strings/string_view.h"

namespace hpo {

// Whether `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF), as every protobuf string must be.
bool IsValidUtf8(absl::string_view s);

// The deepest nesting of objects and arrays in `json`, counting brackets
// outside strings; stops counting (and returns `limit` + 1) once past `limit`.
// Linear, and needs no valid JSON: malformed input is the parser's to reject.
int JsonNesting(absl::string_view json, int limit);

}  // namespace hpo

#endif  // HPO_CORE_TEXT_CHECKS_H_
