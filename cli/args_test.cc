#include "cli/args.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace hpo::cli {
namespace {

// argv for `words`, with argv[0] "hpoctl".
class Argv {
 public:
  explicit Argv(std::vector<std::string> words) : words_(std::move(words)) {
    words_.insert(words_.begin(), "hpoctl");
    for (const auto& w : words_) ptrs_.push_back(w.c_str());
  }
  int argc() const { return static_cast<int>(ptrs_.size()); }
  const char* const* argv() const { return ptrs_.data(); }

 private:
  std::vector<std::string> words_;
  std::vector<const char*> ptrs_;
};

// Clears the variables ParseCommandLine reads, for the test's duration.
class ArgsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"HPO_SERVER", "HPO_TOKEN", "HPO_TLS_CA",
                          "HPO_TLS_CERT", "HPO_TLS_KEY"}) {
      ::unsetenv(v);
    }
  }
};

TEST_F(ArgsTest, ParsesEveryFlagForm) {
  Argv a({"x", "--name", "exp", "--param=lr=double:0:1", "-f", "spec.yaml",
          "--param", "n=int:1:4", "-", "y"});
  Args args = ParseArgs(a.argc(), a.argv(), 2);
  EXPECT_EQ(args.positional, (std::vector<std::string>{"-", "y"}));
  EXPECT_EQ(args.Get("name"), "exp");
  EXPECT_EQ(args.Get("f"), "spec.yaml");
  // Repeated flags keep every value in order; Get is the last.
  EXPECT_EQ(args.GetAll("param"),
            (std::vector<std::string>{"lr=double:0:1", "n=int:1:4"}));
  EXPECT_EQ(args.Get("param"), "n=int:1:4");
  EXPECT_FALSE(args.Has("x"));
}

TEST_F(ArgsTest, SnakeCaseSpellingsAreAliases) {
  const Argv a({"--tls_ca", "ca.pem", "run", "--max_trials", "5",
                "--metrics-file=m.txt", "--trial_timeout=9"});
  const CommandLine line = ParseCommandLine(a.argc(), a.argv());
  EXPECT_EQ(line.command, "run");
  EXPECT_EQ(line.security.ca.value, "ca.pem");
  EXPECT_EQ(line.args.Get("max-trials"), "5");
  EXPECT_EQ(line.args.Get("metrics-file"), "m.txt");
  EXPECT_EQ(line.args.Get("trial-timeout"), "9");
  EXPECT_FALSE(line.args.Has("max_trials"));
}

TEST_F(ArgsTest, MissingFlagsAndTrailingFlag) {
  Argv a({"list", "--verbose"});
  Args args = ParseArgs(a.argc(), a.argv(), 2);
  EXPECT_TRUE(args.Has("verbose"));
  EXPECT_EQ(args.Get("verbose", "default"), "");
  EXPECT_EQ(args.Get("absent", "default"), "default");
  EXPECT_TRUE(args.GetAll("absent").empty());
}

TEST_F(ArgsTest, ServerDefaultsToTheVariableThenLocalhost) {
  Argv a({"list"});
  EXPECT_EQ(ParseCommandLine(a.argc(), a.argv()).server, "localhost:50051");
  ::setenv("HPO_SERVER", "env:1", 1);
  CommandLine line = ParseCommandLine(a.argc(), a.argv());
  EXPECT_EQ(line.outcome, CommandLine::kCommand);
  EXPECT_EQ(line.server, "env:1");
  EXPECT_EQ(line.command, "list");
}

TEST_F(ArgsTest, ServerAndSecurityBeforeOrAfterTheCommand) {
  ::setenv("HPO_TOKEN", "from-env", 1);
  Argv a({"--server", "before:1", "--token=t1", "--tls-ca", "ca.pem", "get",
          "exp", "--server=after:2", "--tls_cert", "c.pem", "--tls-key",
          "k.pem"});
  CommandLine line = ParseCommandLine(a.argc(), a.argv());
  ASSERT_EQ(line.outcome, CommandLine::kCommand);
  EXPECT_EQ(line.command, "get");
  EXPECT_EQ(line.args.positional, (std::vector<std::string>{"exp"}));
  EXPECT_EQ(line.server, "after:2");
  EXPECT_EQ(line.security.token.value, "t1");
  EXPECT_EQ(line.security.token.from, "--token");
  EXPECT_EQ(line.security.ca.value, "ca.pem");
  EXPECT_EQ(line.security.ca.from, "--tls-ca");
  EXPECT_EQ(line.security.cert.value, "c.pem");
  EXPECT_EQ(line.security.key.value, "k.pem");
}

TEST_F(ArgsTest, HelpAndMissingCommand) {
  Argv help({"--server", "x:1", "--help", "list"});
  EXPECT_EQ(ParseCommandLine(help.argc(), help.argv()).outcome,
            CommandLine::kHelp);
  Argv h({"-h"});
  EXPECT_EQ(ParseCommandLine(h.argc(), h.argv()).outcome, CommandLine::kHelp);
  Argv none({"--server", "x:1"});
  EXPECT_EQ(ParseCommandLine(none.argc(), none.argv()).outcome,
            CommandLine::kUsage);
  Argv empty({});
  EXPECT_EQ(ParseCommandLine(empty.argc(), empty.argv()).outcome,
            CommandLine::kUsage);
}

TEST_F(ArgsTest, AnyOtherFlagBeforeTheCommandIsTheCommand) {
  // Only --server and the security flags come before the command: anything
  // else is taken as the command, which the caller reports as unknown.
  Argv a({"--name", "exp", "list"});
  CommandLine line = ParseCommandLine(a.argc(), a.argv());
  EXPECT_EQ(line.command, "--name");
  Argv f({"-f", "spec.yaml"});
  EXPECT_EQ(ParseCommandLine(f.argc(), f.argv()).command, "-f");
}

}  // namespace
}  // namespace hpo::cli
