// hpo-server's TLS settings (--tls_cert, --tls_key, --tls_client_ca) and the
// gRPC server credentials they make. The HTTP side takes the same files
// (rest::HttpTlsOptions); both reload them when they change.

#ifndef HPO_SERVER_TLS_H_
#define HPO_SERVER_TLS_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/security/server_credentials.h"

namespace hpo {

struct TlsFiles {
  std::string cert;       // PEM certificate chain; empty: plaintext
  std::string key;        // its PEM private key
  std::string client_ca;  // PEM CA bundle; set: clients must present a
                          // certificate it signed (mutual TLS)

  bool enabled() const { return !cert.empty(); }
};

// Whether the flags go together (a key with its certificate, a client CA only
// with both) and each file reads as PEM of its kind. Errors name the flag and
// the file.
absl::Status CheckTlsFiles(const TlsFiles& files);

// TLS credentials that re-read the files every second (a certificate that
// cert-manager rotates is served without a restart), requiring and verifying
// a client certificate when `client_ca` is set; insecure credentials when
// TLS is off.
std::shared_ptr<grpc::ServerCredentials> GrpcServerCredentials(
    const TlsFiles& files);

// Whether `host` (a listening address: "127.0.0.1", "::1", "localhost")
// reaches only this machine.
bool IsLoopback(absl::string_view host);

}  // namespace hpo

#endif  // HPO_SERVER_TLS_H_
