"""Where TensorFlow spends an inference batch: self time per op type and per graph node.

Usage:
    KERAS_BACKEND=tensorflow python benchmarks/tf_op_profile.py [--archs hacnn,mobilenetv2,resnet50_stra]
        [--batch 32] [--runs 3] [--top 12] [--out benchmarks/results/tf_op_profile.md]

Profiles the network the library's default inference path runs (`FeatureExtractor`'s
BatchNorm-folded network; random weights and nonzero BatchNorm statistics, as a trained
model has: op costs do not depend on the values, but grappler removes additions of an
all-zero bias, which would change the graph) at the
input sizes of `pytorch_speed.py`. The network is traced once as a `tf.function`, its
variables frozen into constants, and the graph run in a TensorFlow session with full
tracing (`RunOptions.FULL_TRACE`); each node's self time (`all_end_rel_micros`) is
summed per op type and per node over `--runs` traced calls and averaged. With two
intra-op threads and independent branches (HA-CNN's inception streams) running side by
side, the summed op time is larger than the batch's wall time; the shares say where
the CPU time goes, not what the wall time would be without an op. Freezing lets grappler
fold the BatchNorm-folded weights into constants, so this graph does slightly less work
per call than `predict_on_batch`, which recomputes them from the variables (a few small
elementwise ops per layer).
"""

import argparse
import collections
import os
import platform
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common import cpu_model, git_commit  # noqa: E402

SIZES = {"mobilenetv2": (256, 128), "hacnn": (160, 64), "resnet50_stra": (256, 128)}


def _op_type(node_stats):
    # timeline_label reads "name = OpType(inputs)"; nodes without one are named by node.
    label = node_stats.timeline_label
    if " = " in label:
        return label.split(" = ", 1)[1].split("(", 1)[0].strip()
    return node_stats.node_name


def profile(arch, batch, runs):
    import keras
    import numpy as np
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    import keras_reid
    from keras_reid.feature_extractor import FeatureExtractor

    height, width = SIZES[arch]
    keras.utils.set_random_seed(0)
    model = keras_reid.build(arch, num_classes=751, image_shape=(height, width, 3))
    # Fresh BatchNorms shift by exactly zero, and grappler would then drop the folded bias
    # additions from the frozen graph (and with them the conv + bias + activation fusions a
    # trained model gets): give every BatchNorm trained-like, nonzero statistics.
    rng = np.random.default_rng(0)
    for layer in model._flatten_layers():
        if isinstance(layer, keras.layers.BatchNormalization):
            for variable, low, high in ((layer.moving_mean, -0.5, 0.5), (layer.moving_variance, 0.5, 1.5),
                                        (layer.gamma, 0.5, 1.5), (layer.beta, -0.5, 0.5)):
                if variable is not None:
                    variable.assign(rng.uniform(low, high, variable.shape).astype("float32"))
    network = FeatureExtractor(model, batch_size=batch, verbose=False)._network
    x = np.random.default_rng(0).normal(size=(batch, height, width, 3)).astype("float32")

    # The default path's wall time, for scale.
    for _ in range(2):
        network.predict_on_batch(x)
    start = time.perf_counter()
    for _ in range(runs):
        network.predict_on_batch(x)
    predict_s = (time.perf_counter() - start) / runs

    fn = tf.function(lambda t: network(t, training=False))
    frozen = convert_variables_to_constants_v2(fn.get_concrete_function(tf.TensorSpec(x.shape, tf.float32)))
    graph = tf.Graph()
    with graph.as_default():
        tf.import_graph_def(frozen.graph.as_graph_def(), name="")
    config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=2, inter_op_parallelism_threads=2)
    session = tf.compat.v1.Session(graph=graph, config=config)
    feed = {frozen.inputs[0].name: x}
    output = frozen.outputs[0].name
    for _ in range(2):
        session.run(output, feed)
    start = time.perf_counter()
    for _ in range(runs):
        session.run(output, feed)
    session_s = (time.perf_counter() - start) / runs

    by_type, by_node = collections.Counter(), collections.Counter()
    options = tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE)
    for _ in range(runs):
        metadata = tf.compat.v1.RunMetadata()
        session.run(output, feed, options=options, run_metadata=metadata)
        for device in metadata.step_stats.dev_stats:
            for node in device.node_stats:
                micros = node.all_end_rel_micros
                by_type[_op_type(node)] += micros
                by_node[node.node_name] += micros
    session.close()
    scale = 1e-3 / runs  # micros summed over runs -> ms per batch
    return {
        "arch": arch,
        "size": (height, width),
        "predict_ms": 1e3 * predict_s,
        "session_ms": 1e3 * session_s,
        "total_ms": sum(by_type.values()) * scale,
        "by_type": [(k, v * scale) for k, v in by_type.most_common()],
        "by_node": [(k, v * scale) for k, v in by_node.most_common()],
    }


def report(results, args, seconds):
    import keras
    import tensorflow as tf

    lines = [
        "# TensorFlow inference op profile (the default extraction network)",
        "",
        f"Command: `KERAS_BACKEND=tensorflow python benchmarks/tf_op_profile.py --archs {args.archs} "
        f"--batch {args.batch} --runs {args.runs} --top {args.top}` (commit {git_commit()}, {seconds:.0f} s in all)",
        "",
        f"Machine: {os.cpu_count()} CPUs, {cpu_model()}, Python {platform.python_version()}; keras "
        f"{keras.__version__}, tensorflow {tf.__version__}; load average before the run "
        f"{args.load_before[0]:.2f}. {args.conditions}".rstrip(),
        "",
        "Self time per op type and per node, summed over the nodes of one traced batch (mean of the "
        "traced calls), in a session of the frozen graph (see the script's docstring). With two "
        "threads and parallel branches the summed op time exceeds the batch's wall time.",
    ]
    for r in results:
        h, w = r["size"]
        lines += [
            "",
            f"## {r['arch']} {h}x{w}, batch {args.batch}",
            "",
            f"Wall time per batch: `predict_on_batch` {r['predict_ms']:.0f} ms, frozen-graph session "
            f"{r['session_ms']:.0f} ms; summed op self time {r['total_ms']:.0f} ms.",
            "",
            "| op type | ms per batch | share |",
            "| --- | ---: | ---: |",
        ]
        for name, ms in r["by_type"][: args.top]:
            lines.append(f"| `{name}` | {ms:.1f} | {100 * ms / r['total_ms']:.1f}% |")
        lines += ["", "| node | ms per batch |", "| --- | ---: |"]
        for name, ms in r["by_node"][: args.top]:
            lines.append(f"| `{name}` | {ms:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--archs", default="hacnn,mobilenetv2,resnet50_stra")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--top", type=int, default=12, help="rows per table")
    p.add_argument("--conditions", default="", help="free text on the machine's load, for the header")
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                                 "tf_op_profile.md"))
    args = p.parse_args(argv)
    unknown = [a for a in args.archs.split(",") if a not in SIZES]
    if unknown:
        p.error(f"unknown architecture(s) {unknown}; choose from {sorted(SIZES)}")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(2)
    args.load_before = os.getloadavg()
    start = time.perf_counter()
    results = [profile(arch, args.batch, args.runs) for arch in args.archs.split(",")]
    text = report(results, args, time.perf_counter() - start)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
