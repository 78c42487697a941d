#include "cli/trial_command.h"

#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace hpo::cli {
namespace {

v1::Trial Params(const std::map<std::string, std::string>& text,
                 const std::map<std::string, double>& numbers) {
  v1::Trial t;
  for (const auto& [k, v] : text) {
    (*t.mutable_parameters())[k].set_string_value(v);
  }
  for (const auto& [k, v] : numbers) {
    (*t.mutable_parameters())[k].set_number_value(v);
  }
  return t;
}

TEST(SubstituteTest, BothSyntaxesEveryTime) {
  const v1::Trial t = Params({{"opt", "adam"}}, {{"lr", 0.01}});
  EXPECT_EQ(Substitute("train --lr=${trialParameters.lr} --opt=${opt} "
                       "--again=${lr} ${HOME} ${unknown}",
                       t, {}),
            "train --lr=0.01 --opt=adam --again=0.01 ${HOME} ${unknown}");
}

TEST(SubstituteTest, LongestNameFirst) {
  const v1::Trial t = Params({}, {{"lr", 0.1}, {"lr_decay", 0.9}});
  EXPECT_EQ(Substitute("${lr_decay} ${lr} ${trialParameters.lr_decay}", t, {}),
            "0.9 0.1 0.9");
}

TEST(SubstituteTest, KatibAliases) {
  const v1::Trial t = Params({}, {{"lr", 0.5}});
  EXPECT_EQ(Substitute("--lr=${trialParameters.learningRate} ${missing}", t,
                       {{"learningRate", "lr"}, {"missing", "nope"}}),
            "--lr=0.5 ${missing}");
}

TEST(ParamEnvNameTest, UpperCaseAndUnderscores) {
  EXPECT_EQ(ParamEnvName("learning-rate.v2"), "LEARNING_RATE_V2");
  EXPECT_EQ(ParamEnvName("lr"), "LR");
  EXPECT_EQ(ParamEnvName(""), "");
}

TEST(IsEnvNameTest, OnlyValidVariableNames) {
  EXPECT_TRUE(IsEnvName("lr"));
  EXPECT_TRUE(IsEnvName("_x9"));
  EXPECT_FALSE(IsEnvName("9x"));
  EXPECT_FALSE(IsEnvName("learning-rate"));
  EXPECT_FALSE(IsEnvName(""));
}

TEST(UnknownTemplateNamesTest, NamesNeitherParametersNorAliases) {
  v1::Experiment e;
  e.add_parameters()->set_name("lr");
  EXPECT_EQ(UnknownTemplateNames("${trialParameters.lr} "
                                 "${trialParameters.learningRate} "
                                 "${trialParameters.epochs} "
                                 "${trialParameters.epochs} ${other} "
                                 "${trialParameters.open",
                                 e, {{"learningRate", "lr"}}),
            (std::vector<std::string>{"epochs"}));
  EXPECT_TRUE(UnknownTemplateNames("${lr}", e, {}).empty());
}

}  // namespace
}  // namespace hpo::cli
