#version 450
// conv1d / conv2d (dilated, strided, grouped, depthwise; 1-D is H = 1) with fused bias and
// activation. See conv_common.glsl for the work split and weight layout. Taps that land in the
// zero padding are skipped per row (ih) and masked per position (iw).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#ifndef UPCONV_NO_SUBGROUP
#extension GL_KHR_shader_subgroup_ballot : require
#endif
#define UPCONV_VEC4_OUTPUT 1
#include "common.glsl"
#include "conv_common.glsl"
#include "conv_staged.glsl"

// STAGED (see conv_staged.glsl): workgroup (x, y) is a block of LANES_X * POS_TILE output
// columns by ROWS output rows, for channel tiles tile0 .. tile0 + CO_LANES - 1. At kernel row th
// the block's rows read input rows oh * SH - pad_top + th * DH (SH apart) and its columns input
// columns from ow_first * SW - pad_left on; position P of the block, tap tw reads staged column
// P * SW + tw * DW.
void main_staged(uint n, uint g, uint tile0, uint slice) {
  uint lx = staged_lane_x();
  uint co_tile = tile0 + staged_co_lane();
  uint oh_first = gl_WorkGroupID.y * ROWS;
  uint ow_first = gl_WorkGroupID.x * LANES_X * POS_TILE;
  uint oh = oh_first + staged_row();
  bool in_range = oh < p.out_h && n < p.n && co_tile < p.co_tiles;
  uint x_chan0 = min(n, p.n - 1u) * p.c_in + g * p.cin_pg;
  uint tap_stride = p.cin_pg * CO_TILE;
  uint ci_begin, ci_end;
  staged_slice(slice, ci_begin, ci_end);
  [[unroll]] for (uint i = 0; i < CO_TILE * POS_TILE; ++i) acc[i] = 0.0;
  StagedWalk walk;
  walk.x_chan0 = x_chan0;
  walk.ih_first0 = int(oh_first * SH) - p.pad_top;
  walk.ih_row_step = int(DH);
  walk.row_step = int(SH);
  walk.iw_first = int(ow_first * SW) - p.pad_left;
  walk.w_first0 = (g * p.co_tiles + tile0) * KH * KW * tap_stride;
  walk.w_row_step = KW * tap_stride;
  walk.w_tile_step = KH * KW * tap_stride;
  walk.w_tap_step = tap_stride;
  walk.tile0 = tile0;
  walk.ntaps = KW;
  walk.col0 = int(lx * SW);
  walk.pos_step = LANES_X * SW;
  walk.tap_step = int(DW);
  walk.ci_begin = ci_begin;
  walk.ci_end = ci_end;
  walk.rows = KH;
  staged_walk(walk);
  if (in_range) staged_store(slice, n, g, co_tile * CO_TILE, oh, ow_first + lx, LANES_X);
}

void main() {
  // z: (n, g, co tile); STAGED: a unit of CO_LANES channel tiles for the co tile, then the
  // input-channel slice (SPLIT)
  uint z = gl_WorkGroupID.z + p.z_base;
  uint slice = 0u;
  if (STAGED) {
    slice = z % SPLIT;
    z /= SPLIT;
  }
  uint co_units = STAGED ? staged_co_units() : p.co_tiles;
  uint co_tile = z % co_units;
  uint g = (z / co_units) % p.groups;
  uint n = z / (co_units * p.groups);
  if (STAGED) {
    main_staged(n, g, co_tile * CO_LANES, slice);
    return;
  }
  uint id = flat_invocation();
  uint tile = id % p.w_tiles;
  uint oh = id / p.w_tiles;
  // Invocations past the output still run the loops (see W_SHARE in conv_common.glsl) on a
  // clamped row, and store nothing.
  bool in_range = oh < p.out_h && n < p.n;
  oh = min(oh, p.out_h - 1u);
  uint co0 = co_tile * CO_TILE;
  uint ow0 = tile * POS_TILE;
  [[unroll]] for (uint i = 0; i < CO_TILE * POS_TILE; ++i) acc[i] = 0.0;

  uint x_group = (min(n, p.n - 1u) * p.c_in + g * p.cin_pg) * p.in_h;
  for (uint th = 0; th < KH; ++th) {
    int ih = int(oh * SH) - p.pad_top + int(th * DH);
    bool row_ok = ih >= 0 && ih < int(p.in_h);
    uint x_row = (x_group + uint(clamp(ih, 0, int(p.in_h) - 1))) * p.in_w;
    for (uint tw = 0; tw < KW; ++tw) {
      uint xi[POS_TILE];
      bool ok[POS_TILE];
      [[unroll]] for (uint k = 0; k < POS_TILE; ++k) {
        int iw = int((ow0 + k) * SW) - p.pad_left + int(tw * DW);
        ok[k] = row_ok && iw >= 0 && iw < int(p.in_w);
        xi[k] = uint(clamp(iw, 0, int(p.in_w) - 1));
      }
      uint w_at = (((g * p.co_tiles + co_tile) * KH + th) * KW + tw) * p.cin_pg * CO_TILE;
      // Consecutive columns (X_TEXELS is only planned for SW == 1) from the first one.
      accumulate_tap(x_row, w_at, xi, ok, int(ow0 * SW) - p.pad_left + int(tw * DW));
    }
  }
  if (in_range) store_tile(n, g, co0, oh, ow0, 1u);
}
