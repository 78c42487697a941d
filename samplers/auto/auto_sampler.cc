#include "samplers/auto/auto_sampler.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "samplers/cmaes/cmaes_sampler.h"
#include "samplers/draws.h"
#include "samplers/gp/gp_sampler.h"
#include "samplers/random/random_sampler.h"
#include "samplers/tpe/tpe_sampler.h"

namespace hpo {
namespace {

bool IsFinite(const SearchSpace& space) {
  for (const ParamSpec& p : space.params()) {
    if (p.Cardinality() < 0) return false;
  }
  return true;
}

// CMA-ES models ranges and sorted discrete values; categorical and
// conditional parameters it could only draw at random.
bool AllNumericAndUnconditional(const SearchSpace& space) {
  for (const ParamSpec& p : space.params()) {
    if (p.kind == ParamKind::kCategorical || p.parent >= 0) return false;
    if (p.kind == ParamKind::kDiscrete &&
        !std::is_sorted(p.values.begin(), p.values.end())) {
      return false;
    }
  }
  return true;
}

bool AlreadyTried(const std::vector<double>& params, const History& history) {
  for (const TrialRecord& t : history.trials) {
    if (SameConfiguration(t.params, params)) return true;
  }
  return false;
}

class AutoSampler : public Sampler {
 public:
  AutoSampler(AutoRules rules, bool finite, std::unique_ptr<Sampler> gp,
              std::unique_ptr<Sampler> warped_gp, std::unique_ptr<Sampler> tpe,
              std::unique_ptr<Sampler> cmaes, std::unique_ptr<Sampler> random)
      : rules_(rules),
        finite_(finite),
        gp_(std::move(gp)),
        warped_gp_(std::move(warped_gp)),
        tpe_(std::move(tpe)),
        cmaes_(std::move(cmaes)),
        random_(std::move(random)) {}

  absl::StatusOr<Suggestion> Suggest(const SearchSpace& space,
                                     const History& history,
                                     Rng& rng) override {
    AutoChoice choice = ChooseAlgorithm(rules_, space, history);
    Sampler& chosen = choice.algorithm == "gp"
                          ? (choice.warped ? *warped_gp_ : *gp_)
                      : choice.algorithm == "cmaes" ? *cmaes_
                                                    : *tpe_;
    absl::StatusOr<Suggestion> suggestion = chosen.Suggest(space, history, rng);
    if (!suggestion.ok()) return suggestion;
    if (finite_ && AlreadyTried(suggestion->params, history)) {
      // In a finite space a repeat teaches nothing, and the experiment should
      // end once every configuration has been tried: random search hands out
      // an untried one, or OUT_OF_RANGE when there is none.
      suggestion = random_->Suggest(space, history, rng);
      if (!suggestion.ok()) return suggestion;
      suggestion->algorithm = "random";
      suggestion->algorithm_reason = absl::StrCat(
          choice.algorithm,
          " chose a configuration already tried in this finite space");
      return suggestion;
    }
    suggestion->algorithm = std::move(choice.algorithm);
    suggestion->algorithm_reason = std::move(choice.reason);
    return suggestion;
  }

 private:
  const AutoRules rules_;
  const bool finite_;
  const std::unique_ptr<Sampler> gp_;
  const std::unique_ptr<Sampler> warped_gp_;
  const std::unique_ptr<Sampler> tpe_;
  const std::unique_ptr<Sampler> cmaes_;
  const std::unique_ptr<Sampler> random_;
};

// One of the algorithms auto runs, from its scoped settings and the shared
// seed; `defaults` apply where the user gave no value.
absl::StatusOr<std::unique_ptr<Sampler>> CreatePart(
    absl::StatusOr<std::unique_ptr<Sampler>> (*factory)(const SearchSpace&,
                                                        Settings&),
    const char* name, const SearchSpace& space, Settings& settings,
    const std::map<std::string, std::string>& defaults = {}) {
  Settings part = settings.Scoped(name, {"seed", "random_state"});
  for (const auto& [key, value] : defaults) part.SetDefault(key, value);
  auto sampler = factory(space, part);
  if (!sampler.ok()) return sampler.status();
  if (absl::Status s = part.CheckAllRead(name); !s.ok()) return s;
  return sampler;
}

}  // namespace

// The reasons name the rule, not the running counts, so that they change
// only when the choice does (the server stores them when they change).
AutoChoice ChooseAlgorithm(const AutoRules& rules, const SearchSpace& space,
                           const History& history) {
  const int64_t completed = history.CountInState(TrialState::kCompleted);
  const int64_t dims = static_cast<int64_t>(space.size());
  const bool gp_fits = dims <= rules.gp_max_dimensions;
  if (rules.cmaes_min_dimensions > 0 && dims >= rules.cmaes_min_dimensions &&
      AllNumericAndUnconditional(space)) {
    // CMA-ES first; then GP, which does better from CMA-ES's trials than
    // either alone, with its outputs warped (the quartic and valley-shaped
    // problems have a few huge values that would set GP's scale).
    if (rules.cmaes_max_trials == 0 || rules.gp_max_trials == 0 || !gp_fits) {
      return {"cmaes", absl::StrCat(dims, " numeric parameters: at least ",
                                    rules.cmaes_min_dimensions, " for CMA-ES")};
    }
    if (completed < rules.cmaes_max_trials) {
      return {"cmaes",
              absl::StrCat(dims, " numeric parameters: CMA-ES for the first ",
                           rules.cmaes_max_trials, " completed trials")};
    }
    if (completed < rules.cmaes_gp_max_trials) {
      return {
          "gp",
          absl::StrCat(dims, " numeric parameters and ", rules.cmaes_max_trials,
                       " or more completed trials: GP with output warping"),
          /*warped=*/true};
    }
    return {"tpe", absl::StrCat(rules.cmaes_gp_max_trials,
                                " or more completed trials: GP hands over")};
  }
  if (!gp_fits) {
    return {"tpe", absl::StrCat(dims, " parameters: more than GP's ",
                                rules.gp_max_dimensions)};
  }
  if (completed >= rules.gp_max_trials) {
    return {"tpe", absl::StrCat(rules.gp_max_trials,
                                " or more completed trials: GP hands over")};
  }
  return {"gp", absl::StrCat(dims, " parameters and fewer than ",
                             rules.gp_max_trials, " completed trials")};
}

absl::StatusOr<std::unique_ptr<Sampler>> CreateAutoSampler(
    const SearchSpace& space, Settings& settings) {
  AutoRules rules;
  for (auto [key, rule] :
       {std::pair{"gp_max_trials", &rules.gp_max_trials},
        {"gp_max_dimensions", &rules.gp_max_dimensions},
        {"cmaes_min_dimensions", &rules.cmaes_min_dimensions},
        {"cmaes_max_trials", &rules.cmaes_max_trials},
        {"cmaes_gp_max_trials", &rules.cmaes_gp_max_trials}}) {
    absl::StatusOr<int64_t> value = settings.GetInt(key, *rule);
    if (!value.ok()) return value.status();
    if (*value < 0) return settings.Invalid(key, "must be at least 0");
    *rule = *value;
  }

  auto gp = CreatePart(&CreateGpSampler, "gp", space, settings);
  if (!gp.ok()) return gp.status();
  auto warped_gp = CreatePart(&CreateGpSampler, "gp", space, settings,
                              {{"warp_outputs", "true"}});
  if (!warped_gp.ok()) return warped_gp.status();
  auto tpe = CreatePart(&CreateTpeSampler, "tpe", space, settings);
  if (!tpe.ok()) return tpe.status();
  auto cmaes = CreatePart(&CreateCmaEsSampler, "cmaes", space, settings);
  if (!cmaes.ok()) return cmaes.status();
  Settings none({}, "algorithm.settings");
  auto random = CreateRandomSampler(space, none);
  if (!random.ok()) return random.status();
  return std::make_unique<AutoSampler>(rules, IsFinite(space), *std::move(gp),
                                       *std::move(warped_gp), *std::move(tpe),
                                       *std::move(cmaes), *std::move(random));
}

}  // namespace hpo
