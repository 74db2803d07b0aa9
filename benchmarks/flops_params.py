"""Parameters and FLOPs of the StRA architectures and their baselines at 256×128.

FLOPs come from XLA's cost analysis of the compiled inference graph (JAX backend), reported
as multiply-accumulates (FLOPs / 2, the unit of the StRA paper's table). Parameters are
trainable parameters without the classifier.

    KERAS_BACKEND=jax python benchmarks/flops_params.py

writes benchmarks/results/flops_params.{json,md}.
"""

import json
import os
import pathlib

os.environ["KERAS_BACKEND"] = "jax"

import numpy as np  # noqa: E402

import keras_reid  # noqa: E402
from keras_reid.utils.flops import count_flops  # noqa: E402

# The StRA paper's Table 2 (claimed by the paper, not measured here).
PAPER = {
    "mobilenetv2": "370M",
    "mobilenetv2_stra": "370M",
    "mobilenetv2_1.4": "680M",
    "mobilenetv2_1.4_stra": "720M",
    "resnet50": "—",
    "resnet50_stra": "—",
}
PAIRS = [
    ("resnet50", "resnet50_stra"),
    ("mobilenetv2", "mobilenetv2_stra"),
    ("mobilenetv2_1.4", "mobilenetv2_1.4_stra"),
]


def main():
    rows = []
    for base, stra in PAIRS:
        base_macs = None
        for name in (base, stra):
            model = keras_reid.build(name)
            params = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
            macs = count_flops(model) / 2
            base_macs = base_macs or macs
            rows.append(
                {
                    "architecture": name,
                    "params": params,
                    "macs": macs,
                    "macs_vs_baseline": macs / base_macs - 1,
                    "paper_flops": PAPER[name],
                }
            )
    out = pathlib.Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "flops_params.json").write_text(json.dumps({"image_size": [256, 128], "rows": rows}, indent=2) + "\n")
    lines = [
        "# Parameters and FLOPs at 256×128 (inference, no classifier)",
        "",
        "Command: `KERAS_BACKEND=jax python benchmarks/flops_params.py`. MACs from XLA's cost",
        "analysis of the compiled graph (FLOPs / 2). The paper column is the StRA paper's Table 2,",
        "*claimed by the paper* (its counting tool and input size are not stated).",
        "",
        "| architecture | params | MACs | vs baseline | paper FLOPs (claimed) |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['architecture']} | {r['params']:,} | {r['macs'] / 1e6:,.1f}M | "
            f"{100 * r['macs_vs_baseline']:+.2f}% | {r['paper_flops']} |"
        )
    (out / "flops_params.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
