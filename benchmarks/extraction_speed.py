"""End-to-end extraction speed: `FeatureExtractor` on image files vs the same model on ready tensors.

    KERAS_BACKEND=tensorflow python benchmarks/extraction_speed.py [--presets mobilenetv2_multisource,mobilenetv2_imagenet] [--count 512]

Both sides run the same network, the one `FeatureExtractor` runs by default (the preset's
network with its BatchNorms folded, `keras_reid.utils.batch_norm_folding`), through the same
compiled `predict_on_batch`, batch 32:

- model only: the crops already decoded, resized and normalised (float32), in memory;
- end to end: `FeatureExtractor(model)(paths)` from the JPEG files (decode, EXIF, resize in
  worker threads overlapped with the model, L2 normalisation), the path `keras-reid embed` takes.

Best of `--runs` timed passes after one warm-up pass each, the two sides timed in turns. Real
crops: the first `--count` images of CUHK03 labeled (partial) train in `../shared/datasets`
(research use; read, never copied). Writes benchmarks/results/extraction_speed.md.
"""

import argparse
import os
import pathlib
import sys

import numpy as np

from common import cpu_model, git_commit, timeit, timeit_in_turns

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets" / "cuhk03_labeled_partial" / "train"


def measure(preset, paths, decoded, args):
    """One preset: model-only and end-to-end images/s, and where a crop's CPU time goes."""
    import keras

    import keras_reid
    from keras_reid.feature_extractor import FeatureExtractor, read_image

    model = keras_reid.load(preset)
    extractor = FeatureExtractor(model, batch_size=args.batch, verbose=False)
    ready = np.stack([extractor._fit(image) for image in decoded])  # resized, float32 0-255
    normalised = extractor._preprocess(list(ready))

    def model_only():
        for i in range(0, len(normalised), args.batch):
            batch = normalised[i : i + args.batch]
            if len(batch) < args.batch:  # the extractor pads its last batch the same way
                batch = np.concatenate([batch, np.zeros((args.batch - len(batch),) + batch.shape[1:], batch.dtype)])
            keras.ops.convert_to_numpy(extractor._network.predict_on_batch(batch))

    def end_to_end():
        extractor(paths)

    # In turns, one warm-up each (compilation, file cache), so drift hits both sides alike.
    t_model, t_e2e = (min(t) for t in timeit_in_turns([model_only, end_to_end], 1, args.runs))
    # Where a crop's CPU time goes outside the model, each part on one thread (best of 3).
    t_decode = min(timeit(lambda: [read_image(p) for p in paths], 0, 3)) / len(paths)
    t_resize = min(timeit(lambda: [extractor._fit(image) for image in decoded], 0, 3)) / len(paths)
    # Same embeddings both ways (the extractor is not a different computation).
    want = keras.ops.convert_to_numpy(model.predict(ready[:64], verbose=0))
    diff = float(np.abs(extractor(paths[:64]) - want).max())
    n = len(paths)
    # If the model kept every core busy and decoding only added its own CPU time, the best
    # end-to-end rate would be cores / (model core-seconds + decode seconds) per image.
    model_core_s = (os.cpu_count() or 1) * t_model / n
    return {
        "preset": preset,
        "input": "×".join(str(s) for s in model.image_shape[:2]),
        "model": n / t_model,
        "e2e": n / t_e2e,
        "ratio": t_model / t_e2e,
        "workers": extractor.num_workers,
        "decode_ms": 1e3 * t_decode,
        "resize_ms": 1e3 * t_resize,
        "model_core_ms": 1e3 * model_core_s,
        "ceiling": model_core_s / (model_core_s + t_decode + t_resize),
        "ceiling_decode": model_core_s / (model_core_s + t_decode),
        "diff": diff,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="mobilenetv2_multisource,mobilenetv2_imagenet")
    parser.add_argument("--count", type=int, default=512)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--conditions", default="", help="how the machine was kept during the run (for the record)")
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "extraction_speed.md"))
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        sys.exit(f"{DATA} is absent: this benchmark needs the project's shared datasets.")
    import keras

    from keras_reid.feature_extractor import read_image

    paths = sorted(str(p) for p in DATA.glob("*.jpg"))[: args.count]
    decoded = [read_image(p) for p in paths]  # decoded once: every preset and the decoder check use them
    sizes = np.array([image.shape[:2] for image in decoded])
    load_before = os.getloadavg()
    # TensorFlow's JPEG decoder as an alternative to Pillow, from the file as Pillow reads it:
    # its cost, and whether it gives Pillow's pixels with its default and its accurate IDCT.
    import tensorflow as tf

    tf_decoders = {}
    for dct in ("", "INTEGER_ACCURATE"):
        def decode(path, dct=dct):
            return tf.io.decode_jpeg(tf.io.read_file(path), channels=3, dct_method=dct).numpy()

        seconds = min(timeit(lambda: [decode(p) for p in paths], 0, 3)) / len(paths)
        diffs = [int(np.abs(decode(p).astype(int) - image).max()) for p, image in zip(paths, decoded)]
        tf_decoders[dct or "default"] = (seconds, sum(d > 0 for d in diffs), max(diffs))
    results = [measure(preset, paths, decoded, args) for preset in args.presets.split(",")]
    load_after = os.getloadavg()
    cores = os.cpu_count() or 1
    cmd = (
        f"KERAS_BACKEND={keras.backend.backend()} python benchmarks/extraction_speed.py --presets {args.presets} "
        f"--count {args.count} --batch {args.batch} --runs {args.runs}"
    )
    lines = [
        "# End-to-end extraction vs model-only throughput",
        "",
        f"Command: `{cmd}` (commit {git_commit()})",
        "",
        f"Machine: {cpu_model()}, {cores} logical CPUs; Keras {keras.__version__}, backend "
        f"{keras.backend.backend()}; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after. "
        f"{args.conditions}".rstrip(),
        f"{len(paths)} real CUHK03 crops (JPEG, heights {sizes[:, 0].min()}–{sizes[:, 0].max()} px, widths "
        f"{sizes[:, 1].min()}–{sizes[:, 1].max()} px), batch {args.batch}, best of {args.runs} passes after a warm-up, the two sides timed in turns. Model only: the "
        "crops already decoded, resized and normalised, through the network `FeatureExtractor` runs (BatchNorm "
        "folded, `predict_on_batch`). End to end: `FeatureExtractor(model)(paths)`, what `keras-reid embed` runs.",
        "",
        "| preset | input | model only img/s | end to end img/s | **end to end / model only** | decode threads | "
        "max abs diff of the embeddings (first 64 crops) |",
        "|---|---|---:|---:|---:|---:|---:|",
        *[
            f"| {r['preset']} | {r['input']} | {r['model']:.1f} | {r['e2e']:.1f} | **{100 * r['ratio']:.1f}%** | "
            f"{r['workers']} | {r['diff']:.1e} |"
            for r in results
        ],
        "",
        "Target: ≥ 90%. Where the time goes (one thread, per crop):",
        "",
        "| preset | Pillow decode + EXIF ms | resize ms | model core-ms | ceiling with decode + resize | "
        "ceiling with decode alone |",
        "|---|---:|---:|---:|---:|---:|",
        *[
            f"| {r['preset']} | {r['decode_ms']:.2f} | {r['resize_ms']:.2f} | {r['model_core_ms']:.2f} | "
            f"{100 * r['ceiling']:.0f}% | {100 * r['ceiling_decode']:.0f}% |"
            for r in results
        ],
        "",
        f"The ceilings are estimates that assume the model keeps all {cores} cores busy: decoding then needs "
        "CPU time the model already uses, and even perfect overlap gives end to end at most model core-ms / "
        "(model core-ms + decode ms + resize ms) of model-only. The decode is Pillow's, the one training reads "
        "with. TensorFlow's `tf.io.decode_jpeg` (from the file, per crop): "
        + "; ".join(f"`dct_method` {name}: {1e3 * sec:.2f} ms, pixels different from Pillow's for {n} of "
                    f"{len(paths)} crops (max {mx} levels)" for name, (sec, n, mx) in tf_decoders.items()) + ".",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    pathlib.Path(args.output).write_text(text)


if __name__ == "__main__":
    main()
