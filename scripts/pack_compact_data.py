"""A compact copy of the training and benchmark data, for a GPU machine (what travels is capped at 64 MiB).

    python scripts/pack_compact_data.py OUT [--height 128 --width 64 --quality 90]

Re-encodes every image that `multi_source` trains on, the CUHK03-partial val split and the four
DG benchmark folders at HEIGHT×WIDTH (the recipes' input size; Pillow's bilinear resize is
antialiased where the pipeline's is not, so a run on the copy is close to, not identical with, a run
on the originals) into OUT with the same layout as `../shared/datasets` (`cuhk03_labeled_partial/{train,val}`,
`cuhk03_detected/train`, `reid_extra/<source>/`), so `--dataset multi_source --root OUT` and
`keras-reid eval --dataset dg --root OUT/reid_extra` work unchanged there. Research data: the
copy stays in ignored folders and on the lent machine, never in the repository.
"""

import argparse
import os
import pathlib
import sys

from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets"
FOLDERS = [
    "cuhk03_labeled_partial/train",
    "cuhk03_labeled_partial/val",
    "cuhk03_detected/train",
    *(f"reid_extra/{s}" for s in ("3dpes", "caviar4reid", "sarc3d", "towncentre", "pku74", "viper", "prid", "grid", "i-lid")),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output")
    parser.add_argument("--height", type=int, default=128)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--quality", type=int, default=90)
    parser.add_argument("--limit-mib", type=float, default=60.0, help="fail when the copy is larger")
    args = parser.parse_args()
    out = pathlib.Path(args.output)
    total, count = 0, 0
    for folder in FOLDERS:
        src, dst = DATA / folder, out / folder
        if not src.is_dir():
            sys.exit(f"missing {src}: this script needs ../shared/datasets")
        dst.mkdir(parents=True, exist_ok=True)
        for name in sorted(os.listdir(src)):
            if not name.lower().endswith((".jpg", ".jpeg", ".png")):
                continue
            with Image.open(src / name) as img:
                small = img.convert("RGB").resize((args.width, args.height), Image.BILINEAR)
            target = dst / (pathlib.Path(name).stem + ".jpg")
            small.save(target, quality=args.quality)
            total += target.stat().st_size
            count += 1
    mib = total / 2**20
    print(f"{count} images, {mib:.1f} MiB in {out}")
    if mib > args.limit_mib:
        sys.exit(f"the copy is {mib:.1f} MiB, above --limit-mib {args.limit_mib}: lower --quality")


if __name__ == "__main__":
    main()
