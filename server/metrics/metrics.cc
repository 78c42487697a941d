#include "server/metrics/metrics.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "core/number_text.h"

namespace hpo::metrics {
namespace {

void AtomicAdd(std::atomic<double>& target, double by) {
  double old = target.load(std::memory_order_relaxed);
  while (
      !target.compare_exchange_weak(old, old + by, std::memory_order_relaxed)) {
  }
}

// HELP text escapes only \\ and \n.
std::string EscapeHelp(const std::string& help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

Exposition::Labels Zip(const std::vector<std::string>& names,
                       const std::vector<std::string>& values) {
  Exposition::Labels labels;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    labels.emplace_back(names[i], values[i]);
  }
  return labels;
}

}  // namespace

void Counter::Increment(double by) {
  if (by > 0) AtomicAdd(value_, by);
}

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), counts_(new std::atomic<uint64_t>[bounds->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) counts_[i] = 0;
}

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds_->size() && value > (*bounds_)[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, value);
}

std::vector<uint64_t> Histogram::counts() const {
  std::vector<uint64_t> out(bounds_->size() + 1);
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = counts_[i].load(std::memory_order_relaxed);
  }
  return out;
}

const std::vector<double>& LatencyBuckets() {
  static const auto* bounds = new std::vector<double>{
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10};
  return *bounds;
}

std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return NumberText(value);
}

void Exposition::Header(const std::string& name, const std::string& help,
                        const char* type) {
  absl::StrAppend(&text_, "# HELP ", name, " ", EscapeHelp(help), "\n",
                  "# TYPE ", name, " ", type, "\n");
}

void Exposition::Sample(const std::string& name, const Labels& labels,
                        double value) {
  text_ += name;
  if (!labels.empty()) {
    text_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      absl::StrAppend(&text_, i > 0 ? "," : "", labels[i].first, "=\"",
                      EscapeLabelValue(labels[i].second), "\"");
    }
    text_ += '}';
  }
  absl::StrAppend(&text_, " ", FormatValue(value), "\n");
}

void Exposition::Gauge(const std::string& name, const std::string& help,
                       const std::vector<std::pair<Labels, double>>& samples) {
  Header(name, help, "gauge");
  for (const auto& [labels, value] : samples) Sample(name, labels, value);
}

void Exposition::Counter(
    const std::string& name, const std::string& help,
    const std::vector<std::pair<Labels, double>>& samples) {
  Header(name, help, "counter");
  for (const auto& [labels, value] : samples) Sample(name, labels, value);
}

Family<Counter>& Registry::AddCounter(const std::string& name,
                                      const std::string& help,
                                      std::vector<std::string> labels) {
  absl::MutexLock lock(&mu_);
  counters_.emplace_back(new Family<Counter>(name, help, std::move(labels), [] {
    return std::make_unique<Counter>();
  }));
  order_.emplace_back(0, counters_.size() - 1);
  return *counters_.back();
}

Family<Histogram>& Registry::AddHistogram(const std::string& name,
                                          const std::string& help,
                                          std::vector<std::string> labels,
                                          const std::vector<double>* bounds) {
  absl::MutexLock lock(&mu_);
  histograms_.emplace_back(new Family<Histogram>(
      name, help, std::move(labels),
      [bounds] { return std::make_unique<Histogram>(bounds); }));
  order_.emplace_back(1, histograms_.size() - 1);
  return *histograms_.back();
}

void Registry::AddCollector(std::function<void(class Exposition&)> collect) {
  absl::MutexLock lock(&mu_);
  collectors_.push_back(std::move(collect));
  order_.emplace_back(2, collectors_.size() - 1);
}

std::string Registry::Exposition() const {
  class Exposition out;
  absl::MutexLock lock(&mu_);
  for (const auto& [kind, index] : order_) {
    if (kind == 0) {
      const Family<Counter>& f = *counters_[index];
      out.Header(f.name_, f.help_, "counter");
      absl::ReaderMutexLock series_lock(&f.mu_);
      for (const auto& [values, counter] : f.series_) {
        out.Sample(f.name_, Zip(f.labels_, values), counter->value());
      }
    } else if (kind == 1) {
      const Family<Histogram>& f = *histograms_[index];
      out.Header(f.name_, f.help_, "histogram");
      absl::ReaderMutexLock series_lock(&f.mu_);
      for (const auto& [values, histogram] : f.series_) {
        const Exposition::Labels labels = Zip(f.labels_, values);
        const std::vector<uint64_t> counts = histogram->counts();
        uint64_t cumulative = 0;
        for (size_t i = 0; i < counts.size(); ++i) {
          cumulative += counts[i];
          Exposition::Labels with_le = labels;
          with_le.emplace_back("le", i < histogram->bounds().size()
                                         ? FormatValue(histogram->bounds()[i])
                                         : "+Inf");
          out.Sample(f.name_ + "_bucket", with_le,
                     static_cast<double>(cumulative));
        }
        out.Sample(f.name_ + "_sum", labels, histogram->sum());
        out.Sample(f.name_ + "_count", labels, static_cast<double>(cumulative));
      }
    } else {
      collectors_[index](out);
    }
  }
  return out.Take();
}

}  // namespace hpo::metrics
