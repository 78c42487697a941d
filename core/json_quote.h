// A string as a JSON string literal: the one escaping routine that the REST
// gateway, the OpenAPI generator, hpoctl and the benchmark's traces share.

#ifndef HPO_CORE_JSON_QUOTE_H_
#define HPO_CORE_JSON_QUOTE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace hpo {

// `s` between double quotes, with quotes, backslashes and control characters
// escaped (\n, \r and \t by name, the others as \u00XX). Other bytes, UTF-8
// included, are copied as they are.
std::string JsonQuote(absl::string_view s);

}  // namespace hpo

#endif  // HPO_CORE_JSON_QUOTE_H_
