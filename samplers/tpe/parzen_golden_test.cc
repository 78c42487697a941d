// Pins ParzenEstimator's log densities bit for bit: values recorded from the
// implementation before its speed work (parzen_golden_data.inc) for
// estimators of every layout (one axis, several continuous ones, with
// categorical and binned axes, no magic clip, prior weight 0) and sizes
// around the block size. Suggestions depend on these only through their
// ratios' argmax, so this is a stricter check than tpe_golden_test.
//
// To record new values (after an intended change of behaviour):
//   PARZEN_GOLDEN_PRINT=1 bazel-bin/samplers/tpe/parzen_golden_test
// with its standard output, less gtest's lines, as parzen_golden_data.inc.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "core/search_space.h"
#include "gtest/gtest.h"
#include "samplers/sampler.h"
#include "samplers/testing/sampler_test_util.h"
#include "samplers/tpe/parzen_estimator.h"

namespace hpo {
namespace tpe_internal {
namespace {

using ::hpo::sampler_testing::CategoricalParam;
using ::hpo::sampler_testing::DoubleParam;
using ::hpo::sampler_testing::IntParam;

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Golden {
  const char* name;
  std::vector<double> log_density;
};

const std::vector<Golden>& GoldenValues() {
  static const auto* golden = new std::vector<Golden>{
#include "samplers/tpe/parzen_golden_data.inc"
  };
  return *golden;
}

ParamSpec Continuous(double low, double high, bool log = false) {
  return DoubleParam("x", low, high, log);
}

ParamSpec Integer(double low, double high) {
  return IntParam("x", low, high, /*log=*/false, /*step=*/1);
}

struct Config {
  std::string name;
  std::vector<ParamSpec> params;
  int n;
  EstimatorOptions options;
  // Observations crowd into [0.2, 0.4] on each axis, with repeats.
  bool clustered;
};

std::vector<Config> Configs() {
  std::vector<Config> configs;
  const std::vector<int> sizes = {0, 1, 7, 8, 30, 1000};
  EstimatorOptions plain;
  EstimatorOptions no_clip;
  no_clip.consider_magic_clip = false;
  no_clip.consider_endpoints = true;
  EstimatorOptions no_prior;
  no_prior.prior_weight = 0;
  EstimatorOptions heavy_prior;
  heavy_prior.prior_weight = 3;
  struct Layout {
    std::string name;
    std::vector<ParamSpec> params;
  };
  const std::vector<ParamSpec> ten(10, Continuous(0, 1));
  const std::vector<Layout> layouts = {
      {"c1", {Continuous(-3, 5)}},
      {"i1", {Integer(0, 40)}},
      {"c2", {Continuous(0, 1), Continuous(1e-4, 1, true)}},
      {"c10", ten},
      {"cat_first",
       {CategoricalParam("c", {"0", "1", "2"}), Continuous(0, 1),
        Continuous(-1, 1)}},
      {"cat_mid",
       {Continuous(0, 1), CategoricalParam("c", {"0", "1", "2", "3"}),
        Continuous(0, 2)}},
      {"binned", {Continuous(0, 1), Integer(-5, 5), Continuous(0, 1)}},
      {"cat_c5",
       {Continuous(0, 1), Continuous(-2, 2),
        CategoricalParam("c", {"0", "1", "2"}), Continuous(0, 1),
        Continuous(1e-3, 10, true), Continuous(0, 1),
        CategoricalParam("c", {"0", "1"})}},
      {"c30", std::vector<ParamSpec>(30, Continuous(0, 1))},
  };
  for (const Layout& layout : layouts) {
    for (int n : sizes) {
      for (bool clustered : {false, true}) {
        const std::string base = layout.name + "/" + std::to_string(n) +
                                 (clustered ? "/clustered" : "/spread");
        configs.push_back({base, layout.params, n, plain, clustered});
        if (n == 1000) {
          configs.push_back(
              {base + "/no_clip", layout.params, n, no_clip, clustered});
          configs.push_back(
              {base + "/no_prior", layout.params, n, no_prior, clustered});
          configs.push_back({base + "/heavy_prior", layout.params, n,
                             heavy_prior, clustered});
        }
      }
    }
  }
  return configs;
}

// Log densities of 8 candidates drawn from an estimator fitted to a few good
// points, under an estimator fitted to `n` others (as TPE's l and g).
std::vector<double> Evaluate(const Config& c, uint64_t seed) {
  std::vector<Axis> axes;
  for (const ParamSpec& p : c.params) axes.emplace_back(p, false);
  std::vector<const Axis*> pointers;
  for (const Axis& a : axes) pointers.push_back(&a);
  Rng rng(seed);
  auto draw = [&](int count, bool clustered) {
    std::vector<double> obs;
    for (int j = 0; j < count; ++j) {
      for (const Axis& a : axes) {
        double u = UnitDraw(rng);
        if (clustered) {
          u = j % 5 == 4 ? 0.3 : 0.2 + 0.2 * u;
          if (j % 7 == 6) u = 0.25;  // repeats
        }
        obs.push_back(a.Observe(a.spec().FromUnit(u)));
        if (std::isnan(obs.back())) obs.back() = a.Observe(a.spec().low);
      }
    }
    return obs;
  };
  const std::vector<double> good = draw(std::min(c.n, 12) + 2, c.clustered);
  const std::vector<double> rest = draw(c.n, c.clustered);
  const ParzenEstimator l(pointers, good, c.options);
  const ParzenEstimator g(pointers, rest, c.options);
  const Candidates candidates = l.Sample(8, rng);
  const Eigen::ArrayXd lg = g.LogDensity(candidates);
  const Eigen::ArrayXd ll = l.LogDensity(candidates);
  std::vector<double> out(lg.data(), lg.data() + lg.size());
  out.insert(out.end(), ll.data(), ll.data() + ll.size());
  return out;
}

void Print(double v) {
  if (v == -kInf) {
    std::printf("-kInf");
  } else {
    std::printf("%.17g", v);
  }
}

TEST(ParzenGoldenTest, LogDensitiesAreUnchanged) {
  const std::vector<Config> configs = Configs();
  if (std::getenv("PARZEN_GOLDEN_PRINT") != nullptr) {
    for (size_t k = 0; k < configs.size(); ++k) {
      const std::vector<double> v = Evaluate(configs[k], 1000 + k);
      std::printf("{\"%s\", {", configs[k].name.c_str());
      for (size_t i = 0; i < v.size(); ++i) {
        if (i) std::printf(", ");
        Print(v[i]);
      }
      std::printf("}},\n");
    }
    return;
  }
  const std::vector<Golden>& golden = GoldenValues();
  ASSERT_EQ(configs.size(), golden.size());
  for (size_t k = 0; k < configs.size(); ++k) {
    ASSERT_EQ(configs[k].name, golden[k].name);
    const std::vector<double> v = Evaluate(configs[k], 1000 + k);
    ASSERT_EQ(v.size(), golden[k].log_density.size()) << configs[k].name;
    for (size_t i = 0; i < v.size(); ++i) {
      // Bit for bit when recorded and checked on one machine; the tolerance
      // only allows another CPU's libm variant to differ in the last bits.
      const double want = golden[k].log_density[i];
      if (std::isinf(want)) {
        EXPECT_EQ(v[i], want) << configs[k].name << " [" << i << "]";
      } else {
        EXPECT_NEAR(v[i], want, 1e-12 * std::max(1.0, std::abs(want)))
            << configs[k].name << " [" << i << "]";
      }
    }
  }
}

}  // namespace
}  // namespace tpe_internal
}  // namespace hpo
