// Exhausted host memory reaches a caller of the public API as StatusCode::out_of_memory, never
// as a crash: the library's aligned buffers throw std::bad_alloc like std::vector (instead of
// writing through a null pointer), the thread pool hands it from a worker to the caller, and the
// entry points turn it into a status (runtime/no_throw.hpp).
#include <gtest/gtest.h>

#include <new>

#include "cpu/kernels/aligned_floats.hpp"
#include "runtime/no_throw.hpp"
#include "runtime/thread_pool.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>

// Under AddressSanitizer an impossible allocation is a fatal report unless the allocator may
// return null, as the C library's does; this test is about what the library does with null.
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1"; }

// Returning null, ASan still writes a warning per failed allocation to its report file, which CI
// counts as a sanitizer report (.ci/run). This process's reports go to its stderr instead: a
// real error still aborts it (abort_on_error) and a leak still fails its exit code.
const bool kReportsToStderr = (__sanitizer_set_report_path("stderr"), true);
#endif

namespace {

using upconv::StatusCode;

TEST(HostMemoryTest, AlignedBufferThrowsBadAllocWhenTheAllocationFails) {
  using upconv::detail::cpu::AlignedFloats;
  EXPECT_THROW(AlignedFloats(int64_t{1} << 60), std::bad_alloc);
  EXPECT_THROW(AlignedFloats(int64_t{1} << 60, /*zero=*/false), std::bad_alloc);
  AlignedFloats small(5);  // and a possible one still works, zeroed
  for (int i = 0; i < 5; ++i) EXPECT_EQ(small.get()[i], 0.0f);
}

TEST(HostMemoryTest, BadAllocOnAPoolThreadBecomesAnOutOfMemoryStatus) {
  upconv::detail::ThreadPool pool(2);
  const upconv::Status s = upconv::detail::status_on_bad_alloc([&]() -> upconv::Status {
    pool.parallel_for(2, [](int64_t b, int64_t) {
      if (b == 1) upconv::detail::cpu::AlignedFloats huge(int64_t{1} << 60);  // the worker's share
    });
    return {};
  });
  EXPECT_EQ(s.code(), StatusCode::out_of_memory) << s.to_string();
  EXPECT_NE(s.message().find("out of host memory"), std::string::npos) << s.to_string();
}

TEST(HostMemoryTest, OtherResultsPassThrough) {
  EXPECT_TRUE(upconv::detail::status_on_bad_alloc([]() -> upconv::Status { return {}; }).ok());
  const upconv::Result<int> r = upconv::detail::status_on_bad_alloc([]() -> upconv::Result<int> { return 7; });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 7);
}

}  // namespace
