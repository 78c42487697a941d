#include "samplers/cmaes/cmaes_sampler.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <eigen3/Eigen/Dense>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "samplers/cmaes/cma.h"
#include "samplers/draws.h"

namespace hpo {
namespace {

using cmaes_internal::Bins;
using cmaes_internal::Cma;

// IPOP doubles the population at each restart; past this a generation could
// never be filled anyway.
constexpr int64_t kMaxPopsize = 1 << 16;

struct Options {
  double sigma0 = 1.0 / 6;
  int64_t popsize = 0;  // 0: the default for the dimension
  int64_t n_startup_trials = 1;
  bool ipop = false;
  int64_t inc_popsize = 2;
  std::optional<bool> with_margin;
  bool consider_pruned = false;
  uint64_t seed = 0;
};

absl::StatusOr<Options> ReadOptions(Settings& settings) {
  Options o;
  absl::StatusOr<Aliased<double>> sigma0 =
      settings.GetDoubleAliased({"sigma0", "sigma"}, o.sigma0);
  if (!sigma0.ok()) return sigma0.status();
  if (!(sigma0->value > 0 && sigma0->value <= 1)) {
    return settings.Invalid(sigma0->key,
                            "must be in (0, 1] (a fraction of each range)");
  }
  o.sigma0 = sigma0->value;

  absl::StatusOr<Aliased<int64_t>> popsize =
      settings.GetIntAliased({"popsize", "population_size"}, 0);
  if (!popsize.ok()) return popsize.status();
  if (popsize->given && (popsize->value < 2 || popsize->value > kMaxPopsize)) {
    return settings.Invalid(popsize->key,
                            absl::StrCat("must be in [2, ", kMaxPopsize, "]"));
  }
  o.popsize = popsize->value;

  absl::StatusOr<int64_t> startup =
      settings.GetIntAtLeast("n_startup_trials", 1, 0);
  if (!startup.ok()) return startup.status();
  o.n_startup_trials = *startup;

  absl::StatusOr<std::string> restart =
      settings.GetString("restart_strategy", "none");
  if (!restart.ok()) return restart.status();
  if (*restart == "ipop") {
    o.ipop = true;
  } else if (*restart != "none" && !restart->empty()) {
    return settings.Invalid(
        "restart_strategy",
        absl::StrCat("must be \"none\" or \"ipop\", got \"", *restart, "\""));
  }
  absl::StatusOr<int64_t> inc = settings.GetIntInRange("inc_popsize", 2, 2, 16);
  if (!inc.ok()) return inc.status();
  o.inc_popsize = *inc;

  // The default depends on the space, which the sampler sees later.
  absl::StatusOr<bool> margin = settings.GetBool("with_margin", true);
  if (!margin.ok()) return margin.status();
  if (settings.Has("with_margin")) o.with_margin = *margin;
  absl::StatusOr<bool> pruned =
      settings.GetBool("consider_pruned_trials", false);
  if (!pruned.ok()) return pruned.status();
  o.consider_pruned = *pruned;

  absl::StatusOr<Aliased<int64_t>> seed =
      settings.GetIntAliased({"seed", "random_state"}, 0);
  if (!seed.ok()) return seed.status();
  o.seed = static_cast<uint64_t>(seed->value);
  return o;
}

// Which parameters CMA-ES models: unconditional numeric ones with more than
// one value. A discrete parameter is an ordinal only if its values are
// sorted; otherwise its index order means nothing.
bool Modeled(const ParamSpec& p) {
  if (p.parent >= 0 || p.Cardinality() == 1) return false;
  switch (p.kind) {
    case ParamKind::kDouble:
    case ParamKind::kInt:
      return true;
    case ParamKind::kCategorical:
      return false;
    case ParamKind::kDiscrete:
      return std::is_sorted(p.values.begin(), p.values.end()) ||
             std::is_sorted(p.values.rbegin(), p.values.rend());
  }
  return false;
}

// What a trial's sampler_data records: its generation and, with the margin,
// where in their bins its discrete coordinates were drawn.
struct Tag {
  int64_t restart = 0;
  int64_t generation = 0;
  int64_t popsize = 0;
  // Per discrete modeled parameter, the drawn unit coordinate's offset from
  // an edge of its value's bin: from the lower edge if >= 0, from the upper
  // one if < 0 (see Encode). The margin's update needs the continuous draw,
  // not the value it rounded to, and the offset from the nearer edge keeps
  // the precision that matters in a few digits.
  std::vector<double> offsets;
};

std::string FormatTag(const Tag& tag) {
  std::string out = absl::StrCat("g=", tag.generation, ";r=", tag.restart,
                                 ";p=", tag.popsize);
  if (!tag.offsets.empty()) {
    absl::StrAppend(&out, ";u=");
    for (size_t i = 0; i < tag.offsets.size(); ++i) {
      absl::StrAppend(&out, i > 0 ? "," : "",
                      absl::StrFormat("%.6g", tag.offsets[i]));
    }
  }
  return out;
}

std::optional<Tag> ParseTag(absl::string_view data) {
  if (data.empty()) return std::nullopt;
  Tag tag;
  int seen = 0;
  for (absl::string_view field : absl::StrSplit(data, ';')) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(field, absl::MaxSplits('=', 1));
    if (kv.first == "u") {
      for (absl::string_view v : absl::StrSplit(kv.second, ',')) {
        double d;
        if (!absl::SimpleAtod(v, &d) || !std::isfinite(d)) {
          tag.offsets.clear();  // unusable: fall back to the values
          break;
        }
        tag.offsets.push_back(d);
      }
      continue;
    }
    int64_t* target = kv.first == "g"   ? &tag.generation
                      : kv.first == "r" ? &tag.restart
                      : kv.first == "p" ? &tag.popsize
                                        : nullptr;
    if (target == nullptr) continue;
    if (!absl::SimpleAtoi(kv.second, target) || *target < 0) {
      return std::nullopt;
    }
    ++seen;
  }
  if (seen != 3 || tag.popsize < 2) return std::nullopt;
  return tag;
}

// The offset of unit coordinate u within its bin (see Tag::offsets).
double Encode(const Bins& bins, double u) {
  const Bins::Edges e = bins.Around(u);
  if (e.low && (!e.high || u - *e.low <= *e.high - u)) {
    return std::max(0.0, u - *e.low);
  }
  // Kept strictly negative: zero would read back as an offset from the lower
  // edge (u can sit on the edge itself through rounding).
  return std::min(u - *e.high, -std::numeric_limits<double>::min());
}

// The unit coordinate a trial was drawn at, from its value's index and the
// offset; where the two disagree (a foreign tag), the bin's centre.
double Decode(const Bins& bins, int64_t k, double offset, double centre) {
  const Bins::Edges e = bins.Of(k);
  double u;
  if (offset >= 0 && e.low) {
    u = *e.low + offset;
  } else if (offset < 0 && e.high) {
    u = *e.high + offset;
  } else {
    return centre;
  }
  if ((e.low && u < *e.low) || (e.high && u > *e.high)) return centre;
  return u;
}

class CmaEsSampler : public Sampler {
 public:
  CmaEsSampler(const SearchSpace& space, Options options) : options_(options) {
    bool discrete = false;
    for (size_t i = 0; i < space.size(); ++i) {
      const ParamSpec& p = space.param(i);
      if (!Modeled(p)) continue;
      dims_.push_back(i);
      space_params_.push_back(p);
      if (p.Cardinality() >= 2) {
        bins_.emplace_back(Bins(p));
        discrete = true;
        ++discrete_count_;
      } else {
        bins_.emplace_back(std::nullopt);
      }
    }
    margin_ = options_.with_margin.value_or(discrete) && discrete;
    const int n = static_cast<int>(dims_.size());
    popsize0_ = options_.popsize > 0 ? options_.popsize
                : n == 0
                    ? 4  // unused: nothing to model
                    : 4 + static_cast<int64_t>(std::floor(3 * std::log(n)));
  }

  absl::StatusOr<Suggestion> Suggest(const SearchSpace& space,
                                     const History& history,
                                     Rng& rng) override {
    std::optional<Replay> replay;
    if (!dims_.empty() && CountUsable(history) >= options_.n_startup_trials) {
      replay = Rebuild(history);
    }
    // A draw that repeats a running trial (possible where the space is
    // discrete: rounding and margins map many samples to one point) is drawn
    // again from the same distribution; after kRedraws repeats the space is
    // all but taken, and the last draw is as good as any.
    constexpr int kRedraws = 64;
    Suggestion s = Draw(space, replay, rng);
    for (int attempt = 1; attempt < kRedraws && RepeatsRunning(history, s);
         ++attempt) {
      s = Draw(space, replay, rng);
    }
    return s;
  }

 private:
  struct Replay {
    Cma cma;
    Tag tag;
  };

  static bool RepeatsRunning(const History& history, const Suggestion& s) {
    for (const TrialRecord& t : history.trials) {
      if ((t.state == TrialState::kRunning ||
           t.state == TrialState::kWaiting) &&
          SameConfiguration(t.params, s.params)) {
        return true;
      }
    }
    return false;
  }

  Suggestion Draw(const SearchSpace& space, std::optional<Replay>& replay,
                  Rng& rng) const {
    Suggestion s;
    s.params.assign(space.size(), 0);
    std::optional<Eigen::VectorXd> x;
    if (replay.has_value()) {
      x = replay->cma.Sample(rng);
      Tag tag = replay->tag;
      if (margin_) {
        for (size_t j = 0; j < dims_.size(); ++j) {
          if (bins_[j].has_value()) {
            tag.offsets.push_back(Encode(*bins_[j], (*x)[static_cast<int>(j)]));
          }
        }
      }
      s.sampler_data = FormatTag(tag);
    }
    // Everything CMA-ES does not model is drawn independently, after the
    // CMA-ES draws, in parameter order (inactive ones too, so a parameter's
    // draw does not depend on which branch the others took).
    size_t next_dim = 0;
    for (size_t i = 0; i < space.size(); ++i) {
      const ParamSpec& p = space.param(i);
      if (x.has_value() && next_dim < dims_.size() && dims_[next_dim] == i) {
        s.params[i] = p.FromUnit((*x)[static_cast<int>(next_dim++)]);
      } else {
        s.params[i] = p.FromUnit(UnitDraw(rng));
      }
    }
    space.MaskInactive(s.params);
    return s;
  }

  Cma NewCma(int64_t restart, int64_t popsize) const {
    const int n = static_cast<int>(dims_.size());
    Eigen::VectorXd mean = Eigen::VectorXd::Constant(n, 0.5);
    if (restart > 0) {
      // IPOP restarts from a uniformly random mean (as Optuna does). The
      // replay must find the same one every time, so it comes from the seed
      // setting and the restart number, not from the call's Rng.
      Rng rng(options_.seed ^
              (0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(restart)));
      for (int i = 0; i < n; ++i) mean[i] = UnitDraw(rng);
    }
    return Cma(std::move(mean), options_.sigma0, static_cast<int>(popsize),
               bins_, margin_);
  }

  // The value CMA-ES minimizes for a trial, if the trial counts.
  std::optional<double> Objective(const History& history,
                                  const TrialRecord& t) const {
    double v;
    if (t.state == TrialState::kCompleted && !t.values.empty()) {
      v = t.values[0];
    } else if (t.state == TrialState::kPruned && options_.consider_pruned &&
               !t.intermediate.empty()) {
      v = t.intermediate.back().second;
    } else {
      return std::nullopt;
    }
    if (std::isnan(v)) return std::nullopt;
    const bool maximize =
        !history.goals.empty() && history.goals[0] == Goal::kMaximize;
    return maximize ? -v : v;
  }

  int64_t CountUsable(const History& history) const {
    int64_t count = 0;
    for (const TrialRecord& t : history.trials) {
      count += Objective(history, t).has_value();
    }
    return count;
  }

  // Where CMA-ES drew a trial, in the unit cube: continuous coordinates are
  // their own record; discrete ones, with the margin, are rebuilt from the
  // offsets in the tag, and otherwise taken at their value's centre. Nullopt
  // if a modeled coordinate is missing.
  std::optional<Eigen::VectorXd> UnitPoint(const TrialRecord& t,
                                           const Tag& tag) const {
    const int n = static_cast<int>(dims_.size());
    const bool offsets = margin_ && tag.offsets.size() == discrete_count_;
    Eigen::VectorXd x(n);
    size_t next_offset = 0;
    for (int j = 0; j < n; ++j) {
      const double c = t.params[dims_[j]];
      if (IsInactive(c)) return std::nullopt;
      x[j] = space_params_[j].ToUnit(c);
      if (offsets && bins_[j].has_value()) {
        x[j] = Decode(*bins_[j], bins_[j]->IndexOf(c),
                      tag.offsets[next_offset++], x[j]);
      }
    }
    return x;
  }

  Replay Rebuild(const History& history) const {
    // Tagged trials by (restart, generation), in trial-number order.
    std::map<std::pair<int64_t, int64_t>,
             std::vector<std::pair<const TrialRecord*, Tag>>>
        generations;
    for (const TrialRecord& t : history.trials) {
      if (std::optional<Tag> tag = ParseTag(t.sampler_data)) {
        const std::pair<int64_t, int64_t> key = {tag->restart, tag->generation};
        generations[key].push_back({&t, *std::move(tag)});
      }
    }
    for (auto& [key, trials] : generations) {
      std::stable_sort(trials.begin(), trials.end(),
                       [](const auto& a, const auto& b) {
                         return a.first->number < b.first->number;
                       });
    }

    Tag tag;
    tag.popsize = popsize0_;
    Cma cma = NewCma(0, popsize0_);
    std::vector<Eigen::VectorXd> xs;
    std::vector<double> fs;
    for (;;) {
      auto it = generations.find({tag.restart, tag.generation});
      if (it == generations.end()) break;
      xs.clear();
      fs.clear();
      for (const auto& [t, trial_tag] : it->second) {
        if (trial_tag.popsize != tag.popsize) continue;
        std::optional<double> f = Objective(history, *t);
        if (!f.has_value() || t->params.size() <= dims_.back()) continue;
        std::optional<Eigen::VectorXd> x = UnitPoint(*t, trial_tag);
        if (!x.has_value()) continue;
        xs.push_back(*std::move(x));
        fs.push_back(*f);
        if (static_cast<int64_t>(xs.size()) == tag.popsize) break;
      }
      if (static_cast<int64_t>(xs.size()) < tag.popsize) break;
      cma.Tell(xs, fs);
      ++tag.generation;
      if (options_.ipop && cma.Converged()) {
        ++tag.restart;
        tag.generation = 0;
        tag.popsize = std::min(tag.popsize * options_.inc_popsize, kMaxPopsize);
        cma = NewCma(tag.restart, tag.popsize);
      }
    }
    return Replay{std::move(cma), tag};
  }

  Options options_;
  // The modeled parameters' indices in the space, their specs, and their bins
  // (set for those with finitely many values).
  std::vector<size_t> dims_;
  std::vector<ParamSpec> space_params_;
  std::vector<std::optional<Bins>> bins_;
  size_t discrete_count_ = 0;
  bool margin_ = false;
  int64_t popsize0_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Sampler>> CreateCmaEsSampler(
    const SearchSpace& space, Settings& settings) {
  absl::StatusOr<Options> options = ReadOptions(settings);
  if (!options.ok()) return options.status();
  return std::make_unique<CmaEsSampler>(space, *options);
}

}  // namespace hpo
