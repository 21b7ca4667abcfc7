#!/usr/bin/env python3
"""Turns upconv_bench JSON output into the README's Performance table.

Run the benchmark with repetitions and keep the medians, e.g.

    build/bench/upconv_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \\
        --benchmark_out=bench.json --benchmark_out_format=json
    python3 bench/make_table.py bench.json [more.json ...]

Several files (separate runs) may be given: per case, the median over all their medians is used.
"oneDNN NCHW" is the faster of oneDNN's two NCHW-in/NCHW-out variants (primitive on plain NCHW,
or blocked primitive with the input and output reorders included); "ratio" is that time divided
by upconv's (> 1: upconv is faster). % of peak: compute-bound layers against the FMA peak that
the run measured at that thread count ("machine/fma_peak/threads:N" cases; the VM's hosts differ in
generation), or 250 GFLOP/s per thread (Zen 5, two 512-bit FMA per cycle) where a file has none;
permutations against 38 GB/s copy bandwidth per thread (one core of this VM class cannot saturate
DRAM on its own).
"""
import json
import statistics
import sys
from collections import defaultdict

PEAK_GFLOPS_PER_CORE = 250.0
COPY_GBPS = 38.0
# The targets (1 thread): best peer median, and the machine-limit goal.
BEST_PEER_1T = {"dcgan_g2": 1.38, "dcgan_g4": 1.29, "unet_up": 1.39, "fsrcnn_x3": 0.72, "dw_up_x2": 2.01,
                "frame_up": 7.65, "aspp_d12": 17.1, "wavenet_d64": 1.33, "shuffle_x2": 0.85, "espcn_x3": 2.18}
BEST_PEER_2T = {"dcgan_g2": 0.63, "dcgan_g4": 0.67, "unet_up": 0.76, "fsrcnn_x3": 0.52, "dw_up_x2": 1.04,
                "frame_up": 4.97, "aspp_d12": 8.77, "wavenet_d64": 0.68, "shuffle_x2": 0.52, "espcn_x3": 1.29}
GOAL_1T = {"dcgan_g2": 1.05, "dcgan_g4": 1.16, "unet_up": 1.19, "frame_up": 2.35, "aspp_d12": 16.4,
           "wavenet_d64": 1.16, "dw_up_x2": 0.74, "shuffle_x2": 1.18, "espcn_x3": 1.75}


def load(paths):
    """{(library, layer, threads): median ms}, {(layer, threads): counters of upconv}, the
    (layer, threads) order, and {threads: measured FMA peak GFLOP/s}."""
    times, counters, order, peaks = defaultdict(list), {}, [], defaultdict(list)
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        for b in data["benchmarks"]:
            if b.get("error_occurred"):
                print(f"warning: {b['name']}: {b.get('error_message')}", file=sys.stderr)
                continue
            if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
                continue
            parts = b["run_name"].split("/")
            if len(parts) < 3 or not parts[2].startswith("threads:"):
                continue  # e.g. upconv_vulkan/<layer>: GPU-timed, not part of the CPU table
            library, layer, threads = parts[0], parts[1], int(parts[2].split(":")[1])
            if (library, layer) == ("machine", "fma_peak"):
                peaks[threads].append(b["GFLOP/s"])
                continue
            scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
            times[(library, layer, threads)].append(b["real_time"] * scale)
            if library == "upconv_cpu":
                counters[(layer, threads)] = b
            if (layer, threads) not in order:
                order.append((layer, threads))
    return ({k: statistics.median(v) for k, v in times.items()}, counters, order,
            {t: statistics.median(v) for t, v in peaks.items()})


def main(paths):
    times, counters, order, peaks = load(paths)
    for threads in sorted(peaks):
        print(f"FMA peak measured at {threads} thread(s): {peaks[threads]:.0f} GFLOP/s")
    print()
    print("| layer | threads | upconv ms | oneDNN NCHW ms | oneDNN blocked ms | ratio | upconv GFLOP/s or GB/s "
          "| % of peak | best peer ms (issue) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for layer, threads in sorted(order, key=lambda k: (k[1], order.index(k))):
        ours = times.get(("upconv_cpu", layer, threads))
        nchw = [times[k] for k in (("onednn_nchw_direct", layer, threads), ("onednn_nchw_reorder", layer, threads))
                if k in times]
        blocked = times.get(("onednn_blocked", layer, threads))
        peer = min(nchw) if nchw else None
        # Work per run = rate x time of the run that reported it; rates below use the median time.
        c = counters.get((layer, threads), {})
        run_s = c.get("real_time", 0.0) * {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}.get(c.get("time_unit"), 0.0)
        flops, nbytes = c.get("FLOP/s", 0.0) * run_s, c.get("bytes/s", 0.0) * run_s
        rate, peak = "—", float("nan")
        if ours and flops:
            gflops = flops / (ours * 1e6)
            fma_peak = peaks.get(threads, PEAK_GFLOPS_PER_CORE * threads)
            rate, peak = f"{gflops:.0f} GFLOP/s", 100.0 * gflops / fma_peak
        elif ours:
            gbps = nbytes / (ours * 1e6)
            rate, peak = f"{gbps:.1f} GB/s", 100.0 * gbps / (COPY_GBPS * threads)
        best = (BEST_PEER_1T if threads == 1 else BEST_PEER_2T).get(layer)
        fmt = lambda v: f"{v:.3f}" if v is not None else "—"
        print(f"| {layer} | {threads} | {fmt(ours)} | {fmt(peer)} | {fmt(blocked)} | "
              f"{f'{peer / ours:.2f}' if (peer and ours) else '—'} | {rate} | "
              f"{f'{peak:.0f}%' if ours else '—'} | {best if best else '—'} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
