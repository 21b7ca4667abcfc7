#version 450
// pixel_shuffle (depth -> space) and pixel_unshuffle (space -> depth), modes crd and dcr.
// Each invocation writes OUT_PER_INV consecutive elements of one output row (coalesced writes);
// its reads gather from r channels (shuffle) or step by r along the row (unshuffle).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#define UPCONV_VEC4_OUTPUT 1
#include "common.glsl"

layout(constant_id = 3) const uint R = 2;             // factor
layout(constant_id = 4) const bool DCR = false;       // mode dcr (else crd)
layout(constant_id = 5) const bool INVERSE = false;   // pixel_unshuffle
layout(constant_id = 6) const uint OUT_PER_INV = 4;

layout(push_constant) uniform Push {
  uint planes;      // N * C_out
  uint c_out;       // output channels
  uint out_h, out_w;
  uint in_h, in_w;
  uint in_c;        // input channels
  uint chunks;      // ceil(out_w / OUT_PER_INV)
  uint vec4_rows;   // 1 when OUT_PER_INV == 4 and out_w % 4 == 0: whole chunks, 16-byte aligned
} p;

void main() {
  // 3-D grid (x: chunk along the row, y: output row, z: plane): no integer division by a
  // run-time value per invocation (a CPU driver such as lavapipe scalarizes those per lane).
  uint chunk = gl_GlobalInvocationID.x;
  uint oh = gl_GlobalInvocationID.y;
  uint plane = gl_GlobalInvocationID.z;
  if (chunk >= p.chunks || oh >= p.out_h) return;
  if (plane >= p.planes) return;
  uint n = plane / p.c_out, oc = plane % p.c_out;
  uint out_row = (plane * p.out_h + oh) * p.out_w;
  uint ow0 = chunk * OUT_PER_INV;
  if (!INVERSE) {
    // Output (n, oc, oh, ow) <- input (n, dc, oh / r, ow / r) with dc from (oc, i, j).
    uint ih = oh / R, i = oh % R;
    uint wide_c = p.c_out;
    if (OUT_PER_INV == 4u && p.vec4_rows != 0u) {
      vec4 v;
      [[unroll]] for (uint k = 0; k < 4u; ++k) {
        uint ow = ow0 + k;
        uint iw = ow / R, j = ow % R;
        uint dc = DCR ? (i * R + j) * wide_c + oc : oc * R * R + i * R + j;
        v[k] = load_x(((n * p.in_c + dc) * p.in_h + ih) * p.in_w + iw);
      }
      store_y4((out_row + ow0) / 4u, v);
      return;
    }
    for (uint k = 0; k < OUT_PER_INV; ++k) {
      uint ow = ow0 + k;
      if (ow >= p.out_w) break;
      uint iw = ow / R, j = ow % R;
      uint dc = DCR ? (i * R + j) * wide_c + oc : oc * R * R + i * R + j;
      store_y(out_row + ow, load_x(((n * p.in_c + dc) * p.in_h + ih) * p.in_w + iw));
    }
  } else {
    // Output (n, dc, oh, ow) <- input (n, c, oh * r + i, ow * r + j) with (c, i, j) from dc.
    uint wide_c = p.in_c;
    uint c, ij;
    if (DCR) { c = oc % wide_c; ij = oc / wide_c; } else { c = oc / (R * R); ij = oc % (R * R); }
    uint i = ij / R, j = ij % R;
    uint in_row = ((n * wide_c + c) * p.in_h + oh * R + i) * p.in_w + j;
    if (OUT_PER_INV == 4u && p.vec4_rows != 0u) {
      vec4 v;
      [[unroll]] for (uint k = 0; k < 4u; ++k) v[k] = load_x(in_row + (ow0 + k) * R);
      store_y4((out_row + ow0) / 4u, v);
      return;
    }
    for (uint k = 0; k < OUT_PER_INV; ++k) {
      uint ow = ow0 + k;
      if (ow >= p.out_w) break;
      store_y(out_row + ow, load_x(in_row + ow * R));
    }
  }
}
