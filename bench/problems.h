// The benchmark's synthetic problems: classic test functions and mixed
// integer, categorical and conditional variants of them, each with its search
// space written as hpo parameters (what an hpo.v1.Experiment holds), its known
// minimum (for regret) and its evaluation function.
//
// bench/problems.py defines the same problems for the Python peers; the two
// are held together by bench/testdata/problem_vectors.json (spaces, optima and
// values at fixed points), which problems_test.cc and check_vectors.py both
// check to 1e-9.
//
// Every problem is minimized and takes its parameters by name, as the API
// shows them: numbers for ranges, labels for categorical parameters, inactive
// conditional parameters absent.

#ifndef HPO_BENCH_PROBLEMS_H_
#define HPO_BENCH_PROBLEMS_H_

#include <functional>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "core/search_space.h"
#include "hpo/v1/hpo.pb.h"

namespace hpo::bench {

// A parameter's value as the API shows it.
using ParamValue = std::variant<double, std::string>;
using NamedParams = std::map<std::string, ParamValue>;

struct Problem {
  std::string name;
  // One line for people.
  std::string description;
  // The search space, in the order an experiment would list it.
  std::vector<v1::Parameter> parameters;
  // The known minimum of `evaluate` over the space.
  double optimum = 0;
  // One point where the minimum is reached.
  NamedParams argmin;
  std::function<double(const NamedParams&)> evaluate;
};

// Every problem, in a fixed order.
const std::vector<Problem>& Problems();
// The problem called `name`, or nullptr.
const Problem* FindProblem(const std::string& name);

// An experiment over the problem's space with one objective, "value",
// minimized: what the server would be given.
v1::Experiment MakeExperiment(const Problem& problem);

// A sampler's coordinates (see core/search_space.h) as named values: the
// value itself for ranges, the label for categorical parameters, the number
// for discrete ones; inactive parameters left out.
NamedParams ToNamed(const SearchSpace& space,
                    const std::vector<double>& coordinates);

// The functions themselves, on plain vectors.
double Branin(double x0, double x1);
double Hartmann6(const std::vector<double>& x);
double Rosenbrock(const std::vector<double>& x);
double Ackley(const std::vector<double>& x);
double Levy(const std::vector<double>& x);
double StyblinskiTang(const std::vector<double>& x);

// Known minima.
inline constexpr double kBraninMin = 0.3978873577297384;  // 5 / (4 pi)
inline constexpr double kHartmann6Min = -3.3223680114155147;
// Styblinski-Tang's minimum per dimension, at x = -2.903534027771177.
inline constexpr double kStyblinskiTangMinPerDim = -39.16616570377141;
inline constexpr double kStyblinskiTangArgmin = -2.903534027771177;

}  // namespace hpo::bench

#endif  // HPO_BENCH_PROBLEMS_H_
