#include "storage/sqlite/sqlite_storage.h"

#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace hpo {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

namespace fs = std::filesystem;

// A fresh directory per test, so that tests (and reruns) never share files.
std::string TestDir() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  fs::path dir =
      fs::path(tmp != nullptr ? tmp : "/tmp") /
      ::testing::UnitTest::GetInstance()->current_test_info()->name();
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::unique_ptr<SqliteStorage> MustOpen(const std::string& path) {
  absl::StatusOr<std::unique_ptr<SqliteStorage>> storage =
      SqliteStorage::Open(path);
  EXPECT_TRUE(storage.ok()) << storage.status();
  return storage.ok() ? *std::move(storage) : nullptr;
}

v1::Experiment MakeExperiment(const std::string& name,
                              const std::string& description = "") {
  v1::Experiment experiment;
  experiment.set_name(name);
  experiment.set_description(description);
  experiment.set_max_trials(10);
  experiment.set_seed(42);
  experiment.mutable_algorithm()->set_name("random");
  experiment.mutable_create_time()->set_seconds(1700000000);
  return experiment;
}

v1::Trial MakeTrial(const std::string& experiment, int64_t number,
                    v1::Trial::State state = v1::Trial::RUNNING) {
  v1::Trial trial;
  trial.set_experiment(experiment);
  trial.set_number(number);
  trial.set_state(state);
  (*trial.mutable_parameters())["lr"].set_number_value(0.01 * number);
  (*trial.mutable_metrics())["loss"] = 1.0 / (number + 1);
  return trial;
}

std::vector<std::string> ExperimentNames(SqliteStorage& storage) {
  absl::StatusOr<std::vector<v1::Experiment>> experiments =
      storage.ListExperiments();
  EXPECT_TRUE(experiments.ok()) << experiments.status();
  std::vector<std::string> names;
  if (experiments.ok()) {
    for (const v1::Experiment& e : *experiments) names.push_back(e.name());
  }
  return names;
}

std::vector<int64_t> TrialNumbers(SqliteStorage& storage,
                                  const std::string& experiment) {
  absl::StatusOr<std::vector<v1::Trial>> trials =
      storage.ListTrials(experiment);
  EXPECT_TRUE(trials.ok()) << trials.status();
  std::vector<int64_t> numbers;
  if (trials.ok()) {
    for (const v1::Trial& t : *trials) numbers.push_back(t.number());
  }
  return numbers;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary);
  out << contents;
}

// Runs SQL on the file through a connection of its own, as a person with the
// sqlite3 shell would.
void RawExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
}

std::string RawQuery(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  std::string result;
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    result = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return result;
}

// Holds the database's write lock from another connection, so that the
// storage's writer blocks and queued writes pile up: this makes batching
// deterministic.
class WriteLock {
 public:
  explicit WriteLock(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db_);
  }
  ~WriteLock() { Release(); }
  void Release() {
    if (db_ == nullptr) return;
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
    db_ = nullptr;
  }

 private:
  sqlite3* db_ = nullptr;
};

TEST(SqliteStorageTest, CreatesParentDirectoriesAndSchema) {
  std::string path = TestDir() + "/a/b/c/hpo.db";
  std::unique_ptr<SqliteStorage> storage = MustOpen(path);
  ASSERT_NE(storage, nullptr);
  EXPECT_TRUE(fs::exists(path));
  EXPECT_THAT(ExperimentNames(*storage), IsEmpty());
  EXPECT_THAT(TrialNumbers(*storage, "missing"), IsEmpty());
  EXPECT_EQ(RawQuery(path, "PRAGMA user_version"), "1");
  EXPECT_EQ(RawQuery(path, "PRAGMA journal_mode"), "wal");
}

TEST(SqliteStorageTest, RefusesNonFilePaths) {
  EXPECT_EQ(SqliteStorage::Open("").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SqliteStorage::Open(":memory:").status().code(),
            absl::StatusCode::kInvalidArgument);
  std::string dir = TestDir();
  absl::Status directory = SqliteStorage::Open(dir).status();
  EXPECT_EQ(directory.code(), absl::StatusCode::kFailedPrecondition)
      << directory;
  EXPECT_THAT(directory.message(), HasSubstr(dir));
}

TEST(SqliteStorageTest, CreateListUpdateDeleteExperiments) {
  std::unique_ptr<SqliteStorage> storage = MustOpen(TestDir() + "/hpo.db");
  ASSERT_NE(storage, nullptr);
  for (const char* name : {"b", "a", "c"}) {
    ASSERT_TRUE(storage
                    ->WriteAndWait(Mutation::CreateExperiment(
                        MakeExperiment(name, "first")))
                    .ok());
  }
  EXPECT_THAT(ExperimentNames(*storage), ElementsAre("a", "b", "c"));

  v1::Experiment updated = MakeExperiment("b", "second");
  updated.set_state(v1::Experiment::COMPLETED);
  ASSERT_TRUE(storage->WriteAndWait(Mutation::UpdateExperiment(updated)).ok());
  absl::StatusOr<std::vector<v1::Experiment>> experiments =
      storage->ListExperiments();
  ASSERT_TRUE(experiments.ok()) << experiments.status();
  ASSERT_EQ(experiments->size(), 3u);
  EXPECT_TRUE(MessageDifferencer::Equals((*experiments)[1], updated));
  EXPECT_EQ((*experiments)[0].description(), "first");

  ASSERT_TRUE(storage->WriteAndWait(Mutation::DeleteExperiment("a")).ok());
  EXPECT_THAT(ExperimentNames(*storage), ElementsAre("b", "c"));
}

TEST(SqliteStorageTest, CreatingAnExistingExperimentIsAlreadyExists) {
  std::unique_ptr<SqliteStorage> storage = MustOpen(TestDir() + "/hpo.db");
  ASSERT_NE(storage, nullptr);
  ASSERT_TRUE(storage
                  ->WriteAndWait(Mutation::CreateExperiment(
                      MakeExperiment("foo", "original")))
                  .ok());
  absl::Status status = storage->WriteAndWait(
      Mutation::CreateExperiment(MakeExperiment("foo", "replacement")));
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(status.message(), HasSubstr("experiment \"foo\" already exists"));
  absl::StatusOr<std::vector<v1::Experiment>> experiments =
      storage->ListExperiments();
  ASSERT_TRUE(experiments.ok());
  ASSERT_EQ(experiments->size(), 1u);
  EXPECT_EQ((*experiments)[0].description(), "original");
}

TEST(SqliteStorageTest, MissingExperimentIsNotFound) {
  std::unique_ptr<SqliteStorage> storage = MustOpen(TestDir() + "/hpo.db");
  ASSERT_NE(storage, nullptr);
  absl::Status update = storage->WriteAndWait(
      Mutation::UpdateExperiment(MakeExperiment("ghost")));
  EXPECT_EQ(update.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(update.message(), HasSubstr("\"ghost\""));
  absl::Status remove =
      storage->WriteAndWait(Mutation::DeleteExperiment("ghost"));
  EXPECT_EQ(remove.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(remove.message(), HasSubstr("\"ghost\""));
  absl::Status put =
      storage->WriteAndWait(Mutation::PutTrial(MakeTrial("ghost", 3)));
  EXPECT_EQ(put.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(put.message(), HasSubstr("\"ghost\""));
  EXPECT_THAT(ExperimentNames(*storage), IsEmpty());
  EXPECT_THAT(TrialNumbers(*storage, "ghost"), IsEmpty());
}

TEST(SqliteStorageTest, PutTrialInsertsOrReplacesAndListsByNumber) {
  std::unique_ptr<SqliteStorage> storage = MustOpen(TestDir() + "/hpo.db");
  ASSERT_NE(storage, nullptr);
  ASSERT_TRUE(
      storage->WriteAndWait(Mutation::CreateExperiment(MakeExperiment("x")))
          .ok());
  ASSERT_TRUE(
      storage->WriteAndWait(Mutation::CreateExperiment(MakeExperiment("y")))
          .ok());
  for (int64_t number : {10, 2, 0, 1}) {
    ASSERT_TRUE(
        storage->WriteAndWait(Mutation::PutTrial(MakeTrial("x", number))).ok());
  }
  ASSERT_TRUE(
      storage->WriteAndWait(Mutation::PutTrial(MakeTrial("y", 5))).ok());
  v1::Trial completed = MakeTrial("x", 2, v1::Trial::COMPLETED);
  completed.set_worker_id("w1");
  ASSERT_TRUE(storage->WriteAndWait(Mutation::PutTrial(completed)).ok());

  EXPECT_THAT(TrialNumbers(*storage, "x"), ElementsAre(0, 1, 2, 10));
  EXPECT_THAT(TrialNumbers(*storage, "y"), ElementsAre(5));
  absl::StatusOr<std::vector<v1::Trial>> trials = storage->ListTrials("x");
  ASSERT_TRUE(trials.ok());
  EXPECT_TRUE(MessageDifferencer::Equals((*trials)[2], completed));
  EXPECT_TRUE(MessageDifferencer::Equals((*trials)[3], MakeTrial("x", 10)));
}

TEST(SqliteStorageTest, DeleteRemovesTrials) {
  std::unique_ptr<SqliteStorage> storage = MustOpen(TestDir() + "/hpo.db");
  ASSERT_NE(storage, nullptr);
  for (const char* name : {"x", "y"}) {
    ASSERT_TRUE(
        storage->WriteAndWait(Mutation::CreateExperiment(MakeExperiment(name)))
            .ok());
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(
          storage->WriteAndWait(Mutation::PutTrial(MakeTrial(name, i))).ok());
    }
  }
  ASSERT_TRUE(storage->WriteAndWait(Mutation::DeleteExperiment("x")).ok());
  EXPECT_THAT(TrialNumbers(*storage, "x"), IsEmpty());
  EXPECT_THAT(TrialNumbers(*storage, "y"), ElementsAre(0, 1, 2));
  // A new experiment of the same name starts without the old trials.
  ASSERT_TRUE(
      storage->WriteAndWait(Mutation::CreateExperiment(MakeExperiment("x")))
          .ok());
  EXPECT_THAT(TrialNumbers(*storage, "x"), IsEmpty());
}

TEST(SqliteStorageTest, WritesApplyInQueueOrder) {
  std::unique_ptr<SqliteStorage> storage = MustOpen(TestDir() + "/hpo.db");
  ASSERT_NE(storage, nullptr);
  std::vector<WriteResult> results;
  results.push_back(
      storage->Write(Mutation::CreateExperiment(MakeExperiment("x", "one"))));
  results.push_back(
      storage->Write(Mutation::UpdateExperiment(MakeExperiment("x", "two"))));
  results.push_back(storage->Write(Mutation::PutTrial(MakeTrial("x", 0))));
  results.push_back(storage->Write(Mutation::DeleteExperiment("x")));
  results.push_back(
      storage->Write(Mutation::CreateExperiment(MakeExperiment("x", "three"))));
  for (const WriteResult& result : results) {
    EXPECT_TRUE(result.get().ok()) << result.get();
  }
  absl::StatusOr<std::vector<v1::Experiment>> experiments =
      storage->ListExperiments();
  ASSERT_TRUE(experiments.ok());
  ASSERT_EQ(experiments->size(), 1u);
  EXPECT_EQ((*experiments)[0].description(), "three");
  EXPECT_THAT(TrialNumbers(*storage, "x"), IsEmpty());
}

TEST(SqliteStorageTest, FailingWriteInABatchFailsAlone) {
  std::string path = TestDir() + "/hpo.db";
  std::unique_ptr<SqliteStorage> storage = MustOpen(path);
  ASSERT_NE(storage, nullptr);
  ASSERT_TRUE(
      storage->WriteAndWait(Mutation::CreateExperiment(MakeExperiment("old")))
          .ok());
  const int64_t commits_before = storage->commits();

  WriteLock lock(path);
  std::vector<WriteResult> results = {
      storage->Write(Mutation::CreateExperiment(MakeExperiment("a"))),
      storage->Write(Mutation::PutTrial(MakeTrial("a", 0))),
      storage->Write(Mutation::CreateExperiment(MakeExperiment("a", "dup"))),
      storage->Write(Mutation::PutTrial(MakeTrial("ghost", 0))),
      storage->Write(Mutation::UpdateExperiment(MakeExperiment("ghost"))),
      storage->Write(Mutation::DeleteExperiment("ghost")),
      storage->Write(Mutation::PutTrial(MakeTrial("a", 1))),
      storage->Write(Mutation::DeleteExperiment("old")),
      storage->Write(Mutation::CreateExperiment(MakeExperiment("b"))),
  };
  // Reads do not wait for the writer.
  EXPECT_THAT(ExperimentNames(*storage), ElementsAre("old"));
  lock.Release();

  std::vector<absl::StatusCode> codes;
  for (const WriteResult& result : results)
    codes.push_back(result.get().code());
  EXPECT_THAT(
      codes,
      ElementsAre(absl::StatusCode::kOk, absl::StatusCode::kOk,
                  absl::StatusCode::kAlreadyExists, absl::StatusCode::kNotFound,
                  absl::StatusCode::kNotFound, absl::StatusCode::kNotFound,
                  absl::StatusCode::kOk, absl::StatusCode::kOk,
                  absl::StatusCode::kOk));
  // At most the writes taken before the lock was seen, then all the rest.
  EXPECT_LE(storage->commits() - commits_before, 2);
  EXPECT_THAT(ExperimentNames(*storage), ElementsAre("a", "b"));
  EXPECT_THAT(TrialNumbers(*storage, "a"), ElementsAre(0, 1));
  absl::StatusOr<std::vector<v1::Experiment>> experiments =
      storage->ListExperiments();
  ASSERT_TRUE(experiments.ok());
  EXPECT_EQ((*experiments)[0].description(), "");
}

TEST(SqliteStorageTest, GroupCommitBatchesConcurrentWrites) {
  std::string path = TestDir() + "/hpo.db";
  std::unique_ptr<SqliteStorage> storage = MustOpen(path);
  ASSERT_NE(storage, nullptr);
  ASSERT_TRUE(
      storage->WriteAndWait(Mutation::CreateExperiment(MakeExperiment("x")))
          .ok());
  const int64_t commits_before = storage->commits();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;

  WriteLock lock(path);
  std::vector<std::vector<WriteResult>> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&storage, &results, t] {
      for (int i = 0; i < kPerThread; ++i) {
        results[t].push_back(storage->Write(
            Mutation::PutTrial(MakeTrial("x", t * kPerThread + i))));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  lock.Release();

  for (const std::vector<WriteResult>& thread_results : results) {
    for (const WriteResult& result : thread_results) {
      ASSERT_TRUE(result.get().ok()) << result.get();
    }
  }
  EXPECT_LE(storage->commits() - commits_before, 2);
  EXPECT_LT(storage->commits() - commits_before, kThreads * kPerThread);
  EXPECT_EQ(TrialNumbers(*storage, "x").size(), size_t{kThreads * kPerThread});
}

TEST(SqliteStorageTest, ConcurrentWritersAreDurableAfterReopen) {
  std::string path = TestDir() + "/hpo.db";
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  {
    std::unique_ptr<SqliteStorage> storage = MustOpen(path);
    ASSERT_NE(storage, nullptr);
    ASSERT_TRUE(
        storage->WriteAndWait(Mutation::CreateExperiment(MakeExperiment("x")))
            .ok());
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&storage, t] {
        for (int i = 0; i < kPerThread; ++i) {
          v1::Trial trial = MakeTrial("x", i * kThreads + t);
          trial.set_worker_id(absl::StrCat("thread-", t));
          absl::Status status =
              storage->WriteAndWait(Mutation::PutTrial(trial));
          ASSERT_TRUE(status.ok()) << status;
          // Each thread sees its own write as soon as it is durable.
          if (i % 50 == 0) {
            absl::StatusOr<std::vector<v1::Trial>> trials =
                storage->ListTrials("x");
            ASSERT_TRUE(trials.ok()) << trials.status();
            EXPECT_GE(trials->size(), size_t(i + 1));
          }
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
  }

  std::unique_ptr<SqliteStorage> reopened = MustOpen(path);
  ASSERT_NE(reopened, nullptr);
  absl::StatusOr<std::vector<v1::Trial>> trials = reopened->ListTrials("x");
  ASSERT_TRUE(trials.ok()) << trials.status();
  ASSERT_EQ(trials->size(), size_t{kThreads * kPerThread});
  for (int64_t n = 0; n < kThreads * kPerThread; ++n) {
    const v1::Trial& trial = (*trials)[n];
    EXPECT_EQ(trial.number(), n);
    EXPECT_EQ(trial.worker_id(), absl::StrCat("thread-", n % kThreads));
  }
}

TEST(SqliteStorageTest, EverythingPersistsAcrossReopen) {
  std::string path = TestDir() + "/hpo.db";
  v1::Experiment kept = MakeExperiment("kept", "updated");
  kept.mutable_update_time()->set_seconds(1700000100);
  (*kept.mutable_algorithm()->mutable_settings())["n"] = "3";
  v1::Trial trial = MakeTrial("kept", 7, v1::Trial::FAILED);
  trial.set_failure_reason("oom");
  {
    std::unique_ptr<SqliteStorage> storage = MustOpen(path);
    ASSERT_NE(storage, nullptr);
    for (const char* name : {"kept", "gone"}) {
      ASSERT_TRUE(
          storage
              ->WriteAndWait(Mutation::CreateExperiment(MakeExperiment(name)))
              .ok());
    }
    ASSERT_TRUE(storage->WriteAndWait(Mutation::UpdateExperiment(kept)).ok());
    ASSERT_TRUE(storage->WriteAndWait(Mutation::PutTrial(trial)).ok());
    ASSERT_TRUE(
        storage->WriteAndWait(Mutation::PutTrial(MakeTrial("gone", 0))).ok());
    ASSERT_TRUE(storage->WriteAndWait(Mutation::DeleteExperiment("gone")).ok());
  }
  std::unique_ptr<SqliteStorage> storage = MustOpen(path);
  ASSERT_NE(storage, nullptr);
  absl::StatusOr<std::vector<v1::Experiment>> experiments =
      storage->ListExperiments();
  ASSERT_TRUE(experiments.ok()) << experiments.status();
  ASSERT_EQ(experiments->size(), 1u);
  EXPECT_TRUE(MessageDifferencer::Equals((*experiments)[0], kept));
  absl::StatusOr<std::vector<v1::Trial>> trials = storage->ListTrials("kept");
  ASSERT_TRUE(trials.ok()) << trials.status();
  ASSERT_EQ(trials->size(), 1u);
  EXPECT_TRUE(MessageDifferencer::Equals((*trials)[0], trial));
  EXPECT_THAT(TrialNumbers(*storage, "gone"), IsEmpty());
  // Writing still works after a reopen.
  EXPECT_TRUE(
      storage->WriteAndWait(Mutation::CreateExperiment(MakeExperiment("new")))
          .ok());
}

TEST(SqliteStorageTest, DestructorCommitsQueuedWrites) {
  std::string path = TestDir() + "/hpo.db";
  std::vector<WriteResult> results;
  {
    std::unique_ptr<SqliteStorage> storage = MustOpen(path);
    ASSERT_NE(storage, nullptr);
    results.push_back(
        storage->Write(Mutation::CreateExperiment(MakeExperiment("x"))));
    for (int i = 0; i < 100; ++i) {
      results.push_back(storage->Write(Mutation::PutTrial(MakeTrial("x", i))));
    }
  }
  for (const WriteResult& result : results) {
    ASSERT_EQ(result.wait_for(std::chrono::seconds(0)),
              std::future_status::ready);
    EXPECT_TRUE(result.get().ok()) << result.get();
  }
  std::unique_ptr<SqliteStorage> storage = MustOpen(path);
  ASSERT_NE(storage, nullptr);
  EXPECT_EQ(TrialNumbers(*storage, "x").size(), 100u);
}

TEST(SqliteStorageTest, GarbageFileIsRefusedAndLeftAlone) {
  std::string dir = TestDir();
  std::string garbage;
  for (int i = 0; i < 8192; ++i) garbage.push_back(static_cast<char>(i * 7));
  for (const std::string& contents : {std::string("hello"), garbage}) {
    std::string path = dir + "/not-a-database";
    WriteFile(path, contents);
    absl::Status status = SqliteStorage::Open(path).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
    EXPECT_THAT(status.message(), HasSubstr(path));
    EXPECT_EQ(ReadFile(path), contents);
    EXPECT_FALSE(fs::exists(path + "-wal"));
    EXPECT_FALSE(fs::exists(path + "-journal"));
  }
}

TEST(SqliteStorageTest, AnotherApplicationsDatabaseIsRefused) {
  std::string path = TestDir() + "/other.db";
  RawExec(path,
          "CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('hi');");
  std::string before = ReadFile(path);
  absl::Status status = SqliteStorage::Open(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(status.message(), HasSubstr(path));
  EXPECT_THAT(status.message(), HasSubstr("not an hpo one"));
  EXPECT_EQ(ReadFile(path), before);
}

TEST(SqliteStorageTest, NewerSchemaIsRefused) {
  std::string path = TestDir() + "/hpo.db";
  {
    std::unique_ptr<SqliteStorage> storage = MustOpen(path);
    ASSERT_NE(storage, nullptr);
    ASSERT_TRUE(
        storage->WriteAndWait(Mutation::CreateExperiment(MakeExperiment("x")))
            .ok());
  }
  RawExec(path, "PRAGMA user_version = 2");
  absl::Status status = SqliteStorage::Open(path).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(status.message(), HasSubstr(path));
  EXPECT_THAT(status.message(), HasSubstr("schema version 2"));
  EXPECT_EQ(RawQuery(path, "PRAGMA user_version"), "2");
  EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM experiments"), "1");
}

TEST(SqliteStorageTest, DamagedBlobIsDataLoss) {
  std::string path = TestDir() + "/hpo.db";
  {
    std::unique_ptr<SqliteStorage> storage = MustOpen(path);
    ASSERT_NE(storage, nullptr);
    ASSERT_TRUE(
        storage->WriteAndWait(Mutation::CreateExperiment(MakeExperiment("x")))
            .ok());
    ASSERT_TRUE(
        storage->WriteAndWait(Mutation::PutTrial(MakeTrial("x", 4))).ok());
  }
  // An over-long varint: no message parses from it.
  const std::string damaged = "x'ffffffffffffffffffffff'";
  RawExec(path, "UPDATE trials SET data = " + damaged);
  {
    std::unique_ptr<SqliteStorage> storage = MustOpen(path);
    ASSERT_NE(storage, nullptr);
    absl::Status status = storage->ListTrials("x").status();
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
    EXPECT_THAT(status.message(), HasSubstr("trial 4 of experiment \"x\""));
    EXPECT_THAT(ExperimentNames(*storage), ElementsAre("x"));
  }
  RawExec(path, "UPDATE experiments SET data = " + damaged);
  std::unique_ptr<SqliteStorage> storage = MustOpen(path);
  ASSERT_NE(storage, nullptr);
  absl::Status status = storage->ListExperiments().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_THAT(status.message(), HasSubstr("experiment \"x\""));
}

}  // namespace
}  // namespace hpo
