// The connection's security settings: --token, --tls-ca, --tls-cert and
// --tls-key (before or after the command), else $HPO_TOKEN, $HPO_TLS_CA,
// $HPO_TLS_CERT and $HPO_TLS_KEY. Each remembers which of the two set it, so
// that an error names what the user wrote.

#ifndef HPO_CLI_SECURITY_H_
#define HPO_CLI_SECURITY_H_

#include <string>

namespace hpo::cli {

struct Security {
  struct Setting {
    std::string value;
    std::string from;  // the flag or the variable that set it
    std::string flag;  // the flag, "--tls-key"
    std::string env;   // the variable, "$HPO_TLS_KEY"
  };
  Setting token, ca, cert, key;

  // Each setting from its variable (empty when unset).
  static Security FromEnv();
  // Takes `name` (token, tls_ca, tls_cert, tls_key; tls-ca etc. too) if it is
  // one of these; false otherwise.
  bool Set(std::string name, const std::string& value);
};

// The token to send, without the whitespace around it (a token read from a
// file keeps its newline), and whether the settings make sense together; else
// false with an error naming the flag or variable.
bool CheckSecurity(const Security& security, std::string* token,
                   std::string* error);

// The PEM file a setting names, or an error naming the setting and the file.
bool ReadPem(const Security::Setting& setting, std::string* out,
             std::string* error);

}  // namespace hpo::cli

#endif  // HPO_CLI_SECURITY_H_
