#include "cli/errors.h"

#include <string>

#include "gtest/gtest.h"

namespace hpo::cli {
namespace {

using grpc::Status;
using grpc::StatusCode;

Connection Plain() { return {"host:1", "", false, false}; }

// The message for `list` failing with `code` and `message`.
std::string ListError(StatusCode code, const std::string& message,
                      const Connection& connection = Plain()) {
  return RpcError(connection, "list", Status(code, message));
}

TEST(OneLineTest, JoinsLinesAndBlanksTheToken) {
  EXPECT_EQ(OneLine("a\nb\n"), "a b ");
  EXPECT_EQ(OneLine("token s3cret is bad; s3crets3cret", "s3cret"),
            "token <token> is bad; <token><token>");
  EXPECT_EQ(OneLine("nothing to hide", "s3cret"), "nothing to hide");
}

TEST(RpcErrorTest, UnreachableServerNamesTheAddress) {
  EXPECT_EQ(ListError(StatusCode::UNAVAILABLE, "connection refused"),
            "list: cannot reach the hpo server at host:1 (connection "
            "refused); set --server HOST:PORT or $HPO_SERVER");
}

TEST(RpcErrorTest, ClosedSocketHintsAtTls) {
  EXPECT_EQ(ListError(StatusCode::UNAVAILABLE, "Socket closed"),
            "list: cannot reach the hpo server at host:1 (Socket closed); set "
            "--server HOST:PORT or $HPO_SERVER; if the server speaks TLS, set "
            "--tls-ca or $HPO_TLS_CA");
  Connection tls = Plain();
  tls.tls = true;
  EXPECT_NE(ListError(StatusCode::UNAVAILABLE, "Socket closed", tls)
                .find("; if the server wants a client certificate, set "
                      "--tls-cert and --tls-key"),
            std::string::npos);
  tls.client_cert = true;
  EXPECT_EQ(ListError(StatusCode::UNAVAILABLE, "Socket closed", tls)
                .find("; if the server"),
            std::string::npos);
}

TEST(RpcErrorTest, FailedHandshakeNamesTheTlsFlags) {
  Connection tls = Plain();
  tls.tls = true;
  EXPECT_EQ(RpcError(tls, "get",
                     Status(StatusCode::UNAVAILABLE, "SSL Handshake FAILED")),
            "get: TLS handshake with the hpo server at host:1 failed (SSL "
            "Handshake FAILED); check --tls-ca (the CA of the server's "
            "certificate), --tls-cert and --tls-key (if the server wants a "
            "client certificate), and that the server speaks TLS");
}

TEST(RpcErrorTest, TokenRefusedSaysWhatToSet) {
  EXPECT_EQ(ListError(StatusCode::UNAUTHENTICATED, "a token is required"),
            "list: a token is required (no token was sent: set --token or "
            "$HPO_TOKEN)");
  Connection with_token = Plain();
  with_token.token = "s3cret";
  EXPECT_EQ(
      ListError(StatusCode::UNAUTHENTICATED, "bad token s3cret", with_token),
      "list: bad token <token> (the server did not accept the token "
      "from --token or $HPO_TOKEN)");
}

TEST(RpcErrorTest, RoleAndOtherCodes) {
  EXPECT_EQ(RpcError(Plain(), "delete",
                     Status(StatusCode::PERMISSION_DENIED, "needs admin")),
            "delete: needs admin (the token's role does not allow this; "
            "roles: read < worker < admin)");
  EXPECT_EQ(RpcError(Plain(), "get",
                     Status(StatusCode::NOT_FOUND, "no experiment\n\"x\"")),
            "get: no experiment \"x\" (code 5)");
}

TEST(SpecErrorTest, NamesTheFileAndTheFieldInside) {
  EXPECT_EQ(
      SpecError(Plain(), "run", "nni.yaml",
                Status(StatusCode::INVALID_ARGUMENT,
                       "import_spec.content: searchSpace.x._type: unknown")),
      "run: nni.yaml: searchSpace.x._type: unknown");
  EXPECT_EQ(SpecError(Plain(), "create", "a.yaml",
                      Status(StatusCode::INVALID_ARGUMENT,
                             "experiment.name: is required")),
            "create: a.yaml: experiment.name: is required");
  // Anything else is an RPC error.
  EXPECT_EQ(SpecError(Plain(), "create", "a.yaml",
                      Status(StatusCode::ALREADY_EXISTS, "exists")),
            "create: exists (code 6)");
}

}  // namespace
}  // namespace hpo::cli
