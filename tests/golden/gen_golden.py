#!/usr/bin/python3
"""Generates the PyTorch golden data of tests/golden_test.cpp.

Run once (needs Debian's python3-torch and python3-numpy; the tests themselves never need torch):

    /usr/bin/python3 tests/golden/gen_golden.py [output_dir]   # default: tests/data/golden

For every case it writes <name>_x.npy (input), <name>_w.npy / <name>_b.npy (conv weight / bias),
<name>_i.npy (max_unpool2d indices, int64) and <name>_y.npy (expected output, float32), and one
line per case in manifest.txt:

    <name> op=<op> key=value ...

Keys: stride, dilation, pad_begin, pad_end, output_padding, kernel, padding, factor, output_size
(comma lists, one value per spatial axis), groups, bias (0/1), activation (none, relu,
leaky_relu:<alpha>, sigmoid, tanh), mode (crd/dcr).

Outputs are computed by torch in float64 from the float32 operands and rounded to float32 once.
Symmetric paddings use torch's own padding/output_padding arguments; begin/end (asymmetric)
paddings, which torch's modules cannot express, are computed as a torch op with zero padding
followed by explicit zero padding (conv) or cropping (conv_transpose), as ONNX defines them.
ONNX DepthToSpace DCR and bed-of-nails are written as torch reshapes/indexing.
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "data", "golden")
RNG = np.random.default_rng(20261122)
manifest = []


def rand(*shape):
    return RNG.uniform(-1.0, 1.0, size=shape).astype(np.float32)


def t64(a):
    return torch.from_numpy(a.astype(np.float64))


def save(name, **arrays):
    for suffix, a in arrays.items():
        if a is None:
            continue
        if a.dtype == np.int64:
            np.save(os.path.join(OUT, f"{name}_{suffix}.npy"), np.ascontiguousarray(a))
        else:
            np.save(os.path.join(OUT, f"{name}_{suffix}.npy"), np.ascontiguousarray(a, dtype=np.float32))


def lst(v):
    return ",".join(str(int(x)) for x in v)


def activate(y, act):
    if act == "none":
        return y
    if act == "relu":
        return F.relu(y)
    if act.startswith("leaky_relu:"):
        return F.leaky_relu(y, float(act.split(":")[1]))
    if act == "sigmoid":
        return torch.sigmoid(y)
    if act == "tanh":
        return torch.tanh(y)
    raise ValueError(act)


def conv_case(name, rank, n, cin, cout, size, k, stride, dil, pb, pe, groups, bias, act="none"):
    """conv1d/conv2d. size, k, stride, dil, pb, pe: per spatial axis lists."""
    x = rand(n, cin, *size)
    w = rand(cout, cin // groups, *k)
    b = rand(cout) if bias else None
    conv = F.conv1d if rank == 1 else F.conv2d
    xt = t64(x)
    if pb == pe:
        y = conv(xt, t64(w), None, stride=stride, padding=pb, dilation=dil, groups=groups)
    else:
        pads = []
        for a in reversed(range(rank)):  # F.pad takes the last axis first
            pads += [pb[a], pe[a]]
        y = conv(F.pad(xt, pads), t64(w), None, stride=stride, padding=0, dilation=dil, groups=groups)
    if bias:
        y = y + t64(b).reshape(1, cout, *([1] * rank))
    y = activate(y, act)
    save(name, x=x, w=w, b=b, y=y.numpy())
    manifest.append(f"{name} op=conv{rank}d stride={lst(stride)} dilation={lst(dil)} pad_begin={lst(pb)} "
                    f"pad_end={lst(pe)} groups={groups} bias={int(bias)} activation={act}")


def conv_transpose_case(name, rank, n, cin, cout, size, k, stride, dil, pb, pe, opad, groups, bias, act="none"):
    x = rand(n, cin, *size)
    w = rand(cin, cout // groups, *k)
    b = rand(cout) if bias else None
    convt = F.conv_transpose1d if rank == 1 else F.conv_transpose2d
    xt = t64(x)
    if pb == pe:
        y = convt(xt, t64(w), None, stride=stride, padding=pb, output_padding=opad, groups=groups, dilation=dil)
    else:
        # Full (uncropped) output, extended by output_padding zeros at the end, then cropped.
        full = convt(xt, t64(w), None, stride=stride, padding=0, groups=groups, dilation=dil)
        pads = []
        for a in reversed(range(rank)):
            pads += [0, opad[a]]
        full = F.pad(full, pads)
        sl = [slice(None), slice(None)]
        for a in range(rank):
            out = (size[a] - 1) * stride[a] - pb[a] - pe[a] + dil[a] * (k[a] - 1) + opad[a] + 1
            sl.append(slice(pb[a], pb[a] + out))
        y = full[tuple(sl)]
    if bias:
        y = y + t64(b).reshape(1, cout, *([1] * rank))
    y = activate(y, act)
    save(name, x=x, w=w, b=b, y=y.numpy())
    manifest.append(f"{name} op=conv_transpose{rank}d stride={lst(stride)} dilation={lst(dil)} pad_begin={lst(pb)} "
                    f"pad_end={lst(pe)} output_padding={lst(opad)} groups={groups} bias={int(bias)} activation={act}")


def shuffle_case(name, inverse, n, c, h, w, r, mode):
    """c: channels of the input tensor; h, w: its spatial size."""
    x = rand(n, c, h, w)
    xt = t64(x)
    if not inverse:
        if mode == "crd":
            y = F.pixel_shuffle(xt, r)
        else:  # ONNX DepthToSpace DCR: channel (i*r + j)*C + c
            C = c // (r * r)
            y = xt.reshape(n, r, r, C, h, w).permute(0, 3, 4, 1, 5, 2).reshape(n, C, h * r, w * r)
    else:
        if mode == "crd":
            y = F.pixel_unshuffle(xt, r)
        else:  # ONNX SpaceToDepth
            y = xt.reshape(n, c, h // r, r, w // r, r).permute(0, 3, 5, 1, 2, 4).reshape(n, r * r * c, h // r, w // r)
    save(name, x=x, y=y.numpy())
    manifest.append(f"{name} op={'pixel_unshuffle' if inverse else 'pixel_shuffle'} factor={r} mode={mode}")


def unpool_case(name, n, c, ph, pw, k, s, p, with_output_size):
    """Pools a random (n, c, ph, pw) tensor with max_pool2d(k, s, p) and unpools the result."""
    src = t64(rand(n, c, ph, pw))
    pooled, idx = F.max_pool2d(src, k, s, p, return_indices=True)
    default = [(pooled.shape[2 + a] - 1) * s[a] - 2 * p[a] + k[a] for a in range(2)]
    with_output_size = with_output_size or default != [ph, pw]  # indices address the (ph, pw) plane
    out_size = [ph, pw] if with_output_size else None
    y = F.max_unpool2d(pooled, idx, k, s, p, output_size=out_size)
    save(name, x=pooled.numpy(), i=idx.numpy().astype(np.int64), y=y.numpy())
    line = f"{name} op=max_unpool2d kernel={lst(k)} stride={lst(s)} padding={lst(p)}"
    if with_output_size:
        line += f" output_size={ph},{pw}"
    manifest.append(line)


def upsample_case(name, nails, n, c, h, w, rh, rw):
    x = rand(n, c, h, w)
    xt = t64(x)
    if nails:
        y = torch.zeros(n, c, h * rh, w * rw, dtype=torch.float64)
        y[:, :, ::rh, ::rw] = xt
    else:
        y = F.interpolate(xt, scale_factor=(rh, rw), mode="nearest")
    save(name, x=x, y=y.numpy())
    manifest.append(f"{name} op={'bed_of_nails2d' if nails else 'upsample_nearest2d'} factor={rh},{rw}")


ACTS = ["none", "relu", "leaky_relu:0.1", "sigmoid", "tanh"]


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(".npy") or f == "manifest.txt":
            os.remove(os.path.join(OUT, f))

    # ---- conv_transpose2d: hand-picked edges (DCGAN, U-Net, FSRCNN-like), then random ----
    ct2 = [
        # n cin cout size k stride dil pb pe opad groups bias act
        (1, 1, 1, [2, 2], [2, 2], [1, 1], [1, 1], [0, 0], [0, 0], [0, 0], 1, False, "none"),
        (1, 1, 1, [2, 2], [3, 3], [2, 2], [1, 1], [1, 1], [1, 1], [0, 0], 1, False, "none"),
        (2, 4, 3, [4, 5], [4, 4], [2, 2], [1, 1], [1, 1], [1, 1], [0, 0], 1, True, "relu"),      # DCGAN
        (1, 3, 2, [5, 4], [2, 2], [2, 2], [1, 1], [0, 0], [0, 0], [0, 0], 1, True, "none"),      # U-Net up
        (1, 2, 2, [4, 4], [9, 9], [3, 3], [1, 1], [4, 4], [4, 4], [2, 2], 1, True, "none"),      # FSRCNN x3
        (1, 4, 6, [3, 4], [3, 3], [2, 2], [1, 1], [1, 1], [1, 1], [1, 1], 2, True, "leaky_relu:0.1"),
        (1, 4, 4, [5, 5], [3, 3], [2, 1], [1, 1], [1, 0], [1, 0], [1, 0], 4, False, "tanh"),    # depthwise
        (1, 2, 3, [4, 3], [3, 2], [1, 2], [2, 1], [2, 0], [2, 0], [1, 1], 1, True, "sigmoid"),  # dilation
        (2, 6, 3, [3, 3], [3, 3], [3, 2], [2, 2], [1, 2], [1, 2], [1, 1], 3, True, "none"),
        (1, 2, 2, [3, 3], [3, 3], [2, 2], [1, 1], [1, 0], [0, 2], [1, 1], 1, True, "none"),     # asymmetric
        (1, 3, 4, [4, 2], [4, 3], [2, 3], [1, 2], [0, 2], [3, 1], [1, 2], 1, False, "relu"),    # asymmetric
        (1, 1, 2, [1, 1], [1, 1], [1, 1], [1, 1], [0, 0], [0, 0], [0, 0], 1, True, "none"),     # 1x1
        (1, 2, 2, [3, 3], [2, 2], [4, 4], [1, 1], [0, 0], [0, 0], [3, 3], 1, True, "none"),     # stride > kernel
        (1, 2, 4, [3, 3], [3, 3], [2, 2], [1, 1], [0, 0], [0, 0], [0, 0], 2, True, "sigmoid"),
    ]
    for i, c in enumerate(ct2):
        conv_transpose_case(f"ct2d_{i:02d}", 2, *c)

    ct1 = [
        (1, 1, 1, [4], [3], [2], [1], [1], [1], [1], 1, False, "none"),
        (2, 3, 2, [7], [4], [2], [1], [1], [1], [0], 1, True, "relu"),
        (1, 4, 4, [5], [5], [3], [2], [3], [3], [2], 4, True, "none"),       # depthwise, dilated
        (1, 2, 6, [6], [3], [4], [1], [0], [0], [3], 2, True, "tanh"),
        (1, 3, 3, [8], [2], [2], [3], [1], [2], [1], 1, False, "leaky_relu:0.2"),  # asymmetric
        (1, 2, 2, [5], [16], [8], [1], [4], [4], [0], 1, True, "none"),      # WaveNet-ish upsampler
    ]
    for i, c in enumerate(ct1):
        conv_transpose_case(f"ct1d_{i:02d}", 1, *c)

    # Random conv_transpose sweep (valid by construction).
    for i in range(16):
        rank = 1 + (i % 2)
        g = int(RNG.choice([1, 1, 2, 3]))
        cin, cout = g * int(RNG.integers(1, 3)), g * int(RNG.integers(1, 3))
        if i % 5 == 4:
            g, cin, cout = 3, 3, 3  # depthwise
        size, k, s, d, pb, pe, op = [], [], [], [], [], [], []
        for _ in range(rank):
            while True:
                kk, ss, dd = int(RNG.integers(1, 5)), int(RNG.integers(1, 4)), int(RNG.choice([1, 1, 2]))
                ii = int(RNG.integers(1, 6 if rank == 2 else 10))
                sym = i % 3 != 0
                b0 = int(RNG.integers(0, dd * (kk - 1) + 1))
                e0 = b0 if sym else int(RNG.integers(0, dd * (kk - 1) + 1))
                oo = int(RNG.integers(0, max(ss, dd)))
                out = (ii - 1) * ss - b0 - e0 + dd * (kk - 1) + oo + 1
                if out >= 1:
                    break
            size.append(ii); k.append(kk); s.append(ss); d.append(dd); pb.append(b0); pe.append(e0); op.append(oo)
        conv_transpose_case(f"ctr_{i:02d}", rank, int(RNG.integers(1, 3)), cin, cout, size, k, s, d, pb, pe, op, g,
                            bool(i % 2), ACTS[i % 5])

    # ---- conv2d / conv1d incl. dilation (atrous), groups, padding ----
    c2 = [
        (1, 1, 1, [4, 4], [3, 3], [1, 1], [1, 1], [0, 0], [0, 0], 1, False, "none"),
        (1, 3, 4, [7, 6], [3, 3], [1, 1], [2, 2], [2, 2], [2, 2], 1, True, "relu"),    # atrous, same size
        (2, 4, 4, [6, 6], [3, 3], [2, 2], [1, 1], [1, 1], [1, 1], 4, True, "none"),    # depthwise stride 2
        (1, 4, 6, [5, 7], [3, 2], [1, 2], [3, 1], [3, 0], [3, 1], 2, False, "leaky_relu:0.05"),
        (1, 2, 3, [6, 5], [3, 3], [2, 1], [1, 2], [0, 2], [1, 1], 1, True, "sigmoid"),  # asymmetric
        (1, 3, 2, [5, 5], [5, 5], [1, 1], [1, 1], [2, 2], [2, 2], 1, True, "tanh"),
        (1, 6, 6, [4, 4], [1, 1], [1, 1], [1, 1], [0, 0], [0, 0], 3, True, "none"),    # pointwise grouped
        (1, 2, 8, [4, 4], [3, 3], [1, 1], [1, 1], [1, 1], [1, 1], 1, True, "none"),    # ESPCN-like x2
        (1, 2, 2, [9, 9], [3, 3], [1, 1], [4, 4], [0, 0], [0, 0], 1, False, "none"),   # dilation 4
        (1, 3, 3, [7, 7], [3, 3], [3, 3], [1, 1], [0, 0], [2, 2], 1, True, "none"),    # SAME_UPPER-like
    ]
    for i, c in enumerate(c2):
        conv_case(f"c2d_{i:02d}", 2, *c)
    c1 = [
        (1, 1, 1, [8], [2], [1], [1], [0], [0], 1, False, "none"),
        (1, 4, 4, [16], [2], [1], [8], [8], [0], 1, True, "tanh"),                     # WaveNet causal dilated
        (2, 3, 6, [10], [3], [2], [2], [2], [2], 3, True, "relu"),
        (1, 5, 5, [9], [4], [1], [3], [4], [5], 5, False, "none"),                      # depthwise asymmetric
        (1, 2, 3, [12], [5], [3], [1], [2], [2], 1, True, "sigmoid"),
    ]
    for i, c in enumerate(c1):
        conv_case(f"c1d_{i:02d}", 1, *c)
    for i in range(10):
        rank = 1 + (i % 2)
        g = int(RNG.choice([1, 2]))
        cin, cout = g * int(RNG.integers(1, 4)), g * int(RNG.integers(1, 4))
        size, k, s, d, pb, pe = [], [], [], [], [], []
        for _ in range(rank):
            while True:
                kk, ss, dd = int(RNG.integers(1, 5)), int(RNG.integers(1, 4)), int(RNG.choice([1, 2, 3]))
                ii = int(RNG.integers(1, 8 if rank == 2 else 14))
                b0 = int(RNG.integers(0, dd * (kk - 1) + 1))
                e0 = b0 if i % 3 else int(RNG.integers(0, dd * (kk - 1) + 1))
                if ii + b0 + e0 - dd * (kk - 1) - 1 >= 0:
                    break
            size.append(ii); k.append(kk); s.append(ss); d.append(dd); pb.append(b0); pe.append(e0)
        conv_case(f"cr_{i:02d}", rank, int(RNG.integers(1, 3)), cin, cout, size, k, s, d, pb, pe, g, bool(i % 2),
                  ACTS[(i + 2) % 5])

    # ---- pixel shuffle / unshuffle, both modes ----
    sh = [(1, 4, 3, 3, 2), (2, 18, 2, 4, 3), (1, 8, 1, 5, 2), (1, 32, 3, 2, 4), (1, 3, 2, 2, 1), (1, 12, 4, 3, 2)]
    for i, (n, c, h, w, r) in enumerate(sh):
        for mode in ("crd", "dcr"):
            shuffle_case(f"ps_{i:02d}_{mode}", False, n, c, h, w, r, mode)
    ush = [(1, 1, 4, 4, 2), (2, 2, 6, 9, 3), (1, 3, 8, 4, 4), (1, 2, 2, 6, 2), (1, 2, 3, 3, 1)]
    for i, (n, c, h, w, r) in enumerate(ush):
        for mode in ("crd", "dcr"):
            shuffle_case(f"pu_{i:02d}_{mode}", True, n, c, h, w, r, mode)

    # ---- max_unpool2d with indices from max_pool2d ----
    up = [
        (1, 1, 4, 4, [2, 2], [2, 2], [0, 0], False),
        (2, 3, 6, 8, [2, 2], [2, 2], [0, 0], False),
        (1, 2, 5, 5, [2, 2], [2, 2], [0, 0], True),    # odd: output_size recovers 5x5
        (1, 2, 7, 6, [3, 3], [2, 2], [1, 1], True),    # overlapping windows with padding
        (1, 1, 7, 7, [3, 3], [3, 3], [0, 0], True),
        (1, 2, 6, 5, [3, 2], [1, 2], [1, 0], False),   # stride 1: duplicate indices
        (1, 1, 9, 8, [4, 3], [3, 2], [2, 1], True),
        (1, 3, 4, 6, [2, 3], [2, 3], [0, 1], False),
    ]
    for i, c in enumerate(up):
        unpool_case(f"unpool_{i:02d}", *c)

    # ---- nearest upsampling and bed of nails ----
    for i, (n, c, h, w, rh, rw) in enumerate([(1, 1, 2, 2, 2, 2), (2, 3, 3, 4, 3, 2), (1, 2, 4, 3, 1, 4),
                                              (1, 1, 5, 5, 4, 4)]):
        upsample_case(f"nearest_{i:02d}", False, n, c, h, w, rh, rw)
        upsample_case(f"nails_{i:02d}", True, n, c, h, w, rh, rw)

    # ---- medium, layer-like shapes (channel counts and extents that cross SIMD tiles) ----
    conv_transpose_case("mid_ct2d_dcgan", 2, 2, 16, 8, [8, 8], [4, 4], [2, 2], [1, 1], [1, 1], [1, 1], [0, 0], 1,
                        True, "relu")
    conv_transpose_case("mid_ct2d_unet", 2, 1, 12, 6, [9, 11], [2, 2], [2, 2], [1, 1], [0, 0], [0, 0], [0, 0], 1,
                        True, "none")
    conv_transpose_case("mid_ct2d_dw", 2, 1, 16, 16, [7, 10], [3, 3], [2, 2], [1, 1], [1, 1], [1, 1], [1, 1], 16,
                        True, "leaky_relu:0.2")
    conv_transpose_case("mid_ct1d_wave", 1, 1, 16, 8, [40], [16], [8], [1], [4], [4], [0], 1, True, "tanh")
    conv_case("mid_c2d_atrous", 2, 1, 8, 16, [12, 12], [3, 3], [1, 1], [2, 2], [2, 2], [2, 2], 1, True, "relu")
    conv_case("mid_c2d_espcn", 2, 1, 8, 18, [10, 9], [3, 3], [1, 1], [1, 1], [1, 1], [1, 1], 1, True, "none")
    conv_case("mid_c1d_causal", 1, 2, 16, 16, [64], [2], [1], [4], [4], [0], 1, True, "sigmoid")
    shuffle_case("mid_ps_crd", False, 1, 27, 10, 9, 3, "crd")
    shuffle_case("mid_ps_dcr", False, 1, 32, 7, 13, 4, "dcr")
    unpool_case("mid_unpool", 2, 8, 16, 18, [2, 2], [2, 2], [0, 0], False)
    upsample_case("mid_nearest", False, 1, 16, 9, 11, 2, 2)
    upsample_case("mid_nails", True, 1, 16, 9, 11, 3, 3)

    with open(os.path.join(OUT, "manifest.txt"), "w") as f:
        f.write("\n".join(manifest) + "\n")
    print(f"{len(manifest)} cases written to {OUT}")


if __name__ == "__main__":
    main()
