// The --auth_tokens file, read again when it changes: a Kubernetes Secret
// mounted as a file is replaced in place when the Secret is edited, and the
// new tokens take effect without a restart.

#ifndef HPO_SERVER_AUTH_TOKEN_FILE_H_
#define HPO_SERVER_AUTH_TOKEN_FILE_H_

#include <sys/types.h>

#include <array>
#include <ctime>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/auth/tokens.h"
#include "server/metrics/metrics.h"

namespace hpo::auth {

class TokenFile {
 public:
  // Reads `path`; an unreadable or malformed file is an error naming it (and
  // the line). With `metrics`, refusals are counted in
  // hpo_auth_failures_total{reason}, and reloads in
  // hpo_auth_token_reloads_total{result}.
  static absl::StatusOr<std::unique_ptr<TokenFile>> Open(
      const std::string& path, metrics::Registry* metrics = nullptr);

  // Reads the file again if it changed since it was last read (its inode,
  // size or modification time). A file that no longer parses keeps the
  // tokens read before and logs why. Cheap when nothing changed: one stat().
  // Returns whether new tokens took effect.
  bool Refresh();

  // Checks a call's authorization value against the current tokens; see
  // TokenTable::Check. Thread-safe.
  Verdict Check(absl::string_view authorization, v1::Role required) const;

  const std::string& path() const { return path_; }

 private:
  // What says the file changed.
  struct Stamp {
    ino_t inode = 0;
    off_t size = -1;
    timespec modified{};
    bool operator==(const Stamp& other) const;
  };

  explicit TokenFile(std::string path) : path_(std::move(path)) {}
  // The file's stamp and table, or why not.
  absl::StatusOr<std::shared_ptr<const TokenTable>> Read(Stamp* stamp) const;

  const std::string path_;
  metrics::Family<metrics::Counter>* reloads_ = nullptr;
  // By Failure, without kNone.
  std::array<metrics::Counter*, 5> failures_{};

  mutable absl::Mutex mu_;
  std::shared_ptr<const TokenTable> table_ ABSL_GUARDED_BY(mu_);
  Stamp stamp_ ABSL_GUARDED_BY(mu_);
  // The stamp of a version that failed to parse (or of a missing file), so
  // that it is logged once.
  Stamp rejected_ ABSL_GUARDED_BY(mu_) = {0, -2, {}};
};

}  // namespace hpo::auth

#endif  // HPO_SERVER_AUTH_TOKEN_FILE_H_
