#include "server/rest/http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/log.h"

namespace hpo::rest {

const std::string* HttpRequest::Query(absl::string_view key) const {
  for (const auto& [k, v] : query) {
    if (k == key) return &v;
  }
  return nullptr;
}

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes a query key or value; '+' is a space there. A '%' not
// followed by two hex digits is kept as it is.
std::string DecodeQueryPart(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string PeerOf(MHD_Connection* connection) {
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (info == nullptr || info->client_addr == nullptr) return "unknown";
  char host[INET6_ADDRSTRLEN] = {0};
  const sockaddr* addr = info->client_addr;
  if (addr->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    return absl::StrCat(host, ":", ntohs(in->sin_port));
  }
  if (addr->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    return absl::StrCat("[", host, "]:", ntohs(in6->sin6_port));
  }
  return "unknown";
}

HttpResponse PlainError(int status, int grpc_code, absl::string_view message) {
  HttpResponse r;
  r.status = status;
  // The message is ours and holds no characters that need escaping.
  r.body = absl::StrCat("{\"code\": ", grpc_code, ", \"message\": \"", message,
                        "\", \"details\": []}");
  return r;
}

}  // namespace

// One request's life on one connection: read, handed to the handler, answered.
struct HttpServer::Connection {
  HttpServer* server = nullptr;
  MHD_Connection* connection = nullptr;
  HttpRequest request;
  bool too_large = false;
  bool queued = false;   // A response went to MHD: nothing more to do.
  bool started = false;  // Handed to the handler (and counted in pending_).

  absl::Mutex mu;
  bool answered ABSL_GUARDED_BY(mu) = false;
  bool suspended ABSL_GUARDED_BY(mu) = false;
  HttpResponse response ABSL_GUARDED_BY(mu);
};

// The C callbacks, with access to HttpServer's insides.
struct HttpServerCallbacks {
  using Conn = HttpServer::Connection;

  static void Answer(const std::shared_ptr<Conn>& conn, HttpResponse response) {
    {
      HttpServer* server = conn->server;
      absl::MutexLock lock(&server->mu_);
      server->unanswered_.erase(conn);
    }
    absl::MutexLock lock(&conn->mu);
    if (conn->answered) return;  // Stop() answered it already.
    conn->answered = true;
    conn->response = std::move(response);
    if (conn->suspended) {
      conn->suspended = false;
      // MHD now calls Access again on a polling thread, which sends it.
      MHD_resume_connection(conn->connection);
    }
  }

  static MHD_Result Queue(Conn* conn, const HttpResponse& r) {
    MHD_Response* response = MHD_create_response_from_buffer(
        r.body.size(), const_cast<char*>(r.body.data()), MHD_RESPMEM_MUST_COPY);
    if (response == nullptr) return MHD_NO;
    if (!r.content_type.empty()) {
      MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                              r.content_type.c_str());
    }
    for (const auto& [name, value] : r.headers) {
      MHD_add_response_header(response, name.c_str(), value.c_str());
    }
    const MHD_Result result =
        MHD_queue_response(conn->connection, r.status, response);
    MHD_destroy_response(response);
    if (result == MHD_YES) conn->queued = true;
    return result;
  }

  static MHD_Result CollectQuery(void* cls, MHD_ValueKind kind, const char* key,
                                 size_t key_size, const char* value,
                                 size_t value_size) {
    auto* query =
        static_cast<std::vector<std::pair<std::string, std::string>>*>(cls);
    query->emplace_back(DecodeQueryPart(absl::string_view(key, key_size)),
                        value == nullptr ? std::string()
                                         : DecodeQueryPart(absl::string_view(
                                               value, value_size)));
    return MHD_YES;
  }

  static HttpResponse TooLarge(const HttpServer& server) {
    return PlainError(413, 8,
                      absl::StrCat("request body exceeds the limit of ",
                                   server.options_.max_body_bytes,
                                   " bytes (--max_body_bytes)"));
  }

  static MHD_Result Access(void* cls, MHD_Connection* connection,
                           const char* url, const char* method,
                           const char* version, const char* upload_data,
                           size_t* upload_data_size, void** con_cls) {
    auto* server = static_cast<HttpServer*>(cls);
    if (*con_cls == nullptr) {
      // Headers are in; the body (if any) follows in later calls.
      auto conn = std::make_shared<Conn>();
      conn->server = server;
      conn->connection = connection;
      conn->request.method = method;
      conn->request.path = url;
      if (const char* type = MHD_lookup_connection_value(
              connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE)) {
        conn->request.content_type = type;
      }
      conn->request.peer = PeerOf(connection);
      *con_cls = new std::shared_ptr<Conn>(conn);
      uint64_t length = 0;
      if (const char* header = MHD_lookup_connection_value(
              connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
          header != nullptr && absl::SimpleAtoi(header, &length) &&
          length > server->options_.max_body_bytes) {
        // Refused before reading it; MHD closes the connection after the
        // answer, since the unread body is still in the way.
        conn->too_large = true;
        return Queue(conn.get(), TooLarge(*server));
      }
      return MHD_YES;
    }
    const std::shared_ptr<Conn>& conn =
        *static_cast<std::shared_ptr<Conn>*>(*con_cls);
    if (conn->queued) {
      *upload_data_size = 0;  // Whatever still arrives is dropped.
      return MHD_YES;
    }
    if (*upload_data_size > 0) {
      if (!conn->too_large) {
        if (conn->request.body.size() + *upload_data_size >
            server->options_.max_body_bytes) {
          // A chunked body that turned out too large.
          conn->too_large = true;
          conn->request.body.clear();
        } else {
          conn->request.body.append(upload_data, *upload_data_size);
        }
      }
      *upload_data_size = 0;
      return MHD_YES;
    }
    // The whole request is in (or we were resumed with its answer).
    if (conn->too_large) return Queue(conn.get(), TooLarge(*server));
    if (!conn->started) {
      conn->started = true;
      {
        absl::MutexLock lock(&server->mu_);
        ++server->pending_;
        server->unanswered_.insert(conn);
      }
      MHD_get_connection_values_n(connection, MHD_GET_ARGUMENT_KIND,
                                  &CollectQuery, &conn->request.query);
      std::shared_ptr<Conn> keep = conn;
      server->handler_(conn->request, [keep](HttpResponse response) {
        Answer(keep, std::move(response));
      });
    }
    absl::MutexLock lock(&conn->mu);
    if (conn->answered) return Queue(conn.get(), conn->response);
    conn->suspended = true;
    MHD_suspend_connection(connection);
    return MHD_YES;
  }

  static void Completed(void* cls, MHD_Connection* connection, void** con_cls,
                        MHD_RequestTerminationCode code) {
    if (*con_cls == nullptr) return;
    auto* holder = static_cast<std::shared_ptr<Conn>*>(*con_cls);
    if ((*holder)->started) {
      HttpServer* server = (*holder)->server;
      absl::MutexLock lock(&server->mu_);
      --server->pending_;
    }
    delete holder;
    *con_cls = nullptr;
  }

  // Leaves paths and query strings as sent: the gateway must see "%2F" in a
  // path segment as part of the segment, not as a separator, and decodes
  // query parameters itself.
  static size_t Unescape(void* cls, MHD_Connection* connection, char* s) {
    return std::strlen(s);
  }

  static void Log(void* cls, const char* format, va_list args) {
    char buffer[512];
    std::vsnprintf(buffer, sizeof(buffer), format, args);
    std::string line(buffer);
    while (!line.empty() && line.back() == '\n') line.pop_back();
    HPO_LOG(WARNING) << "http: " << line;
  }
};

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const HttpServerOptions& options, HttpHandler handler) {
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("port must be in [0, 65535], got ", options.port));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(options.host.c_str(), nullptr, &hints, &found);
      rc != 0 || found == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot resolve host \"", options.host, "\": ", gai_strerror(rc)));
  }
  sockaddr_storage address{};
  std::memcpy(&address, found->ai_addr, found->ai_addrlen);
  freeaddrinfo(found);
  unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
                       MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
  if (address.ss_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&address)->sin6_port =
        htons(static_cast<uint16_t>(options.port));
    flags |= MHD_USE_IPv6;
  } else {
    reinterpret_cast<sockaddr_in*>(&address)->sin_port =
        htons(static_cast<uint16_t>(options.port));
  }

  std::unique_ptr<HttpServer> server(
      new HttpServer(options, std::move(handler)));
  server->daemon_ = MHD_start_daemon(
      flags, static_cast<uint16_t>(options.port), nullptr, nullptr,
      &HttpServerCallbacks::Access, server.get(),
      // First, so that MHD's own start-up messages come through it too.
      MHD_OPTION_EXTERNAL_LOGGER, &HttpServerCallbacks::Log, nullptr,
      MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&address),
      MHD_OPTION_THREAD_POOL_SIZE,
      static_cast<unsigned int>(std::max(1, options.threads)),
      MHD_OPTION_CONNECTION_LIMIT,
      static_cast<unsigned int>(options.max_connections),
      MHD_OPTION_CONNECTION_TIMEOUT,
      static_cast<unsigned int>(std::max(1, options.timeout_seconds)),
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<size_t>(64 * 1024),
      MHD_OPTION_NOTIFY_COMPLETED, &HttpServerCallbacks::Completed,
      server.get(), MHD_OPTION_UNESCAPE_CALLBACK,
      &HttpServerCallbacks::Unescape, nullptr, MHD_OPTION_END);
  if (server->daemon_ == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen for HTTP on ", options.host, ":", options.port,
        " (in use, or not an address of this machine?)"));
  }
  const MHD_DaemonInfo* info =
      MHD_get_daemon_info(server->daemon_, MHD_DAEMON_INFO_BIND_PORT);
  server->port_ = info != nullptr ? info->port : options.port;
  return server;
}

HttpServer::~HttpServer() { Stop(0); }

void HttpServer::Stop(int grace_seconds) {
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  if (daemon_ == nullptr) return;
  // New connections are refused from here on; open ones finish their request.
  MHD_quiesce_daemon(daemon_);
  const auto idle = +[](int* pending) { return *pending == 0; };
  std::set<std::shared_ptr<Connection>> unanswered;
  {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(idle, &pending_),
                         absl::Seconds(grace_seconds));
    unanswered = unanswered_;
  }
  if (!unanswered.empty()) {
    // MHD must not be stopped with suspended connections: answer them.
    HPO_LOG(WARNING) << "http: answering " << unanswered.size()
                     << " request(s) still running with 503";
    for (const auto& conn : unanswered) {
      HttpServerCallbacks::Answer(
          conn, PlainError(503, 14, "the server is shutting down"));
    }
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(idle, &pending_), absl::Seconds(1));
  }
  MHD_stop_daemon(daemon_);
  daemon_ = nullptr;
}

}  // namespace hpo::rest
