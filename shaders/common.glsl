// Shared by every upconv compute shader: buffer bindings (identical in every shader, see
// runtime/vulkan/dispatch_plan.hpp), the storage type (fp32, or fp16 with -DUPCONV_FP16=1),
// workgroup size from specialization constants 0..2, flat-grid indexing and the fused
// activation epilogue.
#ifndef UPCONV_COMMON_GLSL
#define UPCONV_COMMON_GLSL

#ifdef UPCONV_FP16
#extension GL_EXT_shader_16bit_storage : require
#define STORE_T float16_t
#define STORE_VEC4_T f16vec4
#else
#define STORE_T float
#define STORE_VEC4_T vec4
#endif

layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z_id = 2) in;

// Every float buffer holds STORE_T; arithmetic is always fp32 (load_* converts on load).
layout(std430, set = 0, binding = 0) readonly buffer InputBuf { STORE_T x_buf[]; };
layout(std430, set = 0, binding = 1) readonly buffer WeightBuf { STORE_T w_buf[]; };
layout(std430, set = 0, binding = 2) readonly buffer BiasBuf { STORE_T b_buf[]; };
layout(std430, set = 0, binding = 3) buffer OutputBuf { STORE_T y_buf[]; };
layout(std430, set = 0, binding = 4) readonly buffer IndexBuf { uint idx_buf[]; };

float load_x(uint i) { return float(x_buf[i]); }
float load_w(uint i) { return float(w_buf[i]); }
float load_b(uint i) { return float(b_buf[i]); }
void store_y(uint i, float v) { y_buf[i] = STORE_T(v); }

#ifdef UPCONV_VEC4_INPUT
// The input as 4-element vectors (aliases binding 0): one per-lane load instead of four.
layout(std430, set = 0, binding = 0) readonly buffer InputVec4Buf { STORE_VEC4_T x4_buf[]; };
vec4 load_x4(uint i4) { return vec4(x4_buf[i4]); }
#endif

#ifdef UPCONV_VEC4_OUTPUT
// The output again as 4-element vectors (aliases binding 3), for shaders that write 4 aligned
// consecutive elements: one vector store instead of four (on lavapipe each store is a loop over
// the SIMD lanes, so this saves three of them).
layout(std430, set = 0, binding = 3) writeonly buffer OutputVec4Buf { STORE_VEC4_T y4_buf[]; };
void store_y4(uint i4, vec4 v) { y4_buf[i4] = STORE_VEC4_T(v); }
#endif

// Position of this invocation in a 1-D launch spread over a 2-D grid of workgroups (the planner
// splits a large count over groups x and y to stay under maxComputeWorkGroupCount[0]); the
// workgroup is 1-D (local_size_y = local_size_z = 1).
uint flat_invocation() {
  uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  return group * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
}

// Fused activation kinds; the numbering is upconv::Activation's and the definitions match
// runtime/op_desc.hpp apply_activation.
const uint ACT_NONE = 0u;
const uint ACT_RELU = 1u;
const uint ACT_LEAKY_RELU = 2u;
const uint ACT_SIGMOID = 3u;
const uint ACT_TANH = 4u;

float activate(uint kind, float alpha, float v) {
  if (kind == ACT_RELU) return v > 0.0 ? v : 0.0;
  if (kind == ACT_LEAKY_RELU) return v > 0.0 ? v : alpha * v;
  if (kind == ACT_SIGMOID) return 1.0 / (1.0 + exp(-v));
  // GLSL tanh is allowed to overflow for large |v| on some drivers; clamp where tanh is +-1 in fp32.
  if (kind == ACT_TANH) return tanh(clamp(v, -15.0, 15.0));
  return v;
}

#endif
