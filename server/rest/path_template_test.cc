#include "server/rest/path_template.h"

#include "gtest/gtest.h"

namespace hpo::rest {
namespace {

PathTemplate Parse(const std::string& text) {
  auto t = PathTemplate::Parse(text);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : PathTemplate();
}

TEST(PathTemplateTest, MatchesLiteralsAndVariables) {
  PathTemplate t = Parse("/v1/experiments/{experiment}/trials/{trial}");
  PathTemplate::Bindings b;
  ASSERT_TRUE(t.Match("/v1/experiments/iris/trials/3", &b));
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0],
            std::make_pair(std::string("experiment"), std::string("iris")));
  EXPECT_EQ(b[1], std::make_pair(std::string("trial"), std::string("3")));
  EXPECT_FALSE(t.Match("/v1/experiments/iris/trials", &b));
  EXPECT_FALSE(t.Match("/v1/experiments/iris/trials/3/x", &b));
  EXPECT_FALSE(t.Match("/v1/experiments//trials/3", &b));
  EXPECT_EQ(t.OpenApiPath(), "/v1/experiments/{experiment}/trials/{trial}");
}

TEST(PathTemplateTest, CustomVerbs) {
  PathTemplate t = Parse("/v1/experiments/{experiment}/trials:suggest");
  EXPECT_EQ(t.verb(), "suggest");
  PathTemplate::Bindings b;
  EXPECT_TRUE(t.Match("/v1/experiments/iris/trials:suggest", &b));
  EXPECT_FALSE(t.Match("/v1/experiments/iris/trials", &b));
  EXPECT_FALSE(t.Match("/v1/experiments/iris/trials:report", &b));
  PathTemplate stop = Parse("/v1/experiments/{name}:stop");
  ASSERT_TRUE(stop.Match("/v1/experiments/a-b:stop", &b));
  EXPECT_EQ(b[0].second, "a-b");
  EXPECT_GT(stop.Specificity(), Parse("/v1/experiments/{name}").Specificity());
}

TEST(PathTemplateTest, DecodesSingleSegmentsFully) {
  PathTemplate t = Parse("/v1/experiments/{name}");
  PathTemplate::Bindings b;
  ASSERT_TRUE(t.Match("/v1/experiments/a%20b%2Fc", &b));
  EXPECT_EQ(b[0].second, "a b/c");
  EXPECT_FALSE(t.Match("/v1/experiments/bad%zz", &b));
}

TEST(PathTemplateTest, MultiSegmentVariablesKeepEncodedSlashes) {
  PathTemplate t = Parse("/v1/{name=projects/*/experiments/**}:get");
  PathTemplate::Bindings b;
  ASSERT_TRUE(t.Match("/v1/projects/p/experiments/x/y%2Fz:get", &b));
  EXPECT_EQ(b[0].first, "name");
  EXPECT_EQ(b[0].second, "projects/p/experiments/x/y%2Fz");
  EXPECT_FALSE(t.Match("/v1/projects/p/other/x:get", &b));
  EXPECT_EQ(t.OpenApiPath(), "/v1/{name}:get");
}

TEST(PathTemplateTest, NestedFieldPaths) {
  PathTemplate t = Parse("/v1/{parent.name}/items");
  PathTemplate::Bindings b;
  ASSERT_TRUE(t.Match("/v1/abc/items", &b));
  EXPECT_EQ(b[0].first, "parent.name");
}

TEST(PathTemplateTest, RejectsMalformedTemplates) {
  for (const char* bad : {"v1/x", "/v1/{x", "/v1/{x}/{x}", "/v1/**/x",
                          "/v1/{1x}", "/v1//x", "/v1/x:", "/v1/{a={b}}"}) {
    EXPECT_FALSE(PathTemplate::Parse(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace hpo::rest
