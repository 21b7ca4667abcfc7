#version 450
// The second pass of a conv / conv_transpose launch split over input channels (SPLIT in
// conv_staged.glsl): every output element is the sum of its SPLIT partial sums (fp32, binding 4,
// [slice][n][c_out][oh][ow]) plus the bias, through the activation, stored in the output's
// storage type. The slices are added in order, whatever the device.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(constant_id = 3) const uint SPLIT = 2;
layout(constant_id = 4) const uint ACTIVATION = 0;
layout(constant_id = 5) const float ALPHA = 0.01;
layout(constant_id = 6) const bool HAS_BIAS = false;

layout(std430, set = 0, binding = 4) readonly buffer PartialBuf { float partial_buf[]; };

layout(push_constant) uniform Push {
  uint count;  // N * C_out * H_out * W_out, the elements of one slice
  uint plane;  // H_out * W_out
  uint c_out;
} p;

void main() {
  uint i = flat_invocation();
  if (i >= p.count) return;
  float v = partial_buf[i];
  [[unroll]] for (uint s = 1u; s < SPLIT; ++s) v += partial_buf[s * p.count + i];
  if (HAS_BIAS) v += load_b((i / p.plane) % p.c_out);
  store_y(i, activate(ACTIVATION, ALPHA, v));
}
