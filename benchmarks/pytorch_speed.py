"""Embedding-extraction speed: keras_reid (TensorFlow, JAX) vs its PyTorch reference modules.

Run from the repository root (one command; every framework runs in its own subprocess):

    python benchmarks/pytorch_speed.py [--archs resnet50_stra,hacnn,mobilenetv2,resnet50,pcb,sa_pcb]
        [--batch 32] [--runs 5] [--warmup 2] [--profile resnet50_stra,hacnn]
        [--out benchmarks/results/pytorch_speed.md]

For each architecture with a PyTorch reference (tests/conversion/torch_reference*.py,
tests/models/hacnn/torch_reference.py):

1. a torch subprocess builds the reference module, gives it random weights at trained-network
   scales (`randomize`: calibrated BatchNorm statistics), saves it as an upstream-style
   checkpoint, writes the input batch (structured random images, float32) and the reference
   embedding, and times eager inference (`eval()`, `torch.no_grad()`, `torch.set_num_threads(2)`);
2. a second torch subprocess times `torch.compile` (default inductor backend; errors reported);
3. a TensorFlow subprocess (`KERAS_BACKEND=tensorflow` before `import keras`) converts the checkpoint
   with `conversion.convert_checkpoint` (the default layout of the architecture), asserts the
   embedding matches PyTorch to max abs diff <= 1e-4, and times `tf.function(jit_compile=True)` and
   `tf.function(jit_compile=False)` around `model(x, training=False)`;
4. a JAX subprocess does the same with a `jax.jit`-ed `model.stateless_call`.

Timing: `--warmup` untimed calls (compilation happens there), then the median of `--runs` timed
calls, each ending when the output is on the host (`.numpy()` / `block_until_ready`). Within a
worker the variants are timed in turns (one call of each per round), so the drift of a shared
machine's speed hits them alike; workers (torch eager, torch.compile, each Keras backend) run
one after another. `--repeats N` runs that whole sequence N times and keeps, for every variant,
its fastest repeat (lowest median): on a virtual machine whose neighbours steal CPU in bursts,
each variant, PyTorch's and ours alike, gets N chances at a quiet window.
`--profile` times prefixes of the network (input -> end of stage k) with the same method in every
framework, so differences between consecutive prefixes give the time per stage.
Everything written is measured; nothing is extrapolated.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

from common import cpu_model, git_commit, timeit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOL = 1e-4
DEFAULT_PATH = "FeatureExtractor network (BatchNorm folded), predict_on_batch"
ARCHS = {
    # arch: (H, W)
    "resnet50_stra": (256, 128),
    "hacnn": (160, 64),
    "mobilenetv2": (256, 128),
    "resnet50": (256, 128),
    "pcb": (384, 128),
    "sa_pcb": (384, 128),
}
# Prefix end points for --profile: (label, keras layer name, torch prefix name).
PREFIXES = {
    "resnet50_stra": [
        ("stem + layer1", "layer1_2_out", "layer1"),
        ("+ layer2", "layer2_3_out", "layer2"),
        ("+ layer3", "layer3_5_out", "layer3"),
        ("+ layer4 (StRA: 3 LocalAttn+MoE bottlenecks)", "layer4_2", "layer4"),
    ],
    "resnet50": [
        ("stem + layer1", "layer1_2_out", "layer1"),
        ("+ layer2", "layer2_3_out", "layer2"),
        ("+ layer3", "layer3_5_out", "layer3"),
        ("+ layer4", "layer4_2_out", "layer4"),
    ],
    "hacnn": [
        ("global trunk (conv, 3x inception + harmonious attention)", "ha3_apply", "trunk"),
        ("+ global head (GAP, fc_global)", "fc_global_relu", "global"),
    ],
}


def emit(record):
    print("RESULT " + json.dumps(record), flush=True)


class RoundRobin:
    """Times a worker's variants in turns (one call of each per round), then emits them.

    A shared 2-core machine's speed drifts by tens of percent within minutes; timed in
    turns, every variant of a worker sees the same drift, so their ratios hold.
    """

    def __init__(self, warmup):
        self.warmup = warmup
        self.entries = []

    def add(self, record, call, runs):
        self.entries.append((record, call, runs))

    def run(self):
        for _, call, _ in self.entries:
            for _ in range(max(self.warmup - 1, 0)):
                call()
        times = [[] for _ in self.entries]
        for round_index in range(max((runs for _, _, runs in self.entries), default=0)):
            for (_, call, runs), spent in zip(self.entries, times):
                if round_index < runs:
                    start = time.perf_counter()
                    call()
                    spent.append(time.perf_counter() - start)
        for (record, _, _), spent in zip(self.entries, times):
            emit(dict(record, times=spent))


# ---------------------------------------------------------------------------------------------
# torch side
# ---------------------------------------------------------------------------------------------
def _torch_reference(arch, hw, seed=0):
    from tests.conversion import torch_reference as T
    from tests.conversion import torch_reference_pcb as P

    calib = (8, 3) + tuple(hw)
    if arch == "resnet50_stra":
        return T.randomize(T.StRAResNet50(num_classes=751), seed=seed, batch_shape=calib), dict(wrap=True, prefix="module.")
    if arch == "resnet50":
        return T.randomize(T.ResNet50ReIDBaseline(num_classes=751), seed=seed, batch_shape=calib), dict(wrap=True)
    if arch == "mobilenetv2":
        ref = T.MobileNetV2(1.0, 16, reid_head_dim=512, num_classes=751)
        return T.randomize(ref, seed=seed, batch_shape=calib), {}
    if arch == "pcb":
        ref = P.TorchreidPCB(num_classes=751)
        return T.randomize(ref, seed=seed, batch_shape=calib, forward=lambda m, x: m.logits(x)), dict(wrap=True)
    if arch == "sa_pcb":
        ref = P.SAPCB(num_classes=751)
        return T.randomize(ref, seed=seed, batch_shape=calib, forward=lambda m, x: m.logits(x)), dict(wrap=True)
    if arch == "hacnn":
        from tests.models.hacnn.torch_reference import build_reference, calibration_forward

        ref = build_reference(751)
        return T.randomize(ref, seed=seed, batch_shape=calib, forward=calibration_forward(seed)), dict(
            wrap=True, prefix="module."
        )
    raise ValueError(arch)


def _torch_prefix_fn(arch, ref, name):
    """A forward function of the reference that stops after stage `name` (see PREFIXES)."""
    import torch.nn.functional as F

    if arch in ("resnet50_stra", "resnet50"):
        stages = ["layer1", "layer2", "layer3", "layer4"][: ["layer1", "layer2", "layer3", "layer4"].index(name) + 1]

        def fn(x):
            x = ref.maxpool(ref.relu(ref.bn1(ref.conv1(x))))
            for s in stages:
                if s == "layer4" and arch == "resnet50_stra":
                    for block in ref.layer4:
                        x, _ = block(x)
                else:
                    x = getattr(ref, s)(x)
            return x

        return fn
    if arch == "hacnn":

        def fn(x):
            x = ref.conv(x)
            for inception, ha in ((ref.inception1, ref.ha1), (ref.inception2, ref.ha2), (ref.inception3, ref.ha3)):
                y = inception(x)
                attn, _ = ha(y)
                x = y * attn
            if name == "trunk":
                return x
            return ref.fc_global(F.avg_pool2d(x, x.size()[2:]).view(x.size(0), x.size(1)))

        return fn
    raise ValueError(arch)


def worker_torch(args):
    import numpy as np
    import torch

    torch.set_num_threads(2)
    from tests.conversion import torch_reference as T

    hw = ARCHS[args.arch]
    ckpt = os.path.join(args.workdir, f"{args.arch}.pth")
    torch.manual_seed(0)
    ref, save_kw = _torch_reference(args.arch, hw)
    if args.mode == "prepare":
        T.save_checkpoint(ref, ckpt, **save_kw)
        x = T.numpy_images((args.batch,) + tuple(hw) + (3,), seed=1)
        np.save(os.path.join(args.workdir, f"{args.arch}_x.npy"), x)
        np.save(os.path.join(args.workdir, f"{args.arch}_want.npy"), T.run(ref, x))
    # Same weights as the saved checkpoint (randomize is seeded; reload to be exact).
    state = torch.load(ckpt, weights_only=True)
    state = state.get("state_dict", state)
    ref.load_state_dict({k[len(save_kw.get("prefix", "")):]: v for k, v in state.items()})
    ref.eval()
    x_np = np.load(os.path.join(args.workdir, f"{args.arch}_x.npy"))
    x = torch.from_numpy(x_np.transpose(0, 3, 1, 2).copy())
    want = np.load(os.path.join(args.workdir, f"{args.arch}_want.npy"))
    base = dict(framework="torch", arch=args.arch, threads=torch.get_num_threads())

    timer = RoundRobin(args.warmup)

    def bench(fn, variant, check=True, inp=None, threads=None):
        inp = x if inp is None else inp

        def call():
            if threads:
                torch.set_num_threads(threads)
            try:
                with torch.no_grad():
                    return fn(inp).contiguous().numpy()
            finally:
                if threads:
                    torch.set_num_threads(2)

        try:
            t_first = time.perf_counter()
            out = call()
            first = time.perf_counter() - t_first
            diff = float(np.abs(out - want).max()) if check else None
            timer.add(dict(base, variant=variant, first_call_s=first, max_abs_diff=diff), call,
                      args.runs if check else args.profile_runs)
        except Exception as e:  # noqa: BLE001 - reported in the results
            emit(dict(base, variant=variant, error=f"{type(e).__name__}: {str(e).strip().splitlines()[0][:300]}"))

    if args.mode == "prepare":  # eager
        import copy

        ref_cl = copy.deepcopy(ref).to(memory_format=torch.channels_last)
        x_cl = x.contiguous(memory_format=torch.channels_last)
        try:
            emit(dict(base, kind="compute", **_compute_reference(ref, x), dense_share_eager=_dense_share(ref, x),
                      dense_share_channels_last=_dense_share(ref_cl, x_cl)))
        except Exception as e:  # noqa: BLE001 - the timings still run; the report says what failed
            emit(dict(base, variant="FLOP count and profile", error=f"{type(e).__name__}: {str(e).strip()[:300]}"))
        bench(lambda t: _first(ref(t)), "eager")
        if args.torch_extra:  # PyTorch's other eager settings: candidates for its best variant
            bench(lambda t: _first(ref_cl(t)), "eager, channels_last", inp=x_cl)
            bench(lambda t: _first(ref(t)), "eager, 1 thread", threads=1)
        if args.profile:
            for label, _, name in PREFIXES[args.arch]:
                bench(_torch_prefix_fn(args.arch, ref, name), f"eager prefix: {label}", check=False)
    elif args.mode == "compile":
        compiled = torch.compile(ref)
        bench(lambda t: _first(compiled(t)), "torch.compile")
    timer.run()


def _compute_reference(ref, x):
    """FLOPs of one image through the reference, and the machine's dense float32 matmul rate.

    The FLOPs are what `torch.utils.flop_counter` counts (convolutions and matrix products,
    a multiply-add being 2); the matmul rate (2048² float32, 2 threads, best of 5) is what
    the BLAS the frameworks link sustains on this machine, a reference for the hardware.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        ref(x[:1])
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    torch.mm(a, b)
    best = min(timeit(lambda: torch.mm(a, b), 0, 5))
    return dict(flops_per_image=float(counter.get_total_flops()), matmul_gflops=2 * 2048**3 / best / 1e9)


def _is_dense_op(name):
    """Whether a profiler op name is a convolution or matrix-product op (wrappers included:
    their self time is dispatch only)."""
    return "conv" in name or name in ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::matmul",
                                      "aten::linear", "aten::_addmm_activation", "aten::einsum")


def _dense_share(module, x):
    """Share of an eager forward's CPU time in convolution and matrix-product ops.

    From `torch.profiler` (self CPU time per op, one call after a warm-up): how much of
    PyTorch's time is the dense kernels and how much is the rest (BatchNorm, activations,
    attention, pooling, layout reorders, dispatch), the part where BatchNorm folding and a
    fused graph save time. Descriptive only: the kernels' own time differs between
    frameworks (layouts, fusions), so it bounds nothing.
    """
    import torch
    from torch.profiler import ProfilerActivity, profile

    with torch.no_grad():
        module(x)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            module(x)
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    return sum(e.self_cpu_time_total for e in events if _is_dense_op(e.key)) / total


def _first(out):
    return out[0] if isinstance(out, tuple) else out


# ---------------------------------------------------------------------------------------------
# keras side
# ---------------------------------------------------------------------------------------------
def worker_keras(args):
    import numpy as np

    backend = os.environ["KERAS_BACKEND"]
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(2)
    import keras

    from conversion import convert_checkpoint

    hw = ARCHS[args.arch]
    ckpt = os.path.join(args.workdir, f"{args.arch}.pth")
    model, report = convert_checkpoint(ckpt, args.arch, image_shape=tuple(hw) + (3,))
    assert not report.missing and not report.unexpected and not report.mismatched, report.summary()
    x = np.load(os.path.join(args.workdir, f"{args.arch}_x.npy"))
    want = np.load(os.path.join(args.workdir, f"{args.arch}_want.npy"))
    base = dict(framework=f"keras-{backend}", arch=args.arch, keras=keras.__version__)

    def prefix_model(layer_name):
        out = model.network.get_layer(layer_name).output
        if isinstance(out, (list, tuple)):
            out = out[0]
        return keras.Model(model.network.input, out)

    targets = [("full", model, True)]
    if args.profile:
        targets += [(f"prefix: {label}", prefix_model(lname), False) for label, lname, _ in PREFIXES[args.arch]]

    timer = RoundRobin(args.warmup)

    def bench(call, variant, check):
        try:
            t_first = time.perf_counter()
            out = call()
            first = time.perf_counter() - t_first
            diff = None
            if check:
                diff = float(np.abs(out - want).max())
                assert diff <= TOL, f"{args.arch} {variant}: max abs diff {diff:.3g} > {TOL}"
            runs = args.runs if check else args.profile_runs
            timer.add(dict(base, variant=variant, first_call_s=first, max_abs_diff=diff), call, runs)
        except AssertionError:
            raise
        except Exception as e:  # noqa: BLE001
            emit(dict(base, variant=variant, error=f"{type(e).__name__}: {str(e).strip().splitlines()[0][:300]}"))

    # The library's default inference path: the network FeatureExtractor (and so the CLI
    # and evaluate_model) runs, BatchNorms folded, called as the extractor calls it.
    from keras_reid.feature_extractor import FeatureExtractor

    default_net = FeatureExtractor(model, batch_size=args.batch, verbose=False)._network
    bench(lambda: np.asarray(keras.ops.convert_to_numpy(default_net.predict_on_batch(x))), DEFAULT_PATH, True)
    if backend == "tensorflow":
        xt = tf.constant(x)
        for tname, m, check in targets:
            for jit in ((True, False) if tname == "full" else (True,)):
                f = tf.function(lambda t, m=m: m(t, training=False), jit_compile=jit)
                variant = ("tf.function(jit_compile=True)" if jit else "tf.function (graph, no XLA)")
                if tname != "full":
                    variant += " " + tname
                bench(lambda f=f: np.asarray(f(xt)), variant, check)
    elif backend == "jax":
        import jax

        xj = jax.device_put(x)
        for tname, m, check in targets:
            tv = [v.value for v in m.trainable_variables]
            ntv = [v.value for v in m.non_trainable_variables]

            @jax.jit
            def f(tv, ntv, t, m=m):
                y, _ = m.stateless_call(tv, ntv, t, training=False)
                return y

            variant = "jax.jit(stateless_call)" + ("" if tname == "full" else " " + tname)
            bench(lambda f=f, tv=tv, ntv=ntv: np.asarray(jax.block_until_ready(f(tv, ntv, xj))), variant, check)
    timer.run()


# ---------------------------------------------------------------------------------------------
# driver
# ---------------------------------------------------------------------------------------------
def run_worker(kind, arch, workdir, args, mode=None, backend=None, repeat=0):
    """Runs one worker subprocess; returns its records (tagged with `repeat`), or one error record."""
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", kind, "--arch", arch, "--workdir", workdir,
           "--batch", str(args.batch), "--runs", str(args.runs), "--warmup", str(args.warmup),
           "--profile-runs", str(args.profile_runs)]
    if mode:
        cmd += ["--mode", mode]
    if arch in args.profile_archs and mode != "compile":
        cmd += ["--worker-profile"]
    if kind == "torch":
        cmd += ["--torch-extra" if args.torch_extra else "--no-torch-extra"]
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               TF_CPP_MIN_LOG_LEVEL="2")
    if backend:
        env["KERAS_BACKEND"] = backend
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    results = [json.loads(line[7:]) for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    label = f"{kind}{'/' + mode if mode else ''}{'/' + backend if backend else ''}"
    print(f"[{arch}] {label}: rc={proc.returncode} {wall:.0f}s, {len(results)} results", flush=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        print("\n".join(tail), flush=True)
        results.append(dict(framework=label, arch=arch, variant="(process)",
                            error=f"rc={proc.returncode}: {tail[-1] if tail else ''}"[:400]))
    return [dict(r, repeat=repeat) for r in results]



def versions():
    code = ("import importlib.metadata as m\n"
            "for p in ['keras','tensorflow-cpu','tensorflow','jax','jaxlib','torch','numpy']:\n"
            "  try: print(p, m.version(p))\n"
            "  except Exception: pass\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    return dict(line.split() for line in out.splitlines())


def ips(rec, batch):
    return batch / statistics.median(rec["times"])


def best_repeat(results):
    """One record per variant: its fastest repeat (lowest median).

    A compute record is kept from the repeat with the highest dense rate (the quietest
    window). A per-stage profile is kept whole from the repeat whose full-network prefix was
    fastest, so that the differences between stages never mix repeats.
    """
    best, prefix_runs = {}, {}
    for r in results:
        if "prefix" in r.get("variant", ""):
            base = r["variant"].split("prefix: ")[0]
            prefix_runs.setdefault((r["arch"], r["framework"], base), {}).setdefault(r.get("repeat", 0), []).append(r)
            continue
        key = (r["arch"], r["framework"], r.get("variant"), r.get("kind"))
        old = best.get(key)
        if old is None:
            best[key] = r
        elif r.get("kind") == "compute":
            if r["matmul_gflops"] > old["matmul_gflops"]:
                best[key] = r
        elif "times" in r and ("times" not in old or statistics.median(r["times"]) < statistics.median(old["times"])):
            best[key] = r
    kept = list(best.values())
    for runs in prefix_runs.values():
        kept += min(runs.values(), key=_slowest_prefix)
    return kept


def _slowest_prefix(records):
    """Median time of a repeat's longest prefix (infinite when one of its prefixes failed)."""
    timed = [statistics.median(r["times"]) for r in records if "times" in r]
    return max(timed) if len(timed) == len(records) else float("inf")


def render(args, results, load, argv, started, elapsed):
    vers = versions()
    results = best_repeat(results)
    compute = {r["arch"]: r for r in results if r.get("kind") == "compute"}
    results = [r for r in results if r.get("kind") != "compute"]
    lines = [
        "# Embedding extraction: keras_reid vs the PyTorch reference modules (CPU)",
        "",
        f"Command: `python benchmarks/{os.path.basename(__file__)} {' '.join(argv)}` (commit {git_commit()}, "
        f"started {started}, {elapsed:.0f} s in all)",
        "",
        f"Machine: {os.cpu_count()} CPUs (nproc), {cpu_model()}, Python {platform.python_version()}; "
        + ", ".join(f"{k} {v}" for k, v in vers.items()) + ".",
        "",
        f"Batch {args.batch}, float32, input sizes: " + ", ".join(f"{a} {ARCHS[a][0]}x{ARCHS[a][1]}" for a in args.arch_list)
        + f". {args.warmup} warm-up calls (compilation included), then the median of {args.runs} timed calls, "
        "the variants of each worker (process) timed in turns"
        + (f"; the whole sequence of workers run {args.repeats} times, each variant's fastest repeat kept"
           if args.repeats > 1 else "") + "; "
        "images/s = batch / median. torch: `torch.set_num_threads(2)`, `eval()`, `torch.no_grad()`. "
        "TensorFlow: intra-op threads 2. Same weights in every framework (the random reference "
        "checkpoint converted with `conversion.convert_checkpoint`); every Keras variant's embedding "
        f"was checked against PyTorch eager (max abs diff <= {TOL}, column 'max diff').",
        "",
        "Load average (1/5/15 min, `os.getloadavg`) per architecture, before -> after: "
        + "; ".join(f"{a}: " + ", ".join(f"{b[0]:.2f}/{b[1]:.2f}/{b[2]:.2f} -> {e[0]:.2f}/{e[1]:.2f}/{e[2]:.2f}"
                                       for b, e in spans) for a, spans in load.items())
        + ". " + (args.conditions or "Other processes on the machine were not controlled; every framework was "
                  "measured under the same conditions, one after the other."),
        "",
        "## Throughput (full model, embedding output)",
        "",
        "| architecture | framework / variant | images/s | median s/batch | min-max s | first call s | max diff vs torch | ratio vs torch eager |",
        "| --- | --- | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for arch in args.arch_list:
        recs = [r for r in results if r["arch"] == arch and "prefix" not in r.get("variant", "")]
        eager = next((r for r in recs if r.get("variant") == "eager" and "times" in r), None)
        for r in recs:
            name = f"{r['framework']}: {r['variant']}"
            if "times" not in r:
                lines.append(f"| {arch} | {name} | failed | | | | | `{r['error']}` |")
                continue
            diff = "" if r.get("max_abs_diff") is None else f"{r['max_abs_diff']:.2g}"
            ratio = f"{ips(r, args.batch) / ips(eager, args.batch):.2f}x" if eager else ""
            lines.append(f"| {arch} | {name} | {ips(r, args.batch):.1f} | {statistics.median(r['times']):.3f} | "
                         f"{min(r['times']):.3f}-{max(r['times']):.3f} | {r['first_call_s']:.1f} | {diff} | {ratio} |")
    lines += ["", "## Headline: best keras_reid variant / best PyTorch variant", "",
              "Against the fastest PyTorch variant measured for the architecture (eager at either thread count, "
              "channels_last, `torch.compile` where it compiled), not against 2-thread eager only.", "",
              f"The last column is the library's default path (`{DEFAULT_PATH}`: what `FeatureExtractor`, "
              "`keras-reid embed` and `evaluate_model` run) against the same best PyTorch variant.", "",
              "| architecture | best PyTorch variant | img/s | best keras_reid variant | img/s | ratio | ratio vs torch eager "
              "| default path img/s | default path ratio |",
              "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    for arch in args.arch_list:
        recs = [r for r in results if r["arch"] == arch and "times" in r and "prefix" not in r["variant"]]
        eager = next((r for r in recs if r["framework"] == "torch" and r["variant"] == "eager"), None)
        torch_recs = [r for r in recs if r["framework"].startswith("torch")]
        keras_recs = [r for r in recs if r["framework"].startswith("keras")]
        if torch_recs and keras_recs:
            best_torch = max(torch_recs, key=lambda r: ips(r, args.batch))
            best = max(keras_recs, key=lambda r: ips(r, args.batch))
            vs_eager = f"{ips(best, args.batch) / ips(eager, args.batch):.2f}x" if eager else ""
            default = [r for r in keras_recs if r["variant"] == DEFAULT_PATH]
            default_cols = " | ".join(
                [f"{ips(default[0], args.batch):.1f}", f"**{ips(default[0], args.batch) / ips(best_torch, args.batch):.2f}x**"]
                if default else ["—", "—"]
            )
            lines.append(f"| {arch} | {best_torch['framework']}: {best_torch['variant']} | {ips(best_torch, args.batch):.1f} | "
                         f"{best['framework']}: {best['variant']} | {ips(best, args.batch):.1f} | "
                         f"**{ips(best, args.batch) / ips(best_torch, args.batch):.2f}x** | {vs_eager} | {default_cols} |")
    if compute:
        lines += ["", "## Compute rate and where PyTorch's time goes", "",
                  "FLOPs per image of the reference network as `torch.utils.flop_counter` counts them (convolutions "
                  "and matrix products, a multiply-add = 2 FLOPs; elementwise work not counted) times images/s, "
                  "against the dense float32 matmul rate measured in the same worker (`torch.mm`, 2048², 2 threads, "
                  "best of 5): the rate the machine's BLAS reaches on one large matrix product.",
                  "", "The share columns profile PyTorch eager (`torch.profiler`, self CPU time of one call): the part "
                  "of its time in convolution and matrix-product ops. The rest (BatchNorm, activations, attention, "
                  "pooling, layout reorders, dispatch) is where BatchNorm folding and a fused graph save time; the "
                  "kernels' own time differs between frameworks too, so the share is descriptive, not a bound.",
                  "", "| architecture | GFLOPs/img | dense matmul GFLOP/s | best PyTorch GFLOP/s (% of dense) | "
                  "default path GFLOP/s (% of dense) | PyTorch time in conv/matmul ops, eager / channels_last | "
                  "default path ratio |",
                  "| --- | ---: | ---: | ---: | ---: | --- | ---: |"]
        for arch in args.arch_list:
            c = compute.get(arch)
            recs = [r for r in results if r["arch"] == arch and "times" in r and "prefix" not in r["variant"]]
            torch_recs = [r for r in recs if r["framework"].startswith("torch")]
            default = [r for r in recs if r["framework"].startswith("keras") and r["variant"] == DEFAULT_PATH]
            if not (c and torch_recs and default):
                continue
            gflops = c["flops_per_image"] / 1e9
            dense = c["matmul_gflops"]
            best_torch = max(ips(r, args.batch) for r in torch_recs)
            ours = ips(default[0], args.batch)
            lines.append(f"| {arch} | {gflops:.2f} | {dense:.0f} | {gflops * best_torch:.0f} "
                         f"({100 * gflops * best_torch / dense:.0f}%) | {gflops * ours:.0f} ({100 * gflops * ours / dense:.0f}%) "
                         f"| {100 * c['dense_share_eager']:.0f}% / {100 * c['dense_share_channels_last']:.0f}% "
                         f"| {ours / best_torch:.2f}x |")
    prof = [r for r in results if "prefix" in r.get("variant", "")]
    if prof:
        lines += ["", "## Per-stage profile (prefix timing)", "",
                  "Each row times the network from the input up to the end of the named stage (same batch, "
                  "same method in every framework); the stage's own time is the difference to the row above.",
                  "", "| architecture | prefix | framework / variant | median s/batch | stage s (difference) |",
                  "| --- | --- | --- | ---: | ---: |"]
        for arch in args.arch_list:
            variants = {}
            for r in prof:
                if r["arch"] != arch:
                    continue
                v = r["variant"]
                key = (r["framework"], v.split(" prefix: ")[0].replace("prefix: ", "").strip())
                variants.setdefault(key, []).append(r)
            for (fw, var), recs in variants.items():
                prev = 0.0
                for r in recs:
                    label = r["variant"].split("prefix: ", 1)[1]
                    if "times" not in r:
                        lines.append(f"| {arch} | {label} | {fw}: {var} | failed | `{r['error']}` |")
                        continue
                    med = statistics.median(r["times"])
                    lines.append(f"| {arch} | {label} | {fw}: {var} | {med:.3f} | {med - prev:.3f} |")
                    prev = med
    return "\n".join(lines) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--archs", default="resnet50_stra,hacnn,mobilenetv2,resnet50")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--profile", default="", help="comma-separated architectures to time per stage")
    p.add_argument("--profile-runs", type=int, default=3, help="timed calls per prefix in --profile")
    p.add_argument("--compile-archs", help="architectures to try torch.compile on (default: all; '' for none); "
                   "run after everything else")
    p.add_argument("--backends", default="tensorflow,jax")
    p.add_argument("--torch-extra", action=argparse.BooleanOptionalAction, default=True,
                   help="also time torch eager with channels_last and with 1 thread (default on: they compete for "
                   "the headline's best PyTorch variant); --no-torch-extra skips them")
    p.add_argument("--repeats", type=int, default=1,
                   help="run every worker this many times; each variant keeps its fastest repeat")
    p.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "pytorch_speed.md"))
    p.add_argument("--results-json", help="also write the raw records here")
    p.add_argument("--conditions", default="", help="what else ran on the machine during the measurement, for the report")
    # worker options
    p.add_argument("--worker", choices=("torch", "keras"))
    p.add_argument("--arch")
    p.add_argument("--workdir")
    p.add_argument("--mode", choices=("prepare", "compile"))
    p.add_argument("--worker-profile", action="store_true")
    args = p.parse_args(argv)
    args.profile_archs = [a for a in args.profile.split(",") if a]
    if args.worker:
        args.profile = args.worker_profile
    if args.worker == "torch":
        return worker_torch(args)
    if args.worker == "keras":
        return worker_keras(args)
    if args.warmup < 1:
        p.error("--warmup must be >= 1")
    if args.repeats < 1:
        p.error("--repeats must be >= 1")
    args.arch_list = [a for a in args.archs.split(",") if a]
    for a in args.arch_list + args.profile_archs:
        if a not in ARCHS:
            p.error(f"unknown architecture {a!r}; choose from {', '.join(ARCHS)}")
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    t0 = time.perf_counter()
    results, load = [], {}
    compile_archs = args.arch_list if args.compile_archs is None else [a for a in args.compile_archs.split(",") if a]
    with tempfile.TemporaryDirectory(prefix="pytorch_speed_") as workdir:
        for repeat in range(args.repeats):
            for arch in args.arch_list:
                before = os.getloadavg()
                results += run_worker("torch", arch, workdir, args, mode="prepare", repeat=repeat)
                if not os.path.exists(os.path.join(workdir, f"{arch}.pth")):
                    load.setdefault(arch, []).append((before, os.getloadavg()))
                    continue
                for backend in [b for b in args.backends.split(",") if b]:
                    results += run_worker("keras", arch, workdir, args, backend=backend, repeat=repeat)
                load.setdefault(arch, []).append((before, os.getloadavg()))
                write(args, results, load, argv, started, t0)
            for arch in compile_archs:
                if arch in args.arch_list and os.path.exists(os.path.join(workdir, f"{arch}.pth")):
                    results += run_worker("torch", arch, workdir, args, mode="compile", repeat=repeat)
                    write(args, results, load, argv, started, t0)
    print(write(args, results, load, argv, started, t0))
    return 0


def write(args, results, load, argv, started, t0):
    """(Re)writes the results file; called after every step so a cut-off run keeps what it measured."""
    text = render(args, results, load, argv, started, time.perf_counter() - t0)
    if args.results_json:
        with open(args.results_json, "w") as f:
            json.dump(results, f, indent=1)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    return text


if __name__ == "__main__":
    sys.exit(main())
