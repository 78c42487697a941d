// Runs hpo's samplers in-process on the benchmark's problems and writes one
// JSON trace per run (bench/README.md describes the format).
//
// Each run does what the server does for an experiment with parallel_trials 1:
// one sampler built from the registry for the experiment's compiled search
// space, and for trial number n a std::mt19937_64 seeded as with
// std::seed_seq{seed, n} (TrialRng), a Suggest over the history of the trials
// so far, the evaluation, and the trial appended to the history as completed.
// The same seed gives the same trials as the real server (bench/README.md shows
// how to check that over gRPC).
//
//   run_hpo --problems=branin,levy10 --samplers=all --seeds=0-9
//       --budgets=50,100,200 --out_dir=bench/results/traces
//   run_hpo --list                       # samplers and problems, as JSON
//   run_hpo --write_vectors=bench/testdata/problem_vectors.json

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "bench/json.h"
#include "bench/problems.h"
#include "core/history.h"
#include "core/search_space.h"
#include "google/protobuf/util/json_util.h"
#include "samplers/registry.h"
#include "samplers/sampler.h"
#include "samplers/trial_rng.h"
#include "server/experiment_spec.h"

ABSL_FLAG(std::string, problems, "all",
          "Comma-separated problem names, or \"all\".");
ABSL_FLAG(
    std::string, samplers, "all",
    "Comma-separated sampler names, or \"all\" for every registered one.");
ABSL_FLAG(std::string, seeds, "0-9",
          "Seeds: a comma-separated list of numbers and ranges, e.g. 0-4,10.");
ABSL_FLAG(std::string, budgets, "50",
          "Comma-separated trial budgets. A sampler that does not depend on "
          "the budget runs once, at the largest; its trace's prefixes are the "
          "smaller budgets' runs.");
ABSL_FLAG(std::string, out_dir, "",
          "Where to write <problem>__hpo-<sampler>.jsonl (one line per run).");
ABSL_FLAG(std::string, settings, "",
          "Sampler settings: sampler:key=value, separated by ';', e.g. "
          "\"grid:grid_points=5;gp:acquisition=ei\".");
ABSL_FLAG(bool, keep_params, false, "Also write every trial's parameters.");
ABSL_FLAG(bool, list, false,
          "Print the registered samplers and the problems as JSON, and exit.");
ABSL_FLAG(std::string, write_vectors, "",
          "Write the problems' test vectors (spaces, optima, values at fixed "
          "points) to this file, and exit.");
ABSL_FLAG(bool, quiet, false, "No progress lines on stderr.");

namespace hpo::bench {
namespace {

using Clock = std::chrono::steady_clock;
using SettingsMap = std::map<std::string, std::string>;

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << "run_hpo: " << message << std::endl;
  std::exit(2);
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  for (absl::string_view part :
       absl::StrSplit(s, ',', absl::SkipWhitespace())) {
    out.emplace_back(absl::StripAsciiWhitespace(part));
  }
  return out;
}

std::vector<uint32_t> ParseSeeds(const std::string& s) {
  std::vector<uint32_t> seeds;
  for (const std::string& part : SplitList(s)) {
    std::vector<std::string> ends = absl::StrSplit(part, '-');
    uint32_t lo = 0, hi = 0;
    if (ends.size() == 1 && absl::SimpleAtoi(ends[0], &lo)) {
      seeds.push_back(lo);
    } else if (ends.size() == 2 && absl::SimpleAtoi(ends[0], &lo) &&
               absl::SimpleAtoi(ends[1], &hi) && lo <= hi) {
      for (uint32_t x = lo; x <= hi; ++x) seeds.push_back(x);
    } else {
      Fail(absl::StrCat("--seeds: cannot read \"", part, "\""));
    }
  }
  if (seeds.empty()) Fail("--seeds: no seed given");
  return seeds;
}

std::vector<int> ParseBudgets(const std::string& s) {
  std::vector<int> budgets;
  for (const std::string& part : SplitList(s)) {
    int b = 0;
    if (!absl::SimpleAtoi(part, &b) || b < 1) {
      Fail(absl::StrCat("--budgets: not a positive integer: \"", part, "\""));
    }
    budgets.push_back(b);
  }
  if (budgets.empty()) Fail("--budgets: no budget given");
  std::sort(budgets.begin(), budgets.end());
  budgets.erase(std::unique(budgets.begin(), budgets.end()), budgets.end());
  return budgets;
}

std::map<std::string, SettingsMap> ParseSettings(const std::string& s) {
  std::map<std::string, SettingsMap> out;
  for (absl::string_view item :
       absl::StrSplit(s, ';', absl::SkipWhitespace())) {
    std::pair<std::string, std::string> sampler_rest =
        absl::StrSplit(item, absl::MaxSplits(':', 1));
    std::pair<std::string, std::string> key_value =
        absl::StrSplit(sampler_rest.second, absl::MaxSplits('=', 1));
    if (sampler_rest.first.empty() || key_value.first.empty()) {
      Fail(absl::StrCat("--settings: expected sampler:key=value, got \"", item,
                        "\""));
    }
    out[sampler_rest.first][key_value.first] = key_value.second;
  }
  return out;
}

std::string ParameterJson(const v1::Parameter& p) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  (void)google::protobuf::util::MessageToJsonString(p, &json, options);
  return json;
}

std::string NamedJson(const NamedParams& params) {
  std::vector<std::string> items;
  for (const auto& [name, value] : params) {
    const std::string* label = std::get_if<std::string>(&value);
    items.push_back(absl::StrCat(JsonQuote(name), ":",
                                 label != nullptr
                                     ? JsonQuote(*label)
                                     : JsonNumber(std::get<double>(value))));
  }
  return absl::StrCat("{", absl::StrJoin(items, ","), "}");
}

std::string SettingsJson(const SettingsMap& settings) {
  std::vector<std::string> items;
  for (const auto& [k, v] : settings) {
    items.push_back(absl::StrCat(JsonQuote(k), ":", JsonQuote(v)));
  }
  return absl::StrCat("{", absl::StrJoin(items, ","), "}");
}

// The grid sampler needs `grid_points` for continuous ranges. Unless given,
// the benchmark picks the finest grid that fits in the budget: the largest
// k >= 2 with (k per continuous parameter) x (the others' values) <= budget.
// None fits (even k = 2 is too many points to finish): nullopt.
std::optional<int64_t> AutoGridPoints(const SearchSpace& space, int budget) {
  std::optional<int64_t> best;
  for (int64_t k = 2; k <= budget; ++k) {
    double points = 1;
    for (const ParamSpec& p : space.params()) {
      const int64_t c = p.Cardinality();
      points *= c < 0 ? static_cast<double>(k) : static_cast<double>(c);
    }
    if (points > budget) break;
    best = k;
  }
  return best;
}

struct RunResult {
  std::string status = "ok";  // ok, exhausted, unsupported, error
  std::string message;
  double wall_seconds = 0;  // the whole run, evaluations included
  std::vector<double> values;
  std::vector<double> seconds;
  std::vector<std::string> params_json;
};

RunResult RunOnce(const Problem& problem, const SearchSpace& space,
                  const std::vector<Goal>& goals,
                  const std::string& sampler_name, const SettingsMap& settings,
                  uint32_t seed, int budget, bool keep_params) {
  RunResult result;
  const Clock::time_point run_start = Clock::now();
  auto sampler = CreateSampler(sampler_name, space, settings);
  if (!sampler.ok()) {
    result.status = "unsupported";
    result.message = std::string(sampler.status().message());
    return result;
  }
  History history;
  history.goals = goals;
  history.seed = seed;  // the server's experiment seed
  for (int number = 0; number < budget; ++number) {
    // Exactly the server's seeding (server/experiment, GetTrialConfig).
    Rng rng = TrialRng(seed, static_cast<uint32_t>(number));
    const Clock::time_point start = Clock::now();
    auto suggestion = (*sampler)->Suggest(space, history, rng);
    const double seconds =
        std::chrono::duration<double>(Clock::now() - start).count();
    if (absl::IsOutOfRange(suggestion.status())) {
      result.status = "exhausted";
      result.message = std::string(suggestion.status().message());
      break;
    }
    if (!suggestion.ok()) {
      result.status = "error";
      result.message =
          absl::StrCat("trial ", number, ": ", suggestion.status().ToString());
      break;
    }
    const NamedParams named = ToNamed(space, suggestion->params);
    const double value = problem.evaluate(named);
    result.values.push_back(value);
    result.seconds.push_back(seconds);
    if (keep_params) result.params_json.push_back(NamedJson(named));

    TrialRecord record;
    record.number = number;
    record.state = TrialState::kCompleted;
    record.params = std::move(suggestion->params);
    record.values = {value};
    record.sampler_data = std::move(suggestion->sampler_data);
    history.trials.push_back(std::move(record));
  }
  result.wall_seconds =
      std::chrono::duration<double>(Clock::now() - run_start).count();
  return result;
}

std::string TraceLine(const Problem& problem, const std::string& sampler_name,
                      const SettingsMap& settings, uint32_t seed, int budget,
                      bool prefix_valid, const RunResult& r) {
  std::vector<double> best, regret;
  double incumbent = 0;
  for (size_t i = 0; i < r.values.size(); ++i) {
    incumbent = i == 0 ? r.values[0] : std::min(incumbent, r.values[i]);
    best.push_back(incumbent);
    regret.push_back(incumbent - problem.optimum);
  }
  double total = 0;
  for (double s : r.seconds) total += s;
  std::string line = absl::StrCat(
      "{\"format\":\"hpo-bench-trace/1\",\"problem\":", JsonQuote(problem.name),
      ",\"method\":", JsonQuote("hpo/" + sampler_name),
      ",\"library\":\"hpo\",\"transport\":\"in-process\",\"algorithm\":",
      JsonQuote(sampler_name), ",\"settings\":", SettingsJson(settings),
      ",\"seed\":", seed, ",\"budget\":", budget,
      ",\"prefix_valid\":", prefix_valid ? "true" : "false",
      ",\"status\":", JsonQuote(r.status),
      ",\"message\":", JsonQuote(r.message),
      ",\"optimum\":", JsonNumber(problem.optimum),
      ",\"n_trials\":", r.values.size(), ",\"values\":", JsonArray(r.values),
      ",\"best\":", JsonArray(best), ",\"regret\":", JsonArray(regret),
      ",\"final_regret\":", regret.empty() ? "null" : JsonNumber(regret.back()),
      ",\"suggest_seconds\":", JsonArray(r.seconds),
      ",\"total_suggest_seconds\":", JsonNumber(total),
      ",\"wall_seconds\":", JsonNumber(r.wall_seconds));
  if (!r.params_json.empty()) {
    absl::StrAppend(&line, ",\"params\":[", absl::StrJoin(r.params_json, ","),
                    "]");
  }
  return line + "}";
}

void PrintList() {
  std::vector<std::string> problems;
  for (const Problem& p : Problems()) {
    std::vector<std::string> params;
    for (const v1::Parameter& param : p.parameters) {
      params.push_back(ParameterJson(param));
    }
    problems.push_back(absl::StrCat(
        "{\"name\":", JsonQuote(p.name), ",\"description\":",
        JsonQuote(p.description), ",\"optimum\":", JsonNumber(p.optimum),
        ",\"parameters\":[", absl::StrJoin(params, ","), "]}"));
  }
  std::vector<std::string> samplers;
  for (const std::string& name : SamplerNames()) {
    samplers.push_back(JsonQuote(name));
  }
  std::cout << "{\"samplers\":[" << absl::StrJoin(samplers, ",")
            << "],\n\"problems\":[\n"
            << absl::StrJoin(problems, ",\n") << "]}\n";
}

// Test vectors: each problem's space and optimum, and its value at its
// argmin and at points drawn by the random sampler (every parameter kind and
// branch of a condition shows up).
void WriteVectors(const std::string& path) {
  constexpr int kPointsPerProblem = 12;
  std::vector<std::string> problems;
  for (const Problem& p : Problems()) {
    const v1::Experiment experiment = MakeExperiment(p);
    const SearchSpace space = CompileSearchSpace(experiment);
    auto sampler = CreateSampler("random", space, {});
    if (!sampler.ok()) Fail(sampler.status().ToString());
    std::vector<NamedParams> points = {p.argmin};
    History empty;
    for (int i = 0; i < kPointsPerProblem; ++i) {
      std::seed_seq seed{20240601u, static_cast<uint32_t>(i)};
      Rng rng(seed);
      auto s = (*sampler)->Suggest(space, empty, rng);
      if (!s.ok()) Fail(s.status().ToString());
      points.push_back(ToNamed(space, s->params));
    }
    std::vector<std::string> rows;
    for (const NamedParams& point : points) {
      rows.push_back(absl::StrCat("{\"params\":", NamedJson(point),
                                  ",\"value\":", JsonNumber(p.evaluate(point)),
                                  "}"));
    }
    std::vector<std::string> params;
    for (const v1::Parameter& param : p.parameters) {
      params.push_back(ParameterJson(param));
    }
    problems.push_back(absl::StrCat(
        "{\"name\":", JsonQuote(p.name), ",\"optimum\":", JsonNumber(p.optimum),
        ",\"parameters\":[", absl::StrJoin(params, ","), "],\n\"points\":[\n",
        absl::StrJoin(rows, ",\n"), "]}"));
  }
  std::ofstream out(path);
  out << "{\"comment\":\"Written by bench:run_hpo --write_vectors; checked by "
         "bench:problems_test and bench/check_vectors.py\",\n\"problems\":[\n"
      << absl::StrJoin(problems, ",\n") << "]}\n";
  if (!out) Fail("cannot write " + path);
}

int Main() {
  if (absl::GetFlag(FLAGS_list)) {
    PrintList();
    return 0;
  }
  if (!absl::GetFlag(FLAGS_write_vectors).empty()) {
    WriteVectors(absl::GetFlag(FLAGS_write_vectors));
    return 0;
  }
  const std::string out_dir = absl::GetFlag(FLAGS_out_dir);
  if (out_dir.empty()) Fail("--out_dir is required");
  mkdir(out_dir.c_str(), 0755);

  std::vector<const Problem*> problems;
  if (absl::GetFlag(FLAGS_problems) == "all") {
    for (const Problem& p : Problems()) problems.push_back(&p);
  } else {
    for (const std::string& name : SplitList(absl::GetFlag(FLAGS_problems))) {
      const Problem* p = FindProblem(name);
      if (p == nullptr) {
        std::vector<std::string> known;
        for (const Problem& q : Problems()) known.push_back(q.name);
        Fail(absl::StrCat("unknown problem \"", name,
                          "\" (known: ", absl::StrJoin(known, ", "), ")"));
      }
      problems.push_back(p);
    }
  }
  std::vector<std::string> samplers;
  if (absl::GetFlag(FLAGS_samplers) == "all") {
    samplers = SamplerNames();
  } else {
    const std::vector<std::string> known = SamplerNames();
    for (const std::string& name : SplitList(absl::GetFlag(FLAGS_samplers))) {
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        // Not registered (yet): say so and go on, so that a full run's
        // method list can name samplers that are still being written.
        std::cerr << "run_hpo: sampler \"" << name
                  << "\" is not registered; skipped (registered: "
                  << absl::StrJoin(known, ", ") << ")" << std::endl;
        continue;
      }
      samplers.push_back(name);
    }
  }
  const std::vector<uint32_t> seeds = ParseSeeds(absl::GetFlag(FLAGS_seeds));
  const std::vector<int> budgets = ParseBudgets(absl::GetFlag(FLAGS_budgets));
  const auto settings = ParseSettings(absl::GetFlag(FLAGS_settings));
  const bool keep_params = absl::GetFlag(FLAGS_keep_params);
  const bool quiet = absl::GetFlag(FLAGS_quiet);

  int errors = 0;
  for (const Problem* problem : problems) {
    const v1::Experiment experiment = MakeExperiment(*problem);
    const SearchSpace space = CompileSearchSpace(experiment);
    const std::vector<Goal> goals = Goals(experiment);
    for (const std::string& sampler : samplers) {
      const std::string path = absl::StrCat(out_dir, "/", problem->name,
                                            "__hpo-", sampler, ".jsonl");
      std::ofstream out(path, std::ios::trunc);
      if (!out) Fail("cannot write " + path);
      SettingsMap base;
      if (auto it = settings.find(sampler); it != settings.end()) {
        base = it->second;
      }
      // Which budgets to run: the largest only, unless the settings depend on
      // the budget (the grid's automatic grid_points).
      const bool auto_grid =
          sampler == "grid" && base.count("grid_points") == 0;
      std::vector<int> to_run =
          auto_grid ? budgets : std::vector<int>{budgets.back()};
      const Clock::time_point start = Clock::now();
      for (uint32_t seed : seeds) {
        for (int budget : to_run) {
          SettingsMap run_settings = base;
          RunResult result;
          if (auto_grid) {
            std::optional<int64_t> k = AutoGridPoints(space, budget);
            if (!k.has_value()) {
              result.status = "unsupported";
              result.message = absl::StrCat(
                  "not applicable: even a grid of 2 points per continuous "
                  "parameter has more than ",
                  budget, " points");
            } else {
              run_settings["grid_points"] = absl::StrCat(*k);
            }
          }
          if (result.status == "ok") {
            result = RunOnce(*problem, space, goals, sampler, run_settings,
                             seed, budget, keep_params);
          }
          if (result.status == "error") {
            ++errors;
            std::cerr << "run_hpo: " << problem->name << " " << sampler
                      << " seed " << seed << ": " << result.message
                      << std::endl;
          }
          out << TraceLine(*problem, sampler, run_settings, seed, budget,
                           !auto_grid, result)
              << "\n";
        }
      }
      out.close();
      if (!out) Fail("cannot write " + path);
      if (!quiet) {
        std::cerr << "run_hpo: " << problem->name << " hpo/" << sampler << ": "
                  << seeds.size() << " seeds in "
                  << std::chrono::duration<double>(Clock::now() - start).count()
                  << " s" << std::endl;
      }
    }
  }
  return errors == 0 ? 0 : 1;
}

}  // namespace
}  // namespace hpo::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Runs hpo's samplers in-process on the benchmark problems; see "
      "bench/README.md.");
  absl::ParseCommandLine(argc, argv);
  return hpo::bench::Main();
}
