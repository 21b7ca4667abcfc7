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
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(constant_id = 3) const uint PASS = 0;

layout(push_constant) uniform Push {
  uint planes;     // N * C
  uint in_plane;   // in_h * in_w
  uint out_plane;  // out_h * out_w
} p;

#ifndef UPCONV_FP16
// The output buffer again, as uint32 slots (aliases binding 3).
layout(std430, set = 0, binding = 3) buffer OutputSlots { uint y_slots[]; };
#endif

void main() {
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
