#version 450
// max_unpool2d in three passes (spec constant PASS), with a buffer barrier between them:
//   0: zero-fill the output;
//   1: one invocation per input element scatters into the output slot its index names;
//   2: one invocation per output element resolves its slot.
// fp32: the output is first used as uint32 slots. Pass 1 does atomicMax(slot, position + 1),
// where position is the element's flat index in its input plane, so for duplicate indices the
// element LAST in C order wins — exactly the reference's sequential loop — whatever order the
// invocations run in. Pass 2 replaces each slot by the winning input value (0 if untouched).
// fp16: a 16-bit slot cannot hold a position, so pass 1 stores the value directly and pass 2
// does nothing. Indices from a real max_pool2d only repeat for equal values (overlapping windows
// selecting the same maximum), so the result is still exact; for adversarial duplicates with
// different values the winner is unspecified in fp16.
//
// Pass 3 replaces all three where the runtime saw every index inside its own element's window
// and the windows tile the plane (kernel == stride, no padding; max_pool2d's indices): output
// (oh, ow) can then only come from the input element whose window holds it, so each output
// gathers that element and keeps its value if the element's index names it, else 0. No zero
// fill, no atomics, no duplicates; 4 consecutive outputs per invocation, as one vec4 store
// where out_w % 4 == 0 (VEC4_OUT). Plan::run only (record() cannot see the indices).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#define UPCONV_VEC4_OUTPUT 1
#include "common.glsl"

layout(constant_id = 3) const uint PASS = 0;
layout(constant_id = 4) const uint KH = 2;  // pass 3: window (= stride)
layout(constant_id = 5) const uint KW = 2;
layout(constant_id = 6) const bool VEC4_OUT = false;

layout(push_constant) uniform Push {
  uint planes;     // N * C
  uint in_plane;   // in_h * in_w
  uint out_plane;  // out_h * out_w
  uint in_h, in_w, out_h, out_w;  // pass 3
  uint chunks;                    // pass 3: ceil(out_w / 4)
  uint plane_base;  // pass 3: first plane of this dispatch (a launch is split at the z limit)
} p;

#ifndef UPCONV_FP16
// The output buffer again, as uint32 slots (aliases binding 3).
layout(std430, set = 0, binding = 3) buffer OutputSlots { uint y_slots[]; };
#endif

// Output (plane, oh, ow), gathered (pass 3). Outputs past the windows (an explicit output size
// larger than in * k) get 0: no index may point there when all lie in their windows.
float gather_output(uint plane, uint oh, uint ow) {
  uint ih = oh / KH, iw = ow / KW;
  if (ih >= p.in_h || iw >= p.in_w) return 0.0;
  uint e = plane * p.in_plane + ih * p.in_w + iw;
  return idx_buf[e] == oh * p.out_w + ow ? load_x(e) : 0.0;
}

void main() {
  if (PASS == 3u) {
    // 3-D grid (x: chunk of 4 along the row, y: output row, z: plane): no division by a
    // run-time value.
    uint chunk = gl_GlobalInvocationID.x;
    uint oh = gl_GlobalInvocationID.y;
    uint plane = gl_GlobalInvocationID.z + p.plane_base;
    if (chunk >= p.chunks || oh >= p.out_h || plane >= p.planes) return;
    uint ow0 = chunk * 4u;
    uint out_row = (plane * p.out_h + oh) * p.out_w;
    if (VEC4_OUT) {
      vec4 v;
      [[unroll]] for (uint k = 0; k < 4u; ++k) v[k] = gather_output(plane, oh, ow0 + k);
      store_y4((out_row + ow0) / 4u, v);
    } else {
      for (uint k = 0; k < 4u && ow0 + k < p.out_w; ++k) store_y(out_row + ow0 + k, gather_output(plane, oh, ow0 + k));
    }
    return;
  }
  uint id = flat_invocation();
  if (PASS == 1u) {
    if (id >= p.planes * p.in_plane) return;
    uint plane = id / p.in_plane;
    uint target = idx_buf[id];
    if (target >= p.out_plane) return;  // the runtime validates indices; never write outside
    uint at = plane * p.out_plane + target;
#ifdef UPCONV_FP16
    store_y(at, load_x(id));
#else
    atomicMax(y_slots[at], id - plane * p.in_plane + 1u);
#endif
    return;
  }
  if (id >= p.planes * p.out_plane) return;
#ifdef UPCONV_FP16
  if (PASS == 0u) store_y(id, 0.0);
#else
  if (PASS == 0u) {
    y_slots[id] = 0u;
  } else {
    uint slot = y_slots[id];
    uint plane = id / p.out_plane;
    float v = slot == 0u ? 0.0 : load_x(plane * p.in_plane + min(slot - 1u, p.in_plane - 1u));
    store_y(id, v);
  }
#endif
}
