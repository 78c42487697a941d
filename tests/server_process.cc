#include "tests/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace hpo::testing {
namespace {

std::string ServerBinary() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return std::string(srcdir ? srcdir : ".") + "/" +
         (workspace ? workspace : "hpo") + "/server/hpo-server";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::string TempPath(const std::string& name) {
  static std::atomic<int> counter{0};
  const char* tmp = std::getenv("TEST_TMPDIR");
  return std::string(tmp ? tmp : "/tmp") + "/" + std::to_string(getpid()) +
         "-" + std::to_string(counter++) + "-" + name;
}

ServerProcess::ServerProcess(std::string db_path)
    : db_path_(std::move(db_path)) {
  dir_ = TempPath("server");
  if (db_path_.empty()) db_path_ = dir_ + "/hpo.db";
  log_path_ = dir_ + ".log";
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Signal(SIGKILL);
}

std::string ServerProcess::address() const {
  return "127.0.0.1:" + std::to_string(port_);
}

std::unique_ptr<v1::HpoService::Stub> ServerProcess::NewStub() const {
  return v1::HpoService::NewStub(channel_);
}

std::string ServerProcess::Log() const { return ReadFile(log_path_); }

bool ServerProcess::Start(const std::vector<std::string>& extra_flags) {
  const std::string port_file = TempPath("port");
  std::vector<std::string> args = {
      ServerBinary(),     "--host=127.0.0.1",         "--grpc_port=0",
      "--db=" + db_path_, "--port_file=" + port_file, "--log_level=debug"};
  args.insert(args.end(), extra_flags.begin(), extra_flags.end());
  pid_ = fork();
  if (pid_ == 0) {
    const int log =
        open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(port_file);
    if (in >> port_ && port_ > 0) break;
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      std::cerr << "hpo-server exited early:\n" << Log();
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (port_ <= 0) {
    std::cerr << "hpo-server did not start:\n" << Log();
    return false;
  }
  channel_ = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
  return channel_->WaitForConnected(std::chrono::system_clock::now() +
                                    std::chrono::seconds(10));
}

int ServerProcess::Signal(int signal) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

}  // namespace hpo::testing
