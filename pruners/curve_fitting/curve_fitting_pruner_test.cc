#include "pruners/curve_fitting/curve_fitting_pruner.h"

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "core/history.h"
#include "core/settings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pruners/common/test_util.h"
#include "pruners/pruner.h"

namespace hpo {
namespace {

using ::testing::HasSubstr;
using testing_util::HistoryBuilder;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::unique_ptr<Pruner> Make(std::map<std::string, std::string> values) {
  Settings settings(std::move(values), "early_stopping.settings");
  absl::StatusOr<std::unique_ptr<Pruner>> pruner =
      CreateCurveFittingPruner(settings);
  EXPECT_TRUE(pruner.ok()) << pruner.status();
  const absl::Status unread = settings.CheckAllRead("curve_fitting");
  EXPECT_TRUE(unread.ok()) << unread;
  return pruner.ok() ? *std::move(pruner) : nullptr;
}

absl::Status Error(std::map<std::string, std::string> values) {
  Settings settings(std::move(values), "early_stopping.settings");
  absl::StatusOr<std::unique_ptr<Pruner>> pruner =
      CreateCurveFittingPruner(settings);
  if (!pruner.ok()) return pruner.status();
  return settings.CheckAllRead("curve_fitting");
}

// f at steps first..first+n-1, x = step (or step + 1 when counting from 0).
Curve Sample(const std::function<double(double)>& f, int n, int first = 1) {
  Curve c;
  for (int i = 0; i < n; ++i) {
    const int step = first + i;
    c.emplace_back(step, f(first == 0 ? step + 1 : step));
  }
  return c;
}

double Pow(double c, double a, double alpha, double x) {
  return c - a * std::pow(x, -alpha);
}

// One completed accuracy of 0.9 (and a pruned and a failed trial that did
// better before they ended), and the running trial.
HistoryBuilder Accuracy(Curve running) {
  HistoryBuilder b(Goal::kMaximize);
  b.Completed({{1, 0.5}, {20, 0.9}});
  b.Add(TrialState::kPruned, {{1, 0.99}});
  b.Add(TrialState::kFailed, {{1, 0.99}});
  b.Running(std::move(running));
  return b;
}

TEST(CurveFittingPrunerTest, MaximizeStopsAHopelessCurve) {
  std::unique_ptr<Pruner> p = Make({{"epoch_num", "20"}});
  // Saturates near 0.6, far below 0.95 * 0.9 = 0.855.
  HistoryBuilder b =
      Accuracy(Sample([](double x) { return Pow(0.6, 0.4, 1, x); }, 8));
  PruneDecision d = p->ShouldStop(b.history(), b.last(), 8);
  EXPECT_TRUE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("the curve fitted to the trial's 8 values"));
  EXPECT_THAT(d.reason,
              HasSubstr(" at step 20 (plausible fits at confidence 0.95: "));
  EXPECT_THAT(d.reason,
              HasSubstr("a chance of 0 to reach the cutoff 0.855 (the best "
                        "completed trial's settled final value 0.9 with "
                        "threshold 0.95, maximize), under 0.05 (1 - "
                        "confidence)"));
}

TEST(CurveFittingPrunerTest, MaximizeKeepsAPromisingCurve) {
  std::unique_ptr<Pruner> p = Make({{"epoch_num", "20"}});
  // Still rising: 0.7 at step 8, heading for 0.88 at step 20.
  HistoryBuilder b =
      Accuracy(Sample([](double x) { return Pow(0.95, 0.6, 0.7, x); }, 8));
  PruneDecision d = p->ShouldStop(b.history(), b.last(), 8);
  EXPECT_FALSE(d.stop) << d.reason;
  EXPECT_THAT(d.reason, HasSubstr("a chance of 1 to reach the cutoff 0.855"));
  EXPECT_THAT(d.reason, HasSubstr("not under 0.05 (1 - confidence)"));
}

TEST(CurveFittingPrunerTest, Minimize) {
  std::unique_ptr<Pruner> p =
      Make({{"epoch_num", "20"}, {"optimize_mode", "minimize"}});
  HistoryBuilder b(Goal::kMinimize);
  b.Completed({{1, 1.0}, {20, 0.25}}).mutable_history().trials[0].values = {
      0.2};
  b.Running(Sample([](double x) { return 0.5 + 1.0 / x; }, 8));
  // Cutoff 0.2 + 0.05 * 0.2 = 0.21; the curve heads for 0.55.
  PruneDecision d = p->ShouldStop(b.history(), b.last(), 8);
  EXPECT_TRUE(d.stop);
  EXPECT_THAT(
      d.reason,
      HasSubstr("to reach the cutoff 0.21 (the best completed trial's settled "
                "final value 0.2"));
  b.mutable_history().trials.back().intermediate =
      Sample([](double x) { return 0.15 + 0.5 / x; }, 8);
  d = p->ShouldStop(b.history(), b.last(), 8);
  EXPECT_FALSE(d.stop) << d.reason;
}

// A minimized loss that has fallen steadily for eight noisy steps: its
// fitted curves flatten at 0.32 or above, over the cutoff 0.294 (best 0.28),
// but they are loose (it would in fact end at 0.187): the mixture of the
// fits gives it a chance of about 0.17 to reach the cutoff. By default (a
// stop must be 95% sure) it runs on; at confidence 0.8 it is stopped.
TEST(CurveFittingPrunerTest, ConfidenceKeepsALooseForecastRunning) {
  HistoryBuilder b(Goal::kMinimize);
  b.Completed({{1, 0.9}, {30, 0.28}}).mutable_history().trials[0].values = {
      0.28};
  b.Running({{1, 0.874},
             {2, 0.822},
             {3, 0.732},
             {4, 0.687},
             {5, 0.628},
             {6, 0.582},
             {7, 0.564},
             {8, 0.52}});
  PruneDecision d =
      Make({{"epoch_num", "30"}})->ShouldStop(b.history(), b.last(), 8);
  EXPECT_FALSE(d.stop) << d.reason;
  EXPECT_THAT(d.reason, HasSubstr("plausible fits at confidence 0.95: "));
  EXPECT_THAT(d.reason, HasSubstr("a chance of 0.17"));
  d = Make({{"epoch_num", "30"}, {"confidence", "0.8"}})
          ->ShouldStop(b.history(), b.last(), 8);
  EXPECT_TRUE(d.stop) << d.reason;
  // A trial that has settled well above the best is stopped either way.
  b.mutable_history().trials.back().intermediate = {
      {1, 0.8},  {2, 0.62}, {3, 0.55},  {4, 0.52},  {5, 0.505},
      {6, 0.51}, {7, 0.50}, {8, 0.495}, {9, 0.505}, {10, 0.50}};
  d = Make({{"epoch_num", "30"}})->ShouldStop(b.history(), b.last(), 10);
  EXPECT_TRUE(d.stop) << d.reason;
}

// The yardstick is the best completed trial's fitted final value, not its
// last noisy one: of several noisy finals the best is lucky. A completed loss
// curve settles at 0.30 with a last value of 0.26 (a lucky draw); a running
// trial heading for 0.30 is then as good as the best, not 15% worse than it.
TEST(CurveFittingPrunerTest, TheYardstickIsTheBestSettledFinal) {
  std::unique_ptr<Pruner> p =
      Make({{"epoch_num", "20"}, {"optimize_mode", "minimize"}});
  auto settling = [](double x) { return 0.3 + 0.6 / (x * x); };
  Curve lucky = Sample(settling, 20);
  for (size_t i = 0; i + 1 < lucky.size(); ++i) {
    lucky[i].second += (i % 2 == 0 ? 0.01 : -0.01);
  }
  lucky.back().second = 0.26;
  HistoryBuilder b(Goal::kMinimize);
  b.Completed(lucky).mutable_history().trials[0].values = {0.26};
  b.Running(Sample([](double x) { return 0.3 + 0.9 / (x * x); }, 8));
  PruneDecision d = p->ShouldStop(b.history(), b.last(), 8);
  EXPECT_FALSE(d.stop) << d.reason;
  EXPECT_THAT(d.reason, HasSubstr("settled final value 0.299"));
  // Judged against the lucky final itself (a final value of its own, not its
  // last intermediate one, is taken as reported), the same trial is stopped.
  b.mutable_history().trials[0].intermediate.back().second = 0.27;
  d = p->ShouldStop(b.history(), b.last(), 8);
  EXPECT_TRUE(d.stop) << d.reason;
  EXPECT_THAT(d.reason, HasSubstr("settled final value 0.26 "));
}

TEST(CurveFittingPrunerTest, NeverStopsBeforeATrialCompletes) {
  std::unique_ptr<Pruner> p = Make({{"epoch_num", "20"}});
  HistoryBuilder b(Goal::kMaximize);
  b.Add(TrialState::kPruned, {{1, 0.99}});
  b.Running(Sample([](double x) { return Pow(0.1, 0.05, 1, x); }, 8));
  PruneDecision d = p->ShouldStop(b.history(), b.last(), 8);
  EXPECT_FALSE(d.stop);
  EXPECT_EQ(d.reason,
            "no trial has completed yet, so there is no best final value to "
            "compare with");
  // A completed trial with a NaN result is no yardstick either.
  b.Add(TrialState::kCompleted, {{1, 0.5}}, {kNaN});
  std::swap(b.mutable_history().trials[1], b.mutable_history().trials[2]);
  EXPECT_FALSE(p->ShouldStop(b.history(), 2, 8).stop);
}

TEST(CurveFittingPrunerTest, StartStepAndGap) {
  std::unique_ptr<Pruner> p =
      Make({{"epoch_num", "20"}, {"start_step", "6"}, {"gap", "2"}});
  const auto hopeless = [](double x) { return Pow(0.6, 0.4, 1, x); };
  HistoryBuilder b = Accuracy(Sample(hopeless, 5));
  PruneDecision d = p->ShouldStop(b.history(), b.last(), 5);
  EXPECT_FALSE(d.stop);
  EXPECT_EQ(
      d.reason,
      "the trial has reported 5 values; judging starts at 6 (start_step)");
  b = Accuracy(Sample(hopeless, 6));
  EXPECT_TRUE(p->ShouldStop(b.history(), b.last(), 6).stop);
  b = Accuracy(Sample(hopeless, 7));
  d = p->ShouldStop(b.history(), b.last(), 7);
  EXPECT_FALSE(d.stop);
  EXPECT_EQ(d.reason,
            "the trial is judged every 2 reports (gap) from its 6th; this is "
            "its 7th");
  b = Accuracy(Sample(hopeless, 8));
  EXPECT_TRUE(p->ShouldStop(b.history(), b.last(), 8).stop);
}

TEST(CurveFittingPrunerTest, StepsCountedFromZero) {
  std::unique_ptr<Pruner> p = Make({{"epoch_num", "20"}});
  const auto hopeless = [](double x) { return Pow(0.6, 0.4, 1, x); };
  HistoryBuilder b = Accuracy(Sample(hopeless, 8, 0));
  PruneDecision d = p->ShouldStop(b.history(), b.last(), 7);
  EXPECT_TRUE(d.stop);
  // The full trial's last step is 19.
  EXPECT_THAT(d.reason, HasSubstr(" at step 19 (plausible fits"));
  b = Accuracy(Sample(hopeless, 20, 0));
  d = p->ShouldStop(b.history(), b.last(), 19);
  EXPECT_FALSE(d.stop);
  EXPECT_EQ(d.reason,
            "step 19 is the trial's last (epoch_num 20): there is nothing left "
            "to save");
}

TEST(CurveFittingPrunerTest, LastStepIsNotJudged) {
  std::unique_ptr<Pruner> p = Make({{"epoch_num", "10"}});
  HistoryBuilder b =
      Accuracy(Sample([](double x) { return Pow(0.6, 0.4, 1, x); }, 10));
  EXPECT_FALSE(p->ShouldStop(b.history(), b.last(), 10).stop);
  b = Accuracy(Sample([](double x) { return Pow(0.6, 0.4, 1, x); }, 9));
  EXPECT_TRUE(p->ShouldStop(b.history(), b.last(), 9).stop);
}

TEST(CurveFittingPrunerTest, NaNValuesAreLeftOut) {
  std::unique_ptr<Pruner> p = Make({{"epoch_num", "20"}});
  Curve c = Sample([](double x) { return Pow(0.6, 0.4, 1, x); }, 9);
  c[3].second = kNaN;
  HistoryBuilder b = Accuracy(c);
  PruneDecision d = p->ShouldStop(b.history(), b.last(), 9);
  EXPECT_TRUE(d.stop);
  EXPECT_THAT(d.reason, HasSubstr("the trial's 8 values"));
  // Mostly NaN: too few to fit.
  for (int i = 0; i < 7; ++i) c[i].second = kNaN;
  b = Accuracy(c);
  d = p->ShouldStop(b.history(), b.last(), 9);
  EXPECT_FALSE(d.stop);
  EXPECT_THAT(d.reason,
              HasSubstr("no forecast at step 9: 2 values are too few"));
}

TEST(CurveFittingPrunerTest, FlatCurve) {
  std::unique_ptr<Pruner> p = Make({{"epoch_num", "20"}});
  HistoryBuilder b = Accuracy(Sample([](double) { return 0.3; }, 8));
  PruneDecision d = p->ShouldStop(b.history(), b.last(), 8);
  EXPECT_TRUE(d.stop);
  EXPECT_THAT(
      d.reason,
      HasSubstr(
          "the trial's 8 values are flat, which forecasts 0.3 at step 20"));
}

TEST(CurveFittingPrunerTest, Settings) {
  EXPECT_THAT(Error({}).message(),
              HasSubstr("early_stopping.settings.epoch_num: is required"));
  EXPECT_THAT(Error({{"epoch_num", "0"}}).message(),
              HasSubstr("early_stopping.settings.epoch_num: must be >= 1"));
  EXPECT_THAT(Error({{"epoch_num", "20"}, {"start_step", "-1"}}).message(),
              HasSubstr("early_stopping.settings.start_step: must be >= 0"));
  EXPECT_THAT(Error({{"epoch_num", "20"}, {"threshold", "-0.5"}}).message(),
              HasSubstr("early_stopping.settings.threshold: must be >= 0"));
  EXPECT_THAT(Error({{"epoch_num", "20"}, {"gap", "0"}}).message(),
              HasSubstr("early_stopping.settings.gap: must be >= 1"));
  for (const char* bad : {"-0.1", "0", "0.49", "1", "1.5"}) {
    EXPECT_THAT(Error({{"epoch_num", "20"}, {"confidence", bad}}).message(),
                HasSubstr("early_stopping.settings.confidence: must be in "
                          "[0.5, 1)"))
        << bad;
  }
  EXPECT_TRUE(Error({{"epoch_num", "20"}, {"confidence", "0.5"}}).ok());
  EXPECT_TRUE(Error({{"epoch_num", "20"}, {"confidence", "0.95"}}).ok());
  EXPECT_THAT(
      Error({{"epoch_num", "20"}, {"optimize_mode", "lower"}}).message(),
      HasSubstr("early_stopping.settings.optimize_mode: must be minimize or "
                "maximize"));
  EXPECT_THAT(Error({{"epoch_num", "20"}, {"n_warmup_steps", "3"}}).message(),
              HasSubstr("early_stopping.settings.n_warmup_steps: unknown "
                        "setting for curve_fitting"));
  // What the NNI/T9k importer produces.
  EXPECT_TRUE(Error({{"epoch_num", "20"}, {"threshold", "0.95"}}).ok());
  EXPECT_TRUE(Error({{"epoch_num", "20"},
                     {"start_step", "6"},
                     {"threshold", "0.9"},
                     {"gap", "2"},
                     {"optimize_mode", "maximize"}})
                  .ok());
}

}  // namespace
}  // namespace hpo
