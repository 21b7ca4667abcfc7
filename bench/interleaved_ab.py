#!/usr/bin/env python3
"""Compares builds of upconv_bench in interleaved rounds: how the README's A/B timings are taken.

On a shared VM the load of other guests moves a binary's times by 5-25% within minutes, so two
builds timed one after the other mostly measure the hour. Here every round runs each binary in
turn on the same cases, every repetition of every round is kept (not just a median per run), and
per case and binary the script prints the 10th and 25th percentile and the median of all of
them, with the median's ratio to the first binary's. The host only ever adds time, so the low
percentiles are the steadiest figure; a difference that a second set of rounds does not repeat
is noise.

    cp build/bench/upconv_bench /tmp/before      # then rebuild with the change
    python3 bench/interleaved_ab.py --filter 'upconv_cpu/(aspp_d12|dcgan_g2)/threads:1' \\
        --rounds 4 /tmp/before build/bench/upconv_bench
    python3 bench/interleaved_ab.py --filter 'upconv_cpu/unet_up' /tmp/a /tmp/b -- --pin

Arguments after `--` go to every binary (e.g. upconv_bench's --pin).
"""
import argparse
import json
import subprocess
import sys
from collections import defaultdict

TO_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


def percentile(values, p):
    """The value at fraction p of the sorted values (nearest rank below, no interpolation)."""
    ordered = sorted(values)
    return ordered[int(p * (len(ordered) - 1))]


def run_once(binary, args, extra):
    """Every iteration row of one run of `binary`: (benchmark name, time in ms)."""
    cmd = [binary, f"--benchmark_filter={args.filter}", f"--benchmark_repetitions={args.reps}",
           f"--benchmark_min_time={args.min_time}", "--benchmark_format=json"] + extra
    try:
        done = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:
        sys.exit(f"cannot run {binary}: {e}")
    if done.returncode != 0:
        sys.exit(f"{binary} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    if not done.stdout.strip():  # Google Benchmark prints nothing when the filter matches no case
        return []
    rows = []
    for b in json.loads(done.stdout)["benchmarks"]:
        if b.get("error_occurred"):
            sys.exit(f"{binary}: {b['name']}: {b.get('error_message', 'error')}")
        if b.get("run_type") == "iteration":
            rows.append((b["run_name"], b["real_time"] * TO_MS[b["time_unit"]]))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--filter", required=True, help="upconv_bench --benchmark_filter regex")
    parser.add_argument("--rounds", type=int, default=4, help="rounds; each runs every binary once (default 4)")
    parser.add_argument("--reps", type=int, default=8, help="repetitions per run (default 8)")
    parser.add_argument("--min-time", type=float, default=0.05, help="seconds per repetition (default 0.05)")
    parser.add_argument("binaries", nargs="+", help="upconv_bench builds; the first is the baseline")
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.reps < 1:
        parser.error(f"--rounds and --reps must be at least 1, got {args.rounds} and {args.reps}")

    times = defaultdict(list)  # (case, binary index) -> ms of every repetition
    for _ in range(args.rounds):
        for i, binary in enumerate(args.binaries):
            for case, ms in run_once(binary, args, extra):
                times[(case, i)].append(ms)
    cases = sorted({case for case, _ in times})
    if not cases:
        sys.exit(f"no benchmark matched --filter {args.filter!r}")

    width = max(len(c) for c in cases)
    print(f"{'case':{width}s}  {'binary':24s} {'n':>4s} {'p10 ms':>9s} {'p25 ms':>9s} {'median':>9s} {'ratio':>6s}")
    for case in cases:
        base = times.get((case, 0))
        for i, binary in enumerate(args.binaries):
            v = times.get((case, i))
            if not v:
                continue
            ratio = percentile(v, 0.5) / percentile(base, 0.5) if base else float("nan")
            print(f"{case:{width}s}  {binary[-24:]:24s} {len(v):4d} {percentile(v, 0.1):9.3f} "
                  f"{percentile(v, 0.25):9.3f} {percentile(v, 0.5):9.3f} {ratio:6.3f}")


if __name__ == "__main__":
    main()
