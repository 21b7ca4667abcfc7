#version 450
// conv_transpose1d / conv_transpose2d (strided, dilated, grouped, depthwise, output_padding,
// asymmetric crop; 1-D is H = 1) with fused bias and activation, phase-aware.
//
// Output o receives tap t from input i = (o + pad - t * D) / S when that division is exact.
// All outputs o = q + S * j of one phase q in [0, S) share the residue r = (q + pad) mod S, so
// the taps that contribute are exactly t = t0, t0 + step, ... with t0 the smallest t satisfying
// t * D = r (mod S) and step = S / gcd(S, D); the input index then moves by D / gcd(S, D) per
// tap and by 1 per output of the phase. Workgroup z fixes the phase (and n, group, channel
// tile), so each invocation finds t0 once and its loops visit contributing taps only: no tap
// multiplies an inserted zero and no "% S" test runs per tap. POS_TILE outputs of a phase are
// consecutive j, i.e. consecutive input columns. With W_PHASES_INSIDE (below) workgroup z fixes
// the H phase only and each invocation walks the W phases itself, one literal phase at a time.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#ifndef UPCONV_NO_SUBGROUP
#extension GL_KHR_shader_subgroup_ballot : require
#endif
#define UPCONV_VEC4_OUTPUT 1
#include "common.glsl"
#include "conv_common.glsl"
#include "conv_staged.glsl"

uint gcd_u(uint a, uint b) {
  for (uint i = 0; i < 64u && b != 0u; ++i) {  // Euclid on 32-bit values ends well within 64 steps
    uint t = a % b;
    a = b;
    b = t;
  }
  return a;
}

// First contributing tap of phase q along an axis (K if none) and the input index of output
// j = 0 at that tap.
void phase_start(uint q, int pad, uint K, uint S, uint D, out uint t0, out int base) {
  uint r = uint(int(q) + pad) % S;  // q + pad >= 0
  t0 = K;
  for (uint t = 0; t < K; ++t) {
    if ((t * D) % S == r) { t0 = t; break; }
  }
  // Exact division (possibly of a negative number): rounds toward zero, which is exact here.
  base = t0 < K ? (int(q) + pad - int(t0 * D)) / int(S) : 0;
}

// W_PHASES_INSIDE: one invocation computes every W phase (the planner's promise: DW == 1, SW
// divides POS_TILE, Y_VEC4), PHASE_POS = POS_TILE / SW positions of each, so its POS_TILE outputs
// are consecutive along the row, SW * jw0 + e, and leave as vec4 stores: on lavapipe a vec4 is
// one store loop over the SIMD lanes, the strided floats of a single phase one loop each.
// Accumulator slot of channel c, phase qw, phase position k: c * POS_TILE + k * SW + qw.
layout(constant_id = 18) const bool W_PHASES_INSIDE = false;
const uint PHASE_POS = W_PHASES_INSIDE ? POS_TILE / SW : POS_TILE;
const uint SLOT_STEP = W_PHASES_INSIDE ? SW : 1u;

// Most taps any W phase has when DW == 1 (taps step by SW).
const uint MAX_TAPS_W = (KW + SW - 1u) / SW;
const uint WINDOW = PHASE_POS + MAX_TAPS_W - 1u;
// Every W phase has MAX_TAPS_W taps (DW == 1 and SW divides KW).
const bool ALL_W_TAPS = KW % SW == 0u;

// One kernel row th of a phase with DW == 1: window element e holds input column
// iw0 - (MAX_TAPS_W - 1) + e, so tap mw (kernel column tw0 + mw * SW) at position k uses element
// k + MAX_TAPS_W - 1 - mw, a constant once the loops are unrolled. Taps past KW (phases with
// fewer taps) add nothing. Positions k < PHASE_POS accumulate into
// slots c * POS_TILE + k * SLOT_STEP + slot0.
void accumulate_row_window(uint x_row, bool row_ok, int iw0, uint tw0, uint g, uint th, uint co_tile, uint slot0) {
  // A W phase without taps (stride > kernel) adds nothing; tw0 is uniform across the workgroup
  // (its phase is fixed by workgroup z or is a literal), so every lane leaves together.
  if (tw0 >= KW) return;
  int lo = iw0 - int(MAX_TAPS_W - 1u);
  uint xi[WINDOW];
  bool ok[WINDOW];
  [[unroll]] for (uint e = 0; e < WINDOW; ++e) {
    int iw = lo + int(e);
    ok[e] = row_ok && iw >= 0 && iw < int(p.in_w);
    xi[e] = uint(clamp(iw, 0, int(p.in_w) - 1));
  }
  uint x_plane = p.in_h * p.in_w;
  uint tap_stride = p.cin_pg * CO_TILE;
  uint w_row = (((g * p.co_tiles + co_tile) * KH + th) * KW + tw0) * tap_stride;
  // Offset of tap mw from the phase's first tap; a missing tap (past KW) reads the row's last
  // tap instead (never used), so no read leaves the row.
  uint w_tap[MAX_TAPS_W];
  [[unroll]] for (uint mw = 0; mw < MAX_TAPS_W; ++mw)
    w_tap[mw] = ALL_W_TAPS ? mw * SW * tap_stride : (min(tw0 + mw * SW, KW - 1u) - tw0) * tap_stride;
  uint lane = weight_share_lane();
  int x_last = x_texel_last();
  for (uint ci = 0; ci < p.cin_pg; ci += CI_UNROLL) {
    float xw[CI_UNROLL][WINDOW];
    [[unroll]] for (uint u = 0; u < CI_UNROLL; ++u) {
      uint xr = x_row + u * x_plane;
      if (X_TEXELS) {
        LOAD_X_SPAN(xw[u], WINDOW, int(xr) + lo, ok, x_last)
      } else {
        [[unroll]] for (uint e = 0; e < WINDOW; ++e) xw[u][e] = ok[e] ? load_x(xr + xi[e]) : 0.0;
      }
    }
    // Per accumulator, the products of every channel of the step and every tap of the row in
    // one chain (one load and one store of the accumulator), in the order channel by channel,
    // tap by tap. Where SW divides KW every phase has all MAX_TAPS_W taps and the tap test
    // folds away; otherwise it is a select per product.
    [[unroll]] for (uint c0 = 0; c0 < CO_TILE; c0 += W_GROUP) {
      vec4 group[CI_UNROLL][MAX_TAPS_W];
      [[unroll]] for (uint u = 0; u < CI_UNROLL; ++u)
        [[unroll]] for (uint mw = 0; mw < MAX_TAPS_W; ++mw)
          group[u][mw] = weight_group(w_row + w_tap[mw] + u * CO_TILE, c0, lane);
      [[unroll]] for (uint j = 0; j < W_GROUP; ++j) {
        uint c = c0 + j;
        if (c < CO_TILE) {
          float wv[CI_UNROLL][MAX_TAPS_W];
          [[unroll]] for (uint u = 0; u < CI_UNROLL; ++u)
            [[unroll]] for (uint mw = 0; mw < MAX_TAPS_W; ++mw)
              wv[u][mw] = weight_at(w_row + w_tap[mw] + u * CO_TILE, c, group[u][mw]);
          [[unroll]] for (uint k = 0; k < PHASE_POS; ++k) {
            float a = acc[c * POS_TILE + k * SLOT_STEP + slot0];
            [[unroll]] for (uint u = 0; u < CI_UNROLL; ++u)
              [[unroll]] for (uint mw = 0; mw < MAX_TAPS_W; ++mw)
                if (ALL_W_TAPS || tw0 + mw * SW < KW) a += wv[u][mw] * xw[u][k + MAX_TAPS_W - 1u - mw];
            acc[c * POS_TILE + k * SLOT_STEP + slot0] = a;
          }
        }
      }
    }
    x_row += CI_UNROLL * x_plane;
    w_row += CI_UNROLL * CO_TILE;
  }
}

// Kernel row th of W phase q (a literal) at phase positions jw0 + k (W_PHASES_INSIDE).
void accumulate_phase(uint x_row, bool row_ok, int jw0, uint g, uint th, uint co_tile, uint q) {
  uint tq;
  int bq;
  phase_start(q, p.pad_left, KW, SW, DW, tq, bq);
  accumulate_row_window(x_row, row_ok, bq + jw0, tq, g, th, co_tile, q);
}

// STAGED (see conv_staged.glsl; never with W_PHASES_INSIDE): workgroup (x, y) is a block of
// LANES_X * POS_TILE positions jw by ROWS rows jh of phase (qh, qw), for channel tiles
// tile0 .. tile0 + CO_LANES - 1. Kernel row th, the m_h-th tap of the H phase, reads input rows
// base_h + jh - m_h * di_h (consecutive); the W phase's taps tw0 + m * step_w (m < taps_w) read
// columns base_w + jw - m * di_w, so the block's columns start at
// base_w + jw_first - (taps_w - 1) * di_w and position P, tap m reads staged column
// P + (taps_w - 1 - m) * di_w. The phase's taps are found here as main() finds them for the
// register path: sharing that setup through a struct computed before the branch made the
// register path's frame_up 13.1 -> 15-18 ms on lavapipe (five interleaved runs).
void main_staged(uint n, uint g, uint tile0, uint qh, uint qw, uint slice) {
  uint lx = staged_lane_x();
  uint co_tile = tile0 + staged_co_lane();
  uint jh_first = gl_WorkGroupID.y * ROWS;
  uint jw_first = gl_WorkGroupID.x * LANES_X * POS_TILE;
  uint jh = jh_first + staged_row();
  uint oh = qh + SH * jh;
  bool in_range = jh < p.rows && oh < p.out_h && n < p.n && co_tile < p.co_tiles;
  uint x_chan0 = min(n, p.n - 1u) * p.c_in + g * p.cin_pg;
  [[unroll]] for (uint i = 0; i < CO_TILE * POS_TILE; ++i) acc[i] = 0.0;

  uint th0, tw0;
  int base_h, base_w;
  phase_start(qh, p.pad_top, KH, SH, DH, th0, base_h);
  phase_start(qw, p.pad_left, KW, SW, DW, tw0, base_w);
  uint gh = gcd_u(SH, DH), gw = gcd_u(SW, DW);
  uint step_h = SH / gh, step_w = SW / gw;
  int di_h = int(DH / gh), di_w = int(DW / gw);
  // Taps of this W phase (0 where the stride exceeds the kernel: the phase gets bias only).
  uint taps_w = tw0 < KW ? (KW - 1u - tw0) / step_w + 1u : 0u;
  uint tap_stride = p.cin_pg * CO_TILE;
  uint ci_begin, ci_end;
  staged_slice(slice, ci_begin, ci_end);
  // Columns between the W phase's first and last tap (none for a phase without taps).
  int tap_span_w = int(max(taps_w, 1u) - 1u) * di_w;
  StagedWalk walk;
  walk.x_chan0 = x_chan0;
  walk.ih_first0 = base_h + int(jh_first);
  walk.ih_row_step = -di_h;
  walk.row_step = 1;
  walk.iw_first = base_w + int(jw_first) - tap_span_w;
  walk.w_first0 = (((g * p.co_tiles + tile0) * KH + th0) * KW + tw0) * tap_stride;
  walk.w_row_step = step_h * KW * tap_stride;
  walk.w_tile_step = KH * KW * tap_stride;
  walk.w_tap_step = step_w * tap_stride;
  walk.tile0 = tile0;
  walk.ntaps = taps_w;
  walk.col0 = int(lx) + tap_span_w;
  walk.pos_step = LANES_X;
  walk.tap_step = -di_w;
  walk.ci_begin = ci_begin;
  walk.ci_end = ci_end;
  // Kernel rows th0, th0 + step_h, ... < KH; none where the W phase has no taps.
  walk.rows = taps_w > 0u && th0 < KH ? (KH - 1u - th0) / step_h + 1u : 0u;
  staged_walk(walk);
  // A phase without taps still writes its (zero) partial sums: the reduction reads every slice.
  if (in_range) staged_store(slice, n, g, co_tile * CO_TILE, oh, qw + SW * (jw_first + lx), SW * LANES_X);
}

void main() {
  // z: (n, g, co tile, qh[, qw]); STAGED: a unit of CO_LANES channel tiles for the co tile, and
  // innermost the input-channel slice (SPLIT)
  uint z = gl_WorkGroupID.z + p.z_base;
  uint slice = 0u;
  if (STAGED) {
    slice = z % SPLIT;
    z /= SPLIT;
  }
  uint qw = 0u;
  if (!W_PHASES_INSIDE) {
    qw = z % SW;
    z /= SW;
  }
  uint qh = z % SH;
  z /= SH;
  uint co_units = STAGED ? staged_co_units() : p.co_tiles;
  uint co_tile = z % co_units;
  z /= co_units;
  uint g = z % p.groups;
  uint n = z / p.groups;
  if (STAGED) {
    main_staged(n, g, co_tile * CO_LANES, qh, qw, slice);
    return;
  }
  uint id = flat_invocation();
  uint tile = id % p.w_tiles;
  uint jh = id / p.w_tiles;
  uint oh = qh + SH * jh;
  // Invocations past the output still run the loops (see W_SHARE in conv_common.glsl) and
  // store nothing; their loads are clamped in-bounds and masked.
  bool in_range = jh < p.rows && oh < p.out_h && n < p.n;
  n = min(n, p.n - 1u);
  uint co0 = co_tile * CO_TILE;
  uint jw0 = tile * PHASE_POS;
  [[unroll]] for (uint i = 0; i < CO_TILE * POS_TILE; ++i) acc[i] = 0.0;

  uint th0, tw0 = KW;
  int base_h, base_w = 0;
  phase_start(qh, p.pad_top, KH, SH, DH, th0, base_h);
  if (!W_PHASES_INSIDE) phase_start(qw, p.pad_left, KW, SW, DW, tw0, base_w);  // else per phase
  uint gh = gcd_u(SH, DH), gw = gcd_u(SW, DW);
  uint step_h = SH / gh, step_w = SW / gw;
  int di_h = int(DH / gh), di_w = int(DW / gw);

  uint x_group = (n * p.c_in + g * p.cin_pg) * p.in_h;
  int ih = base_h + int(jh);
  for (uint th = th0; th < KH; th += step_h, ih -= di_h) {
    bool row_ok = ih >= 0 && ih < int(p.in_h);
    uint x_row = (x_group + uint(clamp(ih, 0, int(p.in_h) - 1))) * p.in_w;
    int iw0 = base_w + int(jw0);
    if (W_PHASES_INSIDE) {
      // One call per phase with a literal phase (SW <= 4, the planner's promise), so every
      // accumulator index is a constant: an index the driver cannot fold would send the whole
      // accumulator array to scratch memory (on lavapipe 15x slower).
      accumulate_phase(x_row, row_ok, int(jw0), g, th, co_tile, 0u);
      if (SW > 1u) accumulate_phase(x_row, row_ok, int(jw0), g, th, co_tile, 1u);
      if (SW > 2u) accumulate_phase(x_row, row_ok, int(jw0), g, th, co_tile, 2u);
      if (SW > 3u) accumulate_phase(x_row, row_ok, int(jw0), g, th, co_tile, 3u);
      continue;
    }
    if (DW == 1u) {
      // Dilation 1 along W: tap mw of this phase reads columns iw0 - mw + k, so all taps of the
      // row read one window of PHASE_POS + MAX_TAPS_W - 1 columns, loaded once per channel.
      accumulate_row_window(x_row, row_ok, iw0, tw0, g, th, co_tile, 0u);
      continue;
    }
    for (uint tw = tw0; tw < KW; tw += step_w, iw0 -= di_w) {
      uint xi[POS_TILE];
      bool ok[POS_TILE];
      [[unroll]] for (uint k = 0; k < POS_TILE; ++k) {
        int iw = iw0 + int(k);
        ok[k] = row_ok && iw >= 0 && iw < int(p.in_w);
        xi[k] = uint(clamp(iw, 0, int(p.in_w) - 1));
      }
      uint w_at = (((g * p.co_tiles + co_tile) * KH + th) * KW + tw) * p.cin_pg * CO_TILE;
      accumulate_tap(x_row, w_at, xi, ok, iw0);
    }
  }
  if (in_range) {
    if (W_PHASES_INSIDE)
      store_tile(n, g, co0, oh, SW * jw0, 1u);
    else
      store_tile(n, g, co0, oh, qw + SW * jw0, SW);
  }
}
