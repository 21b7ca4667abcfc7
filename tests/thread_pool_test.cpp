// The runtime's thread pool: the partition it promises (every index once, contiguous, the same
// for any caller) and what happens when a share throws (see ThreadPool::parallel_for).
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "runtime/thread_pool.hpp"

namespace {

using upconv::detail::ThreadPool;

TEST(ThreadPoolTest, CoversEveryIndexOnceInContiguousRanges) {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    for (int64_t count : {0, 1, 2, 3, 7, 64, 1001}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(count));
      std::atomic<int> calls{0};
      pool.parallel_for(count, [&](int64_t b, int64_t e) {
        ASSERT_LT(b, e);
        ++calls;
        for (int64_t i = b; i < e; ++i) ++hits[static_cast<size_t>(i)];
      });
      for (int64_t i = 0; i < count; ++i) EXPECT_EQ(hits[static_cast<size_t>(i)], 1) << threads << " threads, index " << i;
      EXPECT_LE(calls.load(), threads);
    }
  }
}

// A share that throws on a worker must not terminate the process, nor return before the other
// shares are done with fn; the caller gets the exception, and the pool keeps working.
TEST(ThreadPoolTest, HandsAnExceptionFromAnyShareToTheCaller) {
  ThreadPool pool(3);
  for (int64_t thrower : {0, 1, 2}) {  // share 0 is the caller's own
    std::atomic<int> finished{0};
    auto job = [&](int64_t b, int64_t) {
      if (b == thrower * 10) throw std::runtime_error("share " + std::to_string(thrower));
      ++finished;
    };
    try {
      pool.parallel_for(30, job);
      ADD_FAILURE() << "share " << thrower << ": no exception";
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()), "share " + std::to_string(thrower));
    }
    EXPECT_EQ(finished.load(), 2) << "the other shares ran to their end";
    std::atomic<int64_t> sum{0};
    pool.parallel_for(30, [&](int64_t b, int64_t e) { sum += e - b; });
    EXPECT_EQ(sum.load(), 30) << "pool usable after share " << thrower << " threw";
  }
}

TEST(ThreadPoolTest, RethrowsOneExceptionWhenEveryShareThrows) {
  ThreadPool pool(4);
  EXPECT_THROW(pool.parallel_for(4, [](int64_t, int64_t) { throw std::bad_alloc(); }), std::bad_alloc);
  EXPECT_THROW(pool.parallel_for(4, [](int64_t, int64_t) { throw std::bad_alloc(); }), std::bad_alloc);
}

}  // namespace
