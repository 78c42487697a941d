#include "bench/problems.h"

#include <cmath>
#include <cstdlib>
#include <iostream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/experiment_spec.h"

namespace hpo::bench {
namespace {

constexpr double kPi = 3.14159265358979323846;

// --- Building parameters ----------------------------------------------------

v1::Parameter DoubleParam(const std::string& name, double min, double max,
                          bool log = false) {
  v1::Parameter p;
  p.set_name(name);
  p.mutable_double_range()->set_min(min);
  p.mutable_double_range()->set_max(max);
  p.mutable_double_range()->set_log(log);
  return p;
}

v1::Parameter IntParam(const std::string& name, int64_t min, int64_t max) {
  v1::Parameter p;
  p.set_name(name);
  p.mutable_int_range()->set_min(min);
  p.mutable_int_range()->set_max(max);
  return p;
}

v1::Parameter CategoricalParam(const std::string& name,
                               const std::vector<std::string>& labels) {
  v1::Parameter p;
  p.set_name(name);
  for (const std::string& label : labels) {
    p.mutable_categorical()->add_values(label);
  }
  return p;
}

// Active only while the categorical `parent` takes `label`.
v1::Parameter When(v1::Parameter p, const std::string& parent,
                   const std::string& label) {
  p.mutable_condition()->set_parent(parent);
  p.mutable_condition()->add_values()->set_string_value(label);
  return p;
}

// --- Reading named values ---------------------------------------------------

// A bug in a problem's definition, not a run-time condition: abort loudly.
[[noreturn]] void Die(const std::string& message) {
  std::cerr << "bench/problems: " << message << std::endl;
  std::abort();
}

double Num(const NamedParams& p, const std::string& name) {
  auto it = p.find(name);
  if (it == p.end()) Die(absl::StrCat("parameter \"", name, "\" is missing"));
  const double* x = std::get_if<double>(&it->second);
  if (x == nullptr) Die(absl::StrCat("parameter \"", name, "\" is a label"));
  return *x;
}

const std::string& Label(const NamedParams& p, const std::string& name) {
  auto it = p.find(name);
  if (it == p.end()) Die(absl::StrCat("parameter \"", name, "\" is missing"));
  const std::string* s = std::get_if<std::string>(&it->second);
  if (s == nullptr) Die(absl::StrCat("parameter \"", name, "\" is a number"));
  return *s;
}

// prefix0, prefix1, ..., prefix{n-1} as a vector.
std::vector<double> Vec(const NamedParams& p, const std::string& prefix,
                        int n) {
  std::vector<double> x(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    x[static_cast<size_t>(i)] = Num(p, prefix + std::to_string(i));
  return x;
}

NamedParams Point(const std::string& prefix, const std::vector<double>& x) {
  NamedParams p;
  for (size_t i = 0; i < x.size(); ++i) p[prefix + std::to_string(i)] = x[i];
  return p;
}

// A box [min, max]^n of double parameters x0..x{n-1}.
std::vector<v1::Parameter> Box(int n, double min, double max) {
  std::vector<v1::Parameter> params;
  for (int i = 0; i < n; ++i) {
    params.push_back(DoubleParam("x" + std::to_string(i), min, max));
  }
  return params;
}

// Where the shifted problems have their optimum: coordinate i at
// 0.1 + 0.8 frac((i + 1) / golden ratio) of the way from `min` to `max`, a
// fixed point spread over the box (0.59, 0.29, 0.78, 0.48, 0.17, ...) that no
// method was tuned to.
std::vector<double> ShiftedOptimum(double min, double max) {
  std::vector<double> at(10);
  for (int i = 0; i < 10; ++i) {
    const double g = (i + 1) * 0.6180339887498949;
    at[static_cast<size_t>(i)] =
        min + (max - min) * (0.1 + 0.8 * (g - std::floor(g)));
  }
  return at;
}

// x - at + origin, coordinate by coordinate: moves a function's minimum from
// `origin` to `at`.
std::vector<double> Minus(std::vector<double> x, const std::vector<double>& at,
                          double origin) {
  for (size_t i = 0; i < x.size(); ++i) x[i] = x[i] - at[i] + origin;
  return x;
}

// --- The problem list -------------------------------------------------------

std::vector<Problem> MakeProblems() {
  std::vector<Problem> problems;

  {
    Problem p;
    p.name = "branin";
    p.description =
        "Branin-Hoo, 2-D: x0 in [-5, 10], x1 in [0, 15]; three global minima";
    p.parameters = {DoubleParam("x0", -5, 10), DoubleParam("x1", 0, 15)};
    p.optimum = kBraninMin;
    p.argmin = {{"x0", kPi}, {"x1", 2.275}};
    p.evaluate = [](const NamedParams& x) {
      return Branin(Num(x, "x0"), Num(x, "x1"));
    };
    problems.push_back(std::move(p));
  }
  {
    Problem p;
    p.name = "hartmann6";
    p.description = "Hartmann, 6-D on [0, 1]^6; several local minima";
    p.parameters = Box(6, 0, 1);
    p.optimum = kHartmann6Min;
    p.argmin = Point(
        "x", {0.20168950909365746, 0.15001069354111374, 0.4768739729250998,
              0.2753324275220782, 0.3116516172395686, 0.6573005345536702});
    p.evaluate = [](const NamedParams& x) { return Hartmann6(Vec(x, "x", 6)); };
    problems.push_back(std::move(p));
  }
  {
    Problem p;
    p.name = "rosenbrock10";
    p.description = "Rosenbrock, 10-D on [-5, 10]^10; a long curved valley";
    p.parameters = Box(10, -5, 10);
    p.optimum = 0;
    p.argmin = Point("x", std::vector<double>(10, 1.0));
    p.evaluate = [](const NamedParams& x) {
      return Rosenbrock(Vec(x, "x", 10));
    };
    problems.push_back(std::move(p));
  }
  {
    Problem p;
    p.name = "ackley10";
    p.description =
        "Ackley, 10-D on [-32.768, 32.768]^10; many local minima, one deep "
        "funnel";
    p.parameters = Box(10, -32.768, 32.768);
    p.optimum = 0;
    p.argmin = Point("x", std::vector<double>(10, 0.0));
    p.evaluate = [](const NamedParams& x) { return Ackley(Vec(x, "x", 10)); };
    problems.push_back(std::move(p));
  }
  {
    Problem p;
    p.name = "levy10";
    p.description = "Levy, 10-D on [-10, 10]^10; rugged";
    p.parameters = Box(10, -10, 10);
    p.optimum = 0;
    p.argmin = Point("x", std::vector<double>(10, 1.0));
    p.evaluate = [](const NamedParams& x) { return Levy(Vec(x, "x", 10)); };
    problems.push_back(std::move(p));
  }
  {
    Problem p;
    p.name = "styblinski_tang10";
    p.description =
        "Styblinski-Tang, 10-D on [-5, 5]^10; separable, 2^10 local minima";
    p.parameters = Box(10, -5, 5);
    p.optimum = 10 * kStyblinskiTangMinPerDim;
    p.argmin = Point("x", std::vector<double>(10, kStyblinskiTangArgmin));
    p.evaluate = [](const NamedParams& x) {
      return StyblinskiTang(Vec(x, "x", 10));
    };
    problems.push_back(std::move(p));
  }
  // Ackley and Levy again with their optimum moved off the centre of the box,
  // where a method that starts at the centre (CMA-ES) finds it for free.
  {
    Problem p;
    p.name = "ackley10_shifted";
    p.description =
        "Ackley-10 on [-32.768, 32.768]^10 with the optimum moved off the "
        "centre (to ShiftedOptimum)";
    p.parameters = Box(10, -32.768, 32.768);
    p.optimum = 0;
    const std::vector<double> at = ShiftedOptimum(-32.768, 32.768);
    p.argmin = Point("x", at);
    p.evaluate = [at](const NamedParams& x) {
      return Ackley(Minus(Vec(x, "x", 10), at, 0));
    };
    problems.push_back(std::move(p));
  }
  {
    Problem p;
    p.name = "levy10_shifted";
    p.description =
        "Levy-10 on [-10, 10]^10 with the optimum moved off the centre (to "
        "ShiftedOptimum)";
    p.parameters = Box(10, -10, 10);
    p.optimum = 0;
    const std::vector<double> at = ShiftedOptimum(-10, 10);
    p.argmin = Point("x", at);
    // Levy's own minimum is at 1.
    p.evaluate = [at](const NamedParams& x) {
      return Levy(Minus(Vec(x, "x", 10), at, 1));
    };
    problems.push_back(std::move(p));
  }
  {
    Problem p;
    p.name = "ackley10_int5";
    p.description =
        "Ackley-10 with x0..x4 integers in [-32, 32], x5..x9 real in [-32.768, "
        "32.768]";
    for (int i = 0; i < 5; ++i) {
      p.parameters.push_back(IntParam("x" + std::to_string(i), -32, 32));
    }
    for (int i = 5; i < 10; ++i) {
      p.parameters.push_back(
          DoubleParam("x" + std::to_string(i), -32.768, 32.768));
    }
    p.optimum = 0;
    p.argmin = Point("x", std::vector<double>(10, 0.0));
    p.evaluate = [](const NamedParams& x) { return Ackley(Vec(x, "x", 10)); };
    problems.push_back(std::move(p));
  }
  {
    Problem p;
    p.name = "branin_cat";
    p.description =
        "Branin plus a categorical offset: none 0, small 1, medium 5, large 20";
    p.parameters = {
        DoubleParam("x0", -5, 10), DoubleParam("x1", 0, 15),
        CategoricalParam("offset", {"large", "medium", "none", "small"})};
    p.optimum = kBraninMin;
    p.argmin = {{"x0", kPi}, {"x1", 2.275}, {"offset", std::string("none")}};
    p.evaluate = [](const NamedParams& x) {
      const std::string& o = Label(x, "offset");
      const double offset = o == "none"     ? 0
                            : o == "small"  ? 1
                            : o == "medium" ? 5
                            : o == "large"  ? 20
                                            : (Die("bad offset " + o), 0);
      return Branin(Num(x, "x0"), Num(x, "x1")) + offset;
    };
    problems.push_back(std::move(p));
  }
  {
    Problem p;
    p.name = "cond_mix";
    p.description =
        "Conditional: branch picks branin (b0, b1; min 0.398), "
        "styblinski_tang (s0..s2 in [-5, 5], mean per dim shifted to min 0) "
        "or rosenbrock (r0, r1 in [-2, 2], plus 0.2)";
    p.parameters = {
        CategoricalParam("branch", {"branin", "styblinski_tang", "rosenbrock"}),
        When(DoubleParam("b0", -5, 10), "branch", "branin"),
        When(DoubleParam("b1", 0, 15), "branch", "branin"),
        When(DoubleParam("s0", -5, 5), "branch", "styblinski_tang"),
        When(DoubleParam("s1", -5, 5), "branch", "styblinski_tang"),
        When(DoubleParam("s2", -5, 5), "branch", "styblinski_tang"),
        When(DoubleParam("r0", -2, 2), "branch", "rosenbrock"),
        When(DoubleParam("r1", -2, 2), "branch", "rosenbrock"),
    };
    p.optimum = 0;
    p.argmin = Point("s", std::vector<double>(3, kStyblinskiTangArgmin));
    p.argmin["branch"] = std::string("styblinski_tang");
    p.evaluate = [](const NamedParams& x) {
      const std::string& branch = Label(x, "branch");
      if (branch == "branin") return Branin(Num(x, "b0"), Num(x, "b1"));
      if (branch == "styblinski_tang") {
        return StyblinskiTang(Vec(x, "s", 3)) / 3 - kStyblinskiTangMinPerDim;
      }
      if (branch == "rosenbrock") return Rosenbrock(Vec(x, "r", 2)) + 0.2;
      Die("bad branch " + branch);
    };
    problems.push_back(std::move(p));
  }
  return problems;
}

}  // namespace

// --- The functions ----------------------------------------------------------

double Branin(double x0, double x1) {
  const double b = 5.1 / (4 * kPi * kPi);
  const double c = 5 / kPi;
  const double t = 1 / (8 * kPi);
  const double u = x1 - b * x0 * x0 + c * x0 - 6;
  return u * u + 10 * (1 - t) * std::cos(x0) + 10;
}

double Hartmann6(const std::vector<double>& x) {
  static constexpr double kA[4][6] = {{10, 3, 17, 3.5, 1.7, 8},
                                      {0.05, 10, 17, 0.1, 8, 14},
                                      {3, 3.5, 1.7, 10, 17, 8},
                                      {17, 8, 0.05, 10, 0.1, 14}};
  static constexpr double kP[4][6] = {{1312, 1696, 5569, 124, 8283, 5886},
                                      {2329, 4135, 8307, 3736, 1004, 9991},
                                      {2348, 1451, 3522, 2883, 3047, 6650},
                                      {4047, 8828, 8732, 5743, 1091, 381}};
  static constexpr double kC[4] = {1.0, 1.2, 3.0, 3.2};
  double sum = 0;
  for (int i = 0; i < 4; ++i) {
    double inner = 0;
    for (int j = 0; j < 6; ++j) {
      const double d = x[static_cast<size_t>(j)] - kP[i][j] * 1e-4;
      inner += kA[i][j] * d * d;
    }
    sum += kC[i] * std::exp(-inner);
  }
  return -sum;
}

double Rosenbrock(const std::vector<double>& x) {
  double sum = 0;
  for (size_t i = 0; i + 1 < x.size(); ++i) {
    const double a = x[i + 1] - x[i] * x[i];
    const double b = 1 - x[i];
    sum += 100 * a * a + b * b;
  }
  return sum;
}

double Ackley(const std::vector<double>& x) {
  const double n = static_cast<double>(x.size());
  double squares = 0;
  double cosines = 0;
  for (double xi : x) {
    squares += xi * xi;
    cosines += std::cos(2 * kPi * xi);
  }
  return -20 * std::exp(-0.2 * std::sqrt(squares / n)) - std::exp(cosines / n) +
         20 + std::exp(1.0);
}

double Levy(const std::vector<double>& x) {
  const size_t d = x.size();
  std::vector<double> w(d);
  for (size_t i = 0; i < d; ++i) w[i] = 1 + (x[i] - 1) / 4;
  const double s0 = std::sin(kPi * w[0]);
  double sum = s0 * s0;
  for (size_t i = 0; i + 1 < d; ++i) {
    const double s = std::sin(kPi * w[i] + 1);
    sum += (w[i] - 1) * (w[i] - 1) * (1 + 10 * s * s);
  }
  const double sd = std::sin(2 * kPi * w[d - 1]);
  sum += (w[d - 1] - 1) * (w[d - 1] - 1) * (1 + sd * sd);
  return sum;
}

double StyblinskiTang(const std::vector<double>& x) {
  double sum = 0;
  for (double xi : x) sum += xi * xi * xi * xi - 16 * xi * xi + 5 * xi;
  return sum / 2;
}

// --- Lookup and conversion --------------------------------------------------

const std::vector<Problem>& Problems() {
  static const auto* problems = new std::vector<Problem>(MakeProblems());
  return *problems;
}

const Problem* FindProblem(const std::string& name) {
  for (const Problem& p : Problems()) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

v1::Experiment MakeExperiment(const Problem& problem) {
  v1::Experiment e;
  e.set_name(problem.name);
  for (const v1::Parameter& p : problem.parameters) *e.add_parameters() = p;
  v1::Objective* objective = e.add_objectives();
  objective->set_name("value");
  objective->set_goal(v1::Objective::MINIMIZE);
  return e;
}

NamedParams ToNamed(const SearchSpace& space,
                    const std::vector<double>& coordinates) {
  // Through the server's own conversion, so that a problem sees exactly what a
  // worker would.
  v1::Trial trial;
  ParamsToProto(space, coordinates, &trial);
  NamedParams named;
  for (const auto& [name, value] : trial.parameters()) {
    if (value.kind_case() == google::protobuf::Value::kStringValue) {
      named[name] = value.string_value();
    } else {
      named[name] = value.number_value();
    }
  }
  return named;
}

}  // namespace hpo::bench
