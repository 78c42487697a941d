// A tiny blocking HTTP/1.1 client over one TCP connection, for end-to-end
// tests of the server's HTTP listener: it keeps the connection alive between
// requests (and counts how often it had to connect), reads Content-Length and
// chunked bodies, and can send raw bytes to test what a well-behaved client
// would never send.

#ifndef HPO_TESTS_HTTP_CLIENT_H_
#define HPO_TESTS_HTTP_CLIENT_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace hpo::testing {

struct HttpResult {
  int status = 0;  // 0: no response (connection failed or closed).
  std::map<std::string, std::string> headers;  // Lower-case names.
  std::string body;

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

class HttpClient {
 public:
  explicit HttpClient(int port, int timeout_seconds = 30)
      : port_(port), timeout_seconds_(timeout_seconds) {}
  ~HttpClient() { Close(); }
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResult Get(const std::string& path) { return Request("GET", path); }
  HttpResult Post(const std::string& path, const std::string& body,
                  const std::string& content_type = "application/json") {
    return Request("POST", path, body, content_type);
  }

  // One request on the kept-alive connection (reconnecting if the server
  // closed it while idle).
  HttpResult Request(
      const std::string& method, const std::string& path,
      const std::string& body = "",
      const std::string& content_type = "application/json",
      const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    std::string request = method + " " + path + " HTTP/1.1\r\n";
    request += "Host: 127.0.0.1:" + std::to_string(port_) + "\r\n";
    for (const auto& [name, value] : headers) {
      request += name + ": " + value + "\r\n";
    }
    if (!body.empty() || method == "POST" || method == "PUT" ||
        method == "PATCH") {
      if (!content_type.empty()) {
        request += "Content-Type: " + content_type + "\r\n";
      }
      request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    request += "\r\n" + body;
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reused = fd_ >= 0;
      HttpResult result = Raw(request, method == "HEAD");
      if (result.status != 0 || !reused) return result;
      Close();  // A stale kept-alive connection: try once on a new one.
    }
    return HttpResult();
  }

  // Sends `bytes` as they are and reads one response.
  HttpResult Raw(const std::string& bytes, bool head = false) {
    HttpResult result;
    if (fd_ < 0 && !Connect()) return result;
    if (!SendAll(bytes)) {
      // The server may have answered (413) and closed before reading all.
      if (!ReadResponse(&result, head)) Close();
      return result;
    }
    if (!ReadResponse(&result, head)) {
      Close();
      return HttpResult();
    }
    if (result.Header("connection") == "close") Close();
    return result;
  }

  // Sends bytes without reading: for requests left unfinished.
  bool Send(const std::string& bytes) {
    if (fd_ < 0 && !Connect()) return false;
    return SendAll(bytes);
  }

  // True if the server closed the connection (a read sees EOF) within the
  // client's timeout.
  bool WaitForClose() {
    char c;
    while (true) {
      const ssize_t n = recv(fd_, &c, 1, 0);
      if (n == 0) return true;
      if (n < 0 && errno == EINTR) continue;
      return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK;
    }
  }

  bool connected() const { return fd_ >= 0; }
  // How many TCP connections this client opened.
  int connects() const { return connects_; }

  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    buffer_.clear();
  }

 private:
  bool Connect() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return false;
    timeval tv{timeout_seconds_, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      Close();
      return false;
    }
    ++connects_;
    return true;
  }

  bool SendAll(const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n =
          send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }

  // Reads until `buffer_` holds `n` bytes; false on EOF or error.
  bool Fill(size_t n) {
    char chunk[16384];
    while (buffer_.size() < n) {
      const ssize_t got = recv(fd_, chunk, sizeof(chunk), 0);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return false;
      buffer_.append(chunk, static_cast<size_t>(got));
    }
    return true;
  }

  // Reads through the next CRLF; the line without it.
  bool Line(std::string* line) {
    size_t end;
    while ((end = buffer_.find("\r\n")) == std::string::npos) {
      if (!Fill(buffer_.size() + 1)) return false;
    }
    *line = buffer_.substr(0, end);
    buffer_.erase(0, end + 2);
    return true;
  }

  bool ReadResponse(HttpResult* result, bool head) {
    std::string line;
    if (!Line(&line) || line.compare(0, 5, "HTTP/") != 0) return false;
    result->status = std::atoi(line.c_str() + line.find(' ') + 1);
    while (Line(&line) && !line.empty()) {
      const size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(c));
      size_t start = colon + 1;
      while (start < line.size() && line[start] == ' ') ++start;
      result->headers[name] = line.substr(start);
    }
    if (head || result->status == 204 || result->status == 304) return true;
    if (result->Header("transfer-encoding") == "chunked") {
      while (true) {
        if (!Line(&line)) return false;
        const size_t size = std::strtoul(line.c_str(), nullptr, 16);
        if (size == 0) {
          Line(&line);
          return true;
        }
        if (!Fill(size + 2)) return false;
        result->body += buffer_.substr(0, size);
        buffer_.erase(0, size + 2);
      }
    }
    if (!result->Header("content-length").empty()) {
      const size_t size =
          std::strtoul(result->Header("content-length").c_str(), nullptr, 10);
      if (!Fill(size)) return false;
      result->body = buffer_.substr(0, size);
      buffer_.erase(0, size);
      return true;
    }
    // Read to the end of the connection.
    while (Fill(buffer_.size() + 1)) {
    }
    result->body = buffer_;
    buffer_.clear();
    Close();
    return true;
  }

  int port_;
  int timeout_seconds_;
  int fd_ = -1;
  int connects_ = 0;
  std::string buffer_;
};

// The HTTP port from the server's start-up line "Access REST Service at
// http://HOST:PORT", or 0.
inline int HttpPortFromLog(const std::string& log) {
  const std::string marker = "Access REST Service at http://";
  const size_t at = log.find(marker);
  if (at == std::string::npos) return 0;
  const size_t colon = log.find(':', at + marker.size());
  if (colon == std::string::npos) return 0;
  return std::atoi(log.c_str() + colon + 1);
}

// A runfile's contents ("" if missing).
inline std::string ReadRunfile(const std::string& path) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  std::ifstream in(std::string(srcdir ? srcdir : ".") + "/" +
                       (workspace ? workspace : "hpo") + "/" + path,
                   std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  return text;
}

}  // namespace hpo::testing

#endif  // HPO_TESTS_HTTP_CLIENT_H_
