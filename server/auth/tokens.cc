#include "server/auth/tokens.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace hpo::auth {
namespace {

bool ParseRole(absl::string_view text, v1::Role* role) {
  if (text == "read") {
    *role = v1::ROLE_READ;
  } else if (text == "worker") {
    *role = v1::ROLE_WORKER;
  } else if (text == "admin") {
    *role = v1::ROLE_ADMIN;
  } else {
    return false;
  }
  return true;
}

// Whether a and b are equal, in time that depends only on their lengths.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  volatile unsigned char differ = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    differ = differ | static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return differ == 0;
}

// Printable ASCII without spaces or commas: what fits in a header value and a
// line of the file.
bool ValidToken(absl::string_view token) {
  for (char c : token) {
    if (c <= ' ' || c > '~' || c == ',') return false;
  }
  return !token.empty();
}

}  // namespace

absl::string_view FailureName(Failure failure) {
  switch (failure) {
    case Failure::kNone:
      return "";
    case Failure::kMissing:
      return "missing";
    case Failure::kMalformed:
      return "malformed";
    case Failure::kUnknownToken:
      return "unknown_token";
    case Failure::kForbidden:
      return "forbidden";
  }
  return "";
}

absl::string_view RoleName(v1::Role role) {
  switch (role) {
    case v1::ROLE_READ:
      return "read";
    case v1::ROLE_WORKER:
      return "worker";
    case v1::ROLE_ADMIN:
      return "admin";
    default:
      return "unspecified";
  }
}

absl::StatusOr<TokenTable> TokenTable::Parse(absl::string_view text,
                                             absl::string_view source) {
  TokenTable table;
  absl::flat_hash_set<std::string> seen;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || absl::StartsWith(line, "#")) continue;
    const std::string where = absl::StrCat(source, ":", line_number, ": ");
    std::vector<absl::string_view> fields = absl::StrSplit(line, ',');
    if (fields.size() != 3) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "expected token,name,role; got ", fields.size(),
                       " field", fields.size() == 1 ? "" : "s"));
    }
    for (absl::string_view& field : fields) {
      field = absl::StripAsciiWhitespace(field);
    }
    if (!ValidToken(fields[0])) {
      return absl::InvalidArgumentError(absl::StrCat(
          where,
          "the token is empty or holds a space or a character that "
          "is not printable ASCII"));
    }
    if (fields[1].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "the name is empty"));
    }
    Entry entry{std::string(fields[0]), std::string(fields[1]),
                v1::ROLE_UNSPECIFIED};
    if (!ParseRole(fields[2], &entry.role)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "role: expected read, worker or admin, got \"",
                       fields[2], "\""));
    }
    if (!seen.insert(entry.token).second) {
      // Not naming the token: the file's other lines may be in a log.
      return absl::InvalidArgumentError(absl::StrCat(
          where, "the token of \"", entry.name, "\" is listed twice"));
    }
    table.entries_.push_back(std::move(entry));
  }
  return table;
}

Verdict TokenTable::Check(absl::string_view authorization,
                          v1::Role required) const {
  Verdict verdict;
  if (authorization.empty()) {
    verdict.failure = Failure::kMissing;
    verdict.status = absl::UnauthenticatedError(
        "this server requires a bearer token: send \"authorization: Bearer "
        "TOKEN\"");
    return verdict;
  }
  absl::string_view token = authorization;
  // RFC 7235: the scheme is case-insensitive.
  if (token.size() < 7 ||
      !absl::EqualsIgnoreCase(token.substr(0, 7), "bearer ")) {
    verdict.failure = Failure::kMalformed;
    verdict.status =
        absl::UnauthenticatedError("authorization: expected \"Bearer TOKEN\"");
    return verdict;
  }
  token = absl::StripAsciiWhitespace(token.substr(7));
  // Every entry is compared, so that the time taken says nothing of which
  // one matched.
  const Entry* match = nullptr;
  for (const Entry& entry : entries_) {
    if (ConstantTimeEquals(token, entry.token)) match = &entry;
  }
  if (match == nullptr) {
    verdict.failure = Failure::kUnknownToken;
    verdict.status =
        absl::UnauthenticatedError("the bearer token is not valid");
    return verdict;
  }
  verdict.caller = match->name;
  if (match->role < required) {
    verdict.failure = Failure::kForbidden;
    verdict.status = absl::PermissionDeniedError(
        absl::StrCat("\"", match->name, "\" has the ", RoleName(match->role),
                     " role; this call needs ", RoleName(required)));
  }
  return verdict;
}

}  // namespace hpo::auth
