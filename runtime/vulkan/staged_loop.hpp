// How a staged conv workgroup walks its steps (shaders/conv_staged.glsl), a device setting
// (UPCONV_VULKAN_STAGED_LOOP) the planner reads through DeviceCaps. Its own header so that the
// device code does not pull in the planner's.
#pragma once

#include <cstdint>

namespace upconv::detail::vk {

/// rounds: stage in rounds of STAGE_BATCH loads per lane, then accumulate; prefetch: the next
/// step's tiles are loaded into registers during the current step's multiply-adds, and a full
/// chunk's channel loop is unrolled.
enum class StagedLoop : uint32_t { rounds, prefetch };

}  // namespace upconv::detail::vk
