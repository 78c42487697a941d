// HTTPS and mutual TLS of HttpServer, end to end: certificates are made with
// the `openssl` command under TEST_TMPDIR, and requests are made with `curl`
// and `openssl s_client` in subprocesses.

#include "server/rest/http_server.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

extern char** environ;

namespace hpo::rest {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct RunResult {
  int exit_code = -1;  // -1: did not run or did not exit normally.
  std::string output;  // stdout and stderr together.
};

// Runs argv[0] from PATH (no shell) with stdin from /dev/null.
RunResult RunCommand(const std::vector<std::string>& argv) {
  RunResult result;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return result;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc =
      posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    result.output = absl::StrCat("cannot run ", argv[0]);
    return result;
  }
  char buffer[4096];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof(buffer))) > 0) {
    result.output.append(buffer, n);
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

std::string ReadFile(const std::string& path) {
  std::string data;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return data;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), f)) > 0) {
    data.append(buffer, n);
  }
  std::fclose(f);
  return data;
}

void WriteFile(const std::string& path, const std::string& data) {
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(std::fwrite(data.data(), 1, data.size(), f), data.size());
  ASSERT_EQ(std::fclose(f), 0);
}

// Replaces `to` with a copy of `from` at once (rename), as a deployment would.
void ReplaceFile(const std::string& from, const std::string& to) {
  const std::string temp = to + ".new";
  WriteFile(temp, ReadFile(from));
  ASSERT_EQ(std::rename(temp.c_str(), to.c_str()), 0) << to;
}

// Certificates made once for all tests, under TEST_TMPDIR/certs:
//   ca, other_ca: two unrelated CAs;
//   server1..3: certificates for localhost and 127.0.0.1 from ca, serials
//     1001..1003, each with its own key;
//   client: a client certificate from ca; other_client: one from other_ca.
// Each NAME has NAME.pem and NAME.key.
class CertsEnvironment {
 public:
  static const std::string& Dir() {
    static const std::string* dir = new std::string(Make());
    return *dir;
  }
  static std::string Pem(const std::string& name) {
    return absl::StrCat(Dir(), "/", name, ".pem");
  }
  static std::string Key(const std::string& name) {
    return absl::StrCat(Dir(), "/", name, ".key");
  }

 private:
  static void MustRun(const std::vector<std::string>& argv) {
    const RunResult r = RunCommand(argv);
    ASSERT_EQ(r.exit_code, 0) << argv[0] << " " << argv[1] << ": " << r.output;
  }

  static void MakeCa(const std::string& dir, const std::string& name,
                     const std::string& cn) {
    MustRun({"openssl",
             "req",
             "-x509",
             "-config",
             dir + "/openssl.cnf",
             "-newkey",
             "ec",
             "-pkeyopt",
             "ec_paramgen_curve:P-256",
             "-nodes",
             "-keyout",
             absl::StrCat(dir, "/", name, ".key"),
             "-out",
             absl::StrCat(dir, "/", name, ".pem"),
             "-days",
             "3",
             "-subj",
             "/CN=" + cn,
             "-extensions",
             "ca_ext"});
  }

  static void MakeLeaf(const std::string& dir, const std::string& name,
                       const std::string& ca, const std::string& cn,
                       const std::string& serial,
                       const std::string& extensions) {
    const std::string base = absl::StrCat(dir, "/", name);
    MustRun({"openssl", "req", "-new", "-config", dir + "/openssl.cnf",
             "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", base + ".key", "-out", base + ".csr", "-subj",
             "/CN=" + cn});
    MustRun({"openssl", "x509", "-req", "-in", base + ".csr", "-CA",
             absl::StrCat(dir, "/", ca, ".pem"), "-CAkey",
             absl::StrCat(dir, "/", ca, ".key"), "-set_serial", serial, "-days",
             "3", "-out", base + ".pem", "-extfile", dir + "/openssl.cnf",
             "-extensions", extensions});
  }

  static std::string Make() {
    const char* tmp = std::getenv("TEST_TMPDIR");
    const std::string dir =
        absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/certs");
    RunCommand({"mkdir", "-p", dir});
    WriteFile(dir + "/openssl.cnf", R"([req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
[client_ext]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
)");
    MakeCa(dir, "ca", "hpo test CA");
    MakeCa(dir, "other_ca", "unrelated test CA");
    MakeLeaf(dir, "server1", "ca", "localhost", "0x1001", "server_ext");
    MakeLeaf(dir, "server2", "ca", "localhost", "0x1002", "server_ext");
    MakeLeaf(dir, "server3", "ca", "localhost", "0x1003", "server_ext");
    MakeLeaf(dir, "client", "ca", "worker-1", "0x2001", "client_ext");
    MakeLeaf(dir, "other_client", "other_ca", "worker-1", "0x3001",
             "client_ext");
    return dir;
  }
};

// Polls `done` until it holds or `limit` passes.
bool Eventually(const std::function<bool()>& done,
                absl::Duration limit = absl::Seconds(6)) {
  const absl::Time deadline = absl::Now() + limit;
  while (true) {
    if (done()) return true;
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(150));
  }
}

class HttpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(CertsEnvironment::Dir().empty());
    // The server's own copies, which a test may replace.
    const ::testing::TestInfo* info =
        ::testing::UnitTest::GetInstance()->current_test_info();
    live_ = absl::StrCat(CertsEnvironment::Dir(), "/live_", info->name());
    ASSERT_EQ(RunCommand({"mkdir", "-p", live_}).exit_code, 0);
    ReplaceFile(CertsEnvironment::Pem("server1"), LiveCert());
    ReplaceFile(CertsEnvironment::Key("server1"), LiveKey());
    ReplaceFile(CertsEnvironment::Pem("ca"), LiveClientCa());
  }

  std::string LiveCert() const { return live_ + "/tls.crt"; }
  std::string LiveKey() const { return live_ + "/tls.key"; }
  std::string LiveClientCa() const { return live_ + "/client_ca.crt"; }

  void StartServer(bool mutual) {
    HttpServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.timeout_seconds = 10;
    options.tls.cert_file = LiveCert();
    options.tls.key_file = LiveKey();
    if (mutual) options.tls.client_ca_file = LiveClientCa();
    StartWith(options);
  }

  void StartWith(const HttpServerOptions& options) {
    absl::StatusOr<std::unique_ptr<HttpServer>> server = HttpServer::Start(
        options, [this](HttpRequest request, Responder respond) {
          ++handled_;
          HttpResponse response;
          response.content_type = "text/plain";
          response.body = absl::StrCat("hello ", request.path,
                                       " tls=", request.tls ? 1 : 0);
          respond(std::move(response));
        });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  // curl on https://localhost:PORT/hello (or `url`), trusting ca, with `args`.
  // The output ends in "HTTP <status>", "HTTP 000" when no answer came.
  RunResult Curl(std::vector<std::string> args, std::string url = "") {
    const std::string port = absl::StrCat(server_->port());
    if (url.empty()) url = absl::StrCat("https://localhost:", port, "/hello");
    std::vector<std::string> argv = {
        "curl",       "-sS",
        "--max-time", "10",
        "--resolve",  absl::StrCat("localhost:", port, ":127.0.0.1"),
        "--cacert",   CertsEnvironment::Pem("ca"),
        "-o",         "-",
        "-w",         "\nHTTP %{http_code}"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(url);
    return RunCommand(argv);
  }

  // The serial number of the certificate the server presents, as
  // `openssl x509 -serial` prints it ("1001"), or "" on failure.
  std::string ServedSerial(const std::vector<std::string>& args = {}) {
    std::vector<std::string> argv = {
        "openssl",     "s_client",
        "-connect",    absl::StrCat("127.0.0.1:", server_->port()),
        "-servername", "localhost"};
    argv.insert(argv.end(), args.begin(), args.end());
    const RunResult r = RunCommand(argv);
    const size_t begin = r.output.find("-----BEGIN CERTIFICATE-----");
    const std::string end_marker = "-----END CERTIFICATE-----";
    const size_t end = r.output.find(end_marker, begin);
    if (begin == std::string::npos || end == std::string::npos) return "";
    const std::string pem_file = live_ + "/served.pem";
    WriteFile(pem_file,
              r.output.substr(begin, end + end_marker.size() - begin));
    const RunResult serial =
        RunCommand({"openssl", "x509", "-noout", "-serial", "-in", pem_file});
    if (serial.exit_code != 0 || !absl::StartsWith(serial.output, "serial="))
      return "";
    std::string value = serial.output.substr(7);
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) {
      value.pop_back();
    }
    return value;
  }

  // Asserts that curl with `args` got no HTTP answer at all and that the
  // handler saw nothing: the TLS handshake failed.
  void ExpectRefused(const std::vector<std::string>& args) {
    const int before = handled_.load();
    const RunResult r = Curl(args);
    EXPECT_NE(r.exit_code, 0) << r.output;
    // With TLS 1.2 the client sees the handshake fail (curl's 35, "SSL
    // connect error"). With TLS 1.3 the server checks the client's
    // certificate after the client has finished its side of the handshake,
    // so the client only finds the connection closed when it reads.
    if (absl::c_linear_search(args, "1.2")) {
      EXPECT_EQ(r.exit_code, 35) << r.output;
    }
    EXPECT_THAT(r.output, HasSubstr("HTTP 000"));
    EXPECT_THAT(r.output, Not(HasSubstr("hello")));
    EXPECT_EQ(handled_.load(), before);
  }

  void ExpectServed(const std::vector<std::string>& args) {
    const RunResult r = Curl(args);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_THAT(r.output, HasSubstr("hello /hello tls=1\nHTTP 200"));
  }

  std::string live_;
  std::atomic<int> handled_{0};
  std::unique_ptr<HttpServer> server_;
};

const std::vector<std::string> kTls12 = {"--tlsv1.2", "--tls-max", "1.2"};
const std::vector<std::string> kTls13 = {"--tlsv1.3"};

std::vector<std::string> Join(std::vector<std::string> a,
                              const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST_F(HttpsTest, ServesHttpsAndRefusesPlainHttp) {
  StartServer(/*mutual=*/false);
  ExpectServed({});
  ExpectServed(kTls12);
  ExpectServed(kTls13);
  // By IP address: the certificate names 127.0.0.1 too.
  {
    const RunResult r =
        Curl({}, absl::StrCat("https://127.0.0.1:", server_->port(), "/hello"));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_THAT(r.output, HasSubstr("HTTP 200"));
  }
  // Another CA's client does not trust it.
  {
    const RunResult r =
        Curl({"--cacert", CertsEnvironment::Pem("other_ca")},
             absl::StrCat("https://localhost:", server_->port(), "/hello"));
    EXPECT_NE(r.exit_code, 0) << r.output;
  }
  EXPECT_EQ(ServedSerial(), "1001");

  // Plain HTTP on the HTTPS port gets no HTTP answer.
  const int before = handled_.load();
  const RunResult plain =
      Curl({}, absl::StrCat("http://127.0.0.1:", server_->port(), "/hello"));
  EXPECT_NE(plain.exit_code, 0) << plain.output;
  EXPECT_THAT(plain.output, Not(HasSubstr("hello")));
  EXPECT_EQ(handled_.load(), before);

  // Without a client CA no client certificate is asked for, and one sent
  // anyway does no harm.
  ExpectServed({"--cert", CertsEnvironment::Pem("other_client"), "--key",
                CertsEnvironment::Key("other_client")});
}

TEST_F(HttpsTest, PlainHttpServerIsUnchanged) {
  HttpServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  StartWith(options);
  const RunResult r =
      Curl({}, absl::StrCat("http://127.0.0.1:", server_->port(), "/x"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("hello /x tls=0\nHTTP 200"));
}

TEST_F(HttpsTest, ReloadsChangedCertificateWithoutRestart) {
  StartServer(/*mutual=*/false);
  ASSERT_EQ(ServedSerial(), "1001");

  // A new pair, replaced file by file.
  ReplaceFile(CertsEnvironment::Key("server2"), LiveKey());
  ReplaceFile(CertsEnvironment::Pem("server2"), LiveCert());
  EXPECT_TRUE(Eventually([&] { return ServedSerial() == "1002"; }))
      << ServedSerial();
  ExpectServed({});
  ExpectServed(kTls12);

  // A half-written certificate file: 1002 stays.
  const std::string cert3 = ReadFile(CertsEnvironment::Pem("server3"));
  WriteFile(LiveCert(), cert3.substr(0, cert3.size() / 2));
  // A complete certificate whose key has not arrived yet: 1002 stays.
  const absl::Time half_written = absl::Now();
  while (absl::Now() < half_written + absl::Milliseconds(2500)) {
    ASSERT_EQ(ServedSerial(), "1002");
    absl::SleepFor(absl::Milliseconds(200));
  }
  WriteFile(LiveCert(), cert3);
  const absl::Time mismatched = absl::Now();
  while (absl::Now() < mismatched + absl::Milliseconds(2500)) {
    ASSERT_EQ(ServedSerial(), "1002");
    absl::SleepFor(absl::Milliseconds(200));
  }
  ExpectServed({});

  // The key arrives: 1003.
  ReplaceFile(CertsEnvironment::Key("server3"), LiveKey());
  EXPECT_TRUE(Eventually([&] { return ServedSerial() == "1003"; }))
      << ServedSerial();
  ExpectServed(kTls13);
}

TEST_F(HttpsTest, MutualTlsRequiresAClientCertificateFromTheCa) {
  StartServer(/*mutual=*/true);
  const std::vector<std::string> client = {
      "--cert", CertsEnvironment::Pem("client"), "--key",
      CertsEnvironment::Key("client")};
  const std::vector<std::string> other_client = {
      "--cert", CertsEnvironment::Pem("other_client"), "--key",
      CertsEnvironment::Key("other_client")};
  // A server certificate from the right CA is not a client certificate.
  const std::vector<std::string> server_as_client = {
      "--cert", CertsEnvironment::Pem("server2"), "--key",
      CertsEnvironment::Key("server2")};

  for (const auto& version : {kTls12, kTls13}) {
    SCOPED_TRACE(version.back());
    ExpectRefused(version);  // No client certificate.
    ExpectRefused(Join(version, other_client));
    ExpectRefused(Join(version, server_as_client));
    ExpectServed(Join(version, client));
  }

  // The client CA file is reloaded too: now only other_ca's clients get in.
  ReplaceFile(CertsEnvironment::Pem("other_ca"), LiveClientCa());
  EXPECT_TRUE(Eventually([&] {
    return Curl(other_client).output.find("HTTP 200") != std::string::npos;
  }));
  ExpectServed(other_client);
  ExpectRefused(client);
  ExpectRefused({});
}

TEST_F(HttpsTest, StartRefusesBadFilesNamingThem) {
  const std::string dir = live_;
  const std::string garbage = dir + "/garbage.pem";
  WriteFile(garbage, "this is not PEM\n");
  const std::string missing = dir + "/missing.pem";

  struct Case {
    std::string cert, key, ca;
    std::string names;  // The file the error must name.
  };
  const std::vector<Case> cases = {
      {missing, LiveKey(), "", missing},
      {garbage, LiveKey(), "", garbage},
      {LiveCert(), missing, "", missing},
      {LiveCert(), garbage, "", garbage},
      // A key in place of the certificate, a certificate in place of the key.
      {LiveKey(), LiveKey(), "", LiveKey()},
      {LiveCert(), LiveCert(), "", LiveCert()},
      // The client's key with the server's certificate.
      {LiveCert(), CertsEnvironment::Key("client"), "",
       CertsEnvironment::Key("client")},
      {LiveCert(), LiveKey(), missing, missing},
      {LiveCert(), LiveKey(), garbage, garbage},
      {LiveCert(), "", "", LiveCert()},
      {"", LiveKey(), "", LiveKey()},
      {"", "", LiveClientCa(), LiveClientCa()},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat("cert=", c.cert, " key=", c.key, " ca=", c.ca));
    HttpServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.tls.cert_file = c.cert;
    options.tls.key_file = c.key;
    options.tls.client_ca_file = c.ca;
    absl::StatusOr<std::unique_ptr<HttpServer>> server = HttpServer::Start(
        options,
        [](HttpRequest, Responder respond) { respond(HttpResponse()); });
    ASSERT_FALSE(server.ok());
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(server.status().message(), HasSubstr("\"" + c.names + "\""));
  }
  // The mismatch says so.
  HttpServerOptions options;
  options.port = 0;
  options.tls.cert_file = LiveCert();
  options.tls.key_file = CertsEnvironment::Key("client");
  absl::StatusOr<std::unique_ptr<HttpServer>> server = HttpServer::Start(
      options, [](HttpRequest, Responder respond) { respond(HttpResponse()); });
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(server.status().message(), HasSubstr("does not match"));
}

}  // namespace
}  // namespace hpo::rest
