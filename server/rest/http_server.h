// A small HTTP/1.1 server over GNU libmicrohttpd: keep-alive, a pool of epoll
// threads serving many connections each, an idle/request timeout, a request
// body limit and chunked request bodies. It knows nothing of gRPC or JSON: it
// hands each complete request to a Handler and sends whatever the handler
// answers, whenever and from whichever thread it answers.
//
// A handler must not block (it runs on one of the few polling threads); it
// answers through its Responder, now or later. Until it answers, the
// connection is suspended and costs no thread.
//
// With HttpServerOptions::tls it serves HTTPS (GnuTLS), optionally requiring
// client certificates (mutual TLS); the certificate files are reloaded when
// they change, without a restart.

#ifndef HPO_SERVER_REST_HTTP_SERVER_H_
#define HPO_SERVER_REST_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

struct MHD_Daemon;

namespace hpo::rest {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  // The path exactly as sent, still percent-encoded, without the query.
  std::string path;
  // Query parameters in order, percent-decoded ('+' is a space); a key may
  // repeat.
  std::vector<std::pair<std::string, std::string>> query;
  std::string content_type;  // The Content-Type header, "" if none.
  // The Authorization header, "" if none.
  std::string authorization;
  std::string body;
  std::string peer;  // "ip:port" of the client.
  bool tls = false;  // Arrived over HTTPS.

  // The first value of query parameter `key`, or nullptr.
  const std::string* Query(absl::string_view key) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Answers one request. Call it exactly once, from any thread.
using Responder = std::function<void(HttpResponse)>;
using HttpHandler = std::function<void(HttpRequest, Responder)>;

// HTTPS. Every file is PEM. Each is checked about once a second, while
// connections come in, for a change (inode, size or modification time): a
// changed certificate and key, or CA bundle, are loaded and serve the next
// handshakes, while a pair that does not load (half written, key not matching
// the certificate) leaves the previous one in use, with one warning.
struct HttpTlsOptions {
  // The server's certificate, optionally followed by intermediate CA
  // certificates. Empty: plain HTTP (and the other two must be empty too).
  std::string cert_file;
  // Its private key, unencrypted (PKCS#8, PKCS#1 or SEC1).
  std::string key_file;
  // When set, mutual TLS: a client must present a certificate that chains to
  // one of these CA certificates (and is valid now and usable for TLS client
  // authentication), or its TLS handshake fails.
  std::string client_ca_file;
};

struct HttpServerOptions {
  std::string host = "0.0.0.0";
  int port = 8080;  // 0 picks a free port; see HttpServer::port().
  // Bodies above this answer 413 without being read.
  size_t max_body_bytes = 4 << 20;
  // A connection idle this long (between requests, or stalled mid-request) is
  // closed.
  int timeout_seconds = 60;
  int threads = 2;  // Polling threads.
  int max_connections = 4096;
  HttpTlsOptions tls;
};

class HttpServer {
 public:
  // Listens and serves until Stop() or destruction. A TLS file that cannot be
  // read, is not PEM, or a key that does not match its certificate, is an
  // InvalidArgumentError naming the file.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      const HttpServerOptions& options, HttpHandler handler);
  // Stops as Stop() does.
  ~HttpServer();

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The port listened on.
  int port() const { return port_; }

  // Stops accepting connections, waits up to `grace_seconds` for the requests
  // being answered to be answered, then closes every connection. Idempotent.
  void Stop(int grace_seconds = 5);

 private:
  struct Connection;
  class Tls;
  friend struct HttpServerCallbacks;

  HttpServer(const HttpServerOptions& options, HttpHandler handler);

  const HttpServerOptions options_;
  const HttpHandler handler_;
  // The certificates; null for plain HTTP. Outlives daemon_.
  std::unique_ptr<Tls> tls_;
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;

  absl::Mutex mu_;
  // Requests handed to the handler and not yet answered.
  int pending_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  // Requests handed to the handler that it has not answered.
  std::set<std::shared_ptr<Connection>> unanswered_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hpo::rest

#endif  // HPO_SERVER_REST_HTTP_SERVER_H_
