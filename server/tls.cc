#include "server/tls.h"

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace hpo {
namespace {

// Checks that `path` reads and holds a PEM block whose label ends in `kind`
// ("CERTIFICATE", "PRIVATE KEY").
absl::Status CheckPem(absl::string_view flag, const std::string& path,
                      absl::string_view kind) {
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": cannot read ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  const std::string pem = text.str();
  // "-----BEGIN CERTIFICATE-----", "-----BEGIN EC PRIVATE KEY-----", ...
  size_t begin = pem.find("-----BEGIN ");
  while (begin != std::string::npos) {
    const size_t end = pem.find("-----", begin + 11);
    if (end == std::string::npos) break;
    if (absl::EndsWith(
            absl::string_view(pem).substr(begin + 11, end - begin - 11),
            kind)) {
      return absl::OkStatus();
    }
    begin = pem.find("-----BEGIN ", end + 5);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, ": ", path, " holds no PEM ", kind,
                   " (\"-----BEGIN ...", kind, "-----\")"));
}

}  // namespace

absl::Status CheckTlsFiles(const TlsFiles& files) {
  if (files.cert.empty() != files.key.empty()) {
    return absl::InvalidArgumentError(
        files.cert.empty() ? "--tls_key needs --tls_cert, its certificate"
                           : "--tls_cert needs --tls_key, its private key");
  }
  if (!files.client_ca.empty() && files.cert.empty()) {
    return absl::InvalidArgumentError(
        "--tls_client_ca needs --tls_cert and --tls_key: mutual TLS is TLS "
        "with client certificates");
  }
  if (files.cert.empty()) return absl::OkStatus();
  if (absl::Status s = CheckPem("tls_cert", files.cert, "CERTIFICATE");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckPem("tls_key", files.key, "PRIVATE KEY"); !s.ok()) {
    return s;
  }
  if (!files.client_ca.empty()) {
    return CheckPem("tls_client_ca", files.client_ca, "CERTIFICATE");
  }
  return absl::OkStatus();
}

std::shared_ptr<grpc::ServerCredentials> GrpcServerCredentials(
    const TlsFiles& files) {
  if (!files.enabled()) return grpc::InsecureServerCredentials();
  constexpr unsigned int kRefreshSeconds = 1;
  auto provider =
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          files.key, files.cert, files.client_ca, kRefreshSeconds);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (files.client_ca.empty()) {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    options.watch_root_certs();
    options.set_cert_request_type(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

bool IsLoopback(absl::string_view host) {
  return host == "localhost" || host == "::1" || host == "[::1]" ||
         absl::StartsWith(host, "127.");
}

}  // namespace hpo
