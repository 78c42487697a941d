// A fixed set of threads running queued closures in FIFO order. The gRPC
// callback handlers hand their work here so that a slow sampler or a wait for a
// disk commit never blocks gRPC's own threads.

#ifndef HPO_SERVER_THREAD_POOL_H_
#define HPO_SERVER_THREAD_POOL_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace hpo {

class ThreadPool {
 public:
  explicit ThreadPool(int num_threads);
  // Runs every closure already queued, then joins the threads.
  ~ThreadPool();

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Schedule(std::function<void()> work);

 private:
  void Run();

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace hpo

#endif  // HPO_SERVER_THREAD_POOL_H_
