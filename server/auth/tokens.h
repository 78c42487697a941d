// Bearer tokens and the roles they grant, as read from hpo-server's
// --auth_tokens file, and the check that a call's Authorization value grants
// the role its method needs.
//
// The file has one token a line, in the shape of kube-apiserver's static token
// file:
//
//   # token,name,role
//   3f9c...e1,ci-workers,worker
//   77ab...04,alice,admin
//
// `name` says whose token it is (it appears in logs, never the token); `role`
// is read, worker or admin. Blank lines and lines starting with '#' are
// skipped.

#ifndef HPO_SERVER_AUTH_TOKENS_H_
#define HPO_SERVER_AUTH_TOKENS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hpo/v1/hpo.pb.h"

namespace hpo::auth {

// Why a call was refused, for hpo_auth_failures_total{reason}.
enum class Failure {
  kNone,
  kMissing,       // no Authorization
  kMalformed,     // not "Bearer TOKEN"
  kUnknownToken,  // a token the file does not list
  kForbidden,     // a listed token whose role is too weak
};

// "missing", "malformed", "unknown_token", "forbidden"; "" for kNone.
absl::string_view FailureName(Failure failure);

// "read", "worker", "admin".
absl::string_view RoleName(v1::Role role);

// The outcome of checking one call.
struct Verdict {
  absl::Status status;  // OK, UNAUTHENTICATED or PERMISSION_DENIED
  Failure failure = Failure::kNone;
  std::string caller;  // the token's name, when the token is known
};

class TokenTable {
 public:
  // Parses the file's text; `source` names it in errors ("tokens.csv:3: ...").
  static absl::StatusOr<TokenTable> Parse(absl::string_view text,
                                          absl::string_view source);

  // Checks `authorization` (the header's or metadata's value, "" if absent)
  // against `required`. The token is compared with every listed token in
  // time that does not depend on where they differ, and never appears in the
  // answer's message.
  Verdict Check(absl::string_view authorization, v1::Role required) const;

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string token;
    std::string name;
    v1::Role role;
  };
  std::vector<Entry> entries_;
};

}  // namespace hpo::auth

#endif  // HPO_SERVER_AUTH_TOKENS_H_
