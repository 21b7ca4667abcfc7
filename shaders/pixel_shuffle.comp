#version 450
// pixel_shuffle (depth -> space) and pixel_unshuffle (space -> depth), modes crd and dcr.
// Each invocation writes OUT_PER_INV consecutive elements of one output row (coalesced writes);
// its reads gather from r channels (shuffle) or step by r along the row (unshuffle).
// Shuffle with input rows of whole vec4s and 2 <= r <= 4 (VEC_MODE 2, OUT_PER_INV a multiple of
// 4r): one vec4 from each of the r source channels, interleaved into r output vec4s. On a CPU
// driver such as lavapipe every per-lane memory access is a loop over the SIMD lanes, so whole
// vectors in and out cut those loops fourfold.
// The path is a specialization constant, not a push constant: lavapipe runs both sides of a
// branch it cannot resolve at compile time under an execution mask, and the per-lane memory loops
// of the paths not taken cost as much as the ones taken (a push-constant mode made shuffle_x2
// 2.5-3x slower).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#define UPCONV_VEC4_OUTPUT 1
#define UPCONV_VEC4_INPUT 1
#include "common.glsl"

layout(constant_id = 3) const uint R = 2;             // factor
layout(constant_id = 4) const bool DCR = false;       // mode dcr (else crd)
layout(constant_id = 5) const bool INVERSE = false;   // pixel_unshuffle
layout(constant_id = 6) const uint OUT_PER_INV = 4;
// 0: one element at a time; 1: OUT_PER_INV == 4 and out_w % 4 == 0 (aligned vec4 stores);
// 2: see above (vec4 loads too). The planner only picks a mode whose conditions hold.
layout(constant_id = 7) const uint VEC_MODE = 0;
// Mode 2 reads its vec4s from a 4-channel uniform texel buffer view of the input (binding 6, as
// the conv shaders) where the runtime bound one (Plan::run on devices with texel reads).
layout(constant_id = 8) const bool X_TEXELS = false;
layout(set = 0, binding = 6) uniform samplerBuffer x_texels;

vec4 load_in4(uint i4) { return X_TEXELS ? texelFetch(x_texels, int(i4)) : load_x4(i4); }

layout(push_constant) uniform Push {
  uint planes;      // N * C_out
  uint c_out;       // output channels
  uint out_h, out_w;
  uint in_h, in_w;
  uint in_c;        // input channels
  uint chunks;      // ceil(out_w / OUT_PER_INV)
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
  uint n = plane / p.c_out, oc = plane % p.c_out;
  uint out_row = (plane * p.out_h + oh) * p.out_w;
  uint ow0 = chunk * OUT_PER_INV;
  if (!INVERSE) {
    // Output (n, oc, oh, ow) <- input (n, dc, oh / r, ow / r) with dc from (oc, i, j).
    uint ih = oh / R, i = oh % R;
    uint wide_c = p.c_out;
    if (VEC_MODE == 2u) {  // the planner's promise: 2 <= r <= 4, OUT_PER_INV a multiple of 4r
      // OUT_PER_INV / 4r groups of r vec4 loads -> r vec4 stores.
      [[unroll]] for (uint grp = 0; grp < OUT_PER_INV / (4u * R); ++grp) {
        uint og = ow0 + grp * 4u * R;
        uint iw0 = og / R;  // a multiple of 4
        uint src = ((n * p.in_c) * p.in_h + ih) * p.in_w + iw0;
        uint in_plane = p.in_h * p.in_w;
        uint dc0 = DCR ? i * R * wide_c + oc : oc * R * R + i * R;  // source j: dc0 + j * dc_step
        uint dc_step = DCR ? wide_c : 1u;
        // Output element e of the group is input column iw0 + e / r of source j = e % r, written
        // out per r so that no index depends on the driver unrolling a loop.
        vec4 v0 = load_in4((src + dc0 * in_plane) / 4u);
        vec4 v1 = load_in4((src + (dc0 + dc_step) * in_plane) / 4u);
        uint out4 = (out_row + og) / 4u;
        if (R == 2u) {
          store_y4(out4, vec4(v0.x, v1.x, v0.y, v1.y));
          store_y4(out4 + 1u, vec4(v0.z, v1.z, v0.w, v1.w));
        } else if (R == 3u) {
          vec4 v2 = load_in4((src + (dc0 + 2u * dc_step) * in_plane) / 4u);
          store_y4(out4, vec4(v0.x, v1.x, v2.x, v0.y));
          store_y4(out4 + 1u, vec4(v1.y, v2.y, v0.z, v1.z));
          store_y4(out4 + 2u, vec4(v2.z, v0.w, v1.w, v2.w));
        } else {  // R == 4
          vec4 v2 = load_in4((src + (dc0 + 2u * dc_step) * in_plane) / 4u);
          vec4 v3 = load_in4((src + (dc0 + 3u * dc_step) * in_plane) / 4u);
          store_y4(out4, vec4(v0.x, v1.x, v2.x, v3.x));
          store_y4(out4 + 1u, vec4(v0.y, v1.y, v2.y, v3.y));
          store_y4(out4 + 2u, vec4(v0.z, v1.z, v2.z, v3.z));
          store_y4(out4 + 3u, vec4(v0.w, v1.w, v2.w, v3.w));
        }
      }
      return;
    }
    if (VEC_MODE == 1u) {  // the planner's promise: OUT_PER_INV == 4
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
    if (VEC_MODE == 1u) {  // the planner's promise: OUT_PER_INV == 4
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
