// How hpoctl reports a failure: one line on stderr, "hpoctl: WHAT: PROBLEM",
// with a hint at the flag or variable to change when the server could not be
// reached, refused the token, or refused a spec.

#ifndef HPO_CLI_ERRORS_H_
#define HPO_CLI_ERRORS_H_

#include <string>

#include "grpcpp/support/status.h"

namespace hpo::cli {

// What an error message needs to know about the connection: where it goes,
// and how it is secured. The token is kept only to blank it out of messages.
struct Connection {
  std::string server;  // HOST:PORT
  std::string token;   // empty: no token is sent
  bool tls = false;
  bool client_cert = false;
};

// Prints "hpoctl: MESSAGE" on stderr; returns 1, the exit code.
int Fail(const std::string& message);

// One line, whatever gRPC put in the message: a script reading stderr gets one
// error per failure. `token`, when given, never shows (should a server echo
// it): it reads "<token>".
std::string OneLine(std::string s, const std::string& token = "");

// The message for a failed call `what` (a command or an RPC), with the hint
// its status code calls for.
std::string RpcError(const Connection& connection, const std::string& what,
                     const grpc::Status& status);

// The message for a refused spec file at `path`: the file, then the server's
// field path inside it (without "import_spec.content: "). Anything but
// INVALID_ARGUMENT is reported as RpcError.
std::string SpecError(const Connection& connection, const std::string& cmd,
                      const std::string& path, const grpc::Status& status);

// Fail() with those messages.
int FailRpc(const Connection& connection, const std::string& what,
            const grpc::Status& status);
int FailSpec(const Connection& connection, const std::string& cmd,
             const std::string& path, const grpc::Status& status);

}  // namespace hpo::cli

#endif  // HPO_CLI_ERRORS_H_
