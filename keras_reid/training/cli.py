"""`keras-reid train`: train a recipe on a dataset, resumable, ending with a preset folder.

    keras-reid train --recipe resnet50_stra --dataset market1501 --root /data/market \
        --output runs/stra [--epochs N] [--batch-size B] [--seed S] [--resume]

Also runnable as `python -m keras_reid.training.cli ...`.
"""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _int_at_least(minimum):
    """argparse type: an integer >= `minimum`."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    return parse


positive_int = _int_at_least(1)
non_negative_int = _int_at_least(0)


def add_train_arguments(parser):
    """Adds the `train` options to an `argparse` parser."""
    parser.add_argument("--list-recipes", action="store_true", help="print the recipes (name, architecture, input size, epochs) and exit")
    parser.add_argument("--recipe", help="recipe or architecture name (see --list-recipes)")
    parser.add_argument("--dataset", help="dataset name (keras_reid.data.list_datasets()) or 'image_folder'")
    parser.add_argument("--root", help="dataset root folder")
    parser.add_argument("--output", help="run folder: log.csv, checkpoints/, preset/")
    parser.add_argument("--epochs", type=positive_int, default=None, help="override the recipe's epochs (milestones scale)")
    parser.add_argument("--batch-size", type=positive_int, default=None, help="override the recipe's batch size")
    parser.add_argument("--image-size", type=positive_int, nargs=2, metavar=("H", "W"), default=None,
                        help="override the recipe's input size")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="seed of weights, sampling, augmentation (default 0)")
    parser.add_argument("--resume", action="store_true", help="continue from OUTPUT/checkpoints")
    parser.add_argument(
        "--lr-milestones", type=positive_int, nargs="*", default=None, metavar="EPOCH",
        help="override the epochs at which the LR decays (by the recipe's gamma)",
    )
    parser.add_argument("--fixbase-epochs", type=non_negative_int, default=None, help="override the frozen warm-up epochs")
    parser.add_argument("--eval-every", type=positive_int, default=None, help="evaluate every N epochs (always at the end)")
    parser.add_argument("--max-steps-per-epoch", type=positive_int, default=None, help="cap the steps per epoch")
    parser.add_argument("--init-preset", default="recipe", help="'recipe' (default), 'none' or a preset handle")
    parser.add_argument("--mixed-precision", choices=("auto", "on", "off"), default="auto",
                        help="mixed_float16: auto = only with a GPU")
    parser.add_argument("--distribute", choices=("none", "data_parallel"), default="none")
    parser.add_argument("--no-deterministic", action="store_true", help="allow non-deterministic ops")
    parser.add_argument("--allow-changes", action="store_true",
                        help="with --resume: accept a seed/recipe that differs from the checkpoint's (recorded in the preset)")
    parser.add_argument("--skip-bad-images", action="store_true",
                        help="drop undecodable training images (named in a warning) instead of stopping")
    parser.add_argument("--no-preflight", action="store_true",
                        help="do not decode every training image before the first step")
    parser.add_argument("--tensorboard", action="store_true", help="also write TensorBoard logs to OUTPUT/tensorboard")
    parser.add_argument(
        "--input-pipeline", choices=("auto", "tf_data", "numpy"), default="auto",
        help="training input stream: tf_data (TensorFlow) or numpy (no TensorFlow needed); "
        "auto = tf_data when TensorFlow is installed (default)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def build_parser(prog="keras-reid train"):
    return add_train_arguments(argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0]))


def list_recipes_text():
    from keras_reid.training.recipes import get_recipe, list_recipes

    lines = [f"{'recipe':<30} {'architecture':<22} {'input':>8} {'epochs':>6}  init"]
    for name in list_recipes():
        r = get_recipe(name)
        lines.append(f"{name:<30} {r.architecture:<22} {r.image_size[0]:>4}x{r.image_size[1]:<3} {r.epochs:>6}  {r.init_preset or '-'}")
    lines.append("An architecture name (keras-reid list) is accepted too: it uses its recipe, or the default one.")
    return "\n".join(lines)


def cli_train(args):
    """Runs `keras_reid.training.train` from parsed arguments (a Namespace or a list of strings)."""
    if args is None or isinstance(args, (list, tuple)):
        parser = build_parser()
        args = parser.parse_args(list(args or []))
        if not args.list_recipes:
            missing = [f"--{k}" for k in ("recipe", "dataset", "root", "output") if getattr(args, k) is None]
            if missing:
                parser.error(f"the following arguments are required: {', '.join(missing)}")
    if getattr(args, "list_recipes", False):
        print(list_recipes_text(), flush=True)
        return 0
    from keras_reid.training.trainer import CHECKPOINT_DIR, LATEST, train

    ckpt = os.path.join(args.output, CHECKPOINT_DIR, LATEST)
    if os.path.exists(ckpt) and not args.resume:
        raise SystemExit(
            f"keras-reid train: error: {args.output} already holds a checkpoint; pass --resume to continue "
            "it or choose another --output."
        )
    import logging
    import sys as _sys

    # Per-epoch lines go to stderr (logging); results (the JSON line) to stdout. Keras'
    # progress bar only on a terminal: in a redirected log it is control codes.
    logging.getLogger("keras_reid.training").setLevel(logging.INFO)
    verbose = 0 if args.quiet or not _sys.stdout.isatty() else "auto"
    mixed = {"auto": None, "on": True, "off": False}[args.mixed_precision]
    init = None if args.init_preset == "none" else args.init_preset
    overrides = {"image_size": tuple(args.image_size)} if args.image_size else {}
    if args.lr_milestones is not None:
        overrides["lr_milestones"] = tuple(args.lr_milestones)
    if args.fixbase_epochs is not None:
        overrides["fixbase_epochs"] = args.fixbase_epochs
    result = train(
        args.recipe,
        args.dataset,
        args.output,
        dataset_root=args.root,
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        resume=args.resume,
        eval_every=args.eval_every,
        max_steps_per_epoch=args.max_steps_per_epoch,
        init_preset=init,
        mixed_precision=mixed,
        distribute=None if args.distribute == "none" else args.distribute,
        deterministic=not args.no_deterministic,
        verbose=verbose,
        allow_changes=args.allow_changes,
        skip_bad_images=args.skip_bad_images,
        preflight=not args.no_preflight,
        tensorboard=args.tensorboard,
        input_pipeline=getattr(args, "input_pipeline", "auto"),
        **overrides,
    )
    print(json.dumps({"preset": result["preset"], "epochs": result["epochs"], "metrics": result["metrics"],
                      "metrics_before": result["metrics_before"]}), flush=True)
    return 0


def main(argv=None):
    return cli_train(list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
