#include "samplers/tpe/tpe_sampler.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/history.h"
#include "samplers/draws.h"
#include "samplers/tpe/observation_table.h"
#include "samplers/tpe/parzen_estimator.h"
#include "samplers/tpe/trial_split.h"

namespace hpo {
namespace {

using tpe_internal::Axis;
using tpe_internal::Candidates;
using tpe_internal::EstimatorMemory;
using tpe_internal::EstimatorOptions;
using tpe_internal::Liar;
using tpe_internal::ObservationTable;
using tpe_internal::ObservationView;
using tpe_internal::ParzenEstimator;
using tpe_internal::Split;
using tpe_internal::SplitOptions;
using tpe_internal::SplitTrials;

// Candidates cost time linearly; far beyond any sensible setting.
constexpr int64_t kMaxEiCandidates = 10000;
// Attempts at a suggestion that does not repeat a running trial (or, in a
// finite space, any trial): a few with TPE (fresh candidates each time), then
// prior draws, which are cheap and get out of a region that earlier trials
// have used up. Only a space almost entirely tried exhausts them, and then a
// repeat is the answer.
constexpr int kTpeAttempts = 4;
constexpr int kPriorAttempts = 64;

struct Options {
  int64_t n_startup_trials = 10;
  int n_ei_candidates = 24;
  SplitOptions split;
  EstimatorOptions estimator;
  // Optuna 5's default for single-objective studies (hpo's only kind).
  bool multivariate = true;
  bool group = false;
  bool discrete_as_categorical = false;
  bool seeded = false;
  uint64_t seed = 0;
};

// What l's and g's estimators leave for the next suggestion's, per group of
// parameters (see EstimatorMemory), and the table generation it holds for.
struct GroupMemory {
  uint64_t generation = 0;
  EstimatorMemory l;
  EstimatorMemory g;
  // The estimators themselves, rebuilt for each suggestion in their own
  // buffers, and the buffers of the rows they are built from.
  std::unique_ptr<ParzenEstimator> l_estimator =
      std::make_unique<ParzenEstimator>();
  std::unique_ptr<ParzenEstimator> g_estimator =
      std::make_unique<ParzenEstimator>();
  std::vector<int> below_rows;
  std::vector<int> above_rows;
};
using Memories = absl::flat_hash_map<std::vector<size_t>, GroupMemory>;

class TpeSampler : public Sampler {
 public:
  TpeSampler(Options options, const SearchSpace& space)
      : options_(std::move(options)), size_(space.size()) {
    SetSpace(space);
  }
  // axes_ point into space_.
  TpeSampler(const TpeSampler&) = delete;
  TpeSampler& operator=(const TpeSampler&) = delete;

  absl::StatusOr<Suggestion> Suggest(const SearchSpace& space,
                                     const History& history,
                                     Rng& server_rng) override {
    if (space.size() != size_) {
      return absl::InvalidArgumentError(
          absl::StrCat("tpe: the space has ", space.size(),
                       " parameters but the sampler was built for ", size_));
    }
    Rng& rng =
        UserSeeded(server_rng, options_.seeded, options_.seed, user_rng_);
    // What is kept between suggestions was read through the space's axes.
    if (space != space_) SetSpace(space);

    // What not to hand out again: running and waiting trials, and in a
    // finite space every trial (a repeat there is a wasted trial). Checked by
    // a scan for the one or two proposals rather than a set of every trial
    // built per call (in a finite space, most of a suggestion's time).
    bool finite = true;
    for (const ParamSpec& p : space.params()) finite &= p.Cardinality() > 0;
    auto taken = [&](const std::vector<double>& x) {
      if (!finite && options_.split.liar != Liar::kOff) {
        // The split lists them (only with a liar).
        for (size_t pos : split_.running) {
          if (SameConfiguration(split_.trials[pos].trial->params, x)) {
            return true;
          }
        }
        return false;
      }
      for (const TrialRecord& t : history.trials) {
        if (t.params.size() != size_) continue;
        if (!finite && t.state != TrialState::kRunning &&
            t.state != TrialState::kWaiting) {
          continue;
        }
        if (SameConfiguration(t.params, x)) return true;
      }
      return false;
    };

    // Random draws until n_startup_trials trials have finished.
    SplitTrials(history, space.size(), options_.split, &split_);
    const Split& split = split_;
    const bool startup = split.n_finished < options_.n_startup_trials;
    std::optional<Model> model;
    if (!startup) {
      table_.Update(history, axes_);
      model.emplace(space_, history, split, options_, axes_, table_,
                    &memories_);
    }
    std::vector<double> x;
    const int tpe_attempts = startup ? 0 : kTpeAttempts;
    for (int attempt = 0; attempt < tpe_attempts + kPriorAttempts; ++attempt) {
      x = attempt < tpe_attempts ? model->Propose(rng) : PriorDraw(space_, rng);
      // When every attempt repeats, the space is all but used up, and the
      // last draw is as good as any.
      if (!taken(x)) break;
    }
    return Suggestion{std::move(x), ""};
  }

 private:
  // The history as TPE sees it, and proposals from it.
  class Model {
   public:
    // `table` holds every trial's observations (NaN where inactive), by
    // parameter and history position (the estimators read one parameter at
    // a time), and whether a trial has them all (the usual case, which then
    // needs no per-parameter checks).
    Model(const SearchSpace& space, const History& history, const Split& split,
          const Options& options, const std::vector<Axis>& axes,
          const ObservationTable& table, Memories* memories)
        : space_(space),
          split_(split),
          options_(options),
          axes_(axes),
          table_(table),
          memories_(memories) {
      const size_t n = split.trials.size();
      row_.resize(n);
      for (size_t t = 0; t < n; ++t) {
        row_[t] =
            static_cast<int>(split.trials[t].trial - history.trials.data());
      }
      PlanGroups();
    }

    std::vector<double> Propose(Rng& rng) const {
      const size_t d = space_.size();
      std::vector<double> x(d, kInactive);
      for (const std::vector<size_t>& group : joint_) {
        const std::vector<double> values = Pick(group, rng);
        for (size_t k = 0; k < group.size(); ++k) x[group[k]] = values[k];
      }
      for (size_t i : single_) {
        // Parents come first, so x holds what this reads. A parameter that
        // ends up inactive needs no estimator.
        if (!space_.IsActive(i, x)) continue;
        x[i] = Pick({i}, rng)[0];
      }
      for (size_t i : unseen_) x[i] = space_.param(i).FromUnit(UnitDraw(rng));
      space_.MaskInactive(x);
      return x;
    }

   private:
    bool Seen(size_t t, size_t i) const {
      return !std::isnan(table_.column(i)[row_[t]]);
    }

    // Sorts the parameters into joint groups (multivariate), univariate ones,
    // and ones no trial has observed (drawn from the prior).
    void PlanGroups() {
      const size_t d = space_.size();
      const size_t n = split_.trials.size();
      // The group structure comes from finished trials only: a waiting trial
      // enqueued with some parameters left out must not break up the groups.
      // (Only group decomposition and incomplete trials need them listed.)
      std::vector<size_t> finished;
      if (options_.group || !table_.all_complete()) {
        finished.reserve(n);
        for (size_t t = 0; t < n; ++t) {
          if (split_.trials[t].finished) finished.push_back(t);
        }
      }
      std::vector<size_t> seen_somewhere;
      for (size_t i = 0; i < d; ++i) {
        bool seen = false;
        for (size_t t = 0; t < n && !seen; ++t) seen = Seen(t, i);
        if (seen) {
          seen_somewhere.push_back(i);
        } else {
          unseen_.push_back(i);
        }
      }
      if (!options_.multivariate) {
        single_ = std::move(seen_somewhere);
        return;
      }
      if (options_.group) {
        // Optuna's group decomposition: parameters are in one group exactly
        // when every finished trial has either all or none of them.
        std::vector<std::pair<std::vector<bool>, size_t>> signatures;
        for (size_t i : seen_somewhere) {
          std::vector<bool> active(finished.size());
          for (size_t k = 0; k < finished.size(); ++k) {
            active[k] = Seen(finished[k], i);
          }
          signatures.push_back({std::move(active), i});
        }
        std::sort(signatures.begin(), signatures.end());
        for (size_t k = 0; k < signatures.size(); ++k) {
          if (k == 0 || signatures[k].first != signatures[k - 1].first) {
            joint_.emplace_back();
          }
          joint_.back().push_back(signatures[k].second);
        }
        // Parameters no finished trial has: only running ones. They still go
        // joint (an all-false signature is one group).
        return;
      }
      // Optuna's intersection search space: parameters active in every
      // finished trial are joint, the others univariate.
      std::vector<size_t> always;
      std::vector<size_t> incomplete;  // finished trials missing something
      for (size_t t : finished) {
        if (!table_.complete(row_[t])) incomplete.push_back(t);
      }
      for (size_t i : seen_somewhere) {
        bool all = true;
        for (size_t t : incomplete) all = all && Seen(t, i);
        if (all) {
          always.push_back(i);
        } else {
          single_.push_back(i);
        }
      }
      if (!always.empty()) joint_.push_back(std::move(always));
    }

    // TPE over the parameters `group`: estimators from the trials where all of
    // them are active, candidates from l, the one of largest l / g.
    std::vector<double> Pick(const std::vector<size_t>& group, Rng& rng) const {
      const size_t n = split_.trials.size();
      std::vector<const Axis*> axes;
      ObservationView below;
      for (size_t i : group) {
        axes.push_back(&axes_[i]);
        below.columns.push_back(table_.column(i));
      }
      ObservationView above = below;
      GroupMemory& memory = (*memories_)[group];
      // The trials (rows) with every parameter of the group.
      std::vector<int>& below_rows = memory.below_rows;
      std::vector<int>& above_rows = memory.above_rows;
      // (Kept: push_back grows them geometrically, once.)
      below_rows.clear();
      above_rows.clear();
      for (size_t t = 0; t < n; ++t) {
        bool all = table_.complete(row_[t]);
        if (!all) {
          all = true;
          for (size_t i : group) all = all && Seen(t, i);
        }
        if (!all) continue;
        (split_.trials[t].below ? below_rows : above_rows).push_back(row_[t]);
      }
      below.rows = below_rows.data();
      below.n = static_cast<int>(below_rows.size());
      above.rows = above_rows.data();
      above.n = static_cast<int>(above_rows.size());
      if (memory.generation != table_.generation()) {
        memory.l.Clear();
        memory.g.Clear();
        memory.generation = table_.generation();
      }
      ParzenEstimator& l = *memory.l_estimator;
      ParzenEstimator& g = *memory.g_estimator;
      l.Rebuild(axes, below, options_.estimator, &memory.l);
      g.Rebuild(axes, above, options_.estimator, &memory.g);
      const Candidates candidates = l.Sample(options_.n_ei_candidates, rng);
      const int best = LargestRatio(l, g, candidates);
      std::vector<double> values(group.size());
      for (size_t k = 0; k < group.size(); ++k) {
        values[k] = candidates.coordinate[k][best];
      }
      return values;
    }

    const SearchSpace& space_;
    const Split& split_;
    const Options& options_;
    const std::vector<Axis>& axes_;
    const ObservationTable& table_;
    Memories* memories_;
    std::vector<int> row_;  // per split trial: its history position
    std::vector<std::vector<size_t>> joint_;
    std::vector<size_t> single_;
    std::vector<size_t> unseen_;
  };

  void SetSpace(const SearchSpace& space) {
    space_ = space;
    axes_.clear();
    axes_.reserve(space_.size());
    for (size_t i = 0; i < space_.size(); ++i) {
      axes_.emplace_back(space_.param(i), options_.discrete_as_categorical);
    }
    table_.Reset();
    memories_.clear();
  }

  Options options_;
  size_t size_;
  // Kept between suggestions (the service keeps each experiment's sampler),
  // for speed only: a suggestion is what a new sampler would make from the
  // same history. The axes refer to space_, a copy of the space they were
  // made for; a suggestion for any other space starts over.
  SearchSpace space_;
  std::vector<Axis> axes_;
  ObservationTable table_;
  // The last suggestion's split, whose buffers the next one reuses.
  Split split_;
  // The stream of a suggestion with a user's seed (reseeded every time):
  // constructing one costs a seeding.
  Rng user_rng_;
  Memories memories_;
};

absl::Status ReadOptions(Settings& settings, Options& o) {
  absl::StatusOr<Aliased<int64_t>> n_startup = settings.GetIntAliased(
      {"n_startup_trials", "n_initial_points", "n_startup_jobs"},
      o.n_startup_trials);
  if (!n_startup.ok()) return n_startup.status();
  if (n_startup->value < 0) {
    return settings.Invalid(
        n_startup->key, absl::StrCat("must be >= 0, got ", n_startup->value));
  }
  o.n_startup_trials = n_startup->value;

  absl::StatusOr<Aliased<int64_t>> candidates = settings.GetIntAliased(
      {"n_ei_candidates", "n_EI_candidates"}, o.n_ei_candidates);
  if (!candidates.ok()) return candidates.status();
  if (candidates->value < 1 || candidates->value > kMaxEiCandidates) {
    return settings.Invalid(candidates->key,
                            absl::StrCat("must be in [1, ", kMaxEiCandidates,
                                         "], got ", candidates->value));
  }
  o.n_ei_candidates = static_cast<int>(candidates->value);

  absl::StatusOr<double> gamma = settings.GetDouble("gamma", o.split.gamma);
  if (!gamma.ok()) return gamma.status();
  if (!(*gamma > 0 && *gamma <= 1)) {
    return settings.Invalid(
        "gamma",
        absl::StrCat("must be in (0, 1] (the fraction of trials taken as "
                     "good), got ",
                     *gamma));
  }
  o.split.gamma = *gamma;

  absl::StatusOr<int64_t> forgetting =
      settings.GetIntAtLeast("linear_forgetting", o.split.linear_forgetting, 1);
  if (!forgetting.ok()) return forgetting.status();
  o.split.linear_forgetting = *forgetting;
  o.estimator.linear_forgetting = *forgetting;

  absl::StatusOr<double> prior_weight =
      settings.GetDoubleAtLeast("prior_weight", o.estimator.prior_weight, 0);
  if (!prior_weight.ok()) return prior_weight.status();
  o.estimator.prior_weight = *prior_weight;

  absl::StatusOr<bool> multivariate =
      settings.GetBool("multivariate", o.multivariate);
  if (!multivariate.ok()) return multivariate.status();
  o.multivariate = *multivariate;
  absl::StatusOr<bool> group = settings.GetBool("group", o.group);
  if (!group.ok()) return group.status();
  if (*group && !o.multivariate) {
    return settings.Invalid("group", "needs multivariate=true (as in Optuna)");
  }
  o.group = *group;

  // Optuna's constant_liar switches the liar on or off; NNI's
  // constant_liar_type picks it (or "none"). Here it is on by default.
  absl::StatusOr<bool> liar = settings.GetBool("constant_liar", true);
  if (!liar.ok()) return liar.status();
  absl::StatusOr<std::string> liar_type =
      settings.GetString("constant_liar_type", "worst");
  if (!liar_type.ok()) return liar_type.status();
  const std::string type = absl::AsciiStrToLower(*liar_type);
  Liar chosen;
  // NNI's hyperopt-based tuner (and T9k's examples) say min/max: the least
  // and greatest loss seen, that is the best and the worst value.
  if (type == "worst" || type == "max") {
    chosen = Liar::kWorst;
  } else if (type == "best" || type == "min") {
    chosen = Liar::kBest;
  } else if (type == "mean") {
    chosen = Liar::kMean;
  } else if (type == "none" || type == "null") {
    chosen = Liar::kOff;
  } else {
    return settings.Invalid(
        "constant_liar_type",
        absl::StrCat("must be worst (max), best (min), mean or none, got \"",
                     *liar_type, "\""));
  }
  const bool has_liar = settings.Has("constant_liar");
  const bool has_type = settings.Has("constant_liar_type");
  if (has_liar && has_type && *liar != (chosen != Liar::kOff)) {
    return settings.Invalid(
        "constant_liar_type",
        absl::StrCat("\"", *liar_type, "\" contradicts constant_liar=",
                     *liar ? "true" : "false"));
  }
  o.split.liar = *liar ? chosen : Liar::kOff;

  absl::StatusOr<bool> endpoints =
      settings.GetBool("consider_endpoints", o.estimator.consider_endpoints);
  if (!endpoints.ok()) return endpoints.status();
  o.estimator.consider_endpoints = *endpoints;
  absl::StatusOr<bool> clip =
      settings.GetBool("consider_magic_clip", o.estimator.consider_magic_clip);
  if (!clip.ok()) return clip.status();
  o.estimator.consider_magic_clip = *clip;
  absl::StatusOr<bool> as_categorical =
      settings.GetBool("discrete_as_categorical", o.discrete_as_categorical);
  if (!as_categorical.ok()) return as_categorical.status();
  o.discrete_as_categorical = *as_categorical;

  // Optuna calls it seed; hyperopt, Katib and skopt random_state.
  absl::StatusOr<Aliased<int64_t>> seed =
      settings.GetIntAliased({"seed", "random_state"}, 0);
  if (!seed.ok()) return seed.status();
  o.seeded = seed->given;
  o.seed = static_cast<uint64_t>(seed->value);

  // NNI's optimize_mode: the experiment's goal decides, so it is only checked.
  return settings.CheckOptimizeMode();
}

absl::StatusOr<std::unique_ptr<Sampler>> CreateTpe(const SearchSpace& space,
                                                   Settings& settings,
                                                   bool multivariate) {
  Options options;
  options.multivariate = multivariate;
  if (absl::Status s = ReadOptions(settings, options); !s.ok()) return s;
  for (size_t i = 0; i < space.size(); ++i) {
    const ParamSpec& p = space.param(i);
    if (p.IsIndexed() && p.Cardinality() < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "parameters[", i, "] (", p.name, "): has no values to search"));
    }
  }
  return std::make_unique<TpeSampler>(std::move(options), space);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Sampler>> CreateTpeSampler(
    const SearchSpace& space, Settings& settings) {
  // Multivariate, as Optuna 5's TPESampler() is (it was univariate before).
  return CreateTpe(space, settings, true);
}

absl::StatusOr<std::unique_ptr<Sampler>> CreateTpeMultivariateSampler(
    const SearchSpace& space, Settings& settings) {
  // Now the same as CreateTpeSampler; kept so that the name says what it does
  // whatever the plain default becomes.
  return CreateTpe(space, settings, true);
}

}  // namespace hpo
