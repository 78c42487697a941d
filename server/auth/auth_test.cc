#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/auth/token_file.h"
#include "server/auth/tokens.h"
#include "server/metrics/metrics.h"

namespace hpo::auth {
namespace {

constexpr char kTokens[] =
    "# token,name,role\n"
    "r-secret-1,reader,read\n"
    "\n"
    "  w-secret-2 , ci-workers , worker  \n"
    "a-secret-3,alice,admin\n";

TokenTable Table() {
  absl::StatusOr<TokenTable> table = TokenTable::Parse(kTokens, "tokens.csv");
  EXPECT_TRUE(table.ok()) << table.status();
  return *std::move(table);
}

TEST(TokenTable, GrantsEachRoleWhatItIncludes) {
  const TokenTable table = Table();
  EXPECT_EQ(table.size(), 3u);
  struct Case {
    const char* token;
    v1::Role required;
    bool allowed;
  };
  for (const Case& c : {Case{"r-secret-1", v1::ROLE_READ, true},
                        Case{"r-secret-1", v1::ROLE_WORKER, false},
                        Case{"r-secret-1", v1::ROLE_ADMIN, false},
                        Case{"w-secret-2", v1::ROLE_READ, true},
                        Case{"w-secret-2", v1::ROLE_WORKER, true},
                        Case{"w-secret-2", v1::ROLE_ADMIN, false},
                        Case{"a-secret-3", v1::ROLE_READ, true},
                        Case{"a-secret-3", v1::ROLE_WORKER, true},
                        Case{"a-secret-3", v1::ROLE_ADMIN, true}}) {
    const Verdict v = table.Check(absl::StrCat("Bearer ", c.token), c.required);
    EXPECT_EQ(v.status.ok(), c.allowed) << c.token << " " << c.required;
    if (!c.allowed) {
      EXPECT_EQ(v.status.code(), absl::StatusCode::kPermissionDenied);
      EXPECT_EQ(v.failure, Failure::kForbidden);
      EXPECT_FALSE(absl::StrContains(v.status.message(), c.token));
    }
  }
  EXPECT_EQ(table.Check("Bearer w-secret-2", v1::ROLE_WORKER).caller,
            "ci-workers");
  // The scheme is case-insensitive (RFC 7235).
  EXPECT_TRUE(table.Check("bearer a-secret-3", v1::ROLE_ADMIN).status.ok());
}

TEST(TokenTable, RefusesMissingMalformedAndUnknownTokensWithoutEchoingThem) {
  const TokenTable table = Table();
  Verdict v = table.Check("", v1::ROLE_READ);
  EXPECT_EQ(v.status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(v.failure, Failure::kMissing);

  v = table.Check("Basic dXNlcjpwYXNz", v1::ROLE_READ);
  EXPECT_EQ(v.status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(v.failure, Failure::kMalformed);
  EXPECT_FALSE(absl::StrContains(v.status.message(), "dXNlcjpwYXNz"));

  // A listed token's prefix, and a token with one more character.
  for (const char* wrong : {"a-secret-", "a-secret-33", "guessed-token"}) {
    v = table.Check(absl::StrCat("Bearer ", wrong), v1::ROLE_READ);
    EXPECT_EQ(v.status.code(), absl::StatusCode::kUnauthenticated) << wrong;
    EXPECT_EQ(v.failure, Failure::kUnknownToken);
    EXPECT_FALSE(absl::StrContains(v.status.message(), wrong));
    EXPECT_TRUE(v.caller.empty());
  }
}

TEST(TokenTable, NamesTheLineOfAMalformedFile) {
  struct Case {
    const char* text;
    const char* says;
  };
  for (const Case& c : {
           Case{"tok,name\n", "t.csv:1: expected token,name,role; got 2"},
           Case{"# c\ntok,name,root\n",
                "t.csv:2: role: expected read, worker or admin, got \"root\""},
           Case{"tok,,read\n", "t.csv:1: the name is empty"},
           Case{"to k,n,read\n", "t.csv:1: the token is empty"},
           Case{",n,read\n", "t.csv:1: the token is empty"},
           Case{"tok,a,read\ntok,b,admin\n",
                "t.csv:2: the token of \"b\" is listed twice"},
       }) {
    absl::StatusOr<TokenTable> table = TokenTable::Parse(c.text, "t.csv");
    ASSERT_FALSE(table.ok()) << c.text;
    EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StartsWith(table.status().message(), c.says))
        << table.status();
    EXPECT_FALSE(absl::StrContains(table.status().message(), "tok,"));
  }
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

void Write(const std::string& path, const std::string& text) {
  // Replaced by rename, as a Secret's volume does, so the inode changes.
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp) << text;
  ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0);
}

TEST(TokenFile, TakesAnEditWithoutARestartAndKeepsTheOldTokensOnABadOne) {
  const std::string path = TempPath("tokens_reload.csv");
  Write(path, "old-token,ops,admin\n");
  metrics::Registry registry;
  absl::StatusOr<std::unique_ptr<TokenFile>> file =
      TokenFile::Open(path, &registry);
  ASSERT_TRUE(file.ok()) << file.status();
  TokenFile& tokens = **file;
  EXPECT_FALSE(tokens.Refresh());  // unchanged
  EXPECT_TRUE(tokens.Check("Bearer old-token", v1::ROLE_ADMIN).status.ok());

  Write(path, "new-token,ops,read\n");
  EXPECT_TRUE(tokens.Refresh());
  EXPECT_EQ(tokens.Check("Bearer old-token", v1::ROLE_READ).status.code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(tokens.Check("Bearer new-token", v1::ROLE_READ).status.ok());
  EXPECT_EQ(tokens.Check("Bearer new-token", v1::ROLE_ADMIN).status.code(),
            absl::StatusCode::kPermissionDenied);

  // A half-edited file is refused, and the tokens in force stay.
  Write(path, "new-token,ops\n");
  EXPECT_FALSE(tokens.Refresh());
  EXPECT_FALSE(tokens.Refresh());  // logged once, not read again
  EXPECT_TRUE(tokens.Check("Bearer new-token", v1::ROLE_READ).status.ok());
  // So is a deleted one.
  ASSERT_EQ(unlink(path.c_str()), 0);
  EXPECT_FALSE(tokens.Refresh());
  EXPECT_TRUE(tokens.Check("Bearer new-token", v1::ROLE_READ).status.ok());

  Write(path, "third,ops,worker\n");
  EXPECT_TRUE(tokens.Refresh());
  EXPECT_TRUE(tokens.Check("Bearer third", v1::ROLE_WORKER).status.ok());

  const std::string exposition = registry.Exposition();
  EXPECT_TRUE(absl::StrContains(
      exposition, "hpo_auth_token_reloads_total{result=\"ok\"} 2\n"))
      << exposition;
  EXPECT_TRUE(absl::StrContains(
      exposition, "hpo_auth_token_reloads_total{result=\"rejected\"} 2\n"));
  // Refusals so far: old-token (unknown) and new-token as admin (forbidden).
  EXPECT_TRUE(absl::StrContains(
      exposition, "hpo_auth_failures_total{reason=\"unknown_token\"} 1\n"));
  EXPECT_TRUE(absl::StrContains(
      exposition, "hpo_auth_failures_total{reason=\"forbidden\"} 1\n"));
  EXPECT_TRUE(absl::StrContains(
      exposition, "hpo_auth_failures_total{reason=\"missing\"} 0\n"));
}

TEST(TokenFile, RefusesAMissingOrEmptyFileAtStart) {
  absl::StatusOr<std::unique_ptr<TokenFile>> missing =
      TokenFile::Open(TempPath("no_such_tokens.csv"));
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(absl::StrContains(missing.status().message(),
                                "no_such_tokens.csv: cannot read it"));
  const std::string empty = TempPath("empty_tokens.csv");
  Write(empty, "# nobody yet\n");
  absl::StatusOr<std::unique_ptr<TokenFile>> none = TokenFile::Open(empty);
  ASSERT_FALSE(none.ok());
  EXPECT_TRUE(absl::StrContains(none.status().message(), "lists no token"));
}

}  // namespace
}  // namespace hpo::auth
