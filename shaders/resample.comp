#version 450
// upsample_nearest2d (each input pixel repeated FH x FW times) and bed_of_nails2d (ZERO_INSERT:
// the pixel at the top-left of its cell, zeros elsewhere). Each invocation writes OUT_PER_INV
// consecutive elements of one output row.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#define UPCONV_VEC4_OUTPUT 1
#include "common.glsl"

layout(constant_id = 3) const uint FH = 2;
layout(constant_id = 4) const uint FW = 2;
layout(constant_id = 5) const bool ZERO_INSERT = false;
layout(constant_id = 6) const uint OUT_PER_INV = 4;
// The planner's promise: OUT_PER_INV == 4 and out_w % 4 == 0, so an invocation's 4 outputs are
// one aligned vec4 store (on lavapipe one loop over the SIMD lanes instead of four). A
// specialization constant, so the other path is compiled out (lavapipe would run both).
layout(constant_id = 7) const bool VEC4_OUT = false;

layout(push_constant) uniform Push {
  uint planes;  // N * C
  uint out_h, out_w;
  uint in_h, in_w;
  uint chunks;  // ceil(out_w / OUT_PER_INV)
  uint plane_base;  // first plane of this dispatch (a launch is split at the device's z limit)
} p;

void main() {
  // 3-D grid (x: chunk along the row, y: output row, z: plane): no integer division by a
  // run-time value per invocation (a CPU driver such as lavapipe scalarizes those per lane).
  uint chunk = gl_GlobalInvocationID.x;
  uint oh = gl_GlobalInvocationID.y;
  uint plane = gl_GlobalInvocationID.z + p.plane_base;
  if (chunk >= p.chunks || oh >= p.out_h) return;
  if (plane >= p.planes) return;
  uint ih = oh / FH;
  bool nail_row = (oh % FH) == 0u;
  uint in_row = (plane * p.in_h + ih) * p.in_w;
  uint out_row = (plane * p.out_h + oh) * p.out_w;
  if (VEC4_OUT) {
    uint ow0 = chunk * 4u;
    vec4 v;
    [[unroll]] for (uint k = 0; k < 4u; ++k) {
      // With FW dividing 4 (ow0 a multiple of FW) the column is ow0 / FW + k / FW, written so
      // that outputs sharing an input share one load.
      uint iw = 4u % FW == 0u ? ow0 / FW + k / FW : (ow0 + k) / FW;
      v[k] = ZERO_INSERT && !(nail_row && (ow0 + k) % FW == 0u) ? 0.0 : load_x(in_row + iw);
    }
    store_y4((out_row + ow0) / 4u, v);
    return;
  }
  for (uint k = 0; k < OUT_PER_INV; ++k) {
    uint ow = chunk * OUT_PER_INV + k;
    if (ow >= p.out_w) break;
    float v = load_x(in_row + ow / FW);
    if (ZERO_INSERT && !(nail_row && (ow % FW) == 0u)) v = 0.0;
    store_y(out_row + ow, v);
  }
}
