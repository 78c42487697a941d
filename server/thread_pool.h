// A fixed set of threads running queued closures in FIFO order. The service
// hands work here that may compute for long (a sampler, an early-stopping rule)
// or wait (for a busy experiment, a load from disk), so that it never blocks
// gRPC's own threads.

#ifndef HPO_SERVER_THREAD_POOL_H_
#define HPO_SERVER_THREAD_POOL_H_

#include <deque>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace hpo {

class ThreadPool {
 public:
  explicit ThreadPool(int num_threads);
  // Runs every closure already queued, then joins the threads.
  ~ThreadPool();

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Schedule(absl::AnyInvocable<void()> work);

 private:
  void Run();
  // What a worker thread waits for; called with mu_ held (absl::Condition).
  bool HasWorkOrStopping() const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace hpo

#endif  // HPO_SERVER_THREAD_POOL_H_
