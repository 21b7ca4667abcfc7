// `upconv bench`: times every layer of a shapes file on one backend, verifies each result
// against the scalar CPU reference, prints a table and optionally writes JSON.
// The layer list, work model, verification and timer are bench/bench_core (shared with the
// Google Benchmark binary upconv_bench).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_core.hpp"
#include "bench/fma_peak.hpp"
#include "runtime/vulkan/vk_backend_access.hpp"
#include "tools/cli_args.hpp"
#include "tools/commands.hpp"

namespace upconv::cli {
namespace {

constexpr std::string_view kBenchFlags[] = {"backend", "shapes", "threads", "json", "repetitions", "precision",
                                            "dispatch-repeats"};

constexpr std::string_view kBenchUsage =
    "usage: upconv bench [--backend auto|cpu|vulkan] [--shapes FILE] [--threads N] [--json FILE]\n"
    "                    [--repetitions K] [--precision fp32|fp16] [--dispatch-repeats R]\n"
    "Times each layer of the shapes file (default: bench/shapes.json; bench/memory_shapes.json has\n"
    "the nearest / bed-of-nails / max-unpool layers) after a warm-up: the median\n"
    "of at least K runs (default 10) and 0.3 s, on the device clock where the backend has one.\n"
    "Vulkan: each timed run records the layer's dispatches R times back to back and reports the\n"
    "time per repeat (1 to 1000; default: UPCONV_VULKAN_TIMING_REPEATS, else 20 on a GPU, whose\n"
    "clock drops between single dispatches, and 1 on a CPU-type device).\n"
    "Every result is verified against the CPU reference; a wrong result fails the command.\n";

struct BenchOptions {
  BackendKind backend = BackendKind::automatic;
  std::string shapes;
  int threads = 0;  // 0 = library default
  std::string json_path;
  int repetitions = 10;
  Precision precision = Precision::fp32;
  uint32_t dispatch_repeats = 0;  // 0 = the default (vk::set_benchmark_dispatch_repeats)
};

struct Row {
  std::string name, op, backend;
  int threads = 0;
  double median_ms = -1, gflops = 0, gbps = 0, percent_of_peak = -1, plan_ms = -1, max_rel_error = -1;
  int repetitions = 0;
  bool device_timed = false;
  std::string error;  // empty = verified and timed
};

Result<BenchOptions> parse_options(std::span<const std::string> args) {
  auto flags = parse_flags(args, kBenchFlags, kBenchFlags, "bench");
  if (!flags.ok()) return flags.status();
  BenchOptions o;
  if (auto v = flags->get("backend")) {
    auto b = parse_backend(*v);
    if (!b.ok()) return b.status();
    o.backend = *b;
  }
  if (auto v = flags->get("precision")) {
    auto p = parse_precision(*v);
    if (!p.ok()) return p.status();
    o.precision = *p;
  }
  if (auto v = flags->get("threads")) {
    auto t = parse_positive_int("threads", *v);
    if (!t.ok()) return t.status();
    o.threads = static_cast<int>(std::min<int64_t>(*t, 256));
  }
  if (auto v = flags->get("repetitions")) {
    auto k = parse_positive_int("repetitions", *v);
    if (!k.ok()) return k.status();
    o.repetitions = static_cast<int>(std::min<int64_t>(*k, 1000000));
  }
  if (auto v = flags->get("dispatch-repeats")) {
    auto r = parse_positive_int("dispatch-repeats", *v);
    if (!r.ok()) return r.status();
    if (*r > 1000) return invalid_argument("--dispatch-repeats must be at most 1000, got " + std::string(*v));
    o.dispatch_repeats = static_cast<uint32_t>(*r);
  }
  if (auto v = flags->get("json")) o.json_path = *v;
  o.shapes = flags->get("shapes").value_or(bench::default_shapes_path());
  if (!flags->has("shapes") && (o.shapes.empty() || !std::filesystem::exists(o.shapes)))
    o.shapes = "bench/shapes.json";  // an installed binary run from a source checkout
  return o;
}

/// `fma_peak_gflops`: the FMA peak of all the context's threads, measured at the start of the run.
double percent_of_peak(const bench::Layer& layer, const Row& row, BackendKind backend, double fma_peak_gflops) {
  if (backend != BackendKind::cpu || row.median_ms <= 0) return -1;
  if (layer.is_conv()) return 100.0 * row.gflops / fma_peak_gflops;
  // Memory-bound: on this VM class one core cannot saturate DRAM, so copy bandwidth is per core too.
  return 100.0 * row.gbps / (bench::kPeakCopyGBs * row.threads);
}

Row bench_layer(Context& ctx, const bench::Layer& layer, const BenchOptions& o, double fma_peak_gflops) {
  Row row{.name = layer.name, .op = layer.op, .backend = to_string(ctx.backend()), .threads = ctx.num_threads()};
  const bench::LayerData data = bench::make_layer_data(layer);
  const auto t0 = std::chrono::steady_clock::now();
  auto plan = bench::make_layer_plan(ctx, layer, data);
  row.plan_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!plan.ok()) {
    row.error = "plan creation failed: " + plan.status().to_string();
    return row;
  }
  Tensor out;
  if (Status s = bench::run_layer(*plan, layer, data, out); !s.ok()) {
    row.error = "run failed: " + s.to_string();
    return row;
  }
  // Verify once, outside the timed loop, so a fast wrong kernel cannot look good.
  row.max_rel_error = bench::max_rel_error(out, bench::reference_output(layer, data));
  const Precision precision = ctx.backend() == BackendKind::cpu ? Precision::fp32 : o.precision;
  if (!(row.max_rel_error <= bench::error_tolerance(layer, precision))) {
    std::ostringstream msg;
    msg << "WRONG RESULT: max rel error " << row.max_rel_error << " > tolerance "
        << bench::error_tolerance(layer, precision);
    row.error = msg.str();
    return row;
  }
  Status run_status;
  const bench::TimingResult t = bench::time_median(
      [&] {
        if (Status s = bench::run_layer(*plan, layer, data, out); !s.ok()) run_status = s;
        return plan->last_device_time_ms();
      },
      o.repetitions);
  if (!run_status.ok()) {
    row.error = "run failed: " + run_status.to_string();
    return row;
  }
  row.median_ms = t.median_ms;
  row.repetitions = t.repetitions;
  row.device_timed = t.device_timed;
  row.gflops = bench::layer_flops(layer) / (t.median_ms * 1e6);
  row.gbps = bench::layer_bytes(layer) / (t.median_ms * 1e6);
  row.percent_of_peak = percent_of_peak(layer, row, ctx.backend(), fma_peak_gflops);
  return row;
}

void print_row(const Row& r) {
  char line[256];
  if (!r.error.empty()) {
    std::snprintf(line, sizeof line, "%-14s %-16s %-7s %7d  ", r.name.c_str(), r.op.c_str(), r.backend.c_str(), r.threads);
    std::cout << line << "FAILED: " << r.error << std::endl;
    return;
  }
  char peak[16] = "-", threads[16] = "-";
  if (r.percent_of_peak >= 0) std::snprintf(peak, sizeof peak, "%.0f%%", r.percent_of_peak);
  if (r.backend == "cpu") std::snprintf(threads, sizeof threads, "%d", r.threads);  // host threads matter on the CPU only
  std::snprintf(line, sizeof line, "%-14s %-16s %-7s %7s %10.3f%s %9.1f %8.1f %7s %9.2f %10.2e", r.name.c_str(),
                r.op.c_str(), r.backend.c_str(), threads, r.median_ms, r.device_timed ? "d" : " ", r.gflops, r.gbps,
                peak, r.plan_ms, r.max_rel_error);
  std::cout << line << std::endl;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", c);
      out += esc;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string json_number(double v) {
  std::ostringstream s;
  s.precision(6);
  s << v;
  return s.str();
}

Status write_json(const std::string& path, const Context& ctx, const std::string& shapes, const std::vector<Row>& rows,
                  const bench::FmaPeak& peak, uint32_t dispatch_repeats) {
  std::ostringstream j;
  j << "{\n  \"machine\": {\"cpu\": " << json_string(bench::cpu_model_name())
    << ", \"backend\": " << json_string(ctx.description()) << ", \"threads\": " << ctx.num_threads()
    << ", \"fma_peak_gflops\": " << json_number(peak.gflops) << ", \"fma_peak_isa\": " << json_string(peak.isa)
    << ", \"fma_peak_threads\": " << peak.threads << ", \"nominal_peak_gflops_per_core\": " << bench::kPeakGflopsPerCore
    << ", \"copy_gbps\": " << bench::kPeakCopyGBs;
  if (dispatch_repeats > 0) j << ", \"dispatch_repeats\": " << dispatch_repeats;
  j << "},\n  \"shapes_file\": " << json_string(shapes) << ",\n  \"results\": [";
  for (size_t k = 0; k < rows.size(); ++k) {
    const Row& r = rows[k];
    j << (k ? "," : "") << "\n    {\"name\": " << json_string(r.name) << ", \"op\": " << json_string(r.op)
      << ", \"backend\": " << json_string(r.backend) << ", \"threads\": " << r.threads;
    if (r.error.empty()) {
      j << ", \"median_ms\": " << json_number(r.median_ms) << ", \"gflops\": " << json_number(r.gflops)
        << ", \"gbps\": " << json_number(r.gbps) << ", \"plan_ms\": " << json_number(r.plan_ms)
        << ", \"max_rel_error\": " << json_number(r.max_rel_error) << ", \"repetitions\": " << r.repetitions
        << ", \"timing\": " << (r.device_timed ? "\"device\"" : "\"host\"");
      if (r.percent_of_peak >= 0) j << ", \"percent_of_peak\": " << json_number(r.percent_of_peak);
    } else {
      j << ", \"error\": " << json_string(r.error);
    }
    j << "}";
  }
  j << "\n  ]\n}\n";
  // Write to a temporary file and rename, so a failed write leaves no partial file behind.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f || !(f << j.str()) || !f.flush()) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      return Status(StatusCode::io_error, "cannot write --json file '" + path + "'");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status(StatusCode::io_error, "cannot write --json file '" + path + "': " + ec.message());
  return {};
}

}  // namespace

int bench_command(std::span<const std::string> args) {
  for (const std::string& a : args)
    if (a == "--help" || a == "-h") {
      std::cout << kBenchUsage;
      return kExitOk;
    }
  auto options = parse_options(args);
  if (!options.ok()) return report_error("bench", options.status().message(), kExitUsage);
  auto layers = bench::load_layers(options->shapes);
  if (!layers.ok()) return report_error("bench", layers.status().message(), kExitFailure);
  bench::fix_allocation_for_timing();
  ContextOptions copts;
  copts.backend = options->backend;
  copts.num_threads = options->threads;
  copts.precision = options->precision;
  auto ctx = Context::create(copts);
  if (!ctx.ok()) return report_error("bench", ctx.status().to_string(), kExitFailure);
  const uint32_t repeats = detail::vk::set_benchmark_dispatch_repeats(*ctx, options->dispatch_repeats);

  std::cout << "upconv bench: " << ctx->description() << " on " << bench::cpu_model_name() << ", shapes "
            << options->shapes;
  if (repeats > 0) std::cout << ", " << repeats << " dispatch(es) per timed run";
  std::cout << "\n";
  std::cout << "layer          op               backend threads  median ms   GFLOP/s     GB/s  % peak   plan ms  max rel err\n";
  // "% peak" of convolutions is against the FMA peak of this machine now, measured with the
  // kernels' instructions on as many threads (hosts of a VM class differ in generation).
  bench::FmaPeak peak{.gflops = 0.0, .isa = "none", .threads = ctx->num_threads()};
  if (ctx->backend() == BackendKind::cpu) peak = bench::measure_fma_peak(ctx->num_threads());
  // The nominal figure where no x86 SIMD kernels (nothing to measure with); JSON shows 0 then.
  const double percent_base = peak.gflops > 0 ? peak.gflops : bench::kPeakGflopsPerCore * ctx->num_threads();
  std::vector<Row> rows;
  bool all_ok = true;
  for (const bench::Layer& layer : *layers) {
    rows.push_back(bench_layer(*ctx, layer, *options, percent_base));
    print_row(rows.back());
    all_ok = all_ok && rows.back().error.empty();
  }
  const bool any_device = std::any_of(rows.begin(), rows.end(), [](const Row& r) { return r.device_timed; });
  std::cout << (any_device ? "d = device timestamps; others host wall-clock.\n"
                           : "Times are host wall-clock (the backend reports no device time).\n");
  if (ctx->backend() == BackendKind::cpu)
    std::cout << "% peak: compute-bound layers vs the FMA peak measured before the layers ran (" << std::fixed
              << std::setprecision(0) << percent_base << " GFLOP/s on " << peak.threads << " thread(s), " << peak.isa
              << "), permutations vs " << bench::kPeakCopyGBs << " GB/s copy bandwidth per thread.\n";
  else
    std::cout << "% peak: CPU backend only.\n";
  if (!options->json_path.empty())
    if (Status s = write_json(options->json_path, *ctx, options->shapes, rows, peak, repeats); !s.ok())
      return report_error("bench", s.message(), kExitFailure);
  if (!all_ok) return report_error("bench", "at least one layer FAILED (see the table above)", kExitFailure);
  return kExitOk;
}

}  // namespace upconv::cli
