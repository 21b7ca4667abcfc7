// The benchmark logic shared by the Google Benchmark binary (bench/upconv_bench.cpp) and
// `upconv bench` (tools/bench_command.cpp): the layer list of bench/shapes.json, the exact work
// model (FLOPs on valid taps, bytes moved), deterministic inputs, plan creation, verification
// against the scalar reference, and a median timer.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "upconv/upconv.hpp"

namespace upconv::bench {

/// One benchmark layer (one entry of shapes.json). NCHW float32.
struct Layer {
  std::string name;
  /// "conv_transpose2d", "conv2d", "pixel_shuffle", "pixel_unshuffle", "upsample_nearest2d",
  /// "bed_of_nails2d" or "max_unpool2d".
  std::string op;
  int64_t n = 1, c_in = 1, c_out = 1;
  Pair hw = {1, 1};
  /// Conv attributes; max_unpool2d uses kernel and stride (its padding is 0).
  Pair kernel = {1, 1}, stride = {1, 1}, pad = {0, 0}, out_pad = {0, 0}, dilation = {1, 1};
  int64_t groups = 1;
  /// pixel_shuffle / pixel_unshuffle / upsample_nearest2d / bed_of_nails2d factor.
  int64_t factor = 1;

  bool is_conv() const { return op == "conv2d" || op == "conv_transpose2d"; }
  bool is_transposed() const { return op == "conv_transpose2d"; }
  bool is_unpool() const { return op == "max_unpool2d"; }
};

/// Parses the shapes JSON text ({"shapes": [...]}); `source` names it in messages.
/// bench/shapes.json holds the layers; bench/memory_shapes.json adds the other
/// memory-bound ops (nearest, bed of nails, max unpooling).
Result<std::vector<Layer>> parse_layers(std::string_view json, const std::string& source);
/// Reads and parses a shapes file.
Result<std::vector<Layer>> load_layers(const std::string& path);
/// bench/shapes.json of the source tree this was built from (a compile definition), or "".
std::string default_shapes_path();
/// bench/memory_shapes.json of that source tree, or "".
std::string memory_shapes_path();

/// Tensor shapes of a layer. Weight is empty for permutations.
Shape input_shape(const Layer& layer);
Shape weight_shape(const Layer& layer);
Result<Shape> output_shape(const Layer& layer);

/// Floating-point operations actually needed: 2 x multiply-adds over valid taps only (taps that
/// land in padding, or outputs cropped away, are not counted). Exact: validity factorizes per
/// axis, so it is the product of per-axis counts of valid (position, tap) pairs. 0 for
/// permutations.
double layer_flops(const Layer& layer);
/// Bytes a kernel must move at least: input + output (+ weights, + int64 unpool indices).
double layer_bytes(const Layer& layer);

/// Deterministic random operands of a layer (uniform in [-1, 1)).
struct LayerData {
  Tensor input;
  Tensor weight;         // empty for permutations
  Tensor bias;           // empty for permutations
  IndexTensor indices;   // max_unpool2d only: one argmax per pooling window, as max_pool2d gives
};
LayerData make_layer_data(const Layer& layer, uint32_t seed = 1);

/// Creates the plan of a layer on `context`.
Result<Plan> make_layer_plan(Context& context, const Layer& layer, const LayerData& data);

/// Runs a layer's plan (the indices overload for max_unpool2d).
Status run_layer(Plan& plan, const Layer& layer, const LayerData& data, Tensor& output);

/// The layer's output computed by the scalar reference (cpu/reference), the oracle.
Tensor reference_output(const Layer& layer, const LayerData& data);

/// max |got - want| / (1 + |want|) over all elements; +inf on a shape mismatch or a NaN.
double max_rel_error(const Tensor& got, const Tensor& want);
/// The error allowed for a layer: 0 for permutations (bit-exact), 1e-4 for fp32 conv, 2e-2 for
/// conv with fp16 storage.
double error_tolerance(const Layer& layer, Precision precision);

/// Median of timed calls. Repeats `fn` (after `warmup` untimed calls) until both `min_reps`
/// calls and `min_seconds` have passed (capped at `max_reps`). `fn` returns the time of its call
/// in ms when it can measure it better than the host clock (device timestamps), else a negative
/// number and the host time is used.
struct TimingResult {
  double median_ms = 0;
  int repetitions = 0;
  bool device_timed = false;
};
TimingResult time_median(const std::function<double()>& fn, int min_reps = 10, double min_seconds = 0.3,
                         int warmup = 2, int max_reps = 100000);

/// Peak figures of the machine type (AMD Zen 5: 2 x 512-bit FMA per cycle per core, and
/// the measured single-core copy bandwidth). Per core, fp32. "% of peak" of convolutions is taken
/// against the FMA peak measured in the same run (fma_peak.hpp); the nominal figure is kept for
/// reference and as the fallback where none was measured. A Zen 4 host (cpu family 25, see
/// cpu_model_name) double-pumps 512-bit FMAs: half this peak.
inline constexpr double kPeakGflopsPerCore = 250.0;
inline constexpr double kPeakCopyGBs = 38.0;

/// "AMD EPYC ... (family F model M)" from /proc/cpuinfo (Linux), else "unknown CPU".
std::string cpu_model_name();

/// Makes where large buffers come from independent of earlier allocations in the process (glibc:
/// a fixed mmap threshold), so that a layer times the same whichever layers ran before it.
void fix_allocation_for_timing();

}  // namespace upconv::bench
