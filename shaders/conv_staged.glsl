// Shared-memory staging for conv.comp and conv_transpose.comp (STAGED, spec id 20): the path
// for GPUs, where every invocation of a workgroup reading the same weights and overlapping input
// columns from device memory wastes bandwidth that shared memory saves.
//
// The workgroup (1-D, CO_LANES * ROWS * LANES_X invocations) is a block of ROWS output rows (of
// one stride phase for conv_transpose) by LANES_X * POS_TILE positions along W, for CO_LANES
// consecutive channel tiles of CO_TILE output channels. Lane (lc, ly, lx) computes channel tile
// lc, row ly, positions lx + k * LANES_X (k < POS_TILE): interleaved rather than consecutive, so
// that neighbouring lanes read neighbouring shared-memory words (no bank conflicts; a conv with
// stride SW along W reads every SW-th word, SW-way) and write neighbouring output words
// (coalesced stores; SW apart for a conv_transpose phase). Per kernel row and chunk of up to
// CI_CHUNK input channels the workgroup
//   1. stages the input rows its ROWS output rows read at that kernel row, columns
//      [iw_first, iw_first + COLS), zeros where they fall in the padding, into x_tile;
//   2. stages the weights of that kernel row's taps (TAPS at most) for its channel tiles into
//      w_tile;
//   3. accumulates from shared memory only: every input value staged is read by up to
//      TAPS * CO_TILE * CO_LANES multiply-adds of several lanes, every weight by all lanes of
//      its channel tile.
// Channel tiles share a workgroup where the spatial block is small (dcgan_g2: 8 x 8 positions
// per phase, 16 lanes, so 4 channel tiles), so that a workgroup still has enough lanes and every
// input tile staged serves more output channels.
// Rows are staged per kernel row rather than once for all kernel rows so that a dilated kernel
// (aspp_d12: taps 12 rows apart) does not stage the rows between its taps.
// With PREFETCH (the default on GPUs) step 1 and 2's loads for the next step go out into
// registers before step 3 of the current one, and land in shared memory at the next step's start
// (staged_walk).
// The planner (runtime/vulkan/dispatch_plan.cpp plan_conv) sizes CI_CHUNK so that both tiles fit
// the device's shared memory and sets ids 21..31 to 1 (29 to false) where STAGED is off, so that
// the arrays then take one word each.
#ifndef UPCONV_CONV_STAGED_GLSL
#define UPCONV_CONV_STAGED_GLSL

layout(constant_id = 20) const bool STAGED = false;
layout(constant_id = 21) const uint CI_CHUNK = 1;  // input channels per staged tile
layout(constant_id = 22) const uint LANES_X = 1;   // lanes of a workgroup along W
layout(constant_id = 23) const uint ROWS = 1;      // output rows of a workgroup
layout(constant_id = 24) const uint COLS = 1;      // staged input columns per row
layout(constant_id = 25) const uint TAPS = 1;      // most taps of one kernel row
layout(constant_id = 26) const uint CO_LANES = 1;  // channel tiles of a workgroup
// Split over input channels (split-K): SPLIT workgroups share each output block, each summing
// its own slice of a group's input channels into partial_buf; conv_split_reduce.comp then adds
// the slices, the bias and the activation. For launches with too few output tiles to fill a GPU.
layout(constant_id = 27) const uint SPLIT = 1;
// Elements a lane loads per round while staging (see stage_input).
layout(constant_id = 28) const uint STAGE_BATCH = 1;
// PREFETCH (see staged_walk): the next step's tiles are loaded into registers while the
// workgroup multiplies the current ones, so that a compute unit with one or two workgroups does
// not wait for device memory at every step; and the channel loop of a full chunk (CI_CHUNK
// channels, a constant) is unrolled, so that the driver can issue the shared-memory loads of
// later channels before the multiply-adds of earlier ones. (Unrolled without prefetching, the
// loop was no faster on an H100 and made staged test runs on lavapipe 3x slower.) X_REGS and W_REGS:
// elements of the input and weight tile per lane (the tiles' full sizes over the workgroup's
// lanes, rounded up).
layout(constant_id = 29) const bool PREFETCH = false;
layout(constant_id = 30) const uint X_REGS = 1;
layout(constant_id = 31) const uint W_REGS = 1;

// Partial sums of SPLIT > 1 launches, fp32 whatever the storage: [slice][n][c_out][oh][ow]
// (binding 4, which no conv reads otherwise).
layout(std430, set = 0, binding = 4) writeonly buffer PartialBuf { float partial_buf[]; };

// Input channels [ci_begin, ci_end) of slice s of a group's p.cin_pg (uniform per workgroup).
void staged_slice(uint s, out uint ci_begin, out uint ci_end) {
  uint per = (p.cin_pg + SPLIT - 1u) / SPLIT;
  ci_begin = min(s * per, p.cin_pg);
  ci_end = min(ci_begin + per, p.cin_pg);
}

// The accumulators as slice s's partial sums of output row oh, positions ow0 + k * ow_step.
void store_partial(uint s, uint n, uint g, uint co0, uint oh, uint ow0, uint ow_step) {
  uint slice_base = s * p.n * p.c_out * p.out_h * p.out_w;
  [[unroll]] for (uint c = 0; c < CO_TILE; ++c) {
    uint co = co0 + c;
    if (co < p.cout_pg) {
      uint row = ((n * p.c_out + g * p.cout_pg + co) * p.out_h + oh) * p.out_w;
      [[unroll]] for (uint k = 0; k < POS_TILE; ++k) {
        uint ow = ow0 + k * ow_step;
        if (ow < p.out_w) partial_buf[slice_base + row + ow] = acc[c * POS_TILE + k];
      }
    }
  }
}

// The end of a staged invocation: its outputs (store_tile, conv_common.glsl), or with SPLIT its
// slice's partial sums.
void staged_store(uint slice, uint n, uint g, uint co0, uint oh, uint ow0, uint ow_step) {
  if (SPLIT > 1u)
    store_partial(slice, n, g, co0, oh, ow0, ow_step);
  else
    store_tile(n, g, co0, oh, ow0, ow_step);
}

// Weights as vec4s of 4 output channels (the last one padded): a lane reads 4 weights with one
// shared-memory load, a broadcast, instead of 4.
const uint CO_VEC4 = (CO_TILE + 3u) / 4u;
shared float x_tile[CI_CHUNK * ROWS * COLS];     // [channel][row][column]
// [tap][channel][channel tile of the workgroup][output channels of the tile / 4]
shared vec4 w_tile[TAPS * CI_CHUNK * CO_LANES * CO_VEC4];

uint staged_lane_x() { return gl_LocalInvocationID.x % LANES_X; }
uint staged_row() { return (gl_LocalInvocationID.x / LANES_X) % ROWS; }
uint staged_co_lane() { return gl_LocalInvocationID.x / (LANES_X * ROWS); }

// Workgroup z counts units of CO_LANES channel tiles where the conv shaders count channel tiles.
uint staged_co_units() { return (p.co_tiles + CO_LANES - 1u) / CO_LANES; }

// Stages channels ci0 .. ci0 + nci - 1 of a group (x_chan0: flat channel index n * c_in + first
// channel of the group): tile row r holds input row ih_first + r * row_step, column c input
// column iw_first + c.
// Both staging functions go in rounds of STAGE_BATCH elements per lane: all of a round's loads
// are issued before its first store to shared memory, so a lane waits for device memory once per
// round rather than once per element (a loop of one load and one store per trip does not let the
// compiler start the next load before the store).
void stage_input(uint x_chan0, uint ci0, uint nci, int ih_first, int row_step, int iw_first) {
  const uint per_channel = ROWS * COLS;
  const uint total = nci * per_channel;
  for (uint first = gl_LocalInvocationID.x; first < total; first += STAGE_BATCH * gl_WorkGroupSize.x) {
    float v[STAGE_BATCH];
    [[unroll]] for (uint b = 0; b < STAGE_BATCH; ++b) {
      uint i = first + b * gl_WorkGroupSize.x;
      uint c = i / per_channel;
      uint r = (i / COLS) % ROWS;
      int ih = ih_first + int(r) * row_step;
      int iw = iw_first + int(i % COLS);
      v[b] = 0.0;
      if (i < total && ih >= 0 && ih < int(p.in_h) && iw >= 0 && iw < int(p.in_w))
        v[b] = load_x(((x_chan0 + ci0 + c) * p.in_h + uint(ih)) * p.in_w + uint(iw));
    }
    [[unroll]] for (uint b = 0; b < STAGE_BATCH; ++b) {
      uint i = first + b * gl_WorkGroupSize.x;
      if (i < total) x_tile[i] = v[b];
    }
  }
}

// Stages the packed weights (layout in conv_common.glsl) of ntaps taps of the workgroup's
// channel tiles, tile0 + lc for lc < CO_LANES (zeros for tiles past p.co_tiles): tap m of tile
// tile0 + lc starts at flat index w_first + lc * w_tile_step + m * w_tap_step, and its channels
// ci0 .. ci0 + nci - 1 are one contiguous run of nci * CO_TILE floats.
void stage_weights(uint w_first, uint w_tile_step, uint w_tap_step, uint tile0, uint ntaps, uint ci0, uint nci) {
  const uint per_tap = nci * CO_TILE;
  const uint total = ntaps * CO_LANES * per_tap;
  for (uint first = gl_LocalInvocationID.x; first < total; first += STAGE_BATCH * gl_WorkGroupSize.x) {
    float v[STAGE_BATCH];
    uint at[STAGE_BATCH];  // w_tile's vec4 * 4 + component: per_tap divides by a run-time value
    [[unroll]] for (uint b = 0; b < STAGE_BATCH; ++b) {
      uint i = first + b * gl_WorkGroupSize.x;
      uint j = i % per_tap;  // channel * CO_TILE + output channel
      uint lc = (i / per_tap) % CO_LANES;
      uint m = i / (per_tap * CO_LANES);
      uint c = j / CO_TILE, co = j % CO_TILE;
      at[b] = (((m * CI_CHUNK + c) * CO_LANES + lc) * CO_VEC4 + co / 4u) * 4u + co % 4u;
      v[b] = 0.0;
      if (i < total && tile0 + lc < p.co_tiles) v[b] = load_w(w_first + lc * w_tile_step + m * w_tap_step + ci0 * CO_TILE + j);
    }
    [[unroll]] for (uint b = 0; b < STAGE_BATCH; ++b)
      if (first + b * gl_WorkGroupSize.x < total) w_tile[at[b] / 4u][at[b] % 4u] = v[b];
  }
}

// acc[c][k] += w_tile[m][ci][c] * x_tile[ci][row][col + k * pos_step] for every c, k.
void accumulate_channel(uint m, uint ci, uint row, uint col, uint pos_step) {
  uint x_at = (ci * ROWS + row) * COLS + col;
  float xv[POS_TILE];
  [[unroll]] for (uint k = 0; k < POS_TILE; ++k) xv[k] = x_tile[x_at + k * pos_step];
  uint w_at = ((m * CI_CHUNK + ci) * CO_LANES + staged_co_lane()) * CO_VEC4;
  [[unroll]] for (uint c4 = 0; c4 < CO_VEC4; ++c4) {
    vec4 w = w_tile[w_at + c4];  // the same address in every lane: a broadcast
    [[unroll]] for (uint e = 0; e < 4u; ++e) {
      uint c = c4 * 4u + e;
      if (c < CO_TILE) {
        [[unroll]] for (uint k = 0; k < POS_TILE; ++k) acc[c * POS_TILE + k] += w[e] * xv[k];
      }
    }
  }
}

// acc[c][k] += sum over taps m < ntaps and staged channels ci < nci of
//   w_tile[m][ci][c] * x_tile[ci][row][col0 + k * pos_step + m * tap_step].
void accumulate_staged(uint ntaps, uint nci, uint row, int col0, uint pos_step, int tap_step) {
  for (uint m = 0; m < ntaps; ++m) {
    uint col = uint(col0 + int(m) * tap_step);
    if (PREFETCH && nci == CI_CHUNK) {
      [[unroll]] for (uint ci = 0; ci < CI_CHUNK; ++ci) accumulate_channel(m, ci, row, col, pos_step);
    } else {
      for (uint ci = 0; ci < nci; ++ci) accumulate_channel(m, ci, row, col, pos_step);
    }
  }
}

// One staged step: waits until every lane is done with the previous tiles, stages, waits until
// the tiles are complete, accumulates. barrier() in a compute shader also makes the shared
// writes before it visible after it (glslang emits workgroup-memory acquire-release semantics).
// Every lane of the workgroup must call this the same number of times (loop bounds uniform).
void staged_step(uint x_chan0, uint ci0, uint nci, int ih_first, int row_step, int iw_first, uint w_first,
                 uint w_tile_step, uint w_tap_step, uint tile0, uint ntaps, int col0, uint pos_step, int tap_step) {
  barrier();
  stage_input(x_chan0, ci0, nci, ih_first, row_step, iw_first);
  stage_weights(w_first, w_tile_step, w_tap_step, tile0, ntaps, ci0, nci);
  barrier();
  accumulate_staged(ntaps, nci, staged_row(), col0, pos_step, tap_step);
}

// The steps of one staged workgroup: kernel rows r < rows (for conv_transpose, the rows of the
// H phase), each reading input rows from ih_first0 + r * ih_row_step and the weights from
// w_first0 + r * w_row_step, by chunks of CI_CHUNK input channels of [ci_begin, ci_end).
struct StagedWalk {
  uint x_chan0;
  int ih_first0, ih_row_step, row_step, iw_first;
  uint w_first0, w_row_step, w_tile_step, w_tap_step;
  uint tile0, ntaps;
  int col0;
  uint pos_step;
  int tap_step;
  uint ci_begin, ci_end, rows;
};

float x_regs[X_REGS];
float w_regs[W_REGS];

// Loads step k's tiles (kernel row r, channels ci0 .. ci0 + nci - 1) into x_regs and w_regs:
// element b of a lane is tile element lane + b * lanes in the layouts of x_tile and w_tile, with
// a full chunk's size, so that every division is by a constant; channels past nci, taps past
// ntaps, tiles past p.co_tiles and columns in the padding are zeros.
void prefetch_tiles(StagedWalk s, uint r, uint ci0, uint nci) {
  const uint lanes = gl_WorkGroupSize.x;
  int ih_first = s.ih_first0 + int(r) * s.ih_row_step;
  [[unroll]] for (uint b = 0; b < X_REGS; ++b) {
    uint i = gl_LocalInvocationID.x + b * lanes;
    uint c = i / (ROWS * COLS);  // >= CI_CHUNK >= nci past the tile
    int ih = ih_first + int((i / COLS) % ROWS) * s.row_step;
    int iw = s.iw_first + int(i % COLS);
    x_regs[b] = 0.0;
    if (c < nci && ih >= 0 && ih < int(p.in_h) && iw >= 0 && iw < int(p.in_w))
      x_regs[b] = load_x(((s.x_chan0 + ci0 + c) * p.in_h + uint(ih)) * p.in_w + uint(iw));
  }
  uint w_first = s.w_first0 + r * s.w_row_step;
  const uint per_tap = CI_CHUNK * CO_TILE;
  [[unroll]] for (uint b = 0; b < W_REGS; ++b) {
    uint i = gl_LocalInvocationID.x + b * lanes;
    uint j = i % per_tap;  // channel * CO_TILE + output channel
    uint lc = (i / per_tap) % CO_LANES;
    uint m = i / (per_tap * CO_LANES);  // >= TAPS >= ntaps past the tile
    w_regs[b] = 0.0;
    if (m < s.ntaps && j / CO_TILE < nci && s.tile0 + lc < p.co_tiles)
      w_regs[b] = load_w(w_first + lc * s.w_tile_step + m * s.w_tap_step + ci0 * CO_TILE + j);
  }
}

// Writes what prefetch_tiles loaded into x_tile and w_tile.
void store_prefetched() {
  const uint lanes = gl_WorkGroupSize.x;
  [[unroll]] for (uint b = 0; b < X_REGS; ++b) {
    uint i = gl_LocalInvocationID.x + b * lanes;
    if (i < CI_CHUNK * ROWS * COLS) x_tile[i] = x_regs[b];
  }
  const uint per_tap = CI_CHUNK * CO_TILE;
  [[unroll]] for (uint b = 0; b < W_REGS; ++b) {
    uint i = gl_LocalInvocationID.x + b * lanes;
    uint j = i % per_tap;
    uint lc = (i / per_tap) % CO_LANES;
    uint m = i / (per_tap * CO_LANES);
    uint c = j / CO_TILE, co = j % CO_TILE;
    if (m < TAPS) w_tile[((m * CI_CHUNK + c) * CO_LANES + lc) * CO_VEC4 + co / 4u][co % 4u] = w_regs[b];
  }
}

// Step k of a walk of `chunks` channel chunks per kernel row: kernel row r, channels
// ci0 .. ci0 + nci - 1.
void walk_step(StagedWalk s, uint chunks, uint k, out uint r, out uint ci0, out uint nci) {
  r = k / chunks;
  ci0 = s.ci_begin + (k % chunks) * CI_CHUNK;
  nci = min(CI_CHUNK, s.ci_end - ci0);
}

// Every step of the walk (the same number in every lane: the bounds are uniform per workgroup).
// Without PREFETCH each step stages, waits, accumulates (staged_step); with it, the loads of
// step k + 1 are in flight while step k accumulates, at the cost of X_REGS + W_REGS registers.
void staged_walk(StagedWalk s) {
  uint chunks = (s.ci_end - s.ci_begin + CI_CHUNK - 1u) / CI_CHUNK;
  uint steps = s.rows * chunks;
  uint r, ci0, nci;
  if (!PREFETCH) {
    for (uint k = 0; k < steps; ++k) {
      walk_step(s, chunks, k, r, ci0, nci);
      staged_step(s.x_chan0, ci0, nci, s.ih_first0 + int(r) * s.ih_row_step, s.row_step, s.iw_first,
                  s.w_first0 + r * s.w_row_step, s.w_tile_step, s.w_tap_step, s.tile0, s.ntaps, s.col0, s.pos_step,
                  s.tap_step);
    }
    return;
  }
  if (steps == 0u) return;
  walk_step(s, chunks, 0u, r, ci0, nci);
  prefetch_tiles(s, r, ci0, nci);
  for (uint k = 0; k < steps; ++k) {
    uint step_nci = nci;  // nci, r, ci0 move on to step k + 1 below
    barrier();  // every lane is done with step k - 1's tiles
    store_prefetched();
    barrier();  // step k's tiles are complete
    if (k + 1u < steps) {
      walk_step(s, chunks, k + 1u, r, ci0, nci);
      prefetch_tiles(s, r, ci0, nci);
    }
    accumulate_staged(s.ntaps, step_nci, staged_row(), s.col0, s.pos_step, s.tap_step);
  }
}

#endif
