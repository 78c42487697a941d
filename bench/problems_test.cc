// The C++ problems against the shared test vectors (which bench/problems.py
// is checked against too): same spaces, same optima, same values to 1e-9
// (relative above 1).

#include "bench/problems.h"

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "server/experiment_spec.h"

namespace hpo::bench {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

constexpr char kVectors[] = "bench/testdata/problem_vectors.json";

double Tolerance(double value) { return 1e-9 * std::max(1.0, std::abs(value)); }

Struct LoadVectors() {
  std::ifstream in(kVectors);
  std::stringstream text;
  text << in.rdbuf();
  Struct vectors;
  auto status =
      google::protobuf::util::JsonStringToMessage(text.str(), &vectors);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return vectors;
}

TEST(ProblemsTest, EveryProblemHasAValidSpaceAndReachesItsOptimum) {
  ASSERT_FALSE(Problems().empty());
  for (const Problem& p : Problems()) {
    SCOPED_TRACE(p.name);
    const v1::Experiment e = MakeExperiment(p);
    ASSERT_TRUE(ValidateExperiment(e).ok()) << ValidateExperiment(e);
    EXPECT_NEAR(p.evaluate(p.argmin), p.optimum, Tolerance(p.optimum));
  }
}

TEST(ProblemsTest, KnownValues) {
  EXPECT_NEAR(Branin(-3.14159265358979323846, 12.275), kBraninMin, 1e-12);
  EXPECT_NEAR(Branin(9.42478, 2.475), kBraninMin, 1e-9);
  EXPECT_NEAR(Rosenbrock({1, 1, 1}), 0, 1e-15);
  EXPECT_NEAR(Rosenbrock({0, 0}), 1, 1e-15);
  EXPECT_NEAR(Ackley(std::vector<double>(10, 0.0)), 0, 1e-12);
  EXPECT_NEAR(Levy(std::vector<double>(10, 1.0)), 0, 1e-12);
  EXPECT_NEAR(StyblinskiTang({kStyblinskiTangArgmin}), kStyblinskiTangMinPerDim,
              1e-12);
  // The published Hartmann-6 minimum, to the digits usually given.
  EXPECT_NEAR(
      Hartmann6({0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573}),
      -3.32237, 1e-5);
}

// No point of the space does better than the optimum (a coarse check: the
// points the test vectors hold, and a sweep of Branin).
TEST(ProblemsTest, OptimaAreLowerBoundsOnASweep) {
  for (double x0 = -5; x0 <= 10; x0 += 0.05) {
    for (double x1 = 0; x1 <= 15; x1 += 0.05) {
      ASSERT_GE(Branin(x0, x1), kBraninMin - 1e-12) << x0 << " " << x1;
    }
  }
}

TEST(ProblemsTest, MatchesSharedVectors) {
  const Struct vectors = LoadVectors();
  const auto& list = vectors.fields().at("problems").list_value().values();
  ASSERT_EQ(list.size(), static_cast<int>(Problems().size()))
      << "regenerate with run_hpo --write_vectors (and update problems.py)";
  for (const Value& entry : list) {
    const auto& f = entry.struct_value().fields();
    const std::string name = f.at("name").string_value();
    SCOPED_TRACE(name);
    const Problem* p = FindProblem(name);
    ASSERT_NE(p, nullptr);
    EXPECT_NEAR(f.at("optimum").number_value(), p->optimum, 1e-12);

    const auto& params = f.at("parameters").list_value().values();
    ASSERT_EQ(params.size(), static_cast<int>(p->parameters.size()));
    for (int i = 0; i < params.size(); ++i) {
      std::string json;
      ASSERT_TRUE(
          google::protobuf::util::MessageToJsonString(params[i], &json).ok());
      v1::Parameter expected;
      ASSERT_TRUE(
          google::protobuf::util::JsonStringToMessage(json, &expected).ok());
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
          expected, p->parameters[static_cast<size_t>(i)]))
          << "parameter " << i << ": vectors " << expected.ShortDebugString()
          << " vs code "
          << p->parameters[static_cast<size_t>(i)].ShortDebugString();
    }

    for (const Value& point : f.at("points").list_value().values()) {
      const auto& pf = point.struct_value().fields();
      NamedParams named;
      for (const auto& [k, v] : pf.at("params").struct_value().fields()) {
        if (v.kind_case() == Value::kStringValue) {
          named[k] = v.string_value();
        } else {
          named[k] = v.number_value();
        }
      }
      const double expected = pf.at("value").number_value();
      EXPECT_NEAR(p->evaluate(named), expected, Tolerance(expected));
      EXPECT_GE(expected, p->optimum - Tolerance(p->optimum));
    }
  }
}

}  // namespace
}  // namespace hpo::bench
