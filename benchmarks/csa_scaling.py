"""CSA vs full self-attention: memory and time against the number of positions N = H·W.

One `CompressedSelfAttention` (D=32, G=2) and one `SelfAttention` (C' = C/8) layer on a
(batch, H, W, C) input at several spatial sizes, JAX backend, XLA-compiled. Memory is
XLA's temp-buffer size of the compiled forward (`memory_analysis()`, deterministic);
time is the median wall time (noisy on a shared CPU). The table gives the growth of
each quantity between successive sizes next to the growth of N: CSA should grow like N
(linear), SA like N² (quadratic: it forms the N×N attention matrix).

Usage:
    KERAS_BACKEND=jax python benchmarks/csa_scaling.py --channels 256 --batch 1 \
        --output benchmarks/results/csa_scaling.md
"""

import argparse
import math
import os
import statistics
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_reid.layers.compressed_self_attention import CompressedSelfAttention  # noqa: E402
from keras_reid.layers.self_attention import SelfAttention  # noqa: E402

SIZES = ((24, 8), (48, 16), (96, 32))


def measure(layer, x, repeats):
    layer.build(x.shape)
    layer.alpha.assign(0.5)
    weights = [v.value for v in layer.trainable_variables]

    def forward(w, inputs):
        out, _ = layer.stateless_call(w, [], inputs)
        return out

    compiled = jax.jit(forward).lower(weights, x).compile()
    temp = compiled.memory_analysis().temp_size_in_bytes
    compiled(weights, x).block_until_ready()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        compiled(weights, x).block_until_ready()
        times.append(time.perf_counter() - start)
    return temp / 2**20, statistics.median(times) * 1e3


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=256)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    rows = []
    for h, w in SIZES:
        x = np.random.rand(args.batch, h, w, args.channels).astype("float32")
        csa = measure(CompressedSelfAttention(num_maps=32, groups=2), x, args.repeats)
        sa = measure(SelfAttention(), x, args.repeats)
        rows.append((h, w, h * w, csa, sa))
        print(h, w, csa, sa, flush=True)
    lines = [
        "# CSA vs full self-attention scaling in N = H·W",
        "",
        f"Command: `KERAS_BACKEND=jax python benchmarks/csa_scaling.py {' '.join(argv or sys.argv[1:])}`",
        "",
        f"C = {args.channels}, batch {args.batch}, float32 forward, JAX {jax.__version__} / Keras "
        f"{keras.__version__} on a shared CPU ({os.cpu_count()} logical cores; times are noisy). "
        "CSA: D = 32, G = 2. SA: C' = C/8. Memory = XLA temp buffers of the compiled layer "
        "(`memory_analysis()`, deterministic, excludes weights, input and output).",
        "",
        "| H×W | N | CSA temp MB | SA temp MB | SA / CSA memory | CSA ms | SA ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for h, w, n, (cm, ct), (sm, st) in rows:
        lines.append(f"| {h}×{w} | {n} | {cm:.3f} | {sm:.3f} | {sm / cm:.1f} | {ct:.2f} | {st:.2f} |")
    lines += [
        "",
        "Growth between successive sizes (a linear cost grows like N, a quadratic one like N²), "
        "and the log-log slope (exponent of N):",
        "",
        "| step | N × | CSA memory × | SA memory × | CSA time × | SA time × | CSA memory exponent | SA memory exponent |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for a, b in zip(rows, rows[1:]):
        rn = b[2] / a[2]
        cm, sm = b[3][0] / a[3][0], b[4][0] / a[4][0]
        lines.append(
            f"| {a[0]}×{a[1]} → {b[0]}×{b[1]} | {rn:.0f} | {cm:.2f} | {sm:.2f} | "
            f"{b[3][1] / a[3][1]:.2f} | {b[4][1] / a[4][1]:.2f} | "
            f"{math.log(cm) / math.log(rn):.2f} | {math.log(sm) / math.log(rn):.2f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
