// Prints how long a TPE suggestion takes, in microseconds of processor time,
// for histories of 100, 1000 and 5000 completed trials over 2, 10 and 30
// parameters, univariate and multivariate, continuous and integer. Not a test:
// build it with `bazel run -c opt //samplers/tpe:tpe_speed`.

#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/history.h"
#include "core/search_space.h"
#include "core/settings.h"
#include "samplers/sampler.h"
#include "samplers/tpe/tpe_sampler.h"

namespace hpo {
namespace {

SearchSpace MakeSpace(int dims, bool integer) {
  std::vector<ParamSpec> params;
  for (int i = 0; i < dims; ++i) {
    ParamSpec p;
    p.name = "x" + std::to_string(i);
    p.kind = integer ? ParamKind::kInt : ParamKind::kDouble;
    p.low = integer ? -50 : -5;
    p.high = integer ? 50 : 5;
    p.step = integer ? 1 : 0;
    params.push_back(p);
  }
  return SearchSpace(std::move(params));
}

History MakeHistory(const SearchSpace& space, int trials) {
  History history;
  history.goals = {Goal::kMinimize};
  Rng rng(7);
  for (int n = 0; n < trials; ++n) {
    TrialRecord t;
    t.number = n;
    t.state = TrialState::kCompleted;
    double sum = 0;
    for (size_t i = 0; i < space.size(); ++i) {
      const double x = space.param(i).FromUnit(UnitDraw(rng));
      t.params.push_back(x);
      sum += x * x;
    }
    t.values = {sum};
    history.trials.push_back(std::move(t));
  }
  return history;
}

double MicrosPerSuggestion(const SearchSpace& space, const History& history,
                           bool multivariate) {
  Settings settings({{"multivariate", multivariate ? "true" : "false"}},
                    "algorithm.settings");
  std::unique_ptr<Sampler> sampler = *CreateTpeSampler(space, settings);
  // Processor time rather than wall time: the number stays meaningful on a
  // machine shared with other work.
  const std::clock_t start = std::clock();
  int calls = 0;
  double elapsed = 0;
  // At least 5 calls and 0.3 s, so that the fast cases are not noise.
  while (calls < 5 || elapsed < 0.3) {
    Rng rng(calls + 1);
    auto x = sampler->Suggest(space, history, rng);
    if (!x.ok()) {
      std::fprintf(stderr, "%s\n", x.status().ToString().c_str());
      return -1;
    }
    ++calls;
    elapsed = static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
  }
  return elapsed * 1e6 / calls;
}

}  // namespace
}  // namespace hpo

int main() {
  std::printf("%-12s %-8s %7s %5s %12s\n", "mode", "params", "trials", "dims",
              "us/suggest");
  for (bool multivariate : {false, true}) {
    for (bool integer : {false, true}) {
      for (int trials : {100, 1000, 5000}) {
        for (int dims : {2, 10, 30}) {
          const hpo::SearchSpace space = hpo::MakeSpace(dims, integer);
          const hpo::History history = hpo::MakeHistory(space, trials);
          std::printf("%-12s %-8s %7d %5d %12.1f\n",
                      multivariate ? "multivariate" : "univariate",
                      integer ? "int" : "double", trials, dims,
                      hpo::MicrosPerSuggestion(space, history, multivariate));
        }
      }
    }
  }
  return 0;
}
