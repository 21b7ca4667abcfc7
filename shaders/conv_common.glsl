// Shared by conv.comp and conv_transpose.comp: specialization constants, push constants, the
// register-tiled accumulation over input channels and the fused bias + activation epilogue.
//
// Work split: workgroup z picks (batch n, group g, output-channel tile[, stride phase]) so the
// weights an invocation reads and its loop bounds are uniform across the workgroup; the flat
// (x, y) index picks an output row and a tile of POS_TILE positions along W. Each invocation
// accumulates CO_TILE output channels x POS_TILE positions in registers.
//
// Packed weight layout (runtime/vulkan/dispatch_plan.cpp pack_weight):
//   [group][co tile][kh][kw][ci in group][co in tile, CO_TILE]  (zeros in the padding)
// so the weights one workgroup reads are contiguous and a tap's channels stream with a stride of
// CO_TILE floats (a layout with all of a group's channels per ci row strode cout_pg floats per ci:
// on lavapipe dcgan_g2 then stalled on cache misses of its 8 MiB of weights).
#ifndef UPCONV_CONV_COMMON_GLSL
#define UPCONV_CONV_COMMON_GLSL

layout(constant_id = 3) const uint KH = 1;
layout(constant_id = 4) const uint KW = 1;
layout(constant_id = 5) const uint SH = 1;   // stride
layout(constant_id = 6) const uint SW = 1;
layout(constant_id = 7) const uint DH = 1;   // dilation
layout(constant_id = 8) const uint DW = 1;
layout(constant_id = 9) const uint CO_TILE = 1;
layout(constant_id = 10) const uint POS_TILE = 4;
layout(constant_id = 11) const uint ACTIVATION = 0;
layout(constant_id = 12) const float ALPHA = 0.01;
layout(constant_id = 13) const bool HAS_BIAS = false;

layout(push_constant) uniform Push {
  uint n, c_in, in_h, in_w;
  uint c_out, out_h, out_w;
  int pad_top, pad_left;
  uint groups, cin_pg, cout_pg, cout_pg_padded, co_tiles;
  uint rows;     // conv_transpose: output rows per phase (ceil(out_h / SH)); conv: unused
  uint w_tiles;  // tiles of POS_TILE positions along W (per phase for conv_transpose)
  uint z_base;   // first workgroup z of this dispatch (a launch is split at the device's z limit)
} p;

layout(constant_id = 14) const uint W_SHARE = 1;  // lanes that share one weight load (see below)
// 0: weights from the storage buffer; 1 or 4: from the texel buffer, 1 or 4 channels per texel.
layout(constant_id = 15) const uint W_TEXELS = 0;

// The packed weights again, as a uniform texel buffer (R32_SFLOAT or R32G32B32A32_SFLOAT, the
// R16 formats for fp16 storage). llvmpipe (lavapipe) fetches texels with a vector gather, but
// turns every storage-buffer load into a scalar loop over the SIMD lanes and every
// subgroupBroadcast into another: each lane fetching the (lane-uniform) weights itself costs
// less than either. With 4 channels one fetch brings the weights of 4 output channels. The
// planner sets W_TEXELS (and then W_SHARE = 1) where the runtime bound such a view.
layout(set = 0, binding = 5) uniform samplerBuffer w_texels;

// Inputs again, for run() on such devices: a uniform texel buffer view of the input (4 channels
// per texel) at binding 6, read by LOAD_X_SPAN where an invocation's columns are consecutive.
layout(constant_id = 16) const bool X_TEXELS = false;
layout(set = 0, binding = 6) uniform samplerBuffer x_texels;

// Outputs as vec4 stores (where the planner found ow_step == 1 - conv, or conv_transpose with
// W_PHASES_INSIDE -, POS_TILE % 4 == 0 and out_w % 4 == 0, so a group of 4 positions starts at a
// multiple of 4 and lies in the row or past it as a whole): lavapipe writes a vec4 with one loop
// over the SIMD lanes, 4 floats as 4 loops.
layout(constant_id = 17) const bool Y_VEC4 = false;

// Index of the view's last texel (the view covers the input rounded up to whole texels);
// callers compute it once, outside their channel loop.
int x_texel_last() { return int((p.n * p.c_in * p.in_h * p.in_w + 3u) / 4u) - 1; }

// dst[e] = input element base + e for e < N (a constant), or 0 where !ok[e] (padding). The span
// starts anywhere, so the ceil((N + 3) / 4) texels from the one holding `base` are fetched and
// element e sits at offset (base mod 4) + e: one offset per lane, so each element is a select
// among four constant positions. Texel indices are clamped into [0, last] (masked lanes may
// point outside the view; last = x_texel_last()).
#define LOAD_X_SPAN(dst, N, base, ok, last)                                                  \
  {                                                                                          \
    const uint texels_ = (N + 6u) / 4u;                                                      \
    int first_ = (base) >> 2; /* floor, also for a negative base (padding) */                \
    uint shift_ = uint((base) & 3);                                                          \
    vec4 q_[texels_];                                                                        \
    [[unroll]] for (uint i_ = 0u; i_ < texels_; ++i_)                                        \
      q_[i_] = texelFetch(x_texels, clamp(first_ + int(i_), 0, (last)));                     \
    [[unroll]] for (uint e_ = 0u; e_ < N; ++e_) {                                            \
      float v_ = shift_ == 0u ? q_[e_ >> 2][e_ & 3u]                                         \
               : shift_ == 1u ? q_[(e_ + 1u) >> 2][(e_ + 1u) & 3u]                           \
               : shift_ == 2u ? q_[(e_ + 2u) >> 2][(e_ + 2u) & 3u]                           \
                              : q_[(e_ + 3u) >> 2][(e_ + 3u) & 3u];                          \
      dst[e_] = ok[e_] ? v_ : 0.0;                                                           \
    }                                                                                        \
  }

// Input channels per step of the channel loops (1 or 2, dividing cin_pg): each accumulator
// takes CI_UNROLL channels' products between one load and one store. On lavapipe the
// accumulators live on the stack (CO_TILE * POS_TILE of them per lane), so that halves their
// memory traffic.
layout(constant_id = 19) const uint CI_UNROLL = 1;

float acc[CO_TILE * POS_TILE];

// The CO_TILE weights of one (tap, ci) are the same for every invocation of the workgroup. On
// drivers that execute lanes as SIMD (lavapipe: a scalar loop over lanes per buffer load), W_SHARE
// lanes load W_SHARE different weights with one load instruction and broadcast them through the
// subgroup, cutting the weight-load cost by W_SHARE. The planner sets W_SHARE <= the subgroup
// size (1 disables it). This is why no invocation returns early or skips a tap on its own: every
// lane of the subgroup must take part in each broadcast (masking happens through `ok`).
// Built with -DUPCONV_NO_SUBGROUP for devices without subgroup ballot in compute shaders; the
// planner then sets W_SHARE = 1 and every lane loads its own weights.
uint weight_share_lane() {
#ifdef UPCONV_NO_SUBGROUP
  return 0u;
#else
  return W_SHARE > 1u ? gl_SubgroupInvocationID % W_SHARE : 0u;
#endif
}

// Callers walk the CO_TILE weights of one (tap, ci) in groups of W_GROUP consecutive channels:
// weight_group loads what this lane holds for group c0 (one load), weight_at picks channel c.
const uint W_GROUP = W_TEXELS == 4u ? 4u : W_SHARE;

vec4 weight_group(uint w_at, uint c0, uint lane) {
  if (W_TEXELS == 4u) return texelFetch(w_texels, int((w_at + c0) / 4u));  // w_at, c0: multiples of 4
  if (W_SHARE > 1u) return vec4(load_w(w_at + c0 + min(lane, CO_TILE - 1u - c0)));  // lane l: channel c0 + l
  return vec4(0.0);
}

float weight_at(uint w_at, uint c, vec4 group) {
  if (W_TEXELS == 4u) return group[c % 4u];
  if (W_TEXELS == 1u) return texelFetch(w_texels, int(w_at + c)).r;
#ifdef UPCONV_NO_SUBGROUP
  return load_w(w_at + c);
#else
  if (W_SHARE <= 1u) return load_w(w_at + c);
  // subgroupBroadcast needs a constant lane; c is constant once the caller's loop is unrolled,
  // so the driver folds this switch.
  switch (c % W_SHARE) {
    case 0u: return subgroupBroadcast(group.x, 0u);
    case 1u: return subgroupBroadcast(group.x, 1u);
    case 2u: return subgroupBroadcast(group.x, 2u);
    case 3u: return subgroupBroadcast(group.x, 3u);
    case 4u: return subgroupBroadcast(group.x, 4u);
    case 5u: return subgroupBroadcast(group.x, 5u);
    case 6u: return subgroupBroadcast(group.x, 6u);
    default: return subgroupBroadcast(group.x, 7u);
  }
#endif
}

// Adds sum over ci in the group of w[tap][ci][co0 + c] * x[n, g*cin_pg + ci, ih, xi[k]] into acc.
// x_row: flat index of (n, g*cin_pg, ih, 0); w_at: flat index of (g, co tile, th, tw, ci 0, 0).
// xi are clamped (always in-bounds) column indices; ok says which are real (padding taps and
// rows add 0). With X_TEXELS the columns are consecutive, col0 + k (unclamped), and read as texels.
void accumulate_tap(uint x_row, uint w_at, uint xi[POS_TILE], bool ok[POS_TILE], int col0) {
  uint x_plane = p.in_h * p.in_w;
  uint lane = weight_share_lane();
  int x_last = x_texel_last();
  for (uint ci = 0; ci < p.cin_pg; ci += CI_UNROLL) {
    float xv[CI_UNROLL][POS_TILE];
    [[unroll]] for (uint u = 0; u < CI_UNROLL; ++u) {
      uint xr = x_row + u * x_plane;
      if (X_TEXELS) {
        LOAD_X_SPAN(xv[u], POS_TILE, int(xr) + col0, ok, x_last)
      } else {
        [[unroll]] for (uint k = 0; k < POS_TILE; ++k) xv[u][k] = ok[k] ? load_x(xr + xi[k]) : 0.0;
      }
    }
    [[unroll]] for (uint c0 = 0; c0 < CO_TILE; c0 += W_GROUP) {
      vec4 group[CI_UNROLL];
      [[unroll]] for (uint u = 0; u < CI_UNROLL; ++u) group[u] = weight_group(w_at + u * CO_TILE, c0, lane);
      // Constant trip counts only, so the driver unrolls fully and every acc index is constant.
      [[unroll]] for (uint j = 0; j < W_GROUP; ++j) {
        uint c = c0 + j;
        if (c < CO_TILE) {
          float wv[CI_UNROLL];
          [[unroll]] for (uint u = 0; u < CI_UNROLL; ++u) wv[u] = weight_at(w_at + u * CO_TILE, c, group[u]);
          [[unroll]] for (uint k = 0; k < POS_TILE; ++k) {
            float a = acc[c * POS_TILE + k];
            [[unroll]] for (uint u = 0; u < CI_UNROLL; ++u) a += wv[u] * xv[u][k];
            acc[c * POS_TILE + k] = a;
          }
        }
      }
    }
    x_row += CI_UNROLL * x_plane;
    w_at += CI_UNROLL * CO_TILE;
  }
}

// Bias + activation + store for output row oh, positions ow = ow0 + k * ow_step.
void store_tile(uint n, uint g, uint co0, uint oh, uint ow0, uint ow_step) {
  [[unroll]] for (uint c = 0; c < CO_TILE; ++c) {
    uint co = co0 + c;
    if (co < p.cout_pg) {
      uint oc = g * p.cout_pg + co;
      float b = HAS_BIAS ? load_b(oc) : 0.0;
      uint row = ((n * p.c_out + oc) * p.out_h + oh) * p.out_w;
      if (Y_VEC4) {
        [[unroll]] for (uint k = 0; k < POS_TILE; k += 4u) {
          uint ow = ow0 + k;
          vec4 v;
          [[unroll]] for (uint e = 0; e < 4u; ++e) v[e] = activate(ACTIVATION, ALPHA, acc[c * POS_TILE + k + e] + b);
          if (ow < p.out_w) store_y4((row + ow) / 4u, v);
        }
      } else {
        [[unroll]] for (uint k = 0; k < POS_TILE; ++k) {
          uint ow = ow0 + k * ow_step;
          if (ow < p.out_w) store_y(row + ow, activate(ACTIVATION, ALPHA, acc[c * POS_TILE + k] + b));
        }
      }
    }
  }
}

#endif
