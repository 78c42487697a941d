#include "server/auth/token_file.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/log.h"

namespace hpo::auth {

bool TokenFile::Stamp::operator==(const Stamp& other) const {
  return inode == other.inode && size == other.size &&
         modified.tv_sec == other.modified.tv_sec &&
         modified.tv_nsec == other.modified.tv_nsec;
}

absl::StatusOr<std::unique_ptr<TokenFile>> TokenFile::Open(
    const std::string& path, metrics::Registry* metrics) {
  std::unique_ptr<TokenFile> file(new TokenFile(path));
  Stamp stamp;
  absl::StatusOr<std::shared_ptr<const TokenTable>> table = file->Read(&stamp);
  if (!table.ok()) return table.status();
  if ((*table)->size() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": lists no token, so no call could be made"));
  }
  if (metrics != nullptr) {
    metrics::Family<metrics::Counter>& failures = metrics->AddCounter(
        "hpo_auth_failures_total",
        "Calls refused for their bearer token, by reason: missing, "
        "malformed, unknown_token (401 / UNAUTHENTICATED) or forbidden (a "
        "role too weak: 403 / PERMISSION_DENIED).",
        {"reason"});
    for (Failure f : {Failure::kMissing, Failure::kMalformed,
                      Failure::kUnknownToken, Failure::kForbidden}) {
      file->failures_[static_cast<size_t>(f)] =
          &failures.With({std::string(FailureName(f))});
    }
    file->reloads_ = &metrics->AddCounter(
        "hpo_auth_token_reloads_total",
        "Times the --auth_tokens file changed and was read again, by result "
        "(ok, or rejected: the previous tokens stay in force).",
        {"result"});
  }
  absl::MutexLock lock(&file->mu_);
  file->table_ = *std::move(table);
  file->stamp_ = stamp;
  return file;
}

absl::StatusOr<std::shared_ptr<const TokenTable>> TokenFile::Read(
    Stamp* stamp) const {
  struct stat info;
  if (stat(path_.c_str(), &info) != 0) {
    return absl::NotFoundError(absl::StrCat(path_, ": cannot read it"));
  }
  stamp->inode = info.st_ino;
  stamp->size = info.st_size;
  stamp->modified = info.st_mtim;
  std::ifstream in(path_);
  if (!in) return absl::NotFoundError(absl::StrCat(path_, ": cannot read it"));
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<TokenTable> table = TokenTable::Parse(text.str(), path_);
  if (!table.ok()) return table.status();
  return std::make_shared<const TokenTable>(*std::move(table));
}

bool TokenFile::Refresh() {
  struct stat info;
  Stamp now;
  if (stat(path_.c_str(), &info) == 0) {
    now.inode = info.st_ino;
    now.size = info.st_size;
    now.modified = info.st_mtim;
  }
  {
    absl::MutexLock lock(&mu_);
    if (now == stamp_ || now == rejected_) return false;
  }
  Stamp stamp;
  absl::StatusOr<std::shared_ptr<const TokenTable>> table = Read(&stamp);
  absl::MutexLock lock(&mu_);
  if (!table.ok() || (*table)->size() == 0) {
    rejected_ = now;
    if (reloads_ != nullptr) reloads_->With({"rejected"}).Increment();
    HPO_LOG(ERROR) << "--auth_tokens changed but was not taken; the tokens "
                      "read before stay in force: "
                   << (table.ok() ? absl::StrCat(path_, ": lists no token")
                                  : table.status().ToString());
    return false;
  }
  table_ = *std::move(table);
  stamp_ = stamp;
  if (reloads_ != nullptr) reloads_->With({"ok"}).Increment();
  HPO_LOG(INFO) << "--auth_tokens: read " << table_->size() << " token"
                << (table_->size() == 1 ? "" : "s") << " from " << path_;
  return true;
}

Verdict TokenFile::Check(absl::string_view authorization,
                         v1::Role required) const {
  std::shared_ptr<const TokenTable> table;
  {
    absl::MutexLock lock(&mu_);
    table = table_;
  }
  Verdict verdict = table->Check(authorization, required);
  if (verdict.failure != Failure::kNone) {
    if (metrics::Counter* c = failures_[static_cast<size_t>(verdict.failure)]) {
      c->Increment();
    }
  }
  return verdict;
}

}  // namespace hpo::auth
