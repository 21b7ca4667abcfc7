// Google Benchmark over the layers of bench/shapes.json: upconv's CPU backend at 1 and 2
// threads, upconv's Vulkan backend ("upconv_vulkan/<layer>", timed by GPU timestamps), and oneDNN on the same layers and operands in the same run when it was found at build
// time. One case per (library, layer, threads), named like "upconv_cpu/dcgan_g2/threads:1".
//
// Counters: FLOP/s over valid taps only and bytes/s over bytes in + out + weights (both
// Counter::kIsIterationInvariantRate, i.e. per-iteration work divided by time), plan_ms (plan
// creation, timed apart from the steady state), and max_rel_error against the reference (each
// result is verified once, outside the timed loop; a wrong result fails the case).
//
// "machine/fma_peak/threads:N" measures the FMA peak of N threads (counter GFLOP/s), the
// reference of make_table.py's "% of peak".
// Flags besides Google Benchmark's own: --shapes=FILE[,FILE...] (default: the source tree's
// bench/shapes.json and bench/memory_shapes.json), --threads=1,2 (thread counts), --pin (pin
// upconv's worker threads).
// oneDNN uses OpenMP: its thread count is set with omp_set_num_threads per case, so
// OMP_NUM_THREADS need not be set. Use --benchmark_repetitions=5
// --benchmark_report_aggregates_only=true for medians.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_core.hpp"
#include "bench/fma_peak.hpp"
#include "runtime/vulkan/vk_backend_access.hpp"
#ifdef UPCONV_BENCH_ONEDNN
#include "bench/onednn_peer.hpp"
#endif

namespace upconv::bench {
namespace {

struct Options {
  std::vector<std::string> shapes = {default_shapes_path(), memory_shapes_path()};
  std::vector<int> threads = {1, 2};
  bool pin = false;
};

// Operands and the reference output per layer, made once and shared by every case of a layer.
struct LayerFixture {
  Layer layer;
  LayerData data;
  Tensor reference;  // computed on first use: the scalar reference is slow on big layers
  const Tensor& want() {
    if (reference.size() == 0) reference = reference_output(layer, data);
    return reference;
  }
};

void set_work_counters(benchmark::State& state, const Layer& layer) {
  using benchmark::Counter;
  state.counters["FLOP/s"] = Counter(layer_flops(layer), Counter::kIsIterationInvariantRate, Counter::kIs1000);
  state.counters["bytes/s"] = Counter(layer_bytes(layer), Counter::kIsIterationInvariantRate, Counter::kIs1000);
}

bool check_result(benchmark::State& state, LayerFixture& f, const Tensor& got, const std::string& who) {
  const double err = max_rel_error(got, f.want());
  state.counters["max_rel_error"] = err;
  if (err <= error_tolerance(f.layer, Precision::fp32)) return true;
  std::ostringstream msg;
  msg << who << " gives a WRONG result on " << f.layer.name << ": max rel error " << err;
  state.SkipWithError(msg.str().c_str());
  return false;
}

void bench_upconv(benchmark::State& state, LayerFixture* f, int threads, bool pin) {
  auto ctx = Context::create({.backend = BackendKind::cpu, .num_threads = threads, .pin_threads = pin});
  if (!ctx.ok()) return state.SkipWithError(ctx.status().to_string().c_str());
  const auto t0 = std::chrono::steady_clock::now();
  auto plan = make_layer_plan(*ctx, f->layer, f->data);
  const double plan_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!plan.ok()) return state.SkipWithError(plan.status().to_string().c_str());
  Tensor out;
  if (Status s = run_layer(*plan, f->layer, f->data, out); !s.ok()) return state.SkipWithError(s.to_string().c_str());
  if (!check_result(state, *f, out, "upconv")) return;
  for (auto _ : state) {
    (void)run_layer(*plan, f->layer, f->data, out);
    benchmark::DoNotOptimize(out.data());
  }
  set_work_counters(state, f->layer);
  state.counters["plan_ms"] = plan_ms;
}

// The machine's FMA peak on `threads` threads with the conv kernels' instructions, measured
// here so that "% of peak" (bench/make_table.py) is against this host, not a nominal figure.
// Counter "GFLOP/s": the median over the iterations (each a measurement of ~0.1 s).
void bench_fma_peak(benchmark::State& state, int threads) {
  std::vector<double> rates;
  std::string isa;
  for (auto _ : state) {
    const FmaPeak peak = measure_fma_peak(threads, 0.1);
    rates.push_back(peak.gflops);
    isa = peak.isa;
  }
  std::sort(rates.begin(), rates.end());
  state.counters["GFLOP/s"] = rates.empty() ? 0.0 : rates[rates.size() / 2];
  state.SetLabel(isa);
}

// The Vulkan backend (the best device, lavapipe where it is the only one): iteration time is
// the GPU-timestamp time of the dispatches (manual time), host time is reported apart.
void bench_upconv_vulkan(benchmark::State& state, LayerFixture* f) {
  auto ctx = Context::create({.backend = BackendKind::vulkan});
  if (!ctx.ok()) return state.SkipWithError(ctx.status().to_string().c_str());
  // As `upconv bench`: back-to-back dispatches per timed run on a GPU (steady-state clocks).
  state.counters["dispatch_repeats"] = upconv::detail::vk::set_benchmark_dispatch_repeats(*ctx, 0);
  const auto t0 = std::chrono::steady_clock::now();
  auto plan = make_layer_plan(*ctx, f->layer, f->data);
  const double plan_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!plan.ok()) return state.SkipWithError(plan.status().to_string().c_str());
  Tensor out;
  if (Status s = run_layer(*plan, f->layer, f->data, out); !s.ok()) return state.SkipWithError(s.to_string().c_str());
  if (!check_result(state, *f, out, "upconv vulkan")) return;
  double host_ms = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    (void)run_layer(*plan, f->layer, f->data, out);
    const double wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    host_ms += wall_ms;
    const double device_ms = plan->last_device_time_ms();
    state.SetIterationTime((device_ms >= 0 ? device_ms : wall_ms) * 1e-3);
  }
  set_work_counters(state, f->layer);
  state.counters["plan_ms"] = plan_ms;
  state.counters["host_ms"] = benchmark::Counter(host_ms, benchmark::Counter::kAvgIterations);
  state.SetLabel(ctx->description());
}

#ifdef UPCONV_BENCH_ONEDNN
void bench_onednn(benchmark::State& state, LayerFixture* f, int threads, OnednnVariant variant) {
  set_onednn_threads(threads);
  const auto t0 = std::chrono::steady_clock::now();
  auto peer = OnednnLayer::create(f->layer, f->data, variant);
  const double plan_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!peer.ok()) return state.SkipWithError(peer.status().to_string().c_str());
  (*peer)->run();
  if (!check_result(state, *f, (*peer)->output(), "oneDNN")) return;
  for (auto _ : state) (*peer)->run();
  set_work_counters(state, f->layer);
  state.counters["plan_ms"] = plan_ms;
  state.SetLabel((*peer)->implementation());
}
#endif

// Removes our own flags from argv (Google Benchmark rejects unknown ones).
Result<Options> take_options(int& argc, char** argv) {
  Options o;
  int kept = 1;
  for (int k = 1; k < argc; ++k) {
    const std::string a = argv[k];
    if (a.rfind("--shapes=", 0) == 0) {
      o.shapes.clear();
      std::stringstream list(a.substr(9));
      for (std::string item; std::getline(list, item, ',');) o.shapes.push_back(item);
    } else if (a.rfind("--threads=", 0) == 0) {
      o.threads.clear();
      std::stringstream list(a.substr(10));
      for (std::string item; std::getline(list, item, ',');) {
        const int t = std::atoi(item.c_str());
        if (t < 1) return invalid_argument("--threads: expected a comma list of positive integers, got '" + a.substr(10) + "'");
        o.threads.push_back(t);
      }
    } else if (a == "--pin") {
      o.pin = true;
    } else {
      argv[kept++] = argv[k];
    }
  }
  argc = kept;
  return o;
}

}  // namespace
}  // namespace upconv::bench

int main(int argc, char** argv) {
  using namespace upconv::bench;
  fix_allocation_for_timing();
  auto options = take_options(argc, argv);
  if (!options.ok()) {
    std::cerr << "upconv_bench: " << options.status().message() << "\n";
    return 2;
  }
  std::vector<Layer> layers;
  for (const std::string& path : options->shapes) {
    auto loaded = load_layers(path);
    if (!loaded.ok()) {
      std::cerr << "upconv_bench: " << loaded.status().message() << "\n";
      return 1;
    }
    layers.insert(layers.end(), loaded->begin(), loaded->end());
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;

  // Vulkan cases only where a Vulkan device exists (lavapipe counts when it is the only one).
  const bool have_vulkan = upconv::Context::create({.backend = upconv::BackendKind::vulkan}).ok();
  for (int t : options->threads)
    benchmark::RegisterBenchmark(("machine/fma_peak/threads:" + std::to_string(t)).c_str(), bench_fma_peak, t)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  std::vector<std::unique_ptr<LayerFixture>> fixtures;
  for (const Layer& layer : layers) {
    fixtures.push_back(std::make_unique<LayerFixture>(LayerFixture{layer, make_layer_data(layer), {}}));
    LayerFixture* f = fixtures.back().get();
    if (have_vulkan)
      benchmark::RegisterBenchmark(("upconv_vulkan/" + layer.name).c_str(), bench_upconv_vulkan, f)
          ->Unit(benchmark::kMillisecond)
          ->UseManualTime();
    for (int t : options->threads) {
      const std::string suffix = "/" + layer.name + "/threads:" + std::to_string(t);
      benchmark::RegisterBenchmark(("upconv_cpu" + suffix).c_str(), bench_upconv, f, t, options->pin)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
#ifdef UPCONV_BENCH_ONEDNN
      for (OnednnVariant v : {OnednnVariant::nchw_direct, OnednnVariant::nchw_reorder, OnednnVariant::blocked})
        if (onednn_supports(layer, v))
          benchmark::RegisterBenchmark((to_string(v) + suffix).c_str(), bench_onednn, f, t, v)
              ->Unit(benchmark::kMillisecond)
              ->UseRealTime();
#endif
    }
  }
  benchmark::AddCustomContext("cpu_model", cpu_model_name());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
