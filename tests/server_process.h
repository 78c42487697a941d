// Runs the real hpo-server binary for a test: on a free port, over a database
// file in the test's temporary directory, with its log kept beside it.

#ifndef HPO_TESTS_SERVER_PROCESS_H_
#define HPO_TESTS_SERVER_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "grpcpp/channel.h"
#include "hpo/v1/hpo.grpc.pb.h"

namespace hpo::testing {

class ServerProcess {
 public:
  // `db_path` defaults to a fresh file under $TEST_TMPDIR.
  explicit ServerProcess(std::string db_path = "");
  // Kills the server if it still runs.
  ~ServerProcess();

  // Starts the server and waits until it serves; false (with the log printed)
  // if it does not within 30 seconds.
  bool Start(const std::vector<std::string>& extra_flags = {});
  // Sends `signal` and waits for the process; returns its wait status.
  int Signal(int signal);

  int port() const { return port_; }
  const std::string& db_path() const { return db_path_; }
  std::string address() const;
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  std::unique_ptr<v1::HpoService::Stub> NewStub() const;
  // The server's stderr so far.
  std::string Log() const;

 private:
  std::string db_path_;
  std::string dir_;
  std::string log_path_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
};

// A fresh path under $TEST_TMPDIR.
std::string TempPath(const std::string& name);

}  // namespace hpo::testing

#endif  // HPO_TESTS_SERVER_PROCESS_H_
