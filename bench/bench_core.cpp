#include "bench/bench_core.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>

#include "bench/json_reader.hpp"
#include "cpu/reference/reference.hpp"
#include "runtime/validate.hpp"

namespace upconv::bench {
namespace {

// ---- shapes.json -------------------------------------------------------------------------

Status read_int(const JsonValue& entry, std::string_view key, const std::string& where, int64_t& out,
                bool required) {
  const JsonValue* v = entry.find(key);
  if (!v) return required ? invalid_argument(where + ": missing \"" + std::string(key) + "\"") : Status{};
  if (!v->is_number() || v->number() != std::floor(v->number()) || v->number() < 0)
    return invalid_argument(where + ": \"" + std::string(key) + "\" must be a non-negative integer");
  out = static_cast<int64_t>(v->number());
  return {};
}

Status read_pair(const JsonValue& entry, std::string_view key, const std::string& where, Pair& out,
                 bool required) {
  const JsonValue* v = entry.find(key);
  if (!v) return required ? invalid_argument(where + ": missing \"" + std::string(key) + "\"") : Status{};
  if (!v->is_array() || v->array().size() != 2 || !v->array()[0].is_number() || !v->array()[1].is_number())
    return invalid_argument(where + ": \"" + std::string(key) + "\" must be a pair [h, w]");
  for (int k = 0; k < 2; ++k) out[k] = static_cast<int64_t>(v->array()[k].number());
  return {};
}

Result<Layer> parse_layer(const JsonValue& entry, const std::string& where) {
  if (!entry.is_object()) return invalid_argument(where + ": each shape must be an object");
  Layer layer;
  const JsonValue* name = entry.find("name");
  const JsonValue* op = entry.find("op");
  if (!name || !name->is_string()) return invalid_argument(where + ": missing string \"name\"");
  if (!op || !op->is_string()) return invalid_argument(where + ": missing string \"op\"");
  layer.name = name->string();
  layer.op = op->string();
  const std::string at = where + " (" + layer.name + ")";
  UPCONV_RETURN_IF_ERROR(read_int(entry, "n", at, layer.n, true));
  UPCONV_RETURN_IF_ERROR(read_int(entry, "c_in", at, layer.c_in, true));
  UPCONV_RETURN_IF_ERROR(read_pair(entry, "hw", at, layer.hw, true));
  if (layer.is_conv()) {
    UPCONV_RETURN_IF_ERROR(read_int(entry, "c_out", at, layer.c_out, true));
    UPCONV_RETURN_IF_ERROR(read_pair(entry, "kernel", at, layer.kernel, true));
    UPCONV_RETURN_IF_ERROR(read_pair(entry, "stride", at, layer.stride, false));
    UPCONV_RETURN_IF_ERROR(read_pair(entry, "pad", at, layer.pad, false));
    UPCONV_RETURN_IF_ERROR(read_pair(entry, "out_pad", at, layer.out_pad, false));
    UPCONV_RETURN_IF_ERROR(read_pair(entry, "dilation", at, layer.dilation, false));
    UPCONV_RETURN_IF_ERROR(read_int(entry, "groups", at, layer.groups, false));
  } else if (layer.op == "pixel_shuffle" || layer.op == "pixel_unshuffle" || layer.op == "upsample_nearest2d" ||
             layer.op == "bed_of_nails2d") {
    UPCONV_RETURN_IF_ERROR(read_int(entry, "factor", at, layer.factor, true));
  } else if (layer.is_unpool()) {
    UPCONV_RETURN_IF_ERROR(read_pair(entry, "kernel", at, layer.kernel, true));
    layer.stride = layer.kernel;
    UPCONV_RETURN_IF_ERROR(read_pair(entry, "stride", at, layer.stride, false));
  } else {
    return invalid_argument(at + ": unsupported op \"" + layer.op +
                            "\" (expected conv_transpose2d, conv2d, pixel_shuffle, pixel_unshuffle, "
                            "upsample_nearest2d, bed_of_nails2d or max_unpool2d)");
  }
  // Validate the whole layer once through the library's own shape rules.
  const Result<Shape> out = output_shape(layer);
  if (!out.ok()) return invalid_argument(at + ": " + out.status().message());
  return layer;
}

// ---- descriptors -------------------------------------------------------------------------

ConvParams conv_params(const Layer& l) {
  return ConvParams{.stride = l.stride, .dilation = l.dilation, .pad_begin = l.pad, .pad_end = l.pad, .groups = l.groups};
}
ConvTransposeParams conv_transpose_params(const Layer& l) {
  return ConvTransposeParams{.stride = l.stride, .dilation = l.dilation, .pad_begin = l.pad, .pad_end = l.pad,
                             .output_padding = l.out_pad, .groups = l.groups};
}
PixelShuffleParams shuffle_params(const Layer& l) { return PixelShuffleParams{.factor = l.factor}; }
UpsampleParams upsample_params(const Layer& l) { return UpsampleParams{.factor = {l.factor, l.factor}}; }
MaxUnpool2dParams unpool_params(const Layer& l) { return MaxUnpool2dParams{.kernel = l.kernel, .stride = l.stride}; }

// Valid (output position, tap) pairs along one axis.
//   conv:           input  i = o*s - p + t*d must lie in [0, in)   for o in [0, out)
//   conv_transpose: output o = i*s - p + t*d must lie in [0, out)  for i in [0, in)
int64_t valid_pairs(bool transposed, int64_t in, int64_t out, int64_t k, int64_t s, int64_t p, int64_t d) {
  int64_t count = 0;
  const int64_t outer = transposed ? in : out, bound = transposed ? out : in;
  for (int64_t a = 0; a < outer; ++a)
    for (int64_t t = 0; t < k; ++t) {
      const int64_t b = a * s - p + t * d;
      count += (b >= 0 && b < bound) ? 1 : 0;
    }
  return count;
}

std::vector<float> uniform(int64_t count, std::mt19937& gen) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(count));
  for (float& f : v) f = dist(gen);
  return v;
}

int64_t element_count(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return s.empty() ? 0 : n;
}

}  // namespace

Result<std::vector<Layer>> parse_layers(std::string_view json, const std::string& source) {
  Result<JsonValue> doc = parse_json(json, source);
  if (!doc.ok()) return doc.status();
  const JsonValue* shapes = doc->find("shapes");
  if (!shapes || !shapes->is_array()) return invalid_argument(source + ": expected an object with a \"shapes\" array");
  std::vector<Layer> layers;
  for (size_t k = 0; k < shapes->array().size(); ++k) {
    Result<Layer> layer = parse_layer(shapes->array()[k], source + ": shapes[" + std::to_string(k) + "]");
    if (!layer.ok()) return layer.status();
    layers.push_back(std::move(layer).value());
  }
  if (layers.empty()) return invalid_argument(source + ": \"shapes\" is empty");
  return layers;
}

Result<std::vector<Layer>> load_layers(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return Status(StatusCode::io_error, "cannot open shapes file '" + path + "'");
  std::ostringstream text;
  text << file.rdbuf();
  return parse_layers(text.str(), path);
}

std::string default_shapes_path() {
#ifdef UPCONV_BENCH_SHAPES_DIR
  return UPCONV_BENCH_SHAPES_DIR "/shapes.json";
#else
  return "";
#endif
}

std::string memory_shapes_path() {
#ifdef UPCONV_BENCH_SHAPES_DIR
  return UPCONV_BENCH_SHAPES_DIR "/memory_shapes.json";
#else
  return "";
#endif
}

Shape input_shape(const Layer& l) { return {l.n, l.c_in, l.hw[0], l.hw[1]}; }

Shape weight_shape(const Layer& l) {
  if (!l.is_conv()) return {};
  if (l.is_transposed()) return {l.c_in, l.c_out / std::max<int64_t>(l.groups, 1), l.kernel[0], l.kernel[1]};
  return {l.c_out, l.c_in / std::max<int64_t>(l.groups, 1), l.kernel[0], l.kernel[1]};
}

Result<Shape> output_shape(const Layer& l) {
  if (l.op == "conv2d") return conv_output_shape(input_shape(l), weight_shape(l), conv_params(l));
  if (l.op == "conv_transpose2d")
    return conv_transpose_output_shape(input_shape(l), weight_shape(l), conv_transpose_params(l));
  if (l.op == "pixel_shuffle") return pixel_shuffle_output_shape(input_shape(l), shuffle_params(l));
  if (l.op == "pixel_unshuffle") return pixel_unshuffle_output_shape(input_shape(l), shuffle_params(l));
  if (l.op == "upsample_nearest2d" || l.op == "bed_of_nails2d")
    return upsample_output_shape(input_shape(l), upsample_params(l));
  if (l.is_unpool()) return max_unpool2d_output_shape(input_shape(l), unpool_params(l));
  return invalid_argument("unsupported op \"" + l.op + "\"");
}

double layer_flops(const Layer& l) {
  if (!l.is_conv()) return 0.0;
  const Result<Shape> out = output_shape(l);
  if (!out.ok()) return 0.0;
  const bool t = l.is_transposed();
  const double pairs_h = static_cast<double>(
      valid_pairs(t, l.hw[0], out.value()[2], l.kernel[0], l.stride[0], l.pad[0], l.dilation[0]));
  const double pairs_w = static_cast<double>(
      valid_pairs(t, l.hw[1], out.value()[3], l.kernel[1], l.stride[1], l.pad[1], l.dilation[1]));
  // Every (output channel, input channel of its group) pair sees the same valid taps.
  const double channel_pairs = static_cast<double>(l.c_out) * static_cast<double>(l.c_in / l.groups);
  return 2.0 * static_cast<double>(l.n) * channel_pairs * pairs_h * pairs_w;
}

double layer_bytes(const Layer& l) {
  const Result<Shape> out = output_shape(l);
  if (!out.ok()) return 0.0;
  const int64_t elements = element_count(input_shape(l)) + element_count(out.value()) + element_count(weight_shape(l));
  const int64_t index_bytes = l.is_unpool() ? 8 * element_count(input_shape(l)) : 0;
  return 4.0 * static_cast<double>(elements) + static_cast<double>(index_bytes);
}

LayerData make_layer_data(const Layer& l, uint32_t seed) {
  std::mt19937 gen(seed);
  LayerData d;
  const Shape in = input_shape(l);
  d.input = Tensor(in, uniform(element_count(in), gen));
  if (l.is_conv()) {
    const Shape w = weight_shape(l);
    d.weight = Tensor(w, uniform(element_count(w), gen));
    d.bias = Tensor({l.c_out}, uniform(l.c_out, gen));
  }
  if (l.is_unpool()) {
    // The argmax of each pooling window, at a random position inside it (clipped to the output).
    const Shape out = output_shape(l).value();
    d.indices = IndexTensor(in);
    std::uniform_int_distribution<int64_t> tap_h(0, l.kernel[0] - 1), tap_w(0, l.kernel[1] - 1);
    int64_t* idx = d.indices.data();
    for (int64_t p = 0; p < l.n * l.c_in; ++p)
      for (int64_t h = 0; h < l.hw[0]; ++h)
        for (int64_t w = 0; w < l.hw[1]; ++w) {
          const int64_t oh = std::min(h * l.stride[0] + tap_h(gen), out[2] - 1);
          const int64_t ow = std::min(w * l.stride[1] + tap_w(gen), out[3] - 1);
          *idx++ = oh * out[3] + ow;
        }
  }
  return d;
}

Result<Plan> make_layer_plan(Context& context, const Layer& l, const LayerData& d) {
  if (l.op == "conv2d") return make_conv(context, conv_params(l), d.weight, &d.bias);
  if (l.op == "conv_transpose2d") return make_conv_transpose(context, conv_transpose_params(l), d.weight, &d.bias);
  if (l.op == "pixel_shuffle") return make_pixel_shuffle(context, shuffle_params(l));
  if (l.op == "pixel_unshuffle") return make_pixel_unshuffle(context, shuffle_params(l));
  if (l.op == "upsample_nearest2d") return make_upsample_nearest2d(context, upsample_params(l));
  if (l.op == "bed_of_nails2d") return make_bed_of_nails2d(context, upsample_params(l));
  if (l.is_unpool()) return make_max_unpool2d(context, unpool_params(l));
  return invalid_argument("unsupported op \"" + l.op + "\"");
}

Status run_layer(Plan& plan, const Layer& l, const LayerData& d, Tensor& output) {
  return l.is_unpool() ? plan.run(d.input, d.indices, output) : plan.run(d.input, output);
}

Tensor reference_output(const Layer& l, const LayerData& d) {
  detail::OpDesc desc;
  if (l.is_conv()) {
    Result<detail::ConvDesc> c = l.is_transposed()
                                     ? detail::make_conv_transpose_desc(conv_transpose_params(l), d.weight.shape(), l.c_out)
                                     : detail::make_conv_desc(conv_params(l), d.weight.shape(), l.c_out);
    if (!c.ok()) return {};
    desc = *c;
  } else if (l.op == "pixel_shuffle" || l.op == "pixel_unshuffle") {
    Result<detail::ShuffleDesc> s = detail::make_shuffle_desc(shuffle_params(l), l.op == "pixel_unshuffle");
    if (!s.ok()) return {};
    desc = *s;
  } else if (l.is_unpool()) {
    Result<detail::UnpoolDesc> u = detail::make_unpool_desc(unpool_params(l));
    if (!u.ok()) return {};
    desc = *u;
  } else {
    Result<detail::ResampleDesc> r = detail::make_resample_desc(upsample_params(l), l.op == "bed_of_nails2d");
    if (!r.ok()) return {};
    desc = *r;
  }
  const Result<detail::IoDims> io = detail::resolve_io(desc, d.input.shape());
  if (!io.ok()) return {};
  Tensor out(detail::output_shape_of(desc, io->out));
  if (const auto* c = std::get_if<detail::ConvDesc>(&desc))
    ref::conv(*c, d.input.data(), io->in, d.weight.data(), d.bias.data(), out.data(), io->out);
  else if (const auto* s = std::get_if<detail::ShuffleDesc>(&desc))
    ref::pixel_shuffle(*s, d.input.data(), io->in, out.data(), io->out);
  else if (const auto* r = std::get_if<detail::ResampleDesc>(&desc))
    ref::resample(*r, d.input.data(), io->in, out.data(), io->out);
  else
    ref::max_unpool2d(d.input.data(), d.indices.data(), io->in, out.data(), io->out);
  return out;
}

double max_rel_error(const Tensor& got, const Tensor& want) {
  if (got.shape() != want.shape()) return std::numeric_limits<double>::infinity();
  double worst = 0.0;
  for (int64_t k = 0; k < got.size(); ++k) {
    const double g = got.data()[k], w = want.data()[k];
    const double e = std::fabs(g - w) / (1.0 + std::fabs(w));
    if (!(e <= worst)) worst = std::isnan(e) ? std::numeric_limits<double>::infinity() : e;
  }
  return worst;
}

double error_tolerance(const Layer& l, Precision precision) {
  // Permutations move values: exact in fp32; in fp16 storage each value is rounded to half once,
  // a relative error of at most 2^-11, which |g - w| / (1 + |w|) stays below.
  if (!l.is_conv()) return precision == Precision::fp16 ? 1.0 / 2048 : 0.0;
  return precision == Precision::fp16 ? 2e-2 : 1e-4;
}

TimingResult time_median(const std::function<double()>& fn, int min_reps, double min_seconds, int warmup,
                         int max_reps) {
  using Clock = std::chrono::steady_clock;
  for (int k = 0; k < warmup; ++k) fn();
  std::vector<double> samples;
  bool device_timed = true;
  const Clock::time_point start = Clock::now();
  while (static_cast<int>(samples.size()) < max_reps) {
    const Clock::time_point t0 = Clock::now();
    const double reported = fn();
    const double host_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    device_timed = device_timed && reported >= 0.0;
    samples.push_back(reported >= 0.0 ? reported : host_ms);
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (static_cast<int>(samples.size()) >= min_reps && elapsed >= min_seconds) break;
  }
  std::sort(samples.begin(), samples.end());
  const size_t n = samples.size();
  TimingResult r;
  r.median_ms = n % 2 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
  r.repetitions = static_cast<int>(n);
  r.device_timed = device_timed;
  return r;
}

std::string cpu_model_name() {
  // The model name of a VM's CPU is often just "AMD EPYC"; the family and model numbers tell the
  // generation (family 25 model 17: Zen 4, whose 512-bit FMAs are double-pumped; family 26:
  // Zen 5), which sets the FMA peak that "% of peak" assumes.
  std::ifstream info("/proc/cpuinfo");
  std::string line, name, family, model;
  auto value = [&] {
    const size_t colon = line.find(':');
    std::string v = colon == std::string::npos ? "" : line.substr(colon + 1);
    v.erase(0, v.find_first_not_of(" \t"));
    return v;
  };
  while (std::getline(info, line) && (name.empty() || family.empty() || model.empty())) {
    const std::string key = line.substr(0, line.find_first_of("\t:"));
    if (key == "model name" && name.empty()) name = value();
    if (key == "cpu family" && family.empty()) family = value();
    if (key == "model" && model.empty()) model = value();
  }
  if (name.empty()) return "unknown CPU";
  if (!family.empty() && !model.empty()) name += " (family " + family + " model " + model + ")";
  return name;
}

void fix_allocation_for_timing() {
#if defined(__GLIBC__)
  // glibc raises its mmap threshold whenever a large mapped block is freed (up to 32 MB), after
  // which large buffers come from the heap instead: unet_up timed after dcgan_g2 and dcgan_g4
  // in one process ran 1.72 ms p10 against 1.37 alone (its output tensor from the heap, 4
  // interleaved rounds), and 1.40 against 1.40 with the threshold fixed at its default.
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
}

}  // namespace upconv::bench
