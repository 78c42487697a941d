#include "cli/security.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "cli/text.h"

namespace hpo::cli {
namespace {

Security::Setting FromVariable(const char* flag, const char* var) {
  const char* v = std::getenv(var);
  const std::string env = std::string("$") + var;
  return {v ? v : "", env, flag, env};
}

}  // namespace

Security Security::FromEnv() {
  return {FromVariable("--token", "HPO_TOKEN"),
          FromVariable("--tls-ca", "HPO_TLS_CA"),
          FromVariable("--tls-cert", "HPO_TLS_CERT"),
          FromVariable("--tls-key", "HPO_TLS_KEY")};
}

bool Security::Set(std::string name, const std::string& value) {
  std::replace(name.begin(), name.end(), '-', '_');
  Setting* s = name == "token"      ? &token
               : name == "tls_ca"   ? &ca
               : name == "tls_cert" ? &cert
               : name == "tls_key"  ? &key
                                    : nullptr;
  if (s == nullptr) return false;
  s->value = value;
  s->from = s->flag;
  return true;
}

bool CheckSecurity(const Security& security, std::string* token,
                   std::string* error) {
  *token = security.token.value;
  token->erase(0, token->find_first_not_of(" \t\r\n"));
  token->erase(token->find_last_not_of(" \t\r\n") + 1);
  for (unsigned char c : *token) {
    if (c <= ' ' || c > '~') {
      *error = "the token (" + security.token.from +
               ") holds whitespace or characters outside printable ASCII";
      return false;
    }
  }
  const Security::Setting& cert = security.cert;
  const Security::Setting& key = security.key;
  if (cert.value.empty() != key.value.empty()) {
    const auto& given = cert.value.empty() ? key : cert;
    const auto& missing = cert.value.empty() ? cert : key;
    *error = given.from + " is set but " +
             (missing.from == missing.flag
                  ? missing.flag + " is not"
                  : "neither " + missing.flag + " nor " + missing.env + " is") +
             ": a client certificate needs both the certificate and its "
             "private key";
    return false;
  }
  return true;
}

bool ReadPem(const Security::Setting& setting, std::string* out,
             std::string* error) {
  if (!ReadFile(setting.value, out)) {
    *error = setting.from + " " + setting.value +
             ": cannot read it: " + std::strerror(errno);
    return false;
  }
  if (out->find("-----BEGIN ") == std::string::npos) {
    *error = setting.from + " " + setting.value +
             ": not a PEM file (no -----BEGIN line)";
    return false;
  }
  return true;
}

}  // namespace hpo::cli
