#include "storage/sqlite/sqlite_storage.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <initializer_list>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace hpo {
namespace {

// Marks the file as ours (PRAGMA application_id), so that Open can tell an hpo
// database from someone else's SQLite file. "hpo\0" in ASCII.
constexpr int64_t kApplicationId = 0x68706f00;

// The schema version this build writes, kept in PRAGMA user_version. A later
// version adds a step to Migrate() and bumps this; older builds then refuse the
// file.
constexpr int64_t kSchemaVersion = 1;

// Long enough to ride out a backup tool or a sqlite3 shell briefly holding the
// lock.
constexpr int kBusyTimeoutMs = 5000;

constexpr char kSchemaV1[] = R"sql(
CREATE TABLE experiments (
  name TEXT NOT NULL PRIMARY KEY,
  -- A serialized hpo.v1.Experiment: the source of truth. The other columns are
  -- copies, for people looking at the file with the sqlite3 shell.
  data BLOB NOT NULL,
  -- The experiment's create_time and update_time, microseconds since the Unix
  -- epoch; NULL when unset.
  create_time INTEGER,
  update_time INTEGER
);
CREATE TABLE trials (
  experiment TEXT NOT NULL REFERENCES experiments (name) ON DELETE CASCADE,
  number INTEGER NOT NULL,
  state INTEGER NOT NULL,  -- hpo.v1.Trial.State
  data BLOB NOT NULL,      -- a serialized hpo.v1.Trial: the source of truth
  PRIMARY KEY (experiment, number)
);
PRAGMA application_id = 1752198912;
PRAGMA user_version = 1;
)sql";
static_assert(kApplicationId == 1752198912, "kSchemaV1 spells it out");

absl::StatusCode CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
      return absl::StatusCode::kDataLoss;
    case SQLITE_NOTADB:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return absl::StatusCode::kFailedPrecondition;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::StatusCode::kUnavailable;
    case SQLITE_FULL:
    case SQLITE_NOMEM:
      return absl::StatusCode::kResourceExhausted;
    default:
      return absl::StatusCode::kInternal;
  }
}

// `db` may be null (when sqlite3_open itself could not allocate one). Call this
// before anything else touches `db`, which would replace its error message.
absl::Status Error(sqlite3* db, int rc, absl::string_view path,
                   absl::string_view what) {
  if ((rc & 0xff) == SQLITE_NOTADB) {
    return absl::FailedPreconditionError(absl::StrCat(
        "\"", path, "\" is not an SQLite database; refusing to use it"));
  }
  const char* message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return absl::Status(CodeFor(rc), absl::StrCat("sqlite database \"", path,
                                                "\": ", what, ": ", message));
}

absl::Status Exec(sqlite3* db, const char* sql, absl::string_view path,
                  absl::string_view what) {
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? absl::OkStatus() : Error(db, rc, path, what);
}

// Runs a statement that returns one integer, such as "PRAGMA user_version".
absl::StatusOr<int64_t> QueryInt(sqlite3* db, const char* sql,
                                 absl::string_view path) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return Error(db, rc, path, sql);
  rc = sqlite3_step(stmt);
  absl::StatusOr<int64_t> result;
  if (rc == SQLITE_ROW) {
    result = sqlite3_column_int64(stmt, 0);
  } else {
    result = Error(db, rc, path, sql);
  }
  sqlite3_finalize(stmt);
  return result;
}

// Reads the schema version, refusing files that another application or a newer
// hpo wrote. Only reads, so that a file we refuse is left exactly as it was.
absl::StatusOr<int64_t> CheckedSchemaVersion(sqlite3* db,
                                             absl::string_view path) {
  absl::StatusOr<int64_t> application_id =
      QueryInt(db, "PRAGMA application_id", path);
  if (!application_id.ok()) return application_id.status();
  absl::StatusOr<int64_t> version = QueryInt(db, "PRAGMA user_version", path);
  if (!version.ok()) return version.status();
  absl::StatusOr<int64_t> objects =
      QueryInt(db, "SELECT count(*) FROM sqlite_master", path);
  if (!objects.ok()) return objects.status();

  // A file with no application_id is ours only if it is empty: a new file.
  if (*application_id != kApplicationId &&
      (*application_id != 0 || *version != 0 || *objects != 0)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "\"", path,
        "\" is an SQLite database but not an hpo one (application_id ",
        *application_id, ", user_version ", *version, "); refusing to use it"));
  }
  if (*version > kSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("\"", path, "\" has schema version ", *version,
                     " but this build of hpo knows versions up to ",
                     kSchemaVersion, "; open it with a newer hpo"));
  }
  return version;
}

absl::Status Migrate(sqlite3* db, absl::string_view path) {
  absl::Status status =
      Exec(db, "BEGIN IMMEDIATE", path, "starting the schema migration");
  if (!status.ok()) return status;
  // Checked again under the write lock: another process may have migrated the
  // file since we first looked.
  absl::StatusOr<int64_t> version = CheckedSchemaVersion(db, path);
  if (!version.ok()) {
    status = version.status();
  } else if (*version < 1) {
    status = Exec(db, kSchemaV1, path, "creating the schema");
  }
  // Steps to later versions go here, each ending by setting user_version.
  //
  // Indexes that change no stored value and that every build may use or
  // ignore: the running trials, which the server must find at start-up
  // without reading every trial.
  if (status.ok()) {
    status = Exec(db,
                  "CREATE INDEX IF NOT EXISTS trials_running ON trials "
                  "(experiment) WHERE state = 2",
                  path, "creating an index");
  }
  if (status.ok()) status = Exec(db, "COMMIT", path, "committing the schema");
  if (!status.ok() && sqlite3_get_autocommit(db) == 0) {
    Exec(db, "ROLLBACK", path, "rolling back the schema").IgnoreError();
  }
  return status;
}

// fsync()s a directory, so that entries just created in it survive power loss.
absl::Status SyncDirectory(const std::filesystem::path& dir) {
  std::string name = dir.empty() ? "." : dir.string();
  int fd = open(name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) != 0) {
    int error = errno;
    if (fd >= 0) close(fd);
    // Some filesystems cannot sync directories; SQLite carries on there too.
    if (error == EINVAL) return absl::OkStatus();
    return absl::ErrnoToStatus(
        error, absl::StrCat("syncing directory \"", name, "\""));
  }
  close(fd);
  return absl::OkStatus();
}

absl::Status CreateParentDirectories(const std::filesystem::path& file) {
  namespace fs = std::filesystem;
  std::error_code error;
  // The missing directories, innermost first: each must be synced in its
  // parent.
  std::vector<fs::path> missing;
  for (fs::path dir = file.parent_path();
       !dir.empty() && !fs::exists(dir, error); dir = dir.parent_path()) {
    missing.push_back(dir);
    if (dir == dir.parent_path()) break;
  }
  if (missing.empty()) return absl::OkStatus();
  fs::create_directories(file.parent_path(), error);
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat("creating directory \"", file.parent_path().string(),
                     "\": ", error.message()));
  }
  for (const fs::path& dir : missing) {
    absl::Status status = SyncDirectory(dir.parent_path());
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

// Resets a statement when leaving a scope, so that it holds no read snapshot or
// bound buffers between uses.
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;
  ~ResetOnExit() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

 private:
  sqlite3_stmt* const stmt_;
};

// SQLITE_STATIC: every bound buffer outlives the step that reads it.
void BindText(sqlite3_stmt* stmt, int index, absl::string_view text) {
  sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()),
                    SQLITE_STATIC);
}

void BindBlob(sqlite3_stmt* stmt, int index, const std::string& blob) {
  // A non-null pointer even when empty, or SQLite would store NULL.
  sqlite3_bind_blob(stmt, index, blob.c_str(), static_cast<int>(blob.size()),
                    SQLITE_STATIC);
}

void BindTime(sqlite3_stmt* stmt, int index, bool has,
              const google::protobuf::Timestamp& time) {
  if (has) {
    sqlite3_bind_int64(stmt, index,
                       time.seconds() * 1000000 + time.nanos() / 1000);
  } else {
    sqlite3_bind_null(stmt, index);
  }
}

absl::string_view ColumnText(sqlite3_stmt* stmt, int column) {
  const unsigned char* text = sqlite3_column_text(stmt, column);
  int size = sqlite3_column_bytes(stmt, column);
  return text == nullptr
             ? absl::string_view()
             : absl::string_view(reinterpret_cast<const char*>(text), size);
}

bool ParseColumn(sqlite3_stmt* stmt, int column,
                 google::protobuf::MessageLite* message) {
  const void* data = sqlite3_column_blob(stmt, column);
  int size = sqlite3_column_bytes(stmt, column);
  return message->ParseFromArray(data, size);
}

}  // namespace

void SqliteStorage::ConnectionCloser::operator()(sqlite3* db) const {
  sqlite3_close_v2(db);
}

void SqliteStorage::StatementFinalizer::operator()(sqlite3_stmt* stmt) const {
  sqlite3_finalize(stmt);
}

absl::StatusOr<std::unique_ptr<SqliteStorage>> SqliteStorage::Open(
    const std::string& path) {
  // SQLite gives these special meanings (a private temporary or in-memory
  // database) that would not persist, and the two connections would not share.
  if (path.empty() || path == ":memory:") {
    return absl::InvalidArgumentError(
        absl::StrCat("sqlite database path \"", path, "\" is not a file path"));
  }
  absl::Status status = CreateParentDirectories(path);
  if (!status.ok()) return status;

  // Each connection is used by one thread at a time, so SQLite's own
  // per-connection mutex would only cost time.
  auto open = [&path](int flags, Connection* out) -> absl::Status {
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX,
                             nullptr);
    out->reset(db);
    if (rc != SQLITE_OK) return Error(db, rc, path, "opening");
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
    return absl::OkStatus();
  };
  auto prepare = [&path](sqlite3* db, const char* sql,
                         Statement* out) -> absl::Status {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt,
                                nullptr);
    out->reset(stmt);
    return rc == SQLITE_OK
               ? absl::OkStatus()
               : Error(db, rc, path, absl::StrCat("preparing ", sql));
  };

  Connection write_db;
  status = open(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &write_db);
  if (!status.ok()) return status;
  sqlite3* db = write_db.get();

  // Before anything below writes to the file.
  absl::StatusOr<int64_t> version = CheckedSchemaVersion(db, path);
  if (!version.ok()) return version.status();

  sqlite3_stmt* stmt = nullptr;
  int rc =
      sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &stmt, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
  std::string mode =
      rc == SQLITE_ROW ? std::string(ColumnText(stmt, 0)) : std::string();
  if (rc != SQLITE_ROW) status = Error(db, rc, path, "setting WAL mode");
  sqlite3_finalize(stmt);
  if (!status.ok()) return status;
  if (mode != "wal") {
    return absl::FailedPreconditionError(absl::StrCat(
        "sqlite database \"", path,
        "\": cannot use WAL mode (journal mode is \"", mode, "\")"));
  }
  // FULL makes each commit fsync the WAL: a commit survives power loss.
  status = Exec(db, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
                path, "setting pragmas");
  if (!status.ok()) return status;
  status = Migrate(db, path);
  if (!status.ok()) return status;
  // The file may be new; make its directory entry durable too.
  status = SyncDirectory(std::filesystem::path(path).parent_path());
  if (!status.ok()) return status;

  WriteStatements write;
  for (auto [out, sql] :
       std::initializer_list<std::pair<Statement*, const char*>>{
           {&write.begin, "BEGIN IMMEDIATE"},
           {&write.commit, "COMMIT"},
           {&write.rollback, "ROLLBACK"},
           {&write.savepoint, "SAVEPOINT mutation"},
           {&write.release, "RELEASE mutation"},
           {&write.rollback_to, "ROLLBACK TO mutation"},
           {&write.experiment_exists,
            "SELECT 1 FROM experiments WHERE name = ?1"},
           {&write.insert_experiment,
            "INSERT INTO experiments (name, data, create_time, update_time) "
            "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO NOTHING"},
           {&write.update_experiment,
            "UPDATE experiments SET data = ?2, create_time = ?3, "
            "update_time = ?4 WHERE name = ?1"},
           {&write.delete_experiment,
            "DELETE FROM experiments WHERE name = ?1"},
           {&write.put_trial,
            "INSERT INTO trials (experiment, number, state, data) "
            "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (experiment, number) "
            "DO UPDATE SET state = excluded.state, data = excluded.data"},
       }) {
    status = prepare(db, sql, out);
    if (!status.ok()) return status;
  }

  Connection read_db;
  status = open(SQLITE_OPEN_READONLY, &read_db);
  if (!status.ok()) return status;
  ReadStatements read;
  for (auto [out, sql] :
       std::initializer_list<std::pair<Statement*, const char*>>{
           {&read.list_experiments,
            "SELECT name, data FROM experiments ORDER BY name"},
           {&read.get_experiment,
            "SELECT name, data FROM experiments WHERE name = ?1"},
           {&read.list_trials,
            "SELECT number, data FROM trials WHERE experiment = ?1 "
            "ORDER BY number"},
           // Spelled as the index's WHERE, so that SQLite uses it.
           {&read.list_running,
            "SELECT DISTINCT experiment FROM trials WHERE state = 2 "
            "ORDER BY experiment"},
       }) {
    status = prepare(read_db.get(), sql, out);
    if (!status.ok()) return status;
  }

  return std::unique_ptr<SqliteStorage>(
      new SqliteStorage(path, std::move(write_db), std::move(write),
                        std::move(read_db), std::move(read)));
}

SqliteStorage::SqliteStorage(std::string path, Connection write_db,
                             WriteStatements write, Connection read_db,
                             ReadStatements read)
    : path_(std::move(path)),
      write_db_(std::move(write_db)),
      write_(std::move(write)),
      read_db_(std::move(read_db)),
      read_(std::move(read)),
      completer_(&SqliteStorage::CompleterLoop, this),
      writer_(&SqliteStorage::WriterLoop, this) {}

SqliteStorage::~SqliteStorage() {
  {
    absl::MutexLock lock(&queue_mu_);
    closing_ = true;
  }
  writer_.join();
  {
    absl::MutexLock lock(&done_mu_);
    writer_done_ = true;
  }
  completer_.join();
  // Members then close the read connection before the write connection, so the
  // writer is the last to close and checkpoints the WAL into the file.
}

void SqliteStorage::Write(std::vector<Mutation> mutations, WriteDone done) {
  absl::MutexLock lock(&queue_mu_);
  queue_.push_back({std::move(mutations), std::move(done)});
}

bool SqliteStorage::HasWorkOrClosing() const {
  return !queue_.empty() || closing_;
}

void SqliteStorage::WriterLoop() {
  std::vector<PendingWrite> batch;
  for (;;) {
    {
      absl::MutexLock lock(&queue_mu_);
      queue_mu_.Await(absl::Condition(this, &SqliteStorage::HasWorkOrClosing));
      if (queue_.empty()) return;  // Closing, and everything is committed.
      batch.swap(queue_);
    }
    CommitBatch(batch);
    batch.clear();
  }
}

void SqliteStorage::CommitBatch(std::vector<PendingWrite>& batch) {
  sqlite3* db = write_db_.get();
  std::vector<absl::Status> results;
  results.reserve(batch.size());
  const absl::Time start = absl::Now();
  absl::Status status = Run(write_.begin.get(), "beginning a transaction");
  for (size_t i = 0; status.ok() && i < batch.size(); ++i) {
    status = Run(write_.savepoint.get(), "creating a savepoint");
    if (!status.ok()) break;
    absl::Status result = ApplyAll(batch[i].mutations);
    if (sqlite3_get_autocommit(db) != 0) {
      // SQLite rolled back the whole transaction (it does so on I/O errors, a
      // full disk or lack of memory), so the earlier writes are gone too.
      status = result.ok() ? absl::InternalError(absl::StrCat(
                                 "sqlite database \"", path_,
                                 "\": transaction ended unexpectedly"))
                           : result;
      break;
    }
    if (result.ok()) {
      status = Run(write_.release.get(), "releasing a savepoint");
    } else {
      status = Run(write_.rollback_to.get(), "rolling back a savepoint");
      if (status.ok()) {
        status = Run(write_.release.get(), "releasing a savepoint");
      }
    }
    results.push_back(std::move(result));
  }
  if (status.ok()) status = Run(write_.commit.get(), "committing");
  if (status.ok()) {
    commits_.fetch_add(1, std::memory_order_relaxed);
    if (commit_observer_) commit_observer_(absl::Now() - start, batch.size());
  } else {
    if (sqlite3_get_autocommit(db) == 0) {
      Run(write_.rollback.get(), "rolling back").IgnoreError();
    }
    results.assign(batch.size(), status);
  }
  absl::MutexLock lock(&done_mu_);
  for (size_t i = 0; i < batch.size(); ++i) {
    outcomes_.push_back({std::move(batch[i].done), std::move(results[i])});
  }
}

bool SqliteStorage::HasOutcomesOrWriterDone() const {
  return !outcomes_.empty() || writer_done_;
}

void SqliteStorage::CompleterLoop() {
  std::vector<Outcome> outcomes;
  for (;;) {
    {
      absl::MutexLock lock(&done_mu_);
      done_mu_.Await(
          absl::Condition(this, &SqliteStorage::HasOutcomesOrWriterDone));
      if (outcomes_.empty()) return;  // The writer is done, and so are we.
      outcomes.swap(outcomes_);
    }
    for (Outcome& outcome : outcomes) {
      std::move(outcome.done)(std::move(outcome.status));
    }
    outcomes.clear();
  }
}

absl::Status SqliteStorage::ApplyAll(const std::vector<Mutation>& mutations) {
  for (const Mutation& mutation : mutations) {
    if (absl::Status status = Apply(mutation); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status SqliteStorage::Apply(const Mutation& mutation) {
  switch (mutation.kind) {
    case Mutation::Kind::kCreateExperiment:
      return ApplyCreate(mutation.experiment);
    case Mutation::Kind::kUpdateExperiment:
      return ApplyUpdate(mutation.experiment);
    case Mutation::Kind::kDeleteExperiment:
      return ApplyDelete(mutation.name);
    case Mutation::Kind::kPutTrial:
      return ApplyPutTrial(mutation.trial);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown mutation kind ", static_cast<int>(mutation.kind)));
}

absl::Status SqliteStorage::ApplyCreate(const v1::Experiment& experiment) {
  std::string data = experiment.SerializeAsString();
  sqlite3_stmt* stmt = write_.insert_experiment.get();
  BindText(stmt, 1, experiment.name());
  BindBlob(stmt, 2, data);
  BindTime(stmt, 3, experiment.has_create_time(), experiment.create_time());
  BindTime(stmt, 4, experiment.has_update_time(), experiment.update_time());
  absl::Status status = Run(stmt, "creating an experiment");
  if (status.ok() && sqlite3_changes(write_db_.get()) == 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("experiment \"", experiment.name(), "\" already exists"));
  }
  return status;
}

absl::Status SqliteStorage::ApplyUpdate(const v1::Experiment& experiment) {
  std::string data = experiment.SerializeAsString();
  sqlite3_stmt* stmt = write_.update_experiment.get();
  BindText(stmt, 1, experiment.name());
  BindBlob(stmt, 2, data);
  BindTime(stmt, 3, experiment.has_create_time(), experiment.create_time());
  BindTime(stmt, 4, experiment.has_update_time(), experiment.update_time());
  absl::Status status = Run(stmt, "updating an experiment");
  if (status.ok() && sqlite3_changes(write_db_.get()) == 0) {
    return absl::NotFoundError(
        absl::StrCat("experiment \"", experiment.name(), "\" not found"));
  }
  return status;
}

absl::Status SqliteStorage::ApplyDelete(const std::string& name) {
  sqlite3_stmt* stmt = write_.delete_experiment.get();
  BindText(stmt, 1, name);
  // The foreign key deletes the trials.
  absl::Status status = Run(stmt, "deleting an experiment");
  if (status.ok() && sqlite3_changes(write_db_.get()) == 0) {
    return absl::NotFoundError(
        absl::StrCat("experiment \"", name, "\" not found"));
  }
  return status;
}

absl::Status SqliteStorage::ApplyPutTrial(const v1::Trial& trial) {
  // Checked here, not left to the foreign key, for an error that says what is
  // missing.
  sqlite3_stmt* exists = write_.experiment_exists.get();
  {
    ResetOnExit reset(exists);
    BindText(exists, 1, trial.experiment());
    int rc = sqlite3_step(exists);
    if (rc == SQLITE_DONE) {
      return absl::NotFoundError(
          absl::StrCat("experiment \"", trial.experiment(),
                       "\" not found; cannot store trial ", trial.number()));
    }
    if (rc != SQLITE_ROW) {
      return SqliteError(write_db_.get(), rc, "looking up an experiment");
    }
  }
  std::string data = trial.SerializeAsString();
  sqlite3_stmt* stmt = write_.put_trial.get();
  BindText(stmt, 1, trial.experiment());
  sqlite3_bind_int64(stmt, 2, trial.number());
  sqlite3_bind_int(stmt, 3, trial.state());
  BindBlob(stmt, 4, data);
  return Run(stmt, "storing a trial");
}

absl::Status SqliteStorage::Run(sqlite3_stmt* stmt, absl::string_view what) {
  ResetOnExit reset(stmt);
  int rc = sqlite3_step(stmt);
  return rc == SQLITE_DONE ? absl::OkStatus()
                           : SqliteError(sqlite3_db_handle(stmt), rc, what);
}

absl::Status SqliteStorage::SqliteError(sqlite3* db, int rc,
                                        absl::string_view what) const {
  return Error(db, rc, path_, what);
}

absl::StatusOr<std::vector<v1::Experiment>> SqliteStorage::ListExperiments() {
  absl::MutexLock lock(&read_mu_);
  sqlite3_stmt* stmt = read_.list_experiments.get();
  ResetOnExit reset(stmt);
  std::vector<v1::Experiment> experiments;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    absl::string_view name = ColumnText(stmt, 0);
    v1::Experiment& experiment = experiments.emplace_back();
    if (!ParseColumn(stmt, 1, &experiment) || experiment.name() != name) {
      return absl::DataLossError(
          absl::StrCat("sqlite database \"", path_, "\": experiment \"", name,
                       "\" is stored damaged (not a valid hpo.v1.Experiment)"));
    }
  }
  if (rc != SQLITE_DONE) {
    return SqliteError(read_db_.get(), rc, "listing experiments");
  }
  return experiments;
}

absl::StatusOr<v1::Experiment> SqliteStorage::GetExperiment(
    absl::string_view name) {
  absl::MutexLock lock(&read_mu_);
  sqlite3_stmt* stmt = read_.get_experiment.get();
  ResetOnExit reset(stmt);
  BindText(stmt, 1, name);
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) {
    return absl::NotFoundError(
        absl::StrCat("experiment \"", name, "\" is not stored"));
  }
  if (rc != SQLITE_ROW) {
    return SqliteError(read_db_.get(), rc, "reading an experiment");
  }
  v1::Experiment experiment;
  if (!ParseColumn(stmt, 1, &experiment) || experiment.name() != name) {
    return absl::DataLossError(
        absl::StrCat("sqlite database \"", path_, "\": experiment \"", name,
                     "\" is stored damaged (not a valid hpo.v1.Experiment)"));
  }
  return experiment;
}

absl::StatusOr<std::vector<std::string>>
SqliteStorage::ListExperimentsWithRunningTrials() {
  absl::MutexLock lock(&read_mu_);
  sqlite3_stmt* stmt = read_.list_running.get();
  ResetOnExit reset(stmt);
  std::vector<std::string> names;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    names.emplace_back(ColumnText(stmt, 0));
  }
  if (rc != SQLITE_DONE) {
    return SqliteError(read_db_.get(), rc, "listing running trials");
  }
  return names;
}

absl::StatusOr<std::vector<v1::Trial>> SqliteStorage::ListTrials(
    absl::string_view experiment) {
  absl::MutexLock lock(&read_mu_);
  sqlite3_stmt* stmt = read_.list_trials.get();
  ResetOnExit reset(stmt);
  BindText(stmt, 1, experiment);
  std::vector<v1::Trial> trials;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    int64_t number = sqlite3_column_int64(stmt, 0);
    v1::Trial& trial = trials.emplace_back();
    if (!ParseColumn(stmt, 1, &trial) || trial.experiment() != experiment ||
        trial.number() != number) {
      return absl::DataLossError(
          absl::StrCat("sqlite database \"", path_, "\": trial ", number,
                       " of experiment \"", experiment,
                       "\" is stored damaged (not a valid hpo.v1.Trial)"));
    }
  }
  if (rc != SQLITE_DONE) {
    return SqliteError(read_db_.get(), rc,
                       absl::StrCat("listing trials of \"", experiment, "\""));
  }
  return trials;
}

}  // namespace hpo
