#include "cli/errors.h"

#include <algorithm>
#include <cctype>
#include <iostream>

namespace hpo::cli {
namespace {

bool HandshakeFailed(const grpc::Status& status) {
  std::string m = status.error_message();
  std::transform(m.begin(), m.end(), m.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return status.error_code() == grpc::StatusCode::UNAVAILABLE &&
         m.find("handshake failed") != std::string::npos;
}

// A connection the server closes at once is what a TLS server does to a
// plaintext client, and a mutual-TLS one to a client without a certificate.
std::string ClosedHint(const Connection& connection,
                       const std::string& message) {
  if (message.find("Socket closed") == std::string::npos) return "";
  if (!connection.tls) {
    return "; if the server speaks TLS, set --tls-ca or $HPO_TLS_CA";
  }
  if (!connection.client_cert) {
    return "; if the server wants a client certificate, set --tls-cert and "
           "--tls-key";
  }
  return "";
}

}  // namespace

int Fail(const std::string& message) {
  std::cerr << "hpoctl: " << message << "\n";
  return 1;
}

std::string OneLine(std::string s, const std::string& token) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  if (!token.empty()) {
    for (auto at = s.find(token); at != std::string::npos;
         at = s.find(token, at)) {
      s.replace(at, token.size(), "<token>");
    }
  }
  return s;
}

std::string RpcError(const Connection& connection, const std::string& what,
                     const grpc::Status& status) {
  const std::string message = OneLine(status.error_message(), connection.token);
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      if (HandshakeFailed(status)) {
        return what + ": TLS handshake with the hpo server at " +
               connection.server + " failed (" + message +
               "); check --tls-ca (the CA of the server's certificate), "
               "--tls-cert and --tls-key (if the server wants a client "
               "certificate), and that the server speaks TLS";
      }
      // gRPC fails fast (no wait_for_ready), so an unreachable server is one
      // UNAVAILABLE: say which address was tried and what to change.
      return what + ": cannot reach the hpo server at " + connection.server +
             " (" + message + "); set --server HOST:PORT or $HPO_SERVER" +
             ClosedHint(connection, message);
    case grpc::StatusCode::UNAUTHENTICATED:
      return what + ": " + message +
             (connection.token.empty()
                  ? " (no token was sent: set --token or $HPO_TOKEN)"
                  : " (the server did not accept the token from --token "
                    "or $HPO_TOKEN)");
    case grpc::StatusCode::PERMISSION_DENIED:
      return what + ": " + message +
             " (the token's role does not allow this; roles: read < "
             "worker < admin)";
    default:
      return what + ": " + message + " (code " +
             std::to_string(status.error_code()) + ")";
  }
}

std::string SpecError(const Connection& connection, const std::string& cmd,
                      const std::string& path, const grpc::Status& status) {
  if (status.error_code() != grpc::StatusCode::INVALID_ARGUMENT) {
    return RpcError(connection, cmd, status);
  }
  // The server names the field; for imported formats after this prefix.
  std::string message = OneLine(status.error_message(), connection.token);
  const std::string prefix = "import_spec.content: ";
  if (message.rfind(prefix, 0) == 0) message = message.substr(prefix.size());
  return cmd + ": " + path + ": " + message;
}

int FailRpc(const Connection& connection, const std::string& what,
            const grpc::Status& status) {
  return Fail(RpcError(connection, what, status));
}

int FailSpec(const Connection& connection, const std::string& cmd,
             const std::string& path, const grpc::Status& status) {
  return Fail(SpecError(connection, cmd, path, status));
}

}  // namespace hpo::cli
