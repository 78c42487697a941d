#include "cli/security.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace hpo::cli {
namespace {

class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v :
         {"HPO_TOKEN", "HPO_TLS_CA", "HPO_TLS_CERT", "HPO_TLS_KEY"}) {
      ::unsetenv(v);
    }
  }
  // Why CheckSecurity refuses `s`.
  static std::string Refusal(const Security& s) {
    std::string token, error;
    EXPECT_FALSE(CheckSecurity(s, &token, &error));
    return error;
  }
  std::string TempFile(const std::string& name, const std::string& content) {
    const char* dir = std::getenv("TEST_TMPDIR");
    const std::string path = std::string(dir ? dir : "/tmp") + "/" + name;
    std::ofstream(path) << content;
    return path;
  }
};

TEST_F(SecurityTest, VariablesThenFlags) {
  ::setenv("HPO_TLS_KEY", "env.key", 1);
  Security s = Security::FromEnv();
  EXPECT_EQ(s.key.value, "env.key");
  EXPECT_EQ(s.key.from, "$HPO_TLS_KEY");
  EXPECT_EQ(s.key.flag, "--tls-key");
  EXPECT_EQ(s.token.value, "");
  EXPECT_TRUE(s.Set("tls-key", "flag.key"));
  EXPECT_EQ(s.key.value, "flag.key");
  EXPECT_EQ(s.key.from, "--tls-key");
  EXPECT_FALSE(s.Set("server", "x"));
}

TEST_F(SecurityTest, TokenIsTrimmedAndMustBePrintable) {
  Security s = Security::FromEnv();
  s.Set("token", " abc123\n");
  std::string token, error;
  ASSERT_TRUE(CheckSecurity(s, &token, &error)) << error;
  EXPECT_EQ(token, "abc123");
  s.Set("token", "two words");
  EXPECT_EQ(Refusal(s),
            "the token (--token) holds whitespace or characters outside "
            "printable ASCII");
}

TEST_F(SecurityTest, CertificateNeedsItsKey) {
  const std::string needs_both =
      ": a client certificate needs both the certificate and its private key";
  Security s = Security::FromEnv();
  s.Set("tls_cert", "c.pem");
  EXPECT_EQ(Refusal(s),
            "--tls-cert is set but neither --tls-key nor $HPO_TLS_KEY is" +
                needs_both);
  // The flag given empty overrides the variable.
  ::setenv("HPO_TLS_KEY", "k.pem", 1);
  s = Security::FromEnv();
  s.Set("tls_key", "");
  s.Set("tls_cert", "c.pem");
  EXPECT_EQ(Refusal(s), "--tls-cert is set but --tls-key is not" + needs_both);
}

TEST_F(SecurityTest, ReadPemNamesTheSettingAndTheFile) {
  Security s = Security::FromEnv();
  std::string out, error;
  s.Set("tls_ca", "/no/such/ca.pem");
  EXPECT_FALSE(ReadPem(s.ca, &out, &error));
  EXPECT_EQ(error,
            "--tls-ca /no/such/ca.pem: cannot read it: No such file or "
            "directory");
  const std::string text = TempFile("not.pem", "hello\n");
  s.Set("tls_ca", text);
  EXPECT_FALSE(ReadPem(s.ca, &out, &error));
  EXPECT_EQ(error,
            "--tls-ca " + text + ": not a PEM file (no -----BEGIN line)");
  const std::string pem = TempFile(
      "ca.pem", "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n");
  s.Set("tls_ca", pem);
  ASSERT_TRUE(ReadPem(s.ca, &out, &error)) << error;
  EXPECT_EQ(out.rfind("-----BEGIN CERTIFICATE-----", 0), 0u);
}

}  // namespace
}  // namespace hpo::cli
