#include "runtime/thread_pool.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif

namespace upconv::detail {
namespace {

void pin_current_thread(int cpu) {
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu % std::max(1u, std::thread::hardware_concurrency()), &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);  // best effort
#else
  (void)cpu;
#endif
}

void run_share(const std::function<void(int64_t, int64_t)>& fn, int64_t count, int parts, int index) {
  const int64_t begin = count * index / parts, end = count * (index + 1) / parts;
  if (begin < end) fn(begin, end);
}

}  // namespace

ThreadPool::ThreadPool(int num_threads, bool pin) : num_threads_(std::max(1, num_threads)) {
  if (pin) pin_current_thread(0);
  for (int i = 1; i < num_threads_; ++i)
    workers_.emplace_back([this, i, pin] {
      if (pin) pin_current_thread(i);
      worker_loop(i);
    });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  start_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    const std::function<void(int64_t, int64_t)>* job;
    int64_t count;
    {
      std::unique_lock lock(mutex_);
      start_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      job = job_;
      count = job_count_;
    }
    run_share(*job, count, num_threads_, index);
    {
      std::lock_guard lock(mutex_);
      if (--pending_ == 0) done_cv_.notify_one();
    }
  }
}

void ThreadPool::parallel_for(int64_t count, const std::function<void(int64_t, int64_t)>& fn) {
  if (count <= 0) return;
  if (num_threads_ == 1 || count == 1) {
    fn(0, count);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    job_ = &fn;
    job_count_ = count;
    pending_ = num_threads_ - 1;
    ++generation_;
  }
  start_cv_.notify_all();
  run_share(fn, count, num_threads_, 0);
  std::unique_lock lock(mutex_);
  done_cv_.wait(lock, [&] { return pending_ == 0; });
  job_ = nullptr;
}

int resolve_thread_count(int requested) {
  if (requested > 0) return std::min(requested, 256);
  if (const char* env = std::getenv("UPCONV_NUM_THREADS")) {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && v > 0) return static_cast<int>(std::min(v, 256L));
  }
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace upconv::detail
