// The process's own figures for /metrics, under Prometheus' standard names:
// process_resident_memory_bytes, process_open_fds, process_start_time_seconds,
// process_cpu_seconds_total, process_threads (from /proc/self).

#ifndef HPO_SERVER_METRICS_PROCESS_METRICS_H_
#define HPO_SERVER_METRICS_PROCESS_METRICS_H_

#include "server/metrics/metrics.h"

namespace hpo::metrics {

// Adds a collector of the process's figures to `registry`.
void AddProcessMetrics(Registry& registry);

}  // namespace hpo::metrics

#endif  // HPO_SERVER_METRICS_PROCESS_METRICS_H_
