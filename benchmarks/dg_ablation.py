"""Ablation of the domain-generalisation recipe: each ingredient removed in turn, same budget.

    KERAS_BACKEND=tensorflow python benchmarks/dg_ablation.py [--variants V ...] \
        [--epochs 2] [--steps 150] [--lr-milestones E ...] [--seed 0] [--reuse VARIANT=PRESET]

Every variant is `keras_reid.training.train` of MobileNetV2 (from `mobilenetv2_imagenet`) on the
`multi_source` training set (`../shared/datasets`): the strong-baseline recipe below or the
plain recipe of the `*_cuhk03` presets, with one change, for the same short budget
(`--epochs` epochs of `--steps` batches, `--steps 0` for whole epochs; the LR warms up in the
first epoch and decays only at `--lr-milestones`), then judged like the presets: the four DG benchmarks (10 seeded splits, cosine; never
trained on) and CUHK03-partial val (in-domain). A budget this short ranks ingredients by how
fast they pay, not by where they end: the table says so.

Runs go to `runs/dg_ablation/BUDGET/VARIANT` (git-ignored, resumable); results to
benchmarks/results/dg_ablation.{json,md}, one table per budget. Rows of variants and budgets not
run this time are kept. `--reuse plain=zoo/mobilenetv2_multisource/preset` evaluates a preset
already trained with exactly that variant's recipe and budget instead of training it again (at
`--epochs 12 --steps 0 --lr-milestones 9 --seed 0` the `plain` variant is the recipe and seed of
`mobilenetv2_multisource`, built by `zoo/mobilenetv2_multisource/build.sh`).
"""

import argparse
import json
import pathlib
import sys
import time

from common import cpu_model, eval_preset, eval_preset_dg

from keras_reid.models.mobilenet_v2.recipes import DG_INSTANCE_NORM_BLOCKS

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets"
RESULTS = ROOT / "benchmarks" / "results"
ORDER = ("viper", "prid", "grid", "ilids")

# The strong-baseline recipe the ablation starts from (BoT tricks + DualNorm's IN + colour
# augmentation), written out here so the rows reproduce whatever the registered recipes become.
STRONG_BASELINE = dict(
    architecture="mobilenetv2",
    image_size=(128, 64),
    batch_size=64,
    sampler="identity",
    num_instances=4,
    optimizer="adam",
    lr=3.5e-4,
    weight_decay=5e-4,
    adam_betas=(0.9, 0.999),
    warmup_epochs=1,
    warmup_factor=0.1,
    label_smoothing=0.1,
    triplet_weight=1.0,
    triplet_margin=0.3,
    crop_pad=5,
    random_erasing=True,
    color_jitter=0.2,
    random_grayscale=0.05,
    init_preset="mobilenetv2_imagenet",
    backbone_pattern=r"^features_",
    model_options={"instance_norm_blocks": DG_INSTANCE_NORM_BLOCKS, "bnneck": True},
    eval_metric="cosine",
)
# The recipe of the `*_cuhk03` presets: the registered `mobilenetv2` recipe at 128x64 with one
# frozen-backbone epoch (random batches of 32, CE only, no BNNeck / IN / colour).
PLAIN = {"recipe": "mobilenetv2", "image_size": (128, 64), "fixbase_epochs": 1}
_IN_BLOCKS = {"instance_norm_blocks": DG_INSTANCE_NORM_BLOCKS}

# name: (what it changes, overrides of STRONG_BASELINE, or of a registered "recipe").
VARIANTS = {
    "strong_baseline": ("P16xK4, CE + triplet, BNNeck, warm-up, IN blocks 2-6 (γ 1, β 0), colour jitter 0.2, grey 0.05", {}),
    "strong_in_from_batch_norm": ("strong baseline, IN γ, β from the pretrained BatchNorm", {"instance_norm_init": "batch_norm"}),
    "strong_no_instance_norm": ("strong baseline without IN (BN only)", {"model_options": {"bnneck": True}}),
    "strong_no_color_aug": ("strong baseline without colour jitter / grey", {"color_jitter": 0.0, "random_grayscale": 0.0}),
    "plain": ("the `*_cuhk03` recipe: random batches of 32 (twice the steps), CE only, epoch 1 frozen", PLAIN),
    "plain_color_aug": ("plain + colour jitter 0.2 and random grey 0.05", {**PLAIN, "color_jitter": 0.2, "random_grayscale": 0.05}),
    "plain_instance_norm": (
        "plain + IN in blocks 2-6, γ, β from the pretrained BatchNorm",
        {**PLAIN, "model_options": _IN_BLOCKS, "instance_norm_init": "batch_norm"},
    ),
    # OSNet (issue 13: "they join the multi-source training if they earn it"). No ImageNet OSNet
    # weights are available offline, so they start from random weights, the whole net open.
    "plain_osnet_x1_0_scratch": (
        "plain recipe on osnet_x1_0 from random init (no ImageNet OSNet weights offline), no frozen epoch",
        {**PLAIN, "architecture": "osnet_x1_0", "init_preset": None, "fixbase_epochs": 0, "open_layers": ()},
    ),
    "plain_osnet_x0_25_scratch": (
        "plain recipe on osnet_x0_25 from random init, no frozen epoch",
        {**PLAIN, "architecture": "osnet_x0_25", "init_preset": None, "fixbase_epochs": 0, "open_layers": ()},
    ),
}


def budget_name(epochs, steps, milestones, seed):
    batches = f"{steps} batches" if steps else "all batches"
    decay = f", LR x0.1 at epoch {', '.join(map(str, milestones))}" if milestones else ""
    return f"{epochs} epochs x {batches}{decay}, seed {seed}"


def run_variant(name, epochs, steps, milestones, seed):
    from keras_reid.training import Recipe, get_recipe, train

    _, overrides = VARIANTS[name]
    overrides = dict(overrides)
    if "recipe" in overrides:
        recipe = get_recipe(overrides.pop("recipe"))
    else:
        recipe = Recipe(name=f"dg_ablation_{name}", **STRONG_BASELINE)
    tag = f"e{epochs}_s{steps}" + "".join(f"_m{m}" for m in milestones) + f"_seed{seed}"
    out = ROOT / "runs" / "dg_ablation" / tag / name
    # The same number of images for every variant (the plain recipe has batches of 32).
    steps = steps * 64 // overrides.get("batch_size", recipe.batch_size) if steps else None
    start = time.perf_counter()
    result = train(
        recipe,
        "multi_source",
        out,
        dataset_root=DATA,
        seed=seed,
        max_steps_per_epoch=steps,
        verbose=1,
        **{"epochs": epochs, "lr_milestones": tuple(milestones), **overrides},
    )
    return result["preset"], time.perf_counter() - start


def markdown(rows):
    lines = [
        "# DG recipe ablation (measured by this project)",
        "",
        "Each variant trains MobileNetV2 from `mobilenetv2_imagenet` on `multi_source` (26,048 images,",
        "1,978 identities; VIPeR/PRID/GRID/i-LIDS never trained on) for the budget of its table, then is",
        "evaluated like the presets (DG: mean of 10 seeded splits, cosine; in-domain: CUHK03-partial val).",
        "A short budget ranks ingredients by how soon they pay, not by where a full run ends.",
    ]
    for budget in dict.fromkeys(r["budget"] for r in rows):
        group = [r for r in rows if r["budget"] == budget]
        lines += [
            "",
            f"## {budget}",
            "",
            f"Command: `KERAS_BACKEND=tensorflow python benchmarks/dg_ablation.py {group[0]['args']}"
            f" --variants {' '.join(r['variant'] for r in group)}`.",
            "",
            "| variant | change | VIPeR R1 | PRID R1 | GRID R1 | i-LIDS R1 | mean R1 | mean DG mAP | CUHK03 val mAP | train s |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in group:
            dg = row["dg"]
            r1 = [dg[b]["mean"]["rank1"] for b in ORDER]
            maps = [dg[b]["mean"]["mAP"] for b in ORDER]
            seconds = f"{row['train_seconds']:.0f}" if row.get("train_seconds") is not None else "—"
            change = row["change"] + (f" (reused: `{row['reused']}`)" if row.get("reused") else "")
            lines.append(
                f"| {row['variant']} | {change} | " + " | ".join(f"{v:.1f}" for v in r1)
                + f" | {sum(r1) / 4:.1f} | {sum(maps) / 4:.1f} | {row['in_domain']['mAP']:.1f} | {seconds} |"
            )
        lines += ["", f"Machine: {', '.join(sorted({r['machine'] for r in group}))}."]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), help="default: all")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--steps", type=int, default=150, help="batches (of 64 images) per epoch; 0: whole epochs")
    parser.add_argument("--lr-milestones", type=int, nargs="*", default=[], help="epochs where the LR drops x0.1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--reuse", action="append", default=[], metavar="VARIANT=PRESET",
        help="evaluate PRESET, trained with exactly this variant's recipe and budget, instead of training it",
    )
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"{DATA} is absent: this benchmark needs the project's shared datasets.")
    reuse = dict(item.split("=", 1) for item in args.reuse)
    unknown = sorted(set(reuse) - set(VARIANTS))
    if unknown:
        sys.exit(f"--reuse: unknown variant(s) {unknown}; choose from {sorted(VARIANTS)}.")
    path = RESULTS / "dg_ablation.json"
    rows = json.loads(path.read_text()) if path.exists() else []
    budget = budget_name(args.epochs, args.steps, args.lr_milestones, args.seed)
    args_line = f"--epochs {args.epochs} --steps {args.steps}" + (
        f" --lr-milestones {' '.join(map(str, args.lr_milestones))}" if args.lr_milestones else ""
    ) + f" --seed {args.seed}"
    # Without --variants: every variant, or only the reused ones when --reuse is given.
    names = list(dict.fromkeys([*reuse, *(args.variants or ([] if reuse else VARIANTS))]))
    for name in names:
        if name in reuse:
            preset, seconds = reuse[name], None
        else:
            preset, seconds = run_variant(name, args.epochs, args.steps, args.lr_milestones, args.seed)
        row = {
            "variant": name,
            "change": VARIANTS[name][0],
            "budget": budget,
            "args": args_line,
            "train_seconds": seconds,
            "dg": eval_preset_dg(preset, DATA / "reid_extra"),
            "in_domain": eval_preset(preset, "cuhk03_partial", DATA / "cuhk03_labeled_partial"),
            "machine": cpu_model(),
        }
        if name in reuse:
            row["reused"] = reuse[name]
        rows = [r for r in rows if (r["variant"], r["budget"]) != (name, budget)] + [row]
        budgets = list(dict.fromkeys(r["budget"] for r in rows))
        rows.sort(key=lambda r: (budgets.index(r["budget"]), list(VARIANTS).index(r["variant"])))
        path.write_text(json.dumps(rows, indent=2) + "\n")
        (RESULTS / "dg_ablation.md").write_text(markdown(rows))
        print(markdown(rows), flush=True)


if __name__ == "__main__":
    main()
