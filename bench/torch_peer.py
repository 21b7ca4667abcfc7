#!/usr/bin/env python3
"""PyTorch as a peer of `upconv bench`: cuDNN on a CUDA GPU (beside `--backend vulkan`) or
PyTorch's CPU kernels (oneDNN for the convolutions; beside `--backend cpu`).

Times every layer of the shapes files, NCHW in and out, the way upconv's benchmark does: inputs
resident on the device, the median of many single calls. On a GPU each call is timed with CUDA
events; fp32 runs with TF32 off (upconv's fp32 shaders do full fp32 FMAs), fp16 as half tensors;
cuDNN picks its fastest algorithm (benchmark mode) before timing. On the CPU, fp32 only, wall
clock per call, on --threads threads (torch.set_num_threads).
Only for benchmarking (scripts/device-check.sh, or by hand with Debian's python3-torch under
/usr/bin/python3); never a test dependency.

  python3 bench/torch_peer.py --json out.json bench/shapes.json bench/memory_shapes.json
  /usr/bin/python3 bench/torch_peer.py --device cpu --threads 1 --json cpu1.json bench/shapes.json
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def make_layer(s, dtype, dev):
    """Returns (callable, flops, bytes) for one layer of the shapes file."""
    n, c, (h, w) = s["n"], s["c_in"], s["hw"]
    x = torch.randn(n, c, h, w, device=dev, dtype=dtype)
    op = s["op"]
    if op in ("conv_transpose2d", "conv2d"):
        g, co = s["groups"], s["c_out"]
        kh, kw = s["kernel"]
        if op == "conv_transpose2d":
            wt = torch.randn(c, co // g, kh, kw, device=dev, dtype=dtype) * 0.05
            b = torch.randn(co, device=dev, dtype=dtype)
            fn = lambda: F.conv_transpose2d(x, wt, b, s["stride"], s["pad"], s["out_pad"], g, s["dilation"])
        else:
            wt = torch.randn(co, c // g, kh, kw, device=dev, dtype=dtype) * 0.05
            b = torch.randn(co, device=dev, dtype=dtype)
            fn = lambda: F.conv2d(x, wt, b, s["stride"], s["pad"], s["dilation"], g)
        y = fn()
        # 2 x multiply-adds on valid taps, as upconv counts them: a 1-channel pass over ones counts
        # the taps landing on each output position; every output channel of a group sums them over
        # the group's c_in / groups input channels.
        one_x = torch.ones(1, 1, h, w, dtype=torch.float64)
        one_w = torch.ones(1, 1, kh, kw, dtype=torch.float64)
        if op == "conv_transpose2d":
            per_pos = F.conv_transpose2d(one_x, one_w, None, s["stride"], s["pad"], s["out_pad"], 1, s["dilation"])
        else:
            per_pos = F.conv2d(one_x, one_w, None, s["stride"], s["pad"], s["dilation"], 1)
        taps = per_pos.sum().item() * co * (c // g)
        flops = 2.0 * n * taps
        moved = (x.numel() + wt.numel() + y.numel()) * x.element_size()
        return fn, flops, moved
    if op == "pixel_shuffle":
        fn = lambda: F.pixel_shuffle(x, s["factor"])
    elif op == "upsample_nearest2d":
        fn = lambda: F.interpolate(x, scale_factor=s["factor"], mode="nearest")
    elif op == "max_unpool2d":
        k = s["kernel"]
        _, idx = F.max_pool2d(torch.randn(n, c, h * k[0], w * k[1], device=dev, dtype=dtype), k, return_indices=True)
        fn = lambda: F.max_unpool2d(x, idx, k)
    elif op == "bed_of_nails2d":
        f = s["factor"]

        def fn():
            y = torch.zeros(n, c, h * f, w * f, device=dev, dtype=dtype)
            y[:, :, ::f, ::f] = x
            return y
    else:
        return None
    y = fn()
    return fn, 0.0, (x.numel() + y.numel()) * x.element_size()


def time_call_cuda(fn):
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    fn()
    stop.record()
    stop.synchronize()
    return start.elapsed_time(stop)


def time_call_cpu(fn):
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def median_ms(fn, time_call, min_reps=50, min_seconds=0.3):
    for _ in range(5):
        fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    times = []
    total = 0.0
    while len(times) < min_reps or total < min_seconds * 1e3:
        t = time_call(fn)
        times.append(t)
        total += t
        if len(times) > 20000:
            break
    return statistics.median(times), len(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("shapes", nargs="+")
    ap.add_argument("--json", required=True)
    ap.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (default: PyTorch's)")
    ap.add_argument("--count-only", action="store_true", help="print each layer's GFLOP on the CPU, time nothing")
    args = ap.parse_args()
    if args.count_only:
        for path in args.shapes:
            for s in json.load(open(path))["shapes"]:
                made = make_layer(s, torch.float32, torch.device("cpu"))
                if made:
                    print(f"{s['name']:12s} {made[1] / 1e9:.4f} GFLOP  {made[2] / 1e6:.2f} MB")
        return
    if args.device == "cuda":
        if not torch.cuda.is_available():
            sys.exit("torch_peer: no CUDA device")
        torch.backends.cudnn.benchmark = True
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
        precisions, time_call = ((torch.float32, "fp32"), (torch.float16, "fp16")), time_call_cuda
        info = {"torch": torch.__version__, "cudnn": torch.backends.cudnn.version(),
                "device": torch.cuda.get_device_name(0)}
    else:
        if args.threads > 0:
            torch.set_num_threads(args.threads)
        precisions, time_call = ((torch.float32, "fp32"),), time_call_cpu
        info = {"torch": torch.__version__, "device": "cpu", "threads": torch.get_num_threads(),
                "mkldnn": torch.backends.mkldnn.is_available()}
    dev = torch.device(args.device)
    results = []
    for path in args.shapes:
        for s in json.load(open(path))["shapes"]:
            for dtype, name in precisions:
                made = make_layer(s, dtype, dev)
                if made is None:
                    continue
                fn, flops, moved = made
                with torch.no_grad():
                    ms, reps = median_ms(fn, time_call)
                results.append({"name": s["name"], "op": s["op"], "backend": "torch_" + args.device,
                                "threads": info.get("threads", 0), "precision": name, "median_ms": ms,
                                "gflops": flops / ms / 1e6, "gbps": moved / ms / 1e6, "repetitions": reps})
                print(f"{s['name']:12s} {name} {ms:9.4f} ms  {flops / ms / 1e6:9.1f} GFLOP/s  {moved / ms / 1e6:8.1f} GB/s",
                      flush=True)
    json.dump({"peer": info, "results": results}, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
