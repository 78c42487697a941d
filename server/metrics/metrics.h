// Prometheus metrics: counters and histograms with labels, and the text
// exposition format (version 0.0.4) that GET /metrics serves.
//
//   metrics::Registry registry;
//   auto& calls = registry.AddCounter("hpo_rpc_requests_total",
//                                     "RPCs answered.", {"method", "code"});
//   calls.With({"GetTrialConfig", "OK"}).Increment();
//   std::string text = registry.Exposition();
//
// Recording is lock-free once a labelled series exists (callers may keep the
// reference With() returns: series are never removed). Values computed at
// scrape time (process figures, experiments by state) come from collectors.

#ifndef HPO_SERVER_METRICS_METRICS_H_
#define HPO_SERVER_METRICS_METRICS_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace hpo::metrics {

// A value that only goes up.
class Counter {
 public:
  void Increment(double by = 1);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into buckets by upper bound, with their sum.
class Histogram {
 public:
  explicit Histogram(const std::vector<double>* bounds);
  void Observe(double value);

  const std::vector<double>& bounds() const { return *bounds_; }
  // Per bucket (not cumulative), and one more for values above every bound.
  std::vector<uint64_t> counts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  const std::vector<double>* const bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

// Bucket bounds for durations in seconds: 50 microseconds to 10 seconds.
const std::vector<double>& LatencyBuckets();

// The series of one metric, one per combination of label values.
template <typename Metric>
class Family {
 public:
  // The series with these label values (one per label name), made on first
  // use.
  Metric& With(const std::vector<std::string>& values);

 private:
  friend class Registry;
  Family(std::string name, std::string help, std::vector<std::string> labels,
         std::function<std::unique_ptr<Metric>()> make)
      : name_(std::move(name)),
        help_(std::move(help)),
        labels_(std::move(labels)),
        make_(std::move(make)) {}

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> labels_;
  const std::function<std::unique_ptr<Metric>()> make_;
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> series_
      ABSL_GUARDED_BY(mu_);
};

// Writes metrics in the text exposition format.
class Exposition {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;

  // A gauge with its samples, each with its labels.
  void Gauge(const std::string& name, const std::string& help,
             const std::vector<std::pair<Labels, double>>& samples);
  void Counter(const std::string& name, const std::string& help,
               const std::vector<std::pair<Labels, double>>& samples);

  // Used by the registry; also usable for any other family.
  void Header(const std::string& name, const std::string& help,
              const char* type);
  void Sample(const std::string& name, const Labels& labels, double value);

  std::string Take() { return std::move(text_); }

 private:
  std::string text_;
};

// Label values escaped as the text format wants: \\, \" and \n.
std::string EscapeLabelValue(const std::string& value);
// A number as the text format writes it: +Inf, -Inf, NaN, or the shortest
// decimal that reads back the same.
std::string FormatValue(double value);

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Names must be valid Prometheus names and unique; counters' end in _total.
  Family<Counter>& AddCounter(const std::string& name, const std::string& help,
                              std::vector<std::string> labels);
  Family<Histogram>& AddHistogram(const std::string& name,
                                  const std::string& help,
                                  std::vector<std::string> labels,
                                  const std::vector<double>* bounds);
  // Called at each scrape, after the families, to add what is computed then.
  void AddCollector(std::function<void(Exposition&)> collect);

  // Every family and collector, in the order they were added.
  std::string Exposition() const;

 private:
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Family<Counter>>> counters_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Family<Histogram>>> histograms_
      ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void(class Exposition&)>> collectors_
      ABSL_GUARDED_BY(mu_);
  // The order families and collectors were added: (kind, index).
  std::vector<std::pair<int, size_t>> order_ ABSL_GUARDED_BY(mu_);
};

template <typename Metric>
Metric& Family<Metric>::With(const std::vector<std::string>& values) {
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = series_.find(values);
    if (it != series_.end()) return *it->second;
  }
  absl::MutexLock lock(&mu_);
  std::unique_ptr<Metric>& slot = series_[values];
  if (slot == nullptr) slot = make_();
  return *slot;
}

}  // namespace hpo::metrics

#endif  // HPO_SERVER_METRICS_METRICS_H_
