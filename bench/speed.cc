// Time per suggestion of hpo's samplers, in-process, with N completed trials
// in the history, in D dimensions (D doubles in [0, 1], values of a shifted
// sphere). One JSON line per (sampler, D, N) on stdout; bench/speed.py runs
// the same grid over gRPC and for Optuna, and merges the three.
//
// Each timed suggestion is then completed and added to the history, as a
// worker's result would be (and as the gRPC and Optuna measurements tell
// theirs): the sampler object lives on between suggestions, as it does in the
// server, so whatever it carries from one call to the next is measured as it
// would help there, against a history that has changed, never against the
// same one again.
//
//   bazel run //bench:speed -- --samplers=tpe,random,sobol
//       --trials=100,1000,5000 --dims=2,10,30
//   bazel run //bench:speed -- --samplers=gp --trials=50,200,500

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "bench/json.h"
#include "core/history.h"
#include "core/search_space.h"
#include "samplers/registry.h"
#include "samplers/sampler.h"

ABSL_FLAG(std::string, samplers, "tpe,random,sobol",
          "Comma-separated sampler names; unregistered ones are reported as "
          "such and skipped.");
ABSL_FLAG(std::string, trials, "100,1000,5000",
          "Completed trials in the history.");
ABSL_FLAG(std::string, dims, "2,10,30", "Numbers of dimensions.");
ABSL_FLAG(int, repeats, 5, "Suggestions timed per point (median reported).");

namespace hpo::bench {
namespace {

std::vector<int> Ints(const std::string& s) {
  std::vector<int> out;
  for (absl::string_view part : absl::StrSplit(s, ',', absl::SkipEmpty())) {
    int x = 0;
    if (!absl::SimpleAtoi(part, &x) || x < 0) {
      std::cerr << "speed: not a count: " << part << std::endl;
      std::exit(2);
    }
    out.push_back(x);
  }
  return out;
}

SearchSpace Box(int dims) {
  std::vector<ParamSpec> params;
  for (int i = 0; i < dims; ++i) {
    ParamSpec p;
    p.name = absl::StrCat("x", i);
    p.kind = ParamKind::kDouble;
    p.low = 0;
    p.high = 1;
    params.push_back(p);
  }
  return SearchSpace(std::move(params));
}

double Sphere(const std::vector<double>& x) {
  double value = 0;
  for (double xi : x) value += (xi - 0.3) * (xi - 0.3);
  return value;
}

// N completed trials at uniform points, valued by a sphere centered at 0.3.
History MakeHistory(int dims, int trials) {
  History history;
  history.goals = {Goal::kMinimize};
  Rng rng(12345);
  for (int n = 0; n < trials; ++n) {
    TrialRecord t;
    t.number = n;
    t.state = TrialState::kCompleted;
    for (int d = 0; d < dims; ++d) t.params.push_back(UnitDraw(rng));
    t.values = {Sphere(t.params)};
    history.trials.push_back(std::move(t));
  }
  return history;
}

int Main() {
  const std::vector<std::string> known = SamplerNames();
  const int repeats = std::max(1, absl::GetFlag(FLAGS_repeats));
  const std::vector<std::string> names =
      absl::StrSplit(absl::GetFlag(FLAGS_samplers), ',', absl::SkipEmpty());
  for (const std::string& name : names) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::cout << "{\"library\":\"hpo\",\"transport\":\"in-process\","
                   "\"sampler\":"
                << JsonQuote(name) << ",\"status\":\"not registered\"}"
                << std::endl;
      continue;
    }
    for (int dims : Ints(absl::GetFlag(FLAGS_dims))) {
      const SearchSpace space = Box(dims);
      for (int trials : Ints(absl::GetFlag(FLAGS_trials))) {
        History history = MakeHistory(dims, trials);
        auto sampler = CreateSampler(name, space, {});
        std::string status = "ok";
        std::vector<double> ms;
        if (!sampler.ok()) {
          status = std::string(sampler.status().message());
        } else {
          for (int r = 0; r < repeats; ++r) {
            std::seed_seq seed{7u, static_cast<uint32_t>(trials + r)};
            Rng rng(seed);
            const auto start = std::chrono::steady_clock::now();
            auto s = (*sampler)->Suggest(space, history, rng);
            const auto end = std::chrono::steady_clock::now();
            if (!s.ok()) {
              status = std::string(s.status().message());
              break;
            }
            ms.push_back(
                std::chrono::duration<double, std::milli>(end - start).count());
            TrialRecord told;
            told.number = static_cast<int64_t>(history.trials.size());
            told.state = TrialState::kCompleted;
            told.params = std::move(s->params);
            told.values = {Sphere(told.params)};
            history.trials.push_back(std::move(told));
          }
        }
        std::sort(ms.begin(), ms.end());
        std::cout << "{\"library\":\"hpo\",\"transport\":\"in-process\","
                     "\"sampler\":"
                  << JsonQuote(name) << ",\"dims\":" << dims
                  << ",\"trials\":" << trials
                  << ",\"status\":" << JsonQuote(status)
                  << ",\"repeats\":" << ms.size() << ",\"ms_median\":"
                  << (ms.empty() ? "null" : JsonNumber(ms[ms.size() / 2]))
                  << ",\"ms_min\":"
                  << (ms.empty() ? "null" : JsonNumber(ms.front())) << "}"
                  << std::endl;
      }
    }
  }
  return 0;
}

}  // namespace
}  // namespace hpo::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return hpo::bench::Main();
}
