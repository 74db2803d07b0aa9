"""Training throughput: one optimisation step of keras_reid vs the same network in PyTorch, same CPU.

    python benchmarks/training_speed.py [--arch mobilenetv2] [--size 128 64] [--batch 32] [--steps 10]

The network is MobileNetV2 1.0 with the ReID head (512-D embedding, 751-way classifier), the
PyTorch side the reference module of `tests/conversion/torch_reference.py` that the conversion
parity tests check against keras_reid's. One step = forward in training mode, label-smoothed
(0.1) cross-entropy on the classifier logits, backward, Adam (lr 3e-4) update, on a fixed
batch of random images (the input pipeline and augmentation are left out on both sides: this
times the step itself). keras_reid: `model.train_on_batch` with the default `ReIDLoss` (the
compiled train step the library's `fit` uses: a TensorFlow graph without XLA on CPU; `jax.jit`
on JAX) with the trainer's `TorchAdam`. PyTorch: eager with 2 threads, with 1 thread, channels_last, and `torch.compile` of
the step's model unless `--no-compile`. Each framework runs in its own process; images/s =
batch / median step time over `--steps` steps after `--warmup`. Writes
benchmarks/results/training_speed.md.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from common import cpu_model, timeit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUM_CLASSES = 751


def torch_worker(args):
    import numpy as np
    import torch
    import torch.nn.functional as F

    sys.path.insert(0, ROOT)
    from tests.conversion.torch_reference import MobileNetV2

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.normal(size=(args.batch, 3, *args.size)).astype("float32"))
    y = torch.from_numpy(rng.integers(0, NUM_CLASSES, args.batch))
    variants = [("eager, 2 threads", 2, False, False), ("eager, 1 thread", 1, False, False),
                ("eager, channels_last, 2 threads", 2, True, False)]
    if args.compile:
        variants.append(("torch.compile, 2 threads", 2, False, True))
    for name, threads, channels_last, compiled in variants:
        torch.set_num_threads(threads)
        model = MobileNetV2(1.0, 16, reid_head_dim=512, num_classes=NUM_CLASSES).train()
        inp = x
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
            inp = x.contiguous(memory_format=torch.channels_last)
        optimizer = torch.optim.Adam(model.parameters(), lr=3e-4, weight_decay=5e-4)

        def forward(t, model=model):
            return model.classifier(model(t))

        fwd = torch.compile(forward) if compiled else forward

        def step(fwd=fwd, optimizer=optimizer, inp=inp):
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(fwd(inp), y, label_smoothing=0.1)
            loss.backward()
            optimizer.step()

        try:
            times = timeit(step, args.warmup, args.steps)
            print("RESULT " + json.dumps({"framework": "torch", "variant": name, "times": times}), flush=True)
        except Exception as e:  # torch.compile may fail on a machine without a compiler
            print("RESULT " + json.dumps({"framework": "torch", "variant": name, "error": f"{type(e).__name__}: {e}"[:300]}),
                  flush=True)


def keras_worker(args):
    import keras
    import numpy as np

    import keras_reid
    from keras_reid.training.optimizers import TorchAdam

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch, *args.size, 3)).astype("float32")
    y = rng.integers(0, NUM_CLASSES, args.batch)
    model = keras_reid.build(args.arch, num_classes=NUM_CLASSES, image_shape=(*args.size, 3))
    # The trainer's optimizer: torch.optim.Adam's update with L2 weight decay in the gradient.
    model.compile(optimizer=TorchAdam(3e-4, l2_weight_decay=5e-4))
    times = timeit(lambda: model.train_on_batch(x, y), args.warmup, args.steps)
    variant = f"train_on_batch (jit_compile={model.jit_compile})"
    print("RESULT " + json.dumps({"framework": f"keras-{keras.backend.backend()}", "variant": variant, "times": times}),
          flush=True)


def run(kind, args, backend=None):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", kind, "--arch", args.arch, "--batch", str(args.batch),
           "--steps", str(args.steps), "--warmup", str(args.warmup), "--size", *map(str, args.size)]
    if not args.compile:
        cmd.append("--no-compile")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if backend:
        env["KERAS_BACKEND"] = backend
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    records = [json.loads(line[len("RESULT "):]) for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    if not records:
        records = [{"framework": kind if not backend else f"keras-{backend}", "variant": "(process)",
                    "error": f"rc={out.returncode}: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else ''}"[:300]}]
    return records


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="mobilenetv2", choices=("mobilenetv2",))
    parser.add_argument("--size", type=int, nargs=2, default=(128, 64), metavar=("H", "W"))
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--backends", default="tensorflow,jax")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--worker", choices=("torch", "keras"))
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "training_speed.md"))
    args = parser.parse_args()
    args.size = tuple(args.size)
    if args.worker == "torch":
        return torch_worker(args)
    if args.worker == "keras":
        return keras_worker(args)
    load_before = os.getloadavg()
    started = time.time()
    records = run("torch", args)
    for backend in args.backends.split(","):
        records += run("keras", args, backend=backend)
    load_after = os.getloadavg()
    ips = lambda r: args.batch / statistics.median(r["times"])  # noqa: E731
    ok = [r for r in records if "times" in r]
    lines = [
        "# Training throughput: keras_reid vs PyTorch, one optimisation step (CPU)",
        "",
        f"Command: `python benchmarks/training_speed.py --arch {args.arch} --size {args.size[0]} {args.size[1]} "
        f"--batch {args.batch} --steps {args.steps} --warmup {args.warmup} --backends {args.backends}"
        f"{'' if args.compile else ' --no-compile'}` ({time.time() - started:.0f} s in all)",
        "",
        f"Machine: {os.cpu_count()} CPUs, {cpu_model()}; load average {load_before[0]:.2f} before, {load_after[0]:.2f} "
        "after. Network: MobileNetV2 1.0 + ReID head (512-D) + 751-way classifier, input "
        f"{args.size[0]}×{args.size[1]}, batch {args.batch}, float32; step = forward (training mode), "
        "label-smoothed CE, backward, Adam 3e-4 (weight decay 5e-4); fixed random batch (no input pipeline).",
        "",
        "| framework | variant | images/s | median s/step | min-max s |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    for r in records:
        if "times" not in r:
            lines.append(f"| {r['framework']} | {r['variant']} | failed | | `{r['error']}` |")
            continue
        t = r["times"]
        lines.append(f"| {r['framework']} | {r['variant']} | {ips(r):.1f} | {statistics.median(t):.3f} | "
                     f"{min(t):.3f}-{max(t):.3f} |")
    torch_ok = [r for r in ok if r["framework"] == "torch"]
    keras_ok = [r for r in ok if r["framework"].startswith("keras")]
    if torch_ok and keras_ok:
        bt, bk = max(torch_ok, key=ips), max(keras_ok, key=ips)
        lines += ["", f"**Best keras_reid ({bk['framework']}: {bk['variant']}, {ips(bk):.1f} images/s) / best PyTorch "
                      f"({bt['variant']}, {ips(bt):.1f} images/s): {ips(bk) / ips(bt):.2f}×.**"]
    text = "\n".join(lines) + "\n"
    print(text)
    with open(args.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
