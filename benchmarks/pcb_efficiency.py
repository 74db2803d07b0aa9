"""Memory and throughput of PCB, PCB+SA and PCB+CSA (G = 1, 2, 4, 8): CSA paper Table 6.

Runs on the JAX backend (XLA-compiled). Memory is XLA's own buffer assignment for the
compiled inference function (`jax.jit(f).lower(...).compile().memory_analysis()`): it is
deterministic and independent of other processes on the machine. We report
`temp` (activations / scratch) and `peak = arguments + outputs + temp − aliased`
(weights included), per image. Throughput is the median wall time of the compiled
function over repeated calls; it depends on the CPU and on its load, so treat it as
noisy. All models are embedding-only (num_classes=None: no classifier or deep-supervision
branch at inference), input 384×128, random weights.

Usage:
    KERAS_BACKEND=jax python benchmarks/pcb_efficiency.py --batch 8 --repeats 5 \
        --output benchmarks/results/pcb_efficiency.md
"""

import argparse
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_reid.models.pcb.pcb import PCB  # noqa: E402

# Paper Table 6 (CSA paper, GPU, MB/image and FPS), for the ratio columns.
PAPER = {
    "PCB": (125.64, 380.24),
    "PCB+SA": (304.33, 224.30),
    "PCB+CSA G=1": (139.60, 360.90),
    "PCB+CSA G=2": (142.27, 350.36),
    "PCB+CSA G=4": (149.02, 335.66),
    "PCB+CSA G=8": (158.02, 314.80),
}

CONFIGS = {
    "PCB": {},
    "PCB+SA": {"attention": "sa"},
    "PCB+CSA G=1": {"attention": "csa", "csa_groups": 1},
    "PCB+CSA G=2": {"attention": "csa", "csa_groups": 2},
    "PCB+CSA G=4": {"attention": "csa", "csa_groups": 4},
    "PCB+CSA G=8": {"attention": "csa", "csa_groups": 8},
}


def _compile(net, trainable, non_trainable, x):
    def infer(tv, ntv, inputs):
        outputs, _ = net.stateless_call(tv, ntv, inputs, training=False)
        return outputs["embedding"]

    return jax.jit(infer).lower(trainable, non_trainable, x).compile()


def measure(kwargs, batch, repeats, image_shape, memory_batch):
    keras.backend.clear_session()
    model = PCB(num_classes=None, image_shape=image_shape, **kwargs)
    net = model.network
    trainable = [v.value for v in net.trainable_variables]
    non_trainable = [v.value for v in net.non_trainable_variables]

    # Memory from a compile at `memory_batch` (1 by default): on the XLA CPU backend
    # memory_analysis() reported temp 0 B for a batched self-attention (batch ≥ 2) whose
    # N×N matrices it must hold, while batch 1 gives the expected 2·N²·4 B (see results).
    x_mem = np.random.rand(memory_batch, *image_shape).astype("float32")
    mem = _compile(net, trainable, non_trainable, x_mem).memory_analysis()
    x = np.random.rand(batch, *image_shape).astype("float32")
    compiled = _compile(net, trainable, non_trainable, x)
    peak = (
        mem.argument_size_in_bytes
        + mem.output_size_in_bytes
        + mem.temp_size_in_bytes
        - mem.alias_size_in_bytes
    )
    compiled(trainable, non_trainable, x).block_until_ready()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        compiled(trainable, non_trainable, x).block_until_ready()
        times.append(time.perf_counter() - start)
    return {
        "params": model.count_params(),
        "temp_mb": mem.temp_size_in_bytes / memory_batch / 2**20,
        "peak_mb": peak / memory_batch / 2**20,
        "fps": batch / statistics.median(times),
    }


def measure_training(kwargs, image_shape, memory_batch):
    """XLA memory of one gradient computation (training mode, all heads, 751 classes)."""
    keras.backend.clear_session()
    model = PCB(num_classes=751, image_shape=image_shape, **kwargs)
    net = model.network
    trainable = [v.value for v in net.trainable_variables]
    non_trainable = [v.value for v in net.non_trainable_variables]
    names = list(model.logit_names)

    def loss(tv, ntv, inputs):
        outputs, _ = net.stateless_call(tv, ntv, inputs, training=True)
        return sum(jax.numpy.mean(jax.nn.logsumexp(outputs[n], axis=-1)) for n in names)

    x = np.random.rand(memory_batch, *image_shape).astype("float32")
    mem = jax.jit(jax.grad(loss)).lower(trainable, non_trainable, x).compile().memory_analysis()
    return mem.temp_size_in_bytes / memory_batch / 2**20


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--memory-batch", type=int, default=1)
    parser.add_argument("--height", type=int, default=384)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--train", action="store_true", help="also XLA memory of a gradient step")
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    shape = (args.height, args.width, 3)
    rows = {}
    for name, kwargs in CONFIGS.items():
        rows[name] = measure(kwargs, args.batch, args.repeats, shape, args.memory_batch)
        if args.train:
            rows[name]["train_mb"] = measure_training(CONFIGS[name], shape, args.memory_batch)
        print(name, rows[name], flush=True)
    base = rows["PCB"]
    lines = [
        "# PCB / PCB+SA / PCB+CSA efficiency (CSA paper Table 6)",
        "",
        f"Command: `KERAS_BACKEND=jax python benchmarks/pcb_efficiency.py {' '.join(argv or sys.argv[1:])}`",
        "",
        f"Input {args.height}×{args.width}, throughput at batch {args.batch}, memory compiled at batch "
        f"{args.memory_batch}, inference (embedding only), float32, "
        f"JAX {jax.__version__} / Keras {keras.__version__} on CPU ({platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} logical cores, shared with other jobs: FPS is noisy).",
        "Memory: XLA buffer assignment of the compiled function (`compile().memory_analysis()`), deterministic. "
        "`activations` = temp buffers; `peak` = arguments (weights + input) + outputs + temp − aliased; both per image. "
        "Memory is taken at batch 1 because XLA:CPU's memory_analysis() reported 0 B of temp buffers for a batched "
        "(batch ≥ 2) full self-attention layer that must hold two N×N matrices (batch 1: 72.0 MB at 96×32×256, "
        "= 2·3072²·4 B), so batched CPU figures are not trustworthy. Inference buffers are reused by XLA, so "
        "these are inference peaks, not training (stored-activation) memory.",
        "Paper columns: Table 6 of the CSA paper (GPU, their measurement method), as ratios to their PCB.",
        "",
        "| Model | params | activations MB/img | peak MB/img | peak / PCB | FPS (CPU) | FPS / PCB | paper memory / PCB | paper FPS / PCB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        pm, pf = PAPER[name]
        lines.append(
            f"| {name} | {r['params']:,} | {r['temp_mb']:.2f} | {r['peak_mb']:.2f} | "
            f"{r['peak_mb'] / base['peak_mb']:.3f} | {r['fps']:.2f} | {r['fps'] / base['fps']:.3f} | "
            f"{pm / PAPER['PCB'][0]:.3f} | {pf / PAPER['PCB'][1]:.3f} |"
        )
    if args.train:
        lines += [
            "",
            "Training (one gradient computation, all heads incl. deep supervision, 751 classes): "
            "XLA temp buffers per image, i.e. the activations kept for the backward pass.",
            "",
            "| Model | training temp MB/img | / PCB | paper memory / PCB |",
            "|---|---|---|---|",
        ]
        for name, r in rows.items():
            lines.append(
                f"| {name} | {r['train_mb']:.2f} | {r['train_mb'] / base['train_mb']:.3f} | "
                f"{PAPER[name][0] / PAPER['PCB'][0]:.3f} |"
            )
    lines.append("")
    lines.append(
        "Activation-only ratios to PCB: "
        + ", ".join(f"{n} {r['temp_mb'] / base['temp_mb']:.3f}" for n, r in rows.items() if n != "PCB")
        + "."
    )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
