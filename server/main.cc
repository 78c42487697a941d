// hpo-server: the hpo service over gRPC, and over HTTP (REST, Kruize HPO's
// API, probes), storing its record in an SQLite file.
//
//   hpo-server [--grpc_port=50051] [--http_port=8080] [--db=PATH]
//              [--log_level=info]

#include <malloc.h>
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "server/auth/token_file.h"
#include "server/grpc_service.h"
#include "server/katib/katib_server.h"
#include "server/log.h"
#include "server/metrics/metrics.h"
#include "server/metrics/process_metrics.h"
#include "server/rest/gateway.h"
#include "server/rest/http_server.h"
#include "server/service.h"
#include "server/thread_pool.h"
#include "server/tls.h"
#include "storage/sqlite/sqlite_storage.h"

ABSL_FLAG(std::string, host, "127.0.0.1",
          "Address the gRPC server (and, unless --http_host, the HTTP server) "
          "listens on: this machine only by default; 0.0.0.0 or :: for every "
          "interface (use --auth_tokens then).");
ABSL_FLAG(int, grpc_port, 50051,
          "gRPC port; 0 picks a free one (see --port_file).");
ABSL_FLAG(std::string, db, "",
          "SQLite database file. Default: $HPO_DB, else "
          "$XDG_DATA_HOME/hpo/hpo.db, else ~/.local/share/hpo/hpo.db.");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error.");
ABSL_FLAG(std::string, log_format, "text",
          "text, or json: one JSON object a line (time, level, message and "
          "the message's fields, such as rpc, status and duration_ms).");
ABSL_FLAG(int, threads, 0,
          "Threads that run requests (0: one per core). They never wait on a "
          "disk: a request is answered from its commit's completion.");
ABSL_FLAG(int, idle_unload_seconds, 30,
          "An experiment with no running trial leaves memory this long after "
          "its last request, and is loaded again when asked for.");
ABSL_FLAG(std::string, port_file, "",
          "If set, the bound gRPC port is written to this file once serving.");
ABSL_FLAG(int, shutdown_grace_seconds, 5,
          "On SIGTERM, how long in-flight requests get to finish.");
ABSL_FLAG(bool, http, true,
          "Serve HTTP too: the REST API, Kruize HPO's API, /healthz, /readyz "
          "and /openapi.json.");
ABSL_FLAG(std::string, http_host, "",
          "Address the HTTP server listens on. Default: --host.");
ABSL_FLAG(std::optional<int>, http_port, std::nullopt,
          "HTTP port. Default 8080, or 0 (a free port) when --grpc_port=0.");
ABSL_FLAG(int64_t, max_body_bytes, 4 << 20,
          "Largest HTTP request body accepted; larger ones answer 413.");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate (chain) for TLS on the gRPC port and HTTPS on the "
          "HTTP port; re-read when it changes. Needs --tls_key.");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert.");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA bundle: mutual TLS on both ports; a client without a "
          "certificate this CA signed fails the handshake.");
ABSL_FLAG(std::string, auth_tokens, "",
          "File of bearer tokens, one \"token,name,role\" a line (role: read, "
          "worker or admin); re-read when it changes. Every call then needs "
          "\"authorization: Bearer TOKEN\" with a role its method allows. "
          "Health checks need none.");
ABSL_FLAG(bool, metrics_public, false,
          "With --auth_tokens: serve /metrics without a token (by default it "
          "needs the read role).");
ABSL_FLAG(std::optional<int>, katib_port, std::nullopt,
          "Serve Katib's suggestion API (Suggestion, EarlyStopping, health "
          "for manager.v1beta1.Suggestion) on this port, on --katib_host, in "
          "plaintext without tokens as Katib's controller calls it: keep it "
          "inside the cluster. 6789 in Katib's manifests; 0 picks a free "
          "one. Unset: off.");
ABSL_FLAG(std::string, katib_host, "",
          "Address --katib_port listens on. Default: --host.");
ABSL_FLAG(int, http_timeout_seconds, 60,
          "An HTTP connection idle this long is closed, and a request's calls "
          "time out after it.");

namespace hpo {
namespace {

std::string DefaultDatabasePath() {
  if (const char* env = std::getenv("HPO_DB"); env != nullptr && *env != '\0') {
    return env;
  }
  if (const char* xdg = std::getenv("XDG_DATA_HOME");
      xdg != nullptr && *xdg != '\0') {
    return absl::StrCat(xdg, "/hpo/hpo.db");
  }
  const char* home = std::getenv("HOME");
  return absl::StrCat(home != nullptr ? home : ".", "/.local/share/hpo/hpo.db");
}

int Run() {
  LogFormat format;
  if (!ParseLogFormat(absl::GetFlag(FLAGS_log_format), &format)) {
    HPO_LOG(ERROR) << "--log_format: expected text or json, got \""
                   << absl::GetFlag(FLAGS_log_format) << "\"";
    return 2;
  }
  SetLogFormat(format);
  LogLevel level;
  if (!ParseLogLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    HPO_LOG(ERROR)
        << "--log_level: expected debug, info, warning or error, got \""
        << absl::GetFlag(FLAGS_log_level) << "\"";
    return 2;
  }
  SetLogLevel(level);
  // Abseil's deadlock detection takes a global lock on every Mutex lock,
  // which serializes the request threads; the locks' order is fixed by design
  // (the service's map, then one experiment, then storage's queue) and the
  // sanitizer build's tests keep it honest.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  int threads = absl::GetFlag(FLAGS_threads);
  if (threads < 0) {
    HPO_LOG(ERROR) << "--threads: must be >= 0";
    return 2;
  }
  if (threads == 0) {
    threads =
        std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  }
  if (absl::GetFlag(FLAGS_idle_unload_seconds) < 0) {
    HPO_LOG(ERROR) << "--idle_unload_seconds: must be >= 0";
    return 2;
  }

  // Signals are taken by sigwait below; block them before any thread starts so
  // that none of gRPC's or the pool's threads receives them instead.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::string db = absl::GetFlag(FLAGS_db);
  if (db.empty()) db = DefaultDatabasePath();
  // Served at GET /metrics. Declared first, so that it outlives everything
  // that records into it (the storage's writer, last of all).
  metrics::Registry metrics;
  metrics::AddProcessMetrics(metrics);

  const TlsFiles tls{absl::GetFlag(FLAGS_tls_cert),
                     absl::GetFlag(FLAGS_tls_key),
                     absl::GetFlag(FLAGS_tls_client_ca)};
  if (absl::Status s = CheckTlsFiles(tls); !s.ok()) {
    HPO_LOG(ERROR) << s.message();
    return 2;
  }
  std::unique_ptr<auth::TokenFile> tokens;
  if (const std::string path = absl::GetFlag(FLAGS_auth_tokens);
      !path.empty()) {
    auto opened = auth::TokenFile::Open(path, &metrics);
    if (!opened.ok()) {
      HPO_LOG(ERROR) << "--auth_tokens: " << opened.status().message();
      return 2;
    }
    tokens = *std::move(opened);
  }
  const std::string host = absl::GetFlag(FLAGS_host);
  const std::string http_host = absl::GetFlag(FLAGS_http_host).empty()
                                    ? host
                                    : absl::GetFlag(FLAGS_http_host);
  const bool exposed = !IsLoopback(host) ||
                       (absl::GetFlag(FLAGS_http) && !IsLoopback(http_host));
  if (exposed && tokens == nullptr) {
    HPO_LOG(WARNING) << "listening beyond this machine without --auth_tokens: "
                        "anyone who reaches the port can create, stop and "
                        "delete experiments";
  } else if (exposed && !tls.enabled()) {
    HPO_LOG(WARNING) << "bearer tokens cross the network in plain text: "
                        "serve TLS with --tls_cert and --tls_key";
  }
  auto storage = SqliteStorage::Open(db);
  if (!storage.ok()) {
    HPO_LOG(ERROR) << "cannot open the database: " << storage.status();
    return 1;
  }
  HPO_LOG(INFO) << "database: " << db;
  {
    static const std::vector<double> kBatchSizes = {1,  2,   4,   8,   16,  32,
                                                    64, 128, 256, 512, 1024};
    metrics::Histogram& commit_seconds =
        metrics
            .AddHistogram("hpo_storage_commit_seconds",
                          "Time of each storage transaction, from its start "
                          "to its durable commit.",
                          {}, &metrics::LatencyBuckets())
            .With({});
    metrics::Histogram& commit_writes =
        metrics
            .AddHistogram("hpo_storage_commit_writes",
                          "Writes (one per acknowledged call) grouped into "
                          "each storage transaction.",
                          {}, &kBatchSizes)
            .With({});
    (*storage)->SetCommitObserver(
        [&commit_seconds, &commit_writes](absl::Duration took, size_t writes) {
          commit_seconds.Observe(absl::ToDoubleSeconds(took));
          commit_writes.Observe(static_cast<double>(writes));
        });
  }
  Service::Options service_options;
  service_options.idle_unload =
      absl::Seconds(absl::GetFlag(FLAGS_idle_unload_seconds));
  service_options.metrics = &metrics;
  // Drained (reset) before the service goes, below.
  auto pool = std::make_unique<ThreadPool>(threads);
  auto service = Service::Create(storage->get(), pool.get(), service_options);
  if (!service.ok()) {
    HPO_LOG(ERROR) << "cannot load the stored experiments: "
                   << service.status();
    return 1;
  }

  GrpcService grpc_service(service->get(), &metrics, tokens.get());
  metrics.AddCollector([service = service->get()](metrics::Exposition& out) {
    const Service::Census census = service->TakeCensus();
    std::vector<std::pair<metrics::Exposition::Labels, double>> experiments;
    for (const auto& [state, n] : census.experiments) {
      experiments.push_back({{{"state", state}}, static_cast<double>(n)});
    }
    out.Gauge("hpo_experiments", "Stored experiments, by state.", experiments);
    std::vector<std::pair<metrics::Exposition::Labels, double>> trials;
    for (const auto& [key, n] : census.trials) {
      trials.push_back({{{"state", key.first}, {"algorithm", key.second}},
                        static_cast<double>(n)});
    }
    out.Gauge("hpo_trials",
              "Trials by state and algorithm, of the experiments whose "
              "trials were counted since start-up (every one loaded once).",
              trials);
    out.Gauge("hpo_experiments_in_memory",
              "Experiments loaded now (the others are on disk only).",
              {{{}, static_cast<double>(service->loaded())}});
  });
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  const std::string address =
      absl::StrCat(host, ":", absl::GetFlag(FLAGS_grpc_port));
  builder.AddListeningPort(address, GrpcServerCredentials(tls), &port);
  builder.RegisterService(&grpc_service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    HPO_LOG(ERROR) << "cannot listen on " << address;
    return 1;
  }
  // Health answers for the server as a whole ("") and for the API by name
  // (grpc_health_probe -service=hpo.v1.HpoService); both turn NOT_SERVING when
  // a SIGTERM starts the drain.
  server->GetHealthCheckService()->SetServingStatus(
      hpo::v1::HpoService::service_full_name(), true);
  server->GetHealthCheckService()->SetServingStatus(true);
  HPO_LOG(INFO) << "gRPC listening on " << host << ":" << port
                << (tls.enabled()
                        ? (tls.client_ca.empty() ? " (TLS)" : " (mutual TLS)")
                        : "")
                << (tokens != nullptr ? ", bearer tokens required" : "");

  auto katib = katib::KatibServer::MaybeStart(
      absl::GetFlag(FLAGS_katib_port),
      absl::GetFlag(FLAGS_katib_host).empty() ? host
                                              : absl::GetFlag(FLAGS_katib_host),
      service->get());
  if (!katib.ok()) {
    HPO_LOG(ERROR) << katib.status().message();
    return 1;
  }

  // The HTTP listener calls the gRPC server in-process, so it starts after it
  // and stops before it.
  std::unique_ptr<rest::Gateway> gateway;
  std::unique_ptr<rest::HttpServer> http;
  if (absl::GetFlag(FLAGS_http)) {
    rest::GatewayOptions gateway_options;
    gateway_options.timeout =
        absl::Seconds(absl::GetFlag(FLAGS_http_timeout_seconds));
    // Storage is open for as long as the service runs: a failure to open it
    // ends start-up above.
    gateway_options.ready = [&storage] { return *storage != nullptr; };
    gateway_options.metrics = [&metrics] { return metrics.Exposition(); };
    gateway_options.tokens = tokens.get();
    gateway_options.metrics_public = absl::GetFlag(FLAGS_metrics_public);
    auto created = rest::Gateway::Create(
        server->InProcessChannel(grpc::ChannelArguments()), gateway_options);
    if (!created.ok()) {
      HPO_LOG(ERROR) << "cannot build the REST routes: " << created.status();
      return 1;
    }
    gateway = *std::move(created);
    rest::HttpServerOptions http_options;
    http_options.host = http_host;
    http_options.tls = {tls.cert, tls.key, tls.client_ca};
    http_options.port =
        absl::GetFlag(FLAGS_http_port)
            .value_or(absl::GetFlag(FLAGS_grpc_port) == 0 ? 0 : 8080);
    http_options.max_body_bytes = static_cast<size_t>(
        std::max<int64_t>(0, absl::GetFlag(FLAGS_max_body_bytes)));
    http_options.timeout_seconds = absl::GetFlag(FLAGS_http_timeout_seconds);
    auto started = rest::HttpServer::Start(
        http_options, [g = gateway.get()](rest::HttpRequest request,
                                          rest::Responder respond) {
          g->Handle(std::move(request), std::move(respond));
        });
    if (!started.ok()) {
      HPO_LOG(ERROR) << "cannot serve HTTP: " << started.status();
      return 1;
    }
    http = *std::move(started);
    const std::string shown =
        http_options.host == "0.0.0.0" || http_options.host == "::"
            ? "localhost"
            : http_options.host;
    HPO_LOG(INFO) << "HTTP listening on " << http_options.host << ":"
                  << http->port() << " (" << gateway->routes().routes().size()
                  << " REST routes)";
    // kruize-demos looks for this line.
    std::cout << "Access REST Service at "
              << (tls.enabled() ? "https://" : "http://") << shown << ":"
              << http->port() << std::endl;
  }
  if (const std::string port_file = absl::GetFlag(FLAGS_port_file);
      !port_file.empty()) {
    // Written to a temporary name and renamed, so a reader never sees half a
    // number.
    const std::string tmp = port_file + ".tmp";
    std::ofstream(tmp) << port << "\n";
    std::rename(tmp.c_str(), port_file.c_str());
  }

  // Leases and max_duration run out with no request to notice them.
  absl::Notification stopping;
  std::thread ticker([&] {
    while (!stopping.WaitForNotificationWithTimeout(absl::Milliseconds(500))) {
      if (tokens != nullptr) tokens->Refresh();
      if ((*service)->Tick() > 0) {
#ifdef __GLIBC__
        // Experiments that left memory leave their pages inside malloc's
        // heap; give them back to the system.
        malloc_trim(0);
#endif
      }
    }
  });

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  stopping.Notify();
  ticker.join();
  HPO_LOG(INFO) << "received "
                << (signal_number == SIGTERM ? "SIGTERM" : "SIGINT")
                << "; shutting down";
  server->GetHealthCheckService()->SetServingStatus(false);
  katib->reset();  // it calls the service, which the pool runs
  if (http != nullptr) {
    http->Stop(absl::GetFlag(FLAGS_shutdown_grace_seconds));
  }
  server->Shutdown(
      std::chrono::system_clock::now() +
      std::chrono::seconds(absl::GetFlag(FLAGS_shutdown_grace_seconds)));
  // The pool drains its queue, then storage (destroyed last) flushes its
  // writes.
  pool.reset();
  return 0;
}

}  // namespace
}  // namespace hpo

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "hpo-server: the hpo hyperparameter-optimization service over gRPC "
      "and HTTP.\n"
      "  hpo-server [--grpc_port=50051] [--http_port=8080] [--db=PATH] "
      "[--log_level=info]");
  absl::ParseCommandLine(argc, argv);
  return hpo::Run();
}
