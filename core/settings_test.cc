#include "core/settings.h"

#include <map>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hpo {
namespace {

using ::testing::HasSubstr;

Settings Make(std::map<std::string, std::string> values) {
  return Settings(std::move(values), "algorithm.settings");
}

TEST(SettingsTest, GetIntParses) {
  Settings s = Make({{"a", "42"}, {"b", " -7 "}, {"c", "+3"}});
  EXPECT_EQ(*s.GetInt("a", 0), 42);
  EXPECT_EQ(*s.GetInt("b", 0), -7);
  EXPECT_EQ(*s.GetInt("c", 0), 3);
  EXPECT_EQ(*s.GetInt("missing", 9), 9);
}

TEST(SettingsTest, GetIntErrorsNameTheSetting) {
  Settings s =
      Make({{"n", "4.5"}, {"big", "99999999999999999999"}, {"word", "ten"}});
  const absl::Status fraction = s.GetInt("n", 0).status();
  EXPECT_EQ(fraction.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(fraction.message(),
            "algorithm.settings.n: must be an integer, got \"4.5\"");
  EXPECT_THAT(s.GetInt("big", 0).status().message(),
              HasSubstr("algorithm.settings.big: must be an integer"));
  EXPECT_THAT(s.GetInt("word", 0).status().message(),
              HasSubstr("algorithm.settings.word: must be an integer"));
}

TEST(SettingsTest, GetDoubleParses) {
  Settings s = Make({{"a", "0.5"}, {"b", "1e-3"}, {"c", " 7 "}});
  EXPECT_EQ(*s.GetDouble("a", 0), 0.5);
  EXPECT_EQ(*s.GetDouble("b", 0), 1e-3);
  EXPECT_EQ(*s.GetDouble("c", 0), 7);
  EXPECT_EQ(*s.GetDouble("missing", 2.5), 2.5);
}

TEST(SettingsTest, GetDoubleRefusesNonFiniteAndJunk) {
  Settings s = Make({{"nan", "nan"}, {"inf", "inf"}, {"junk", "0.5x"}});
  for (const char* key : {"nan", "inf", "junk"}) {
    const absl::Status status = s.GetDouble(key, 0).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << key;
    EXPECT_THAT(status.message(), HasSubstr(std::string("algorithm.settings.") +
                                            key + ": must be a finite number"));
  }
}

TEST(SettingsTest, GetBoolParses) {
  Settings s = Make({{"a", "true"}, {"b", "False"}, {"c", "1"}, {"d", "0"}});
  EXPECT_TRUE(*s.GetBool("a", false));
  EXPECT_FALSE(*s.GetBool("b", true));
  EXPECT_TRUE(*s.GetBool("c", false));
  EXPECT_FALSE(*s.GetBool("d", true));
  EXPECT_TRUE(*s.GetBool("missing", true));
}

TEST(SettingsTest, GetBoolError) {
  Settings s = Make({{"flag", "maybe"}});
  const absl::Status status = s.GetBool("flag", false).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "algorithm.settings.flag: must be true or false, got \"maybe\"");
}

TEST(SettingsTest, GetStringIsVerbatim) {
  Settings s = Make({{"s", " as is "}});
  EXPECT_EQ(*s.GetString("s", ""), " as is ");
  EXPECT_EQ(*s.GetString("missing", "dflt"), "dflt");
}

TEST(SettingsTest, CheckAllReadPassesWhenEverythingWasRead) {
  Settings s = Make({{"a", "1"}, {"b", "x"}});
  ASSERT_TRUE(s.GetInt("a", 0).ok());
  ASSERT_TRUE(s.GetString("b", "").ok());
  EXPECT_TRUE(s.CheckAllRead("tpe").ok());
  EXPECT_TRUE(Make({}).CheckAllRead("tpe").ok());
}

TEST(SettingsTest, CheckAllReadNamesTheUnreadSetting) {
  Settings s = Make({{"n_startup", "10"}, {"gama", "0.2"}});
  ASSERT_TRUE(s.GetInt("n_startup", 0).ok());
  ASSERT_TRUE(s.GetDouble("gamma", 0.25).ok());  // Asked for, though not given.
  const absl::Status status = s.CheckAllRead("tpe");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "algorithm.settings.gama: unknown setting for tpe (known: gamma, "
            "n_startup)");
}

TEST(SettingsTest, CheckAllReadWithNothingKnown) {
  Settings s = Make({{"typo", "1"}});
  EXPECT_EQ(
      s.CheckAllRead("random").message(),
      "algorithm.settings.typo: unknown setting for random (known: none)");
}

TEST(SettingsTest, HasDoesNotCountAsRead) {
  Settings s = Make({{"a", "1"}});
  EXPECT_TRUE(s.Has("a"));
  EXPECT_FALSE(s.Has("b"));
  EXPECT_FALSE(s.CheckAllRead("x").ok());
}

TEST(SettingsTest, AMalformedValueStillCountsAsRead) {
  // The error the caller reports is the malformed value, not "unknown setting".
  Settings s = Make({{"a", "zz"}});
  EXPECT_FALSE(s.GetInt("a", 0).ok());
  EXPECT_TRUE(s.CheckAllRead("x").ok());
}

TEST(SettingsTest, Invalid) {
  const Settings s = Make({});
  const absl::Status status = s.Invalid("k", "is wrong");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "algorithm.settings.k: is wrong");
}

TEST(SettingsTest, ScopedTakesThePrefixedSettingsAndNamesThemInFull) {
  Settings s =
      Make({{"gp.n_candidates", "x"}, {"gp.kappa", "2"}, {"seed", "1"}});
  Settings gp = s.Scoped("gp");
  EXPECT_TRUE(gp.Has("kappa"));
  EXPECT_FALSE(gp.Has("seed"));
  EXPECT_EQ(
      gp.GetInt("n_candidates", 0).status().message(),
      "algorithm.settings.gp.n_candidates: must be an integer, got \"x\"");
  // The scoped ones count as read in the parent; the child checks its own.
  EXPECT_EQ(s.CheckAllRead("auto").message(),
            "algorithm.settings.seed: unknown setting for auto (known: none)");
  EXPECT_EQ(gp.CheckAllRead("gp").message(),
            "algorithm.settings.gp.kappa: unknown setting for gp (known: "
            "n_candidates)");
}

TEST(SettingsTest, ScopedCopiesSharedSettingsUnlessOverridden) {
  Settings s = Make({{"seed", "1"}, {"tpe.seed", "2"}, {"other", "x"}});
  Settings gp = s.Scoped("gp", {"seed"});
  Settings tpe = s.Scoped("tpe", {"seed"});
  EXPECT_EQ(*gp.GetInt("seed", 0), 1);
  EXPECT_EQ(*tpe.GetInt("seed", 0), 2);
  EXPECT_EQ(s.CheckAllRead("auto").message(),
            "algorithm.settings.other: unknown setting for auto (known: seed)");
}

TEST(SettingsTest, AliasReadsWhicheverIsGiven) {
  Settings s({{"b", "7"}}, "early_stopping.settings");
  absl::StatusOr<Aliased<int64_t>> v = s.GetIntAliased({"a", "b"}, 3);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->value, 7);
  EXPECT_EQ(v->key, "b");
  EXPECT_TRUE(v->given);
  EXPECT_TRUE(s.CheckAllRead("x").ok());

  Settings none({}, "early_stopping.settings");
  v = none.GetIntAliased({"a", "b"}, 3);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->value, 3);
  EXPECT_EQ(v->key, "a");
  EXPECT_FALSE(v->given);
}

TEST(SettingsTest, AliasBothGivenIsAnError) {
  Settings s({{"a", "1"}, {"b", "2"}}, "early_stopping.settings");
  absl::StatusOr<Aliased<double>> v = s.GetDoubleAliased({"a", "b"}, 0);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(v.status().message(),
              HasSubstr("early_stopping.settings.b: is an alias of a"));
}

TEST(SettingsTest, AliasMalformedValueNamesItsKey) {
  Settings s({{"b", "x"}}, "early_stopping.settings");
  absl::StatusOr<Aliased<int64_t>> v = s.GetIntAliased({"a", "b"}, 0);
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("early_stopping.settings.b:"));
}

TEST(SettingsTest, OptimizeModeAcceptsEitherGoalInAnyCase) {
  for (const char* mode : {"maximize", "Minimize", "MAXIMIZE"}) {
    Settings s({{"optimize_mode", mode}}, "early_stopping.settings");
    EXPECT_TRUE(s.CheckOptimizeMode().ok()) << mode;
  }
  Settings bad({{"optimize_mode", "sideways"}}, "early_stopping.settings");
  const absl::Status st = bad.CheckOptimizeMode();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(),
              HasSubstr("early_stopping.settings.optimize_mode: must be"));
}

TEST(SettingsTest, BoundedGettersCheckTheirBounds) {
  Settings s = Make({{"a", "0"}, {"b", "5"}, {"c", "0.5"}, {"d", "2.5"}});
  EXPECT_EQ(*s.GetIntAtLeast("a", 9, 0), 0);
  EXPECT_EQ(*s.GetIntInRange("b", 9, 1, 5), 5);
  EXPECT_EQ(*s.GetDoubleInRange("c", 9, 0, 1), 0.5);
  EXPECT_EQ(*s.GetDoubleAtLeast("d", 9, 2.5), 2.5);
  // Fallbacks are not checked: they are the code's, not the user's.
  EXPECT_EQ(*s.GetIntAtLeast("unset", -1, 0), -1);
  EXPECT_TRUE(s.CheckAllRead("x").ok());

  EXPECT_EQ(s.GetIntAtLeast("a", 9, 1).status().message(),
            "algorithm.settings.a: must be >= 1, got 0");
  EXPECT_EQ(s.GetIntInRange("b", 9, 1, 4, "the candidates").status().message(),
            "algorithm.settings.b: must be in [1, 4] (the candidates), got 5");
  EXPECT_EQ(s.GetDoubleInRange("d", 9, 0, 1).status().message(),
            "algorithm.settings.d: must be in [0, 1], got 2.5");
  EXPECT_EQ(s.GetDoubleAtLeast("c", 9, 1, "a share").status().message(),
            "algorithm.settings.c: must be >= 1 (a share), got 0.5");
  EXPECT_EQ(s.GetDoubleAtLeast("c", 9, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A value that does not parse is that error, not a bounds error.
  Settings junk = Make({{"a", "x"}});
  EXPECT_THAT(junk.GetIntAtLeast("a", 0, 0).status().message(),
              HasSubstr("must be an integer"));
}

}  // namespace
}  // namespace hpo
