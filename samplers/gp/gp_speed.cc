// Prints milliseconds per suggestion of the gp sampler at 50/200/500
// completed trials in 2/10/30 dimensions (and one case with running trials).
// Build with -c opt: bazel run -c opt //samplers/gp:gp_speed
//
// A timing program, not a test: tests must not assert on time.

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/history.h"
#include "core/search_space.h"
#include "core/settings.h"
#include "samplers/gp/gp_sampler.h"
#include "samplers/sampler.h"

namespace hpo {
namespace {

// A space of `dims` parameters: mostly plain doubles, with a log-scaled one
// and an integer to exercise the transforms.
SearchSpace MakeSpace(int dims) {
  std::vector<ParamSpec> params;
  for (int d = 0; d < dims; ++d) {
    ParamSpec p;
    p.name = "x" + std::to_string(d);
    p.low = 0;
    p.high = 1;
    if (d == 1) {
      p.low = 1e-4;
      p.log = true;
    }
    if (d == 2) {
      p.kind = ParamKind::kInt;
      p.high = 100;
      p.step = 1;
    }
    params.push_back(p);
  }
  return SearchSpace(std::move(params));
}

double Objective(const SearchSpace& space, const std::vector<double>& x) {
  double f = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double u = space.param(i).ToUnit(x[i]);
    f += (u - 0.3) * (u - 0.3) + 0.1 * std::sin(7 * u * (i + 1));
  }
  return f;
}

double MillisecondsPerSuggestion(int trials, int dims, int running,
                                 int repeats) {
  const SearchSpace space = MakeSpace(dims);
  History history;
  history.goals = {Goal::kMinimize};
  Rng rng(12345);
  for (int t = 0; t < trials + running; ++t) {
    TrialRecord trial;
    trial.number = t;
    for (int d = 0; d < dims; ++d) {
      trial.params.push_back(space.param(d).FromUnit(UnitDraw(rng)));
    }
    if (t < trials) {
      trial.state = TrialState::kCompleted;
      trial.values = {Objective(space, trial.params)};
    } else {
      trial.state = TrialState::kRunning;
    }
    history.trials.push_back(std::move(trial));
  }
  Settings settings({}, "algorithm.settings");
  auto sampler = CreateGpSampler(space, settings);
  if (!sampler.ok()) {
    std::fprintf(stderr, "%s\n", sampler.status().ToString().c_str());
    return -1;
  }
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < repeats; ++r) {
    Rng seed(static_cast<uint64_t>(r));
    auto s = (*sampler)->Suggest(space, history, seed);
    if (!s.ok()) return -1;
  }
  const std::chrono::duration<double, std::milli> elapsed =
      std::chrono::steady_clock::now() - start;
  return elapsed.count() / repeats;
}

}  // namespace
}  // namespace hpo

int main() {
  std::printf("ms per suggestion (completed trials x dimensions)\n");
  std::printf("%8s %8s %8s %8s\n", "trials", "2-D", "10-D", "30-D");
  for (int trials : {50, 200, 500}) {
    std::printf("%8d", trials);
    for (int dims : {2, 10, 30}) {
      const int repeats = trials >= 500 ? 3 : 5;
      std::printf(" %8.1f",
                  hpo::MillisecondsPerSuggestion(trials, dims, 0, repeats));
    }
    std::printf("\n");
  }
  std::printf("200 trials, 10-D, 8 running: %.1f ms\n",
              hpo::MillisecondsPerSuggestion(200, 10, 8, 5));
  return 0;
}
