// Time per decision of hpo's early-stopping rules, in-process: how long
// Pruner::ShouldStop takes for one report of a running trial, with N trials
// in the history. bench/pruner_speed.py writes the histories, runs this and
// times Optuna's matching pruners on the same ones.
//
// The history file has one trial per line: "c" (completed, its final value
// its last intermediate value) or "r" (a trial to run), then its values at
// steps 1, 2, ... Each "r" trial joins the history as the running trial,
// reports its values one step at a time, and every report is judged (a stop
// is not obeyed: the decisions are what is timed), then leaves again, so
// every trial is judged against the same N. One pruner object serves them
// all, as one serves an experiment in the server. One JSON line per rule on
// stdout: the median and 90th percentile of the per-report times, and the
// first report's time (a fresh pruner: whatever it caches, it builds then).
//
//   bazel run //bench:pruner_speed -- --history=/tmp/h.txt
//       --rules=median,curve_fitting

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "bench/json.h"
#include "core/history.h"
#include "pruners/registry.h"

ABSL_FLAG(std::string, history, "", "The history file (see above).");
ABSL_FLAG(std::string, rules,
          "median,percentile,successive_halving,hyperband,curve_fitting",
          "Comma-separated rule names.");

namespace hpo::bench {
namespace {

// The settings of bench/early_stopping's arms, for trials of `steps` steps.
std::map<std::string, std::string> SettingsFor(const std::string& rule,
                                               int steps) {
  const std::string t = std::to_string(steps);
  if (rule == "median")
    return {{"n_startup_trials", "5"}, {"n_warmup_steps", "5"}};
  if (rule == "percentile") {
    return {{"percentile", "25"},
            {"n_startup_trials", "5"},
            {"n_warmup_steps", "5"}};
  }
  if (rule == "hyperband") {
    return {
        {"min_resource", "1"}, {"max_resource", t}, {"reduction_factor", "3"}};
  }
  if (rule == "curve_fitting") return {{"epoch_num", t}};
  return {};
}

struct Trials {
  std::vector<std::vector<double>> completed;
  std::vector<std::vector<double>> running;
};

Trials Read(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::cerr << "pruner_speed: cannot read " << path << std::endl;
    std::exit(2);
  }
  Trials trials;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> parts =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (parts.empty()) continue;
    std::vector<double> values;
    for (size_t i = 1; i < parts.size(); ++i) {
      double v = 0;
      if (!absl::SimpleAtod(parts[i], &v)) {
        std::cerr << "pruner_speed: not a number: " << parts[i] << std::endl;
        std::exit(2);
      }
      values.push_back(v);
    }
    (parts[0] == "c" ? trials.completed : trials.running)
        .push_back(std::move(values));
  }
  return trials;
}

History MakeHistory(const Trials& trials) {
  History history;
  history.goals = {Goal::kMinimize};
  for (const std::vector<double>& values : trials.completed) {
    TrialRecord t;
    t.number = static_cast<int64_t>(history.trials.size());
    t.state = TrialState::kCompleted;
    for (size_t s = 0; s < values.size(); ++s) {
      t.intermediate.emplace_back(static_cast<int64_t>(s + 1), values[s]);
    }
    t.values = {values.back()};
    history.trials.push_back(std::move(t));
  }
  return history;
}

double Micros(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

int Main() {
  const Trials trials = Read(absl::GetFlag(FLAGS_history));
  if (trials.completed.empty() || trials.running.empty()) {
    std::cerr << "pruner_speed: the history needs completed and running trials"
              << std::endl;
    return 2;
  }
  const int steps = static_cast<int>(trials.completed[0].size());
  for (absl::string_view rule :
       absl::StrSplit(absl::GetFlag(FLAGS_rules), ',', absl::SkipEmpty())) {
    const std::string name(rule);
    auto pruner = CreatePruner(name, SettingsFor(name, steps));
    if (!pruner.ok()) {
      std::cout << "{\"library\":\"hpo\",\"rule\":" << JsonQuote(name)
                << ",\"status\":" << JsonQuote(pruner.status().ToString())
                << "}" << std::endl;
      continue;
    }
    History history = MakeHistory(trials);
    std::vector<double> micros;
    double first = -1;
    int stops = 0;
    for (const std::vector<double>& values : trials.running) {
      TrialRecord t;
      t.number = static_cast<int64_t>(history.trials.size());
      t.state = TrialState::kRunning;
      history.trials.push_back(std::move(t));
      const size_t index = history.trials.size() - 1;
      for (size_t s = 0; s < values.size(); ++s) {
        const int64_t step = static_cast<int64_t>(s + 1);
        history.trials[index].intermediate.emplace_back(step, values[s]);
        const auto start = std::chrono::steady_clock::now();
        const PruneDecision d = (*pruner)->ShouldStop(history, index, step);
        const double us = Micros(std::chrono::steady_clock::now() - start);
        if (first < 0) first = us;
        micros.push_back(us);
        stops += d.stop;
      }
      history.trials.pop_back();
    }
    std::sort(micros.begin(), micros.end());
    const auto at = [&](double q) {
      return micros[static_cast<size_t>(q * (micros.size() - 1))];
    };
    std::cout << "{\"library\":\"hpo\",\"rule\":" << JsonQuote(name)
              << ",\"trials\":" << trials.completed.size()
              << ",\"steps\":" << steps << ",\"reports\":" << micros.size()
              << ",\"stop_decisions\":" << stops
              << ",\"us_median\":" << JsonNumber(at(0.5))
              << ",\"us_p90\":" << JsonNumber(at(0.9))
              << ",\"us_first\":" << JsonNumber(first) << "}" << std::endl;
  }
  return 0;
}

}  // namespace
}  // namespace hpo::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return hpo::bench::Main();
}
