// SqliteStorage: Storage in one SQLite database file, for a single server
// process.
//
// The file is in WAL mode with synchronous=FULL, so a write whose future is
// ready survives power loss. One writer thread commits everything queued since
// its last commit in a single transaction (group commit), giving each write its
// own savepoint so that one failing write does not fail the writes committed
// with it. Reads use a second connection and never wait for the writer.
//
// The schema version is kept in PRAGMA user_version and the file is marked with
// an application_id; Open refuses files it does not recognise rather than
// touching them.

#ifndef HPO_STORAGE_SQLITE_SQLITE_STORAGE_H_
#define HPO_STORAGE_SQLITE_SQLITE_STORAGE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/storage.h"

struct sqlite3;
struct sqlite3_stmt;

namespace hpo {

class SqliteStorage : public Storage {
 public:
  // Opens the database file at `path`, creating it and its parent directories
  // if missing, and brings its schema up to date. FAILED_PRECONDITION if the
  // file is not an SQLite database, belongs to another application or has a
  // newer schema than this build knows; DATA_LOSS if SQLite finds it corrupt.
  static absl::StatusOr<std::unique_ptr<SqliteStorage>> Open(
      const std::string& path);

  SqliteStorage(const SqliteStorage&) = delete;
  SqliteStorage& operator=(const SqliteStorage&) = delete;

  // Commits every write already queued (their futures become ready), then
  // closes the file. No Write may be called once destruction has begun.
  ~SqliteStorage() override;

  absl::StatusOr<std::vector<v1::Experiment>> ListExperiments() override;
  absl::StatusOr<v1::Experiment> GetExperiment(absl::string_view name) override;
  absl::StatusOr<std::vector<v1::Trial>> ListTrials(
      absl::string_view experiment) override;
  absl::StatusOr<std::vector<std::string>> ListExperimentsWithRunningTrials()
      override;
  using Storage::Write;
  void Write(std::vector<Mutation> mutations, WriteDone done) override;

  // Transactions committed so far. Lets tests check that writes were grouped.
  int64_t commits() const { return commits_.load(std::memory_order_relaxed); }

  // Told of each commit by the writer thread, with how long it took (from
  // BEGIN to a durable COMMIT) and how many writes it held. Set it before the
  // first Write; it must be quick and thread-safe.
  using CommitObserver = std::function<void(absl::Duration, size_t writes)>;
  void SetCommitObserver(CommitObserver observer) {
    commit_observer_ = std::move(observer);
  }

 private:
  struct ConnectionCloser {
    void operator()(sqlite3* db) const;
  };
  using Connection = std::unique_ptr<sqlite3, ConnectionCloser>;

  struct StatementFinalizer {
    void operator()(sqlite3_stmt* stmt) const;
  };
  using Statement = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

  struct PendingWrite {
    std::vector<Mutation> mutations;
    WriteDone done;
  };

  // Statements of the write connection; only the writer thread uses them.
  struct WriteStatements {
    Statement begin, commit, rollback;
    Statement savepoint, release, rollback_to;
    Statement experiment_exists;
    Statement insert_experiment, update_experiment, delete_experiment;
    Statement put_trial;
  };

  // Statements of the read connection.
  struct ReadStatements {
    Statement list_experiments, get_experiment, list_trials, list_running;
  };

  SqliteStorage(std::string path, Connection write_db, WriteStatements write,
                Connection read_db, ReadStatements read);

  void WriterLoop();
  // Tells committed writes their outcome, in commit order.
  void CompleterLoop();
  bool HasOutcomesOrWriterDone() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(done_mu_);
  bool HasWorkOrClosing() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_);
  // Commits `batch` in one transaction and resolves every write's future.
  void CommitBatch(std::vector<PendingWrite>& batch);
  // Applies one write's mutations inside the open transaction, under one
  // savepoint. An error here that leaves the transaction open concerns this
  // write only.
  absl::Status ApplyAll(const std::vector<Mutation>& mutations);
  // Applies one mutation inside the open transaction. An error here that leaves
  // the transaction open concerns this mutation only.
  absl::Status Apply(const Mutation& mutation);
  absl::Status ApplyCreate(const v1::Experiment& experiment);
  absl::Status ApplyUpdate(const v1::Experiment& experiment);
  absl::Status ApplyDelete(const std::string& name);
  absl::Status ApplyPutTrial(const v1::Trial& trial);
  // Runs a statement of the write connection that returns no rows.
  absl::Status Run(sqlite3_stmt* stmt, absl::string_view what);
  absl::Status SqliteError(sqlite3* db, int rc, absl::string_view what) const;

  const std::string path_;

  // Used only by the writer thread once the constructor has returned.
  Connection write_db_;
  WriteStatements write_;

  absl::Mutex read_mu_;
  Connection read_db_ ABSL_GUARDED_BY(read_mu_);
  ReadStatements read_ ABSL_GUARDED_BY(read_mu_);

  absl::Mutex queue_mu_;
  std::vector<PendingWrite> queue_ ABSL_GUARDED_BY(queue_mu_);
  bool closing_ ABSL_GUARDED_BY(queue_mu_) = false;

  std::atomic<int64_t> commits_{0};
  CommitObserver commit_observer_;

  // Outcomes of committed writes, handed from the writer to the completer
  // thread: the callers' completions (which send replies) run there, so the
  // writer can start the next commit meanwhile.
  struct Outcome {
    WriteDone done;
    absl::Status status;
  };
  absl::Mutex done_mu_;
  std::vector<Outcome> outcomes_ ABSL_GUARDED_BY(done_mu_);
  bool writer_done_ ABSL_GUARDED_BY(done_mu_) = false;

  // Last, so that they start after everything they use is initialised.
  std::thread completer_;
  std::thread writer_;
};

}  // namespace hpo

#endif  // HPO_STORAGE_SQLITE_SQLITE_STORAGE_H_
