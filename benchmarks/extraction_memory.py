"""Peak memory of `keras-reid embed` with huge input images (issue 14: bounded memory).

    KERAS_BACKEND=tensorflow python benchmarks/extraction_memory.py [--count 32] [--side 10000]

Writes COUNT JPEGs of SIDE×SIDE pixels (smooth synthetic content, generated here) and, as the
reference, COUNT crops of 128×64; runs `keras-reid embed mobilenetv2_cuhk03 FOLDER` on each in
a fresh process and reports the peak resident memory (`ru_maxrss` of that process). Each image
is resized as soon as it is decoded, so the peak is one decoded image above the reference,
whatever the count. Writes benchmarks/results/extraction_memory.md.
"""

import argparse
import os
import pathlib
import platform
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

from common import cpu_model

ROOT = pathlib.Path(__file__).resolve().parents[1]
PEAK = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
    "sys.stderr.write(r.stderr[-2000:] if r.returncode else ''); "
    "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def write_images(folder, count, height, width):
    os.makedirs(folder, exist_ok=True)
    rows = np.arange(height, dtype=np.uint32)[:, None]
    cols = np.arange(width, dtype=np.uint32)[None, :]
    for i in range(count):
        # Smooth diagonal ramps (one per image), cheap to make and to compress.
        grey = ((rows * (3 + i) // 7 + cols // 2) % 256).astype(np.uint8)
        Image.fromarray(np.dstack([grey, grey[::-1], grey[:, ::-1]])).save(os.path.join(folder, f"img{i:03d}.jpg"), quality=80)


def peak_mib(preset, folder, out):
    """Peak RSS (MiB) of one `keras-reid embed` process."""
    cmd = [sys.executable, "-c", PEAK, sys.executable, "-m", "keras_reid.cli", "embed", preset, folder, "-o", out]
    result = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    code, kib = result.stdout.split()[-2:]
    if code != "0":
        sys.exit(f"keras-reid embed failed on {folder}: {result.stderr[-500:]}")
    return int(kib) / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=32)
    parser.add_argument("--side", type=int, default=10000)
    parser.add_argument("--preset", default="mobilenetv2_cuhk03")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        small, large = os.path.join(tmp, "small"), os.path.join(tmp, "large")
        write_images(small, args.count, 128, 64)
        write_images(large, args.count, args.side, args.side)
        size_mib = sum(os.path.getsize(os.path.join(large, f)) for f in os.listdir(large)) / 2**20
        reference = peak_mib(args.preset, small, os.path.join(tmp, "s.npy"))
        huge = peak_mib(args.preset, large, os.path.join(tmp, "l.npy"))
    decoded = args.side * args.side * 3 / 2**20
    text = f"""# Peak memory of `keras-reid embed` with huge images (measured by this project)

Command: `KERAS_BACKEND=tensorflow python benchmarks/extraction_memory.py --count {args.count} --side {args.side}`
(preset `{args.preset}`, TensorFlow backend, default batch size 32; peak resident memory of the
`keras-reid embed` process, `ru_maxrss`).

| input | images | peak RSS (MiB) |
|---|---:|---:|
| 128×64 crops (reference) | {args.count} | {reference:.0f} |
| {args.side}×{args.side} JPEGs ({size_mib:.0f} MiB on disk) | {args.count} | {huge:.0f} |

Difference: {huge - reference:.0f} MiB, against {decoded:.0f} MiB for one decoded {args.side}×{args.side} RGB
image (uint8) and {args.count * decoded * 4:.0f} MiB for the {args.count} images as float32 (what stacking
them before resizing held). Machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}.
"""
    out = ROOT / "benchmarks" / "results" / "extraction_memory.md"
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
