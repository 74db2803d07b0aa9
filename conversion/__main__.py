"""Command line: `python -m conversion {convert,verify,publish,layouts}`.

    python -m conversion convert --arch resnet50_stra --checkpoint model.pth.tar-100 --output out/
    python -m conversion verify out/
    python -m conversion publish out/ --repo-id ORG/NAME [--revision v1] [--private] [--dry-run]
"""

import argparse
import json
import os
import sys


def _parse_option(text):
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"--option expects KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def _num_classes(text):
    return "auto" if text == "auto" else int(text)


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m conversion", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    c = sub.add_parser("convert", help="convert a PyTorch checkpoint into a keras_reid preset folder")
    c.add_argument("--arch", required=True, help="keras_reid architecture (keras_reid.list_architectures())")
    c.add_argument("--checkpoint", required=True, help=".pth/.pt/.pth.tar or .safetensors file")
    c.add_argument("--output", required=True, help="preset folder to write")
    c.add_argument("--layout", help="upstream layout (python -m conversion layouts); default per architecture")
    c.add_argument("--num-classes", type=_num_classes, default="auto",
                   help="'auto' (the checkpoint's classifier), 0 (embedding-only) or N")
    c.add_argument("--strict", action=argparse.BooleanOptionalAction, default=True,
                   help="refuse unless every key maps (default); --no-strict lists what was skipped")
    c.add_argument("--image-size", type=int, nargs=2, default=(256, 128), metavar=("H", "W"))
    c.add_argument("--option", type=_parse_option, action="append", default=[],
                   help="extra constructor option KEY=JSON (e.g. output_stride=16)")
    c.add_argument("--seed", type=int, default=0, help="seed of variables the checkpoint does not provide")
    c.add_argument("--weights-dtype", choices=("float32", "float16"), default="float32")
    c.add_argument("--name", help="preset name (default: the output folder's name)")
    c.add_argument("--license", default="other", help="licence of the converted weights (SPDX id or 'other')")
    c.add_argument("--source", help="where the checkpoint comes from (URL / package / file id)")
    c.add_argument("--dataset", action="append", default=[], help="training dataset(s) for the card")
    c.add_argument("--card", help="use this README.md (with YAML front matter) as the model card")

    v = sub.add_parser("verify", help="load a preset, reproduce its reference tensors, check hashes and card")
    v.add_argument("directory")
    v.add_argument("--rtol", type=float, default=1e-4,
                   help="reference embedding tolerance, relative to max |reference embedding|")
    v.add_argument("--atol", type=float, default=0.0, help="absolute tolerance added to the relative one")

    p = sub.add_parser("publish", help="validate a preset and upload it to the Hugging Face Hub")
    p.add_argument("directory")
    p.add_argument("--repo-id", required=True, help="ORG/NAME")
    p.add_argument("--revision", help="branch to upload to (created if needed; default main)")
    p.add_argument("--private", action="store_true")
    p.add_argument("--dry-run", action="store_true", help="print what would be uploaded, upload nothing")
    p.add_argument("--commit-message")

    sub.add_parser("layouts", help="list the upstream layouts and their default architectures")
    return parser


def cmd_convert(args):
    import numpy as np

    from .checkpoint import load_state_dict
    from .convert import convert_checkpoint
    from .layouts import default_layout, get_layout
    from .model_card import check_card, render_card
    from keras_reid.presets import ReIDPreprocessor, save_preset
    from keras_reid.presets.preset_io import sha256_file

    layout = get_layout(args.layout or default_layout(args.arch))
    state = load_state_dict(args.checkpoint)
    options = dict(args.option)
    image_shape = (args.image_size[0], args.image_size[1], 3)
    model, report = convert_checkpoint(
        state, args.arch, layout=layout.name, num_classes=args.num_classes, strict=args.strict,
        seed=args.seed, source=args.checkpoint, image_shape=image_shape, **options,
    )
    print(report.summary())
    name = args.name or os.path.basename(os.path.normpath(args.output))
    source = args.source or os.path.basename(args.checkpoint)
    metadata = {
        "name": name,
        "architecture": args.arch,
        "layout": layout.name,
        "source": source,
        "source_file": os.path.basename(args.checkpoint),
        "source_sha256": sha256_file(args.checkpoint),
        "license": args.license,
        "datasets": list(args.dataset),
        "conversion": {**report.to_dict(), "strict": args.strict, "seed": args.seed, "options": options},
    }
    if args.card:
        with open(args.card) as f:
            card = f.read()
        problems = check_card(card)
        if problems:
            raise ValueError(f"--card {args.card}: {'; '.join(problems)}")
    else:
        card = render_card(name, args.arch, license=args.license, datasets=args.dataset,
                           provenance=f"Converted from `{source}` (sha256 `{metadata['source_sha256']}`) "
                                      f"with layout `{layout.name}`.")
    reference = np.random.default_rng(0).standard_normal((2,) + image_shape).astype("float32")
    save_preset(model, args.output, preprocessor=ReIDPreprocessor(image_shape[:2]), metadata=metadata,
                model_card=card, reference_inputs=reference,
                weights_dtype=None if args.weights_dtype == "float32" else args.weights_dtype)
    print(f"wrote preset {name} to {args.output}")
    return 0


def cmd_verify(args):
    from .verify import verify_preset

    ok, lines = verify_preset(args.directory, rtol=args.rtol, atol=args.atol)
    print("\n".join(lines))
    print("preset OK" if ok else "preset INVALID")
    return 0 if ok else 1


def cmd_publish(args):
    from .publish import publish

    plan = publish(args.directory, args.repo_id, revision=args.revision, private=args.private,
                   dry_run=args.dry_run, commit_message=args.commit_message)
    print("\n".join(plan["checks"]))
    verb = "would upload" if args.dry_run else "uploaded"
    print(f"{verb} to https://huggingface.co/{plan['repo_id']} revision {plan['revision']}"
          f" ({'private' if plan['private'] else 'public'}):")
    for path, size, digest in plan["files"]:
        print(f"  {path}  {size} bytes  sha256 {digest}")
    if not args.dry_run:
        print(f"commit: {plan.get('commit')}")
    return 0


def cmd_layouts(args):
    from .layouts import default_layouts, get_layout, list_layouts

    for name in list_layouts():
        layout = get_layout(name)
        defaults = [a for a, l in default_layouts().items() if l == name]
        print(f"{name}: {layout.description} [targets: {', '.join(layout.architectures)}; "
              f"default for: {', '.join(defaults) or '-'}]")
    return 0


def main(argv=None):
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from .checkpoint import CheckpointError
    from .mapping import ConversionError

    commands = {"convert": cmd_convert, "verify": cmd_verify, "publish": cmd_publish, "layouts": cmd_layouts}
    try:
        return commands[args.command](args)
    except (CheckpointError, ConversionError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
