// Kruize HPO's REST API (github.com/kruize/hpo, design/API.md), so that Kruize
// Autotune and kruize-demos can use hpo in its place:
//
//   POST /experiment_trials   operation EXP_TRIAL_GENERATE_NEW,
//                             EXP_TRIAL_GENERATE_SUBSEQUENT, EXP_TRIAL_RESULT,
//                             EXP_DELETE (and EXP_STOP)
//   GET  /experiment_trials?experiment_name=...&trial_number=...
//   GET  /health
//
// with Kruize's status codes and messages. Every operation is a few calls of
// the ordinary RPCs (CreateExperiment with a "kruize" ImportSpec,
// GetTrialConfig, ReportResult, ...) through the in-process channel, so the
// experiments are ordinary hpo experiments: listed, read and continued over
// gRPC and REST, and kept across restarts. server/rest/README.md has the
// mapping and where this differs from Kruize.

#ifndef HPO_SERVER_REST_KRUIZE_API_H_
#define HPO_SERVER_REST_KRUIZE_API_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "server/rest/http_server.h"
#include "server/rest/rpc_client.h"
#include "server/thread_pool.h"

namespace hpo::rest {

class KruizeApi {
 public:
  // `rpc` and `pool` must outlive this object; `ready` says whether /health
  // is OK.
  KruizeApi(const RpcClient* rpc, ThreadPool* pool,
            std::function<bool()> ready);

  // True for the paths Kruize's API owns.
  static bool Owns(absl::string_view path);
  // Whether `path` is Kruize's health check, which needs no token.
  static bool IsPublic(absl::string_view path) { return path == "/health"; }

  // Answers on the pool: its operations make several blocking calls.
  void Handle(HttpRequest request, Responder respond);

 private:
  HttpResponse Serve(const HttpRequest& request);

  const RpcClient* const rpc_;
  ThreadPool* const pool_;
  const std::function<bool()> ready_;
};

}  // namespace hpo::rest

#endif  // HPO_SERVER_REST_KRUIZE_API_H_
