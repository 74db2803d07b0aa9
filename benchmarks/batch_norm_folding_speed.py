"""Folded vs plain inference of the same network, timed in turns in one process.

    KERAS_BACKEND=tensorflow python benchmarks/batch_norm_folding_speed.py [--archs mobilenetv2,hacnn,resnet50_stra]

For each architecture (random weights, its default input size, batch 32) three variants run
the embedding in inference mode: the plain network in a `tf.function`, the BatchNorm-folded
view (`keras_reid.utils.batch_norm_folding.fold_batch_norm`) in a `tf.function`, and the folded
view's `predict_on_batch` (what `FeatureExtractor` runs). One call of each per round, `--runs`
rounds after two warm-up calls each, so a shared machine's drift hits all three alike; images/s
= batch / median. Writes benchmarks/results/batch_norm_folding_speed.md.
"""

import argparse
import os
import pathlib
import time

import numpy as np

from common import cpu_model

ROOT = pathlib.Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", default="mobilenetv2,hacnn,resnet50_stra")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "batch_norm_folding_speed.md"))
    args = parser.parse_args()
    import keras
    import tensorflow as tf

    from keras_reid.models import build
    from keras_reid.utils.batch_norm_folding import fold_batch_norm

    tf.config.threading.set_intra_op_parallelism_threads(2)
    rows = []
    load_before = os.getloadavg()
    for arch in args.archs.split(","):
        model = build(arch)
        network = keras.Model(model.network.input, model.network.output["embedding"])
        folded = fold_batch_norm(network)
        x = np.random.default_rng(0).random((args.batch, *network.input_shape[1:3], 3), dtype=np.float32)
        xt = tf.constant(x)
        plain_fn = tf.function(lambda t: network(t, training=False))
        folded_fn = tf.function(lambda t: folded(t, training=False))
        variants = {
            "plain network, tf.function": lambda: plain_fn(xt).numpy(),
            "folded view, tf.function": lambda: folded_fn(xt).numpy(),
            "folded view, predict_on_batch (FeatureExtractor)": lambda: np.asarray(folded.predict_on_batch(x)),
        }
        outputs = {name: call() for name, call in variants.items()}
        for call in variants.values():
            call()
        reference = outputs["plain network, tf.function"]
        # Relative to the embedding's scale: random-weight networks reach very different magnitudes.
        diff = max(float(np.abs(out - reference).max()) for out in outputs.values()) / float(np.abs(reference).max())
        times = {name: [] for name in variants}
        for _ in range(args.runs):
            for name, call in variants.items():
                start = time.perf_counter()
                call()
                times[name].append(time.perf_counter() - start)
        plain = args.batch / np.median(times["plain network, tf.function"])
        for name, spent in times.items():
            rate = args.batch / np.median(spent)
            rows.append(f"| {arch} | {name} | {rate:.1f} | {min(spent):.3f}-{max(spent):.3f} | {rate / plain:.2f}x | {diff:.1e} |")
    load_after = os.getloadavg()
    cmd = f"KERAS_BACKEND=tensorflow python benchmarks/batch_norm_folding_speed.py --archs {args.archs} --batch {args.batch} --runs {args.runs}"
    text = "\n".join([
        "# BatchNorm folding: folded vs plain inference (measured)",
        "",
        f"Command: `{cmd}`",
        "",
        f"Machine: {cpu_model()}, {os.cpu_count()} logical CPUs; Keras {keras.__version__}, TensorFlow {tf.__version__}; "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after.",
        f"Batch {args.batch}, random weights, each architecture's default input size; variants timed in turns "
        f"({args.runs} rounds); images/s = batch / median.",
        "",
        "| architecture | variant | images/s | min-max s | vs plain | max abs diff vs plain / max abs plain |",
        "|---|---|---:|---|---:|---:|",
        *rows,
        "",
    ])
    print(text)
    pathlib.Path(args.output).write_text(text)


if __name__ == "__main__":
    main()
