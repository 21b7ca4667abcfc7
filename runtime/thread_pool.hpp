// Internal: the runtime's small fork-join thread pool. Work is split over independent outputs
// (never over a reduction), so results do not depend on the thread count. Threads spin briefly
// for the next job before sleeping, since a network's layers arrive back to back.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace upconv::detail {

class ThreadPool {
 public:
  /// `num_threads` >= 1 counts the calling thread; `num_threads - 1` workers are started.
  /// `pin` pins thread i to CPU i (Linux only; ignored elsewhere or on failure).
  explicit ThreadPool(int num_threads, bool pin = false);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const noexcept { return num_threads_; }

  /// Calls fn(begin, end) over a partition of [0, count) into at most size() contiguous,
  /// near-equal ranges, one per thread, and returns when all are done. The partition depends
  /// only on count and size(). Thread-safe: concurrent callers (distinct plans of one context
  /// run from several threads) take the pool one job at a time. Not reentrant: fn must not call
  /// parallel_for on the same pool. If fn throws on any thread, every other share still runs to
  /// its end and the first exception is rethrown here (none escapes a worker thread, where it
  /// would terminate the process, and fn is never left running after the call returns).
  void parallel_for(int64_t count, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void worker_loop(int index);
  void run_share_catching(int index);

  int num_threads_;
  std::vector<std::thread> workers_;
  std::mutex submit_mutex_;  // one job at a time: held by a caller for its whole parallel_for
  std::mutex mutex_;
  std::condition_variable start_cv_, done_cv_;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;  // published by generation_
  int64_t job_count_ = 0;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  std::exception_ptr error_;  // the job's first exception, under mutex_
};

/// Threads to use when the caller asked for `requested` (0 = UPCONV_NUM_THREADS, else hardware).
int resolve_thread_count(int requested);

}  // namespace upconv::detail
