// The checked-in OpenAPI document must be the one the build generates from
// hpo.proto: a change to the API that forgets to refresh it fails here.

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "server/rest/openapi/json_writer.h"

namespace hpo::openapi {
namespace {

std::string Runfile(const std::string& path) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  std::ifstream in(std::string(srcdir ? srcdir : ".") + "/" +
                   (workspace ? workspace : "hpo") + "/" + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(OpenApiTest, CheckedInCopyMatchesTheProto) {
  const std::string generated =
      Runfile("server/rest/openapi/hpo.openapi.generated.json");
  const std::string checked_in = Runfile("server/rest/openapi/hpo.openapi.json");
  ASSERT_FALSE(generated.empty());
  EXPECT_TRUE(generated == checked_in)
      << "server/rest/openapi/hpo.openapi.json is stale: run "
         "scripts/update-openapi.sh and commit the result";
}

TEST(OpenApiTest, DocumentsEveryAnnotatedRoute) {
  const std::string doc = Runfile("server/rest/openapi/hpo.openapi.generated.json");
  for (const char* path :
       {"\"/v1/experiments\"", "\"/v1/experiments/{name}\"",
        "\"/v1/experiments/{experiment}/trials:suggest\"",
        "\"/v1/experiments/{experiment}/trials/{trial}\"",
        "\"/v1/experiments/{experiment}/trials/{trial}:report\"",
        "\"/v1/experiments/{name}:stop\"",
        "\"/v1/experiments/{experiment}/best\""}) {
    EXPECT_NE(doc.find(path), std::string::npos) << path;
  }
  // Comments from the .proto become descriptions.
  EXPECT_NE(doc.find("Allocates the next trial of an experiment"),
            std::string::npos);
  // int64 fields are strings in the JSON mapping; enums are their names.
  EXPECT_NE(doc.find("\"format\": \"int64\""), std::string::npos);
  EXPECT_NE(doc.find("\"MAXIMIZE\""), std::string::npos);
  EXPECT_NE(doc.find("\"format\": \"date-time\""), std::string::npos);
}

TEST(JsonWriterTest, KeepsInsertionOrderAndEscapes) {
  Json doc = Json::Object();
  doc["b"] = Json::Integer(1);
  doc["a"]["x"] = Json::String("say \"hi\"\n");
  doc["c"].Push(Json::Bool(true));
  doc["d"] = Json::Array();
  EXPECT_EQ(doc.Dump(),
            "{\n  \"b\": 1,\n  \"a\": {\n    \"x\": \"say \\\"hi\\\"\\n\"\n"
            "  },\n  \"c\": [\n    true\n  ],\n  \"d\": []\n}\n");
}

}  // namespace
}  // namespace hpo::openapi
